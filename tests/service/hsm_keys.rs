//! The service signs with keys held in SoftHSM2: the agency's organisation key and the
//! certifier's key live on a token, copies certified over gRPC validate in saoy, pyHanko and
//! pdfsig, and no byte of either private key reaches the store, the data directory or the
//! service's logs. A second test serves the token from another process (`p11-kit server`)
//! and the service reaches it only through p11-kit's RPC client module, so the service
//! process never holds the key material.
//!
//! Each test makes its token in the parent and runs the service in a child of this test
//! binary with the token's environment (tests/support/softhsm.rs).

use std::path::{Path, PathBuf};

use saoy::pki::pkcs11::Pkcs11Spec;

use crate::support::softhsm::{self, P11KIT_CLIENT_MODULE, SOFTHSM_MODULE, SoftHsm};
use crate::support::{client, pki, pyhanko};

const LABEL: &str = "saoy-agencies";
/// Distinctive, so a leak would be found by searching for it.
const PIN: &str = "pin-7Hq2-93ab";

fn pkcs8(path: &Path) -> Vec<u8> {
    pem::parse(std::fs::read(path).expect("key file"))
        .expect("PEM")
        .into_contents()
}

/// Every form in which the test keys could leak: their PKCS#8 DER, the base64 of its first
/// 48 bytes (a PEM line), and the private scalar / exponent alone.
fn secrets() -> Vec<(String, Vec<u8>)> {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PrivateKeyParts;
    let agency = pkcs8(&pki("agency.key.pem"));
    let certifier = pkcs8(&pki("certifier.key.pem"));
    let rsa = rsa::RsaPrivateKey::from_pkcs8_der(&agency).expect("RSA key");
    // ECPrivateKey { version 1, privateKey OCTET STRING (32) ... } inside the PKCS#8.
    let at =
        memchr::memmem::find(&certifier, &[0x02, 0x01, 0x01, 0x04, 0x20]).expect("EC scalar") + 5;
    let scalar = certifier[at..at + 32].to_vec();
    let b64 = |d: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .encode(&d[..48])
            .into_bytes()
    };
    vec![
        ("agency PKCS#8".into(), agency.clone()),
        ("agency PEM line".into(), b64(&agency)),
        ("agency d".into(), rsa.d().to_bytes_be()),
        ("certifier PKCS#8".into(), certifier.clone()),
        ("certifier PEM line".into(), b64(&certifier)),
        ("certifier scalar".into(), scalar),
    ]
}

/// Files under `dir` (not under `skip`) holding any of the secrets.
fn leaks(dir: &Path, skip: &Path, secrets: &[(String, Vec<u8>)], found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.starts_with(skip) {
            continue;
        }
        if path.is_dir() {
            leaks(&path, skip, secrets, found);
            continue;
        }
        let data = std::fs::read(&path).unwrap_or_default();
        for (what, bytes) in secrets {
            if memchr::memmem::find(&data, bytes).is_some() {
                found.push(format!("{what} in {}", path.display()));
            }
        }
    }
}

/// A token holding the agency's and the certifier's test keys.
fn token() -> SoftHsm {
    let hsm = SoftHsm::new(LABEL, PIN);
    hsm.import_pkcs8(&pkcs8(&pki("agency.key.pem")), "agency", "01");
    hsm.import_pkcs8(&pkcs8(&pki("certifier.key.pem")), "certifier", "02");
    hsm
}

fn spec(hsm: &SoftHsm, module: &str, label: &str) -> Pkcs11Spec {
    hsm.spec(module, Some(label), None)
}

