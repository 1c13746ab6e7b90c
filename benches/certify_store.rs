//! Certify throughput (copies/s) through a real in-process gRPC server on the local store
//! and on S3 (s3s-fs on 127.0.0.1, behind the test proxy), next to the bare aws-sdk-s3
//! PutObject rate of the same bytes (copy + original + record) against the same s3s-fs in the
//! same run, so the overhead saoy's store layer adds is visible.
//!
//! The same local-store load is also run with the agency's and the certifier's keys in a
//! SoftHSM2 token (PKCS#11) next to the file keys, so the cost of an HSM is visible.
//!
//! `cargo bench --bench certify_store` (needs `s3s-fs` and SoftHSM2 as the tests do).
//! SAOY_BENCH_CALLS (default 40) sets the calls per measurement.

#[path = "../tests/support/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use common::client::{self, Upload};
use common::s3::S3Server;
use saoy::proto::certification_service_client::CertificationServiceClient;
use saoy::store::{ObjectStore, S3Location, S3Store};

const CONCURRENCY: [usize; 2] = [1, 4];

fn calls() -> usize {
    std::env::var("SAOY_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(40)
}

fn main() {
    let s3 = S3Server::start();
    // The token of the PKCS#11 figures; SoftHSM2 reads SOFTHSM2_CONF once, at load.
    let hsm = common::softhsm::SoftHsm::new("saoy-bench", "bench-pin");
    for (name, id) in [("agency", "01"), ("certifier", "02")] {
        hsm.import_pem_file(&common::pki(&format!("{name}.key.pem")), name, id);
    }
    let env = s3
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), std::ffi::OsString::from(v)));
    for (key, value) in env.chain(hsm.env()) {
        // SAFETY: set before any other thread of this process exists.
        #[allow(unsafe_code)] // documented exception: the SAFETY note above
        unsafe {
            std::env::set_var(key, value)
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(&s3, &hsm));
}

/// Runs `n` Certify calls, `concurrency` at a time; returns the elapsed time and one id.
async fn certify_load(
    url: &str,
    upload: &Arc<Upload>,
    tag: &str,
    n: usize,
    concurrency: usize,
) -> (Duration, String) {
    let client = CertificationServiceClient::new(common::client::channel(url, "clerk").await);
    let started = Instant::now();
    let mut ids = Vec::new();
    let mut next = 0;
    let mut running = tokio::task::JoinSet::new();
    while next < n || !running.is_empty() {
        while next < n && running.len() < concurrency {
            let (mut client, upload) = (client.clone(), Arc::clone(upload));
            let request_id = format!("bench-{tag}-{next}");
            running.spawn(async move {
                let messages = client::messages(
                    Some(client::meta(&request_id, 1)),
                    std::slice::from_ref(&upload),
                );
                client
                    .certify(futures::stream::iter(messages))
                    .await
                    .map(|r| r.into_inner().id)
            });
            next += 1;
        }
        if let Some(done) = running.join_next().await {
            ids.push(done.expect("task").expect("certify succeeds"));
        }
    }
    (started.elapsed(), ids.pop().unwrap_or_default())
}

