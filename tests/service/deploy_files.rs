//! deploy/ is well-formed and consistent with the code: every YAML file parses (PyYAML, as
//! Docker and kubectl cannot run here), the configs parse with saoy's own `Config`, and the
//! compose file and Kubernetes manifests reference the config keys, files, env variables and
//! ports the code reads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use saoy::config::Config;
use saoy::store::Location;
use serde_json::Value;

fn deploy() -> PathBuf {
    crate::support::root().join("deploy")
}

/// Every document of a YAML file, as JSON, through PyYAML's safe loader.
fn yaml_docs(path: &Path) -> Vec<Value> {
    const SCRIPT: &str = "import json, sys, yaml\n\
        with open(sys.argv[1], encoding='utf-8') as f:\n    \
            docs = [d for d in yaml.safe_load_all(f) if d is not None]\n\
        print(json.dumps(docs, default=str))\n";
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); install Python 3 with PyYAML"));
    assert!(
        out.status.success(),
        "{} is not valid YAML (or PyYAML is missing: pip install pyyaml): {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut at = v;
    for p in path {
        at = &at[*p];
    }
    at.as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string in {v}"))
}

/// Dotted keys of a TOML document (tables flattened).
fn toml_keys(text: &str) -> BTreeSet<String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(t) => walk(&key, t, out),
                _ => {
                    out.insert(key);
                }
            }
        }
    }
    let table: toml::Table = toml::from_str(text).expect("TOML");
    let mut out = BTreeSet::new();
    walk("", &table, &mut out);
    out
}

fn s3_example() -> String {
    std::fs::read_to_string(deploy().join("saoy.s3.example.toml")).unwrap()
}

#[test]
fn s3_example_config_parses_sets_every_field_and_comments_each() {
    let text = s3_example();
    let config = Config::parse(&text, "deploy/saoy.s3.example.toml").expect("parses");
    match config.store.location(&config.data_dir).unwrap() {
        Location::S3(at) => assert_eq!(at.bucket, "saoy-copies"),
        other => panic!("the S3 example must name a bucket, not {other:?}"),
    }
    assert!(!config.store.single_replica, "replicas share the bucket");
    assert_eq!(config.listen.port(), 50051);
    assert!(!config.using_test_pki);
    // Same fields as the full example (which the code reads with deny_unknown_fields).
    let full = std::fs::read_to_string(deploy().join("saoy.example.toml")).unwrap();
    assert_eq!(toml_keys(&text), toml_keys(&full));
    // Every field has a comment right above it (or above its group of lines).
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with('[') {
            continue;
        }
        let above = lines[..i].iter().rev().map(|l| l.trim()).find(|l| {
            // skip sibling fields of a group
            !l.contains(" = ") || l.starts_with('#')
        });
        assert!(
            above.is_some_and(|l| l.starts_with('#')),
            "line {}: `{t}` has no comment above it",
            i + 1
        );
    }
}

#[test]
fn compose_runs_saoy_on_minio_with_the_aws_environment() {
    let docs = yaml_docs(&deploy().join("compose.yaml"));
    assert_eq!(docs.len(), 1);
    let services = &docs[0]["services"];
    assert!(
        str_at(services, &["minio", "image"]).starts_with("minio/minio:"),
        "an S3-compatible server"
    );
    let init = services
        .as_object()
        .unwrap()
        .values()
        .find(|s| {
            s["image"]
                .as_str()
                .is_some_and(|i| i.starts_with("minio/mc:"))
        })
        .expect("a bucket-creating init container");
    let script = init["command"].to_string();
    assert!(script.contains("mc mb"), "{script}");
    let saoy = &services["saoy"];
    let dockerfile = str_at(saoy, &["build", "dockerfile"]);
    let context = deploy().join(str_at(saoy, &["build", "context"]));
    assert!(context.join(dockerfile).is_file(), "{dockerfile}");
    assert!(
        context.join("Cargo.toml").is_file(),
        "context is the repo root"
    );
    assert_eq!(
        saoy["depends_on"]["create-bucket"]["condition"],
        "service_completed_successfully"
    );
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        assert!(
            saoy["environment"][var].is_string(),
            "saoy needs {var} in compose"
        );
    }
    assert!(str_at(saoy, &["environment", "AWS_ENDPOINT_URL"]).contains("minio:9000"));
    // The bucket the init container creates is the one the mounted config names.
    let config = Config::parse(&s3_example(), "s3 example").unwrap();
    let Location::S3(at) = config.store.location(&config.data_dir).unwrap() else {
        panic!("S3 example names a bucket");
    };
    assert!(script.contains(&format!("local/{}", at.bucket)), "{script}");
    // Mounted files: the config, and the directories its key/trust paths point into.
    let volumes: Vec<&str> = saoy["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(volumes.contains(&"./saoy.s3.example.toml:/etc/saoy/saoy.toml:ro"));
    assert!(
        saoy["command"].to_string().contains("/etc/saoy/saoy.toml"),
        "saoy reads the mounted config"
    );
    let mounted = |path: &Path| {
        volumes.iter().any(|v| {
            let mut parts = v.split(':');
            let (host, target) = (parts.next().unwrap(), parts.next().unwrap());
            path.strip_prefix(target)
                .is_ok_and(|rest| deploy().join(host).join(rest).is_file())
        })
    };
    let agency = &config.agencies[0];
    let certifier = &agency.certifiers[0];
    for file in [
        &agency.signer.key_file,
        &agency.signer.chain_file,
        &certifier.key_file,
        &certifier.chain_file,
    ]
    .into_iter()
    .chain(&config.trust.anchors)
    .chain(&config.trust.crls)
    {
        assert!(
            mounted(file),
            "{} is not provided by a mount",
            file.display()
        );
    }
    let port = config.listen.port().to_string();
    assert!(
        saoy["ports"].to_string().contains(&format!(":{port}")),
        "port {port} published"
    );
}