/// The parent's side: runs `name` in a child with `env`, then looks for the keys in the
/// child's output (its logs at debug level) and in every file it wrote beside the token.
fn run_and_check(name: &str, hsm: &SoftHsm, env: &[(String, std::ffi::OsString)]) {
    let out = softhsm::run_in_child(name, hsm.root(), env);
    assert!(
        out.contains("certified copy issued"),
        "the child logs: {out}"
    );
    let secrets = secrets();
    for (what, bytes) in &secrets {
        assert!(
            memchr::memmem::find(out.as_bytes(), bytes).is_none(),
            "{what} in the service's logs"
        );
    }
    assert!(!out.contains(PIN), "the PIN in the service's logs");
    let mut found = Vec::new();
    leaks(hsm.root(), &hsm.token_dir(), &secrets, &mut found);
    assert!(
        found.is_empty(),
        "key material outside the token: {found:?}"
    );
    let store = hsm.root().join("store");
    assert!(
        store.join("records").is_dir(),
        "the child stored its copies"
    );
}

/// The child's side: a server whose agency and certifier keys are on the token through
/// `module`; certifies two copies, reads them back and has them judged by the peers.
fn certify_with_token_keys(dir: PathBuf, module: &str) {
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(std::io::stderr)
        .try_init();
    let hsm = SoftHsm::attach(dir.clone(), LABEL, PIN);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = dir.join("store");
        let (agency, certifier) = (
            spec(&hsm, module, "agency"),
            spec(&hsm, module, "certifier"),
        );
        let server = crate::support::server::start_with(move |c| {
            c.data_dir = store;
            c.agencies.truncate(1);
            let a = &mut c.agencies[0];
            a.signer.key_file = PathBuf::new();
            a.signer.pkcs11 = Some(agency);
            a.certifiers[0].key_file = PathBuf::new();
            a.certifiers[0].pkcs11 = Some(certifier);
        })
        .await;
        for i in 0..2 {
            let record = client::certify(
                &server.url(),
                client::messages(
                    Some(client::meta(&format!("hsm-{i}"), 1)),
                    &[client::Upload {
                        name: "scan.png".into(),
                        media_type: "image/png".into(),
                        data: std::fs::read(
                            crate::support::root().join("tests/data/sample-scan.png"),
                        )
                        .unwrap(),
                    }],
                ),
            )
            .await
            .expect("certified with token keys");
            let (header, pdf) = client::get_copy(&server.url(), &record.id).await.unwrap();
            assert_eq!(header.report.unwrap().status, "PASSED");
            match pyhanko::validate(&pdf) {
                pyhanko::PeerResult::Verdicts(v) => {
                    assert_eq!(v.len(), 2);
                    assert!(!v.iter().any(pyhanko::Verdict::rejects), "pyHanko: {v:?}");
                }
                pyhanko::PeerResult::Crashed(e) => panic!("pyHanko: {e}"),
            }
            let path = dir.join(format!("copy-{i}.pdf"));
            std::fs::write(&path, &pdf).unwrap();
            let out = crate::support::peers::pdfsig(&path, &pki("root.pem"));
            assert_eq!(
                out.matches("Signature is Valid").count(),
                2,
                "pdfsig: {out}"
            );
        }
    });
}

#[test]
fn copies_signed_with_softhsm2_keys_validate_and_the_keys_stay_on_the_token() {
    let Some(dir) = softhsm::child() else {
        let hsm = token();
        run_and_check(
            "hsm_keys::copies_signed_with_softhsm2_keys_validate_and_the_keys_stay_on_the_token",
            &hsm,
            &hsm.env(),
        );
        return;
    };
    certify_with_token_keys(dir, SOFTHSM_MODULE);
}

#[test]
fn a_token_served_by_another_process_signs_through_p11kit_rpc() {
    let Some(dir) = softhsm::child() else {
        let hsm = token();
        let server = hsm.serve();
        run_and_check(
            "hsm_keys::a_token_served_by_another_process_signs_through_p11kit_rpc",
            &hsm,
            &server.env(),
        );
        return;
    };
    assert!(
        std::env::var_os("SOFTHSM2_CONF").is_none(),
        "the service reaches the token only through p11-kit"
    );
    certify_with_token_keys(dir, P11KIT_CLIENT_MODULE);
}
