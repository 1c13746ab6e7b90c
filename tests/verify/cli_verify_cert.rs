//! `saoy verify-cert` as an operator runs it: the test TLS clients checked against their CA
//! and its CRL. Exit 0 only for a valid path, 1 for a refused one (with the sub-indication),
//! 2 for usage and I/O errors; revocation is required by default.

use std::process::Command;

fn verify_cert(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .arg("verify-cert")
        .args(args)
        .current_dir(crate::support::root())
        .output()
        .expect("saoy runs");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let (code, text) = verify_cert(&all);
    let value = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
    (code, value)
}

const CA: &str = "certs-test/tls/ca.pem";
const CRL: &str = "certs-test/tls/ca.crl";

#[test]
fn verify_cert_passes_a_sound_path_and_refuses_the_others() {
    let (code, v) = json(&["certs-test/tls/clerk.pem", "--trust", CA, "--crl", CRL]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["path"].as_array().map(Vec::len), Some(2), "{v}");

    let (code, v) = json(&["certs-test/tls/revoked.pem", "--trust", CA, "--crl", CRL]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["sub_indication"], "REVOKED", "{v}");

    let (code, v) = json(&["certs-test/tls/stranger.pem", "--trust", CA, "--crl", CRL]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["valid"], false, "{v}");

    let (code, v) = json(&["certs-test/tls/expired.pem", "--trust", CA, "--crl", CRL]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["valid"], false, "{v}");

    // Revocation is required by default: without the CRL the sound path is refused, and
    // accepted under soft-fail.
    let (code, v) = json(&["certs-test/tls/clerk.pem", "--trust", CA]);
    assert_eq!(code, 1, "{v}");
    let (code, v) = json(&[
        "certs-test/tls/clerk.pem",
        "--trust",
        CA,
        "--revocation",
        "soft-fail",
    ]);
    assert_eq!(code, 0, "{v}");

    let (code, text) = verify_cert(&["certs-test/tls/no-such.pem", "--trust", CA]);
    assert_eq!(code, 2, "{text}");
    let (code, text) = verify_cert(&["certs-test/tls/clerk.pem"]);
    assert_eq!(code, 2, "--trust is required: {text}");
}