#[test]
fn kubernetes_manifests_are_consistent() {
    let dir = deploy().join("k8s");
    let mut docs = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            docs.extend(yaml_docs(&path));
        }
    }
    let find = |kind: &str, name: &str| -> Value {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
            .clone()
    };
    let kustomization = docs.iter().find(|d| d["kind"] == "Kustomization").unwrap();
    for r in kustomization["resources"].as_array().unwrap() {
        assert!(dir.join(r.as_str().unwrap()).is_file(), "{r}");
    }

    // ConfigMap: the S3 example verbatim, which saoy parses.
    let config_map = find("ConfigMap", "saoy-config");
    let toml_text = str_at(&config_map, &["data", "saoy.toml"]);
    assert_eq!(
        toml_text,
        s3_example(),
        "configmap.yaml holds the S3 example"
    );
    let config = Config::parse(toml_text, "configmap").unwrap();
    assert!(matches!(
        config.store.location(&config.data_dir).unwrap(),
        Location::S3(_)
    ));

    let deployment = find("Deployment", "saoy");
    assert_eq!(deployment["spec"]["replicas"], 3);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let port = container["ports"][0]["containerPort"].as_u64().unwrap();
    assert_eq!(port, u64::from(config.listen.port()));
    assert!(
        container["args"]
            .to_string()
            .contains("/etc/saoy/saoy.toml"),
        "{}",
        container["args"]
    );
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(
            container[probe]["tcpSocket"]["port"].as_u64(),
            Some(port),
            "{probe} checks the TLS gRPC port accepts connections"
        );
    }
    let env: Vec<&str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(env.contains(&"AWS_ENDPOINT_URL") && env.contains(&"AWS_REGION"));
    let s3_secret = str_at(&container["envFrom"][0], &["secretRef", "name"]);
    let secret = find("Secret", s3_secret);
    for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        assert!(secret["stringData"][var].is_string(), "{var} in the Secret");
    }

    // Every file the config reads is provided by a mounted ConfigMap or Secret key.
    let mounts = container["volumeMounts"].as_array().unwrap();
    let volumes = pod["volumes"].as_array().unwrap();
    let provides = |path: &Path| -> bool {
        mounts.iter().any(|m| {
            let target = Path::new(m["mountPath"].as_str().unwrap());
            let volume = volumes
                .iter()
                .find(|v| v["name"] == m["name"])
                .expect("mounted volume exists");
            let source = if let Some(name) = volume["secret"]["secretName"].as_str() {
                find("Secret", name)["stringData"].clone()
            } else if let Some(name) = volume["configMap"]["name"].as_str() {
                find("ConfigMap", name)["data"].clone()
            } else {
                return false;
            };
            match m["subPath"].as_str() {
                Some(sub) => target == path && source[sub].is_string(),
                None => path
                    .strip_prefix(target)
                    .is_ok_and(|rest| source[rest.to_str().unwrap()].is_string()),
            }
        })
    };
    assert!(provides(Path::new("/etc/saoy/saoy.toml")));
    let agency = &config.agencies[0];
    let certifier = &agency.certifiers[0];
    for file in [
        &agency.signer.key_file,
        &agency.signer.chain_file,
        &certifier.key_file,
        &certifier.chain_file,
    ]
    .into_iter()
    .chain(&config.trust.anchors)
    .chain(&config.trust.crls)
    {
        assert!(provides(file), "{} is not mounted", file.display());
    }
    assert!(
        mounts
            .iter()
            .any(|m| m["mountPath"] == config.data_dir.to_str().unwrap()),
        "data_dir exists in the pod"
    );

    let service = find("Service", "saoy");
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "grpc");
    assert_eq!(container["ports"][0]["name"], "grpc");
}