/// `n` sets of PutObject (the given objects each), `concurrency` sets at a time.
async fn bare_puts(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    objects: &[Bytes],
    n: usize,
    concurrency: usize,
) -> Duration {
    let started = Instant::now();
    let mut next = 0;
    let mut running = tokio::task::JoinSet::new();
    while next < n || !running.is_empty() {
        while next < n && running.len() < concurrency {
            let (client, bucket, objects) = (client.clone(), bucket.to_string(), objects.to_vec());
            let set = next;
            running.spawn(async move {
                for (i, data) in objects.into_iter().enumerate() {
                    client
                        .put_object()
                        .bucket(&bucket)
                        .key(format!("bare/{concurrency}/{set}/{i}"))
                        .body(ByteStream::from(data))
                        .send()
                        .await
                        .expect("bare PutObject");
                }
            });
            next += 1;
        }
        if let Some(done) = running.join_next().await {
            done.expect("task");
        }
    }
    started.elapsed()
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

async fn run(s3: &S3Server, hsm: &common::softhsm::SoftHsm) {
    let n = calls();
    let upload = Arc::new(Upload {
        name: "sample-scan.jpg".into(),
        media_type: "image/jpeg".into(),
        data: std::fs::read(common::root().join("tests/data/sample-scan.jpg"))
            .expect("tests/data/sample-scan.jpg"),
    });
    let bucket = "saoy-bench";
    s3.create_bucket(bucket).await;
    let url = format!("s3://{bucket}/certify");

    // The load raises the per-caller limits (one client certificate makes every call).
    let unlimited = |c: &mut saoy::config::Config| {
        c.server.requests_per_second = 1_000_000;
        c.server.max_concurrent_calls = 100_000;
    };
    let local = common::server::start_with(unlimited).await;
    let module = common::softhsm::SOFTHSM_MODULE;
    let (agency_key, certifier_key) = (
        hsm.spec(module, Some("agency"), None),
        hsm.spec(module, Some("certifier"), None),
    );
    let on_token = common::server::start_with(|c| {
        unlimited(c);
        let a = &mut c.agencies[0];
        a.signer.key_file = Default::default();
        a.signer.pkcs11 = Some(agency_key);
        a.certifiers[0].key_file = Default::default();
        a.certifiers[0].pkcs11 = Some(certifier_key);
    })
    .await;
    let endpoint = s3.endpoint.clone();
    let remote = common::server::start_with(|c| {
        unlimited(c);
        c.store.url = url.clone();
        c.store.endpoint_url = endpoint;
        c.store.region = "us-east-1".into();
    })
    .await;

    // Warm up both (connections, the book cursor, caches).
    certify_load(&local.url(), &upload, "warm-local", 2, 1).await;
    certify_load(&on_token.url(), &upload, "warm-token", 2, 1).await;
    let (_, sample) = certify_load(&remote.url(), &upload, "warm-s3", 2, 1).await;

    // The bytes saoy stores per copy, read back from the bucket.
    let store = S3Store::connect(S3Location::parse(&url).unwrap(), &s3.options())
        .await
        .unwrap();
    let mut objects = Vec::new();
    for key in [
        format!("copies/{sample}/copy.pdf"),
        format!("copies/{sample}/original-0"),
        format!("records/{sample}.json"),
    ] {
        objects.push(store.get(&key).await.unwrap().expect("stored object"));
    }
    let sizes: Vec<usize> = objects.iter().map(Bytes::len).collect();

    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&s3.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            &s3.access_key,
            &s3.secret_key,
            None,
            None,
            "bench",
        ))
        .force_path_style(true)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let bare = aws_sdk_s3::Client::from_conf(config);
    bare_puts(&bare, bucket, &objects, 2, 1).await; // warm-up

    println!(
        "certify_store: {n} calls per figure; per copy the store holds copy {} B + original {} B + record {} B",
        sizes[0], sizes[1], sizes[2]
    );
    for concurrency in CONCURRENCY {
        let (t_local, _) = certify_load(
            &local.url(),
            &upload,
            &format!("local-{concurrency}"),
            n,
            concurrency,
        )
        .await;
        let (t_s3, _) = certify_load(
            &remote.url(),
            &upload,
            &format!("s3-{concurrency}"),
            n,
            concurrency,
        )
        .await;
        let t_bare = bare_puts(&bare, bucket, &objects, n, concurrency).await;
        let (t_token, _) = certify_load(
            &on_token.url(),
            &upload,
            &format!("token-{concurrency}"),
            n,
            concurrency,
        )
        .await;
        let (r_local, r_s3, r_bare) = (rate(n, t_local), rate(n, t_s3), rate(n, t_bare));
        let per = |d: Duration| d.as_secs_f64() * 1000.0 / n as f64;
        let extra_ms = per(t_s3) - per(t_local);
        println!("concurrency {concurrency}:");
        println!(
            "  Certify, local store   {r_local:8.1} copies/s  ({:.1} ms/copy)",
            per(t_local)
        );
        println!(
            "  Certify, PKCS#11 keys  {:8.1} copies/s  ({:.1} ms/copy; SoftHSM2, local store) = {:.2}x the file keys' rate",
            rate(n, t_token),
            per(t_token),
            rate(n, t_token) / r_local
        );
        println!(
            "  Certify, S3 (s3s-fs)   {r_s3:8.1} copies/s  ({:.1} ms/copy)",
            per(t_s3)
        );
        println!(
            "  bare aws-sdk-s3 PUT    {r_bare:8.1} sets/s    ({:.1} ms/set of 3 PutObject, {:.1} PUT/s)",
            per(t_bare),
            rate(3 * n, t_bare)
        );
        println!(
            "  S3 vs local: {:.2}x the time per copy; S3 adds {extra_ms:.1} ms/copy = {:.2}x the bare PUT time of the same bytes",
            t_s3.as_secs_f64() / t_local.as_secs_f64(),
            extra_ms / per(t_bare)
        );
    }
    drop((local, remote, on_token));
}
