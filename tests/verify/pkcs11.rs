//! Signing keys on PKCS#11 tokens, against real SoftHSM2 (in-process) and p11-kit's RPC
//! (the token served by `p11-kit server` in another process): RSA PKCS#1 v1.5, RSA-PSS,
//! ECDSA P-256 and P-384 signatures verified with ring; PDFs signed through the token
//! validate in saoy's verifier, pyHanko and pdfsig; the session pool under 16 concurrent
//! signers; clear errors; no key bytes and no PIN where they do not belong.
//!
//! Each test makes its token in the parent process and runs its PKCS#11 part in a child of
//! this test binary (`support::softhsm::run_in_child`), which loads the module with the
//! token's environment; see tests/support/softhsm.rs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use ring::signature::{self, UnparsedPublicKey};
use saoy::audit::{Checkpoint, Sealer};
use saoy::pki::key::{Credential, KeyAlgorithm, KeyError, SigningKey, read_pem_certificates};
use saoy::pki::pkcs11::{Pkcs11Key, Pkcs11Mechanism, Pkcs11Spec};
use saoy::sign::{SignRequest, sign_pdf};
use saoy::verify::{Indication, verify_pdf};
use time::OffsetDateTime;

use crate::support::softhsm::{self, P11KIT_CLIENT_MODULE, SOFTHSM_MODULE, SoftHsm};
use crate::support::{peers, pki, pkigen, policy};

const LABEL: &str = "saoy-test-token";
/// Distinctive, so a leak is found by searching for it.
const PIN: &str = "pin-Qx7d-41fe";

/// The keys every token gets: (CKA_LABEL, hex CKA_ID).
const AGENCY: (&str, &str) = ("agency", "01");
const CERTIFIER: (&str, &str) = ("certifier", "02");
const P384: (&str, &str) = ("p384", "03");
const GEN_EC: (&str, &str) = ("generated-ec", "04");
const GEN_RSA: (&str, &str) = ("generated-rsa", "05");

/// A token with the agency's RSA key, the certifier's P-256 key, a fresh P-384 signer
/// (its chain in `p384-chain.pem` beside the token), and optionally keys generated on the
/// token. Returns the token and the PKCS#8 DER of every imported key.
fn token(generate: bool) -> (SoftHsm, Vec<Vec<u8>>) {
    let hsm = SoftHsm::new(LABEL, PIN);
    let mut secrets = Vec::new();
    for (name, (label, id)) in [("agency", AGENCY), ("certifier", CERTIFIER)] {
        let der = pkcs8(&pki(&format!("{name}.key.pem")));
        hsm.import_pkcs8(&der, label, id);
        secrets.push(der);
    }
    let staging = tempfile::tempdir().expect("staging");
    let issued = pkigen::issue(staging.path(), pkigen::Kind::SignerP384);
    let der = pkcs8(&issued.key);
    hsm.import_pkcs8(&der, P384.0, P384.1);
    secrets.push(der);
    let chain = format!(
        "{}{}",
        std::fs::read_to_string(&issued.cert).expect("p384 cert"),
        std::fs::read_to_string(pki("issuing-ca.pem")).expect("CA cert")
    );
    std::fs::write(hsm.root().join("p384-chain.pem"), chain).expect("p384 chain");
    drop(staging);
    if generate {
        hsm.generate("EC:prime256v1", GEN_EC.0, GEN_EC.1);
        hsm.generate("rsa:2048", GEN_RSA.0, GEN_RSA.1);
    }
    (hsm, secrets)
}

fn pkcs8(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).expect("key file");
    pem::parse(text).expect("PEM").into_contents()
}

/// The child's view of the token the parent made.
fn attached(dir: PathBuf) -> SoftHsm {
    SoftHsm::attach(dir, LABEL, PIN)
}

fn chain_of(hsm: &SoftHsm, label: &str) -> Vec<Vec<u8>> {
    let file = match label {
        "p384" => hsm.root().join("p384-chain.pem"),
        other => pki(&format!("{other}-chain.pem")),
    };
    read_pem_certificates(&file).expect("chain")
}

fn spec(
    hsm: &SoftHsm,
    module: &str,
    key: (&str, &str),
    mechanism: Option<Pkcs11Mechanism>,
) -> Pkcs11Spec {
    Pkcs11Spec {
        mechanism,
        ..hsm.spec(module, Some(key.0), Some(key.1))
    }
}

/// Checks `sig` over `msg` with ring against the key's own public key.
fn ring_verifies(key: &dyn SigningKey, msg: &[u8], sig: &[u8]) -> bool {
    let alg: &dyn signature::VerificationAlgorithm = match key.algorithm() {
        KeyAlgorithm::RsaPkcs1Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        KeyAlgorithm::RsaPssSha256 => &signature::RSA_PSS_2048_8192_SHA256,
        KeyAlgorithm::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
        KeyAlgorithm::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
    };
    UnparsedPublicKey::new(alg, key.public_key())
        .verify(msg, sig)
        .is_ok()
}

/// Signs and checks with every algorithm through `module`; returns signatures per second
/// of the agency's RSA key (one thread).
fn sign_each_algorithm(hsm: &SoftHsm, module: &str, generated: bool) -> f64 {
    let msg = b"saoy PKCS#11 test message";
    let mut cases = vec![
        (AGENCY, None, KeyAlgorithm::RsaPkcs1Sha256),
        (
            AGENCY,
            Some(Pkcs11Mechanism::RsaPss),
            KeyAlgorithm::RsaPssSha256,
        ),
        (CERTIFIER, None, KeyAlgorithm::EcdsaP256Sha256),
        (
            P384,
            Some(Pkcs11Mechanism::Ecdsa),
            KeyAlgorithm::EcdsaP384Sha384,
        ),
    ];
    if generated {
        cases.push((GEN_EC, None, KeyAlgorithm::EcdsaP256Sha256));
        cases.push((
            GEN_RSA,
            Some(Pkcs11Mechanism::RsaPss),
            KeyAlgorithm::RsaPssSha256,
        ));
    }
    for (key, mechanism, expected) in cases {
        let k = Pkcs11Key::open(&spec(hsm, module, key, mechanism))
            .unwrap_or_else(|e| panic!("open {}: {e}", key.0));
        assert_eq!(k.algorithm(), expected, "{}", key.0);
        assert!(!k.extractable(), "{} must not be exportable", key.0);
        for _ in 0..3 {
            let sig = k.sign(msg).expect("sign");
            assert!(sig.len() <= k.max_signature_len(), "{}", key.0);
            assert!(ring_verifies(&k, msg, &sig), "{} {expected:?}", key.0);
            assert!(!ring_verifies(&k, b"another message", &sig));
        }
        if !key.0.starts_with("generated") {
            let credential = Credential::new(Arc::new(k), chain_of(hsm, key.0))
                .unwrap_or_else(|e| panic!("{}: token key and certificate: {e}", key.0));
            assert_eq!(credential.key.algorithm(), expected);
            // An audit checkpoint sealed by the token key checks out.
            let unsigned = Checkpoint::unsigned(
                "H72",
                1,
                "ab".repeat(32),
                1,
                "cd".repeat(32),
                "2026-01-01T00:00:00+07:00".into(),
            );
            let sealed = Sealer::new(credential).seal(unsigned).expect("seal");
            assert_eq!(
                sealed.check_signature(),
                Ok(()),
                "{} {}",
                key.0,
                sealed.algorithm
            );
        }
    }
    // By label only and by id only find the same key.
    let by_label = Pkcs11Key::open(&hsm.spec(module, Some(AGENCY.0), None)).expect("by label");
    let by_id = Pkcs11Key::open(&hsm.spec(module, None, Some(AGENCY.1))).expect("by id");
    assert_eq!(by_label.public_key(), by_id.public_key());
    let started = Instant::now();
    let n = 40;
    for _ in 0..n {
        by_id.sign(msg).expect("sign");
    }
    f64::from(n) / started.elapsed().as_secs_f64()
}

fn request<'a>(credential: &'a Credential, field: &str) -> SignRequest<'a> {
    SignRequest {
        credential,
        field_name: field.into(),
        page_index: 0,
        rect: [0.0; 4],
        signing_time: OffsetDateTime::now_utc()
            .to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("offset")),
        signer_name: Some("Ký bằng HSM".into()),
        reason: Some("Chứng thực bản sao đúng với bản chính".into()),
        location: Some("Tây Ninh".into()),
    }
}

/// Signs a PDF twice through the token (`first`, then `second`), checks it in saoy's
/// verifier, and writes it to `out`.
fn signed_pdf(hsm: &SoftHsm, module: &str, first: Pkcs11Spec, second: Pkcs11Spec, out: &Path) {
    let label = |s: &Pkcs11Spec| s.key_label.clone().expect("label");
    let one =
        Credential::from_pkcs11(&first, chain_of(hsm, &label(&first))).expect("first credential");
    let two = Credential::from_pkcs11(&second, chain_of(hsm, &label(&second)))
        .expect("second credential");
    let once = sign_pdf(
        &crate::support::pdfgen::one_page_pdf("Signed on a token"),
        &request(&one, "Signature_Agency"),
    )
    .expect("first signature");
    let twice = sign_pdf(&once, &request(&two, "Signature_Certifier")).expect("second signature");
    let report = verify_pdf(&twice, &policy());
    assert_eq!(
        report.status,
        Indication::Passed,
        "{module}: {}",
        report.render_text()
    );
    assert_eq!(report.signatures.len(), 2);
    std::fs::write(out, &twice).expect("write PDF");
}

/// pyHanko and pdfsig accept every signature of `pdf`.
fn peers_accept(pdf: &Path, signatures: usize) {
    let root = pki("root.pem");
    let verdicts = peers::pyhanko_validate(pdf, &[&root], &[]);
    assert_eq!(verdicts.len(), signatures, "{verdicts:?}");
    for v in &verdicts {
        assert!(v.error.is_none(), "pyHanko raised: {v:?}");
        assert!(v.intact && v.valid && v.trusted, "pyHanko: {}", v.summary);
    }
    let out = peers::pdfsig(pdf, &root);
    assert_eq!(
        out.matches("Signature is Valid").count(),
        signatures,
        "pdfsig:\n{out}"
    );
}

#[test]
fn softhsm_signs_rsa_pkcs1_pss_and_ecdsa_p256_p384() {
    let Some(dir) = softhsm::child() else {
        let (hsm, _) = token(true);
        let out = softhsm::run_in_child(
            "pkcs11::softhsm_signs_rsa_pkcs1_pss_and_ecdsa_p256_p384",
            hsm.root(),
            &hsm.env(),
        );
        eprintln!(
            "{}",
            out.lines()
                .filter(|l| l.contains("signs/s"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        return;
    };
    let hsm = attached(dir);
    let rate = sign_each_algorithm(&hsm, SOFTHSM_MODULE, true);
    let ring_key = saoy::pki::key::RingKey::load(&pki("agency.key.pem")).expect("ring key");
    let started = Instant::now();
    for _ in 0..40 {
        ring_key
            .sign(b"saoy PKCS#11 test message")
            .expect("ring sign");
    }
    let ring_rate = 40.0 / started.elapsed().as_secs_f64();
    println!(
        "RSA-2048 PKCS#1 signs/s: SoftHSM2 in-process {rate:.0}, ring file key {ring_rate:.0}"
    );
}

#[test]
fn softhsm_signed_pdfs_validate_in_saoy_pyhanko_and_pdfsig() {
    let Some(dir) = softhsm::child() else {
        let (hsm, _) = token(false);
        softhsm::run_in_child(
            "pkcs11::softhsm_signed_pdfs_validate_in_saoy_pyhanko_and_pdfsig",
            hsm.root(),
            &hsm.env(),
        );
        return;
    };
    let hsm = attached(dir);
    let m = SOFTHSM_MODULE;
    let pkcs1 = hsm.root().join("pkcs1-p256.pdf");
    signed_pdf(
        &hsm,
        m,
        spec(&hsm, m, AGENCY, None),
        spec(&hsm, m, CERTIFIER, None),
        &pkcs1,
    );
    peers_accept(&pkcs1, 2);
    let pss = hsm.root().join("pss-p256.pdf");
    let rsa_pss = spec(&hsm, m, AGENCY, Some(Pkcs11Mechanism::RsaPss));
    signed_pdf(&hsm, m, rsa_pss, spec(&hsm, m, CERTIFIER, None), &pss);
    peers_accept(&pss, 2);
    // P-384 signs with SHA-384 as the CMS digest algorithm (a SHA-256 digest beside
    // ecdsa-with-SHA384 is refused by pyHanko and found invalid by pdfsig).
    let rsa_pss = spec(&hsm, m, AGENCY, Some(Pkcs11Mechanism::RsaPss));
    let p384 = hsm.root().join("pss-p384.pdf");
    signed_pdf(&hsm, m, rsa_pss, spec(&hsm, m, P384, None), &p384);
    peers_accept(&p384, 2);
}

#[test]
fn p11kit_rpc_signs_and_its_pdf_validates() {
    let Some(dir) = softhsm::child() else {
        let (hsm, _) = token(false);
        let server = hsm.serve();
        let out = softhsm::run_in_child(
            "pkcs11::p11kit_rpc_signs_and_its_pdf_validates",
            hsm.root(),
            &server.env(),
        );
        eprintln!(
            "{}",
            out.lines()
                .filter(|l| l.contains("signs/s"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        return;
    };
    assert!(
        std::env::var_os("SOFTHSM2_CONF").is_none(),
        "the child reaches the token only through p11-kit"
    );
    let hsm = attached(dir);
    let m = P11KIT_CLIENT_MODULE;
    let rate = sign_each_algorithm(&hsm, m, false);
    println!("RSA-2048 PKCS#1 signs/s: p11-kit RPC {rate:.0}");
    let pdf = hsm.root().join("rpc.pdf");
    let rsa_pss = spec(&hsm, m, AGENCY, Some(Pkcs11Mechanism::RsaPss));
    signed_pdf(&hsm, m, rsa_pss, spec(&hsm, m, CERTIFIER, None), &pdf);
    peers_accept(&pdf, 2);
}

#[test]
fn sixteen_concurrent_signs_share_at_most_four_sessions() {
    let Some(dir) = softhsm::child() else {
        let (hsm, _) = token(false);
        let server = hsm.serve();
        let mut env = hsm.env();
        env.extend(server.env());
        let out = softhsm::run_in_child(
            "pkcs11::sixteen_concurrent_signs_share_at_most_four_sessions",
            hsm.root(),
            &env,
        );
        for line in out.lines().filter(|l| l.contains("peak")) {
            eprintln!("{line}");
        }
        return;
    };
    let hsm = attached(dir);
    let cases = [
        (SOFTHSM_MODULE, AGENCY, None),
        (SOFTHSM_MODULE, AGENCY, Some(Pkcs11Mechanism::RsaPss)),
        (SOFTHSM_MODULE, CERTIFIER, None),
        (P11KIT_CLIENT_MODULE, AGENCY, None),
        (P11KIT_CLIENT_MODULE, CERTIFIER, None),
    ];
    for (module, key, mechanism) in cases {
        let k = Pkcs11Key::open(&Pkcs11Spec {
            max_sessions: 4,
            ..spec(&hsm, module, key, mechanism)
        })
        .expect("open");
        assert_eq!(k.sessions_open(), 1, "the session that found the key stays");
        let start = Barrier::new(16);
        let signatures: Vec<(Vec<u8>, Vec<u8>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let (k, start) = (&k, &start);
                    s.spawn(move || {
                        start.wait();
                        (0..4)
                            .map(|j| {
                                let msg = format!("message {i}.{j}").into_bytes();
                                let sig = k.sign(&msg).expect("concurrent sign");
                                (msg, sig)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("signer thread"))
                .collect()
        });
        assert_eq!(signatures.len(), 64);
        for (msg, sig) in &signatures {
            assert!(ring_verifies(&k, msg, sig), "{key:?}");
        }
        assert!(k.sessions_peak() <= 4, "peak {}", k.sessions_peak());
        // RSA signatures take long enough (~1 ms) that 16 signers released together overlap;
        // an ECDSA signature can finish before the next thread starts.
        if key == AGENCY {
            assert!(
                k.sessions_peak() >= 2,
                "16 signers never overlapped: peak {}",
                k.sessions_peak()
            );
        }
        assert!(k.sessions_open() <= 4);
        if let Some(n) = k.token_session_count() {
            assert!(n <= 4, "the token counts {n} sessions");
        }
        println!(
            "{module} {key:?} {mechanism:?}: peak {} sessions, token counts {:?}",
            k.sessions_peak(),
            k.token_session_count()
        );
    }
}

#[test]
fn bad_pin_token_key_mechanism_and_certificate_fail_clearly() {
    let Some(dir) = softhsm::child() else {
        let (hsm, _) = token(false);
        let mut env = hsm.env();
        env.push(("SAOY_TEST_WRONG_PIN".into(), "wrong-pin-9Zk".into()));
        softhsm::run_in_child(
            "pkcs11::bad_pin_token_key_mechanism_and_certificate_fail_clearly",
            hsm.root(),
            &env,
        );
        return;
    };
    let hsm = attached(dir);
    let m = SOFTHSM_MODULE;
    let good = spec(&hsm, m, AGENCY, None);
    // Login is per process and token, so the wrong PIN is tried before any good login.
    let wrong_pin = Pkcs11Spec {
        pin_file: None,
        pin_env: Some("SAOY_TEST_WRONG_PIN".into()),
        ..good.clone()
    };
    let err = Pkcs11Key::open(&wrong_pin).unwrap_err();
    assert!(matches!(err, KeyError::Pkcs11Login { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("CKR_PIN_INCORRECT") && text.contains(LABEL),
        "{text}"
    );
    assert!(!text.contains("wrong-pin-9Zk") && !format!("{err:?}").contains("wrong-pin-9Zk"));

    let expect = |s: Pkcs11Spec, needle: &str| {
        let err = Pkcs11Key::open(&s).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(needle), "expected {needle:?} in: {text}");
        assert!(!text.contains(PIN), "{text}");
        err
    };
    let err = expect(
        Pkcs11Spec {
            token_label: "no-such-token".into(),
            ..good.clone()
        },
        "no token labelled \"no-such-token\"",
    );
    assert!(
        matches!(err, KeyError::Pkcs11NotFound(_)) && err.to_string().contains(LABEL),
        "{err}"
    );
    let err = expect(
        Pkcs11Spec {
            key_label: Some("no-such-key".into()),
            key_id: None,
            ..good.clone()
        },
        "no private key with label \"no-such-key\"",
    );
    assert!(matches!(err, KeyError::Pkcs11NotFound(_)));
    expect(
        Pkcs11Spec {
            key_id: Some("02".into()),
            ..good.clone()
        },
        "label \"agency\" and id 02",
    );
    expect(
        Pkcs11Spec {
            mechanism: Some(Pkcs11Mechanism::Ecdsa),
            ..good.clone()
        },
        "does not fit the token's RSA key",
    );
    expect(
        spec(&hsm, m, CERTIFIER, Some(Pkcs11Mechanism::RsaPss)),
        "does not fit the token's EC key",
    );
    expect(
        Pkcs11Spec {
            module: "/nonexistent/libnothing.so".into(),
            ..good.clone()
        },
        "/nonexistent/libnothing.so",
    );
    expect(
        Pkcs11Spec {
            pin_file: Some(hsm.root().join("no-pin-here")),
            ..good.clone()
        },
        "cannot read pin_file",
    );
    expect(
        Pkcs11Spec {
            pin_file: None,
            pin_env: Some("SAOY_TEST_NO_SUCH_VAR".into()),
            ..good.clone()
        },
        "SAOY_TEST_NO_SUCH_VAR",
    );
    // The certifier's certificate does not go with the agency's token key.
    let err = Credential::from_pkcs11(&good, chain_of(&hsm, "certifier")).unwrap_err();
    assert!(matches!(err, KeyError::Mismatch(_)), "{err:?}");
    // And the right one does, also from a URI.
    let uri = format!(
        "pkcs11:token={LABEL};object=agency;id=%01;type=private?module-path={m}&pin-source=file:{}",
        hsm.pin_file().display()
    );
    let from_uri = Pkcs11Spec::from_uri(&uri).expect("URI");
    assert_eq!(from_uri, good);
    Credential::from_pkcs11(&from_uri, chain_of(&hsm, "agency")).expect("credential from URI");
}

/// The secret parts of a PKCS#8 key: the DER, its base64 (PEM body), and the RSA private
/// exponent and primes or the EC scalar.
fn secret_parts(pkcs8_der: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine;
    let mut parts = vec![
        pkcs8_der.to_vec(),
        base64::engine::general_purpose::STANDARD
            .encode(pkcs8_der)
            .as_bytes()[..64]
            .to_vec(),
    ];
    if let Ok(rsa) = <rsa::RsaPrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_der(pkcs8_der)
    {
        use rsa::traits::PrivateKeyParts;
        parts.push(rsa.d().to_bytes_be());
        for p in rsa.primes() {
            parts.push(p.to_bytes_be());
        }
        return parts;
    }
    // ECPrivateKey (RFC 5915) inside the PKCS#8 privateKey: version INTEGER 1, then
    // privateKey OCTET STRING holding the scalar.
    let at = pkcs8_der
        .windows(4)
        .position(|w| w[..4] == [0x02, 0x01, 0x01, 0x04])
        .expect("ECPrivateKey in PKCS#8");
    let len = usize::from(pkcs8_der[at + 4]);
    assert!(len == 32 || len == 48, "scalar of {len} bytes");
    parts.push(pkcs8_der[at + 5..at + 5 + len].to_vec());
    parts
}

/// Every regular file under `dir`, except under `skip`.
fn files_under(dir: &Path, skip: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        let kind = entry.file_type().expect("file type");
        if path == skip {
            continue;
        } else if kind.is_dir() {
            files_under(&path, skip, out);
        } else if kind.is_file() {
            out.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

#[test]
fn no_key_bytes_outside_the_token_and_no_pin_in_debug_output() {
    let Some(dir) = softhsm::child() else {
        let (hsm, secrets) = token(false);
        let server = hsm.serve();
        let mut env = hsm.env();
        env.extend(server.env());
        softhsm::run_in_child(
            "pkcs11::no_key_bytes_outside_the_token_and_no_pin_in_debug_output",
            hsm.root(),
            &env,
        );
        drop(server);
        let mut files = Vec::new();
        files_under(hsm.root(), &hsm.token_dir(), &mut files);
        assert!(files.iter().any(|f| f.ends_with("debug.txt")), "{files:?}");
        assert!(
            files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "pdf"))
                .count()
                >= 2
        );
        let parts: Vec<Vec<u8>> = secrets.iter().flat_map(|s| secret_parts(s)).collect();
        assert!(parts.len() >= 10);
        for file in &files {
            let bytes = std::fs::read(file).expect("read");
            for (i, part) in parts.iter().enumerate() {
                assert!(
                    !contains(&bytes, part),
                    "secret part {i} found in {}",
                    file.display()
                );
            }
            if *file != hsm.pin_file() {
                assert!(
                    !contains(&bytes, PIN.as_bytes()),
                    "the PIN is in {}",
                    file.display()
                );
            }
        }
        // SoftHSM2 keeps private objects encrypted under the PIN-derived token key: not even
        // its own store holds the raw scalar or exponent.
        let mut token_files = Vec::new();
        files_under(
            &hsm.token_dir(),
            Path::new("/nonexistent"),
            &mut token_files,
        );
        for file in &token_files {
            let bytes = std::fs::read(file).expect("read");
            for part in parts.iter().skip(1) {
                assert!(
                    !contains(&bytes, part),
                    "a raw secret is in the token file {}",
                    file.display()
                );
            }
        }
        return;
    };
    let hsm = attached(dir);
    let mut debug = String::new();
    for module in [SOFTHSM_MODULE, P11KIT_CLIENT_MODULE] {
        let spec_env = Pkcs11Spec {
            pin_file: None,
            pin_env: Some("SAOY_TEST_PIN".into()),
            ..spec(&hsm, module, CERTIFIER, None)
        };
        let file_spec = spec(&hsm, module, AGENCY, None);
        let key = Pkcs11Key::open(&file_spec).expect("open");
        let credential =
            Credential::from_pkcs11(&file_spec, chain_of(&hsm, "agency")).expect("credential");
        let unknown = Pkcs11Key::open(&Pkcs11Spec {
            key_label: Some("x".into()),
            ..file_spec.clone()
        })
        .unwrap_err();
        let missing_env = Pkcs11Key::open(&spec_env).unwrap_err();
        debug += &format!(
            "{file_spec:?}\n{file_spec:#?}\n{spec_env:?}\n{key:?}\n{key:#?}\n{credential:?}\n{unknown:?}\n{unknown}\n{missing_env:?}\n"
        );
        let name = if module == SOFTHSM_MODULE {
            "in-process"
        } else {
            "rpc"
        };
        signed_pdf(
            &hsm,
            module,
            spec(&hsm, module, AGENCY, Some(Pkcs11Mechanism::RsaPss)),
            spec(&hsm, module, P384, None),
            &hsm.root().join(format!("{name}.pdf")),
        );
    }
    assert!(!debug.contains(PIN), "the PIN is in Debug output:\n{debug}");
    assert!(
        debug.contains("Pkcs11Key") && debug.contains(LABEL),
        "{debug}"
    );
    std::fs::write(hsm.root().join("debug.txt"), debug).expect("debug.txt");
}

/// Polls for `file` (written by the other process of a test) for up to a minute.
fn wait_for(file: &Path) {
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while !file.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            file.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_restarted_p11kit_server_costs_one_retry_not_a_failure() {
    const NAME: &str = "pkcs11::a_restarted_p11kit_server_costs_one_retry_not_a_failure";
    let Some(dir) = softhsm::child() else {
        let (hsm, _) = token(false);
        let mut server = hsm.serve();
        let child = softhsm::spawn_child(NAME, hsm.root(), &server.env());
        wait_for(&hsm.root().join("signed-before"));
        server.restart();
        std::fs::write(hsm.root().join("restarted"), b"").expect("restarted");
        softhsm::wait_child(NAME, child);
        return;
    };
    let hsm = attached(dir);
    let m = P11KIT_CLIENT_MODULE;
    let rsa = Pkcs11Key::open(&spec(&hsm, m, AGENCY, None)).expect("open RSA");
    let ec = Pkcs11Key::open(&spec(&hsm, m, CERTIFIER, None)).expect("open EC");
    for k in [&rsa, &ec] {
        let sig = k.sign(b"before").expect("sign before the restart");
        assert!(ring_verifies(k, b"before", &sig));
    }
    assert_eq!(rsa.module_reinitialisations(), 0);
    std::fs::write(hsm.root().join("signed-before"), b"").expect("signed-before");
    wait_for(&hsm.root().join("restarted"));
    // Both keys' sessions died with the server; each signature reconnects (the module is
    // initialised again once) and succeeds.
    for k in [&rsa, &ec] {
        let sig = k.sign(b"after").expect("sign after the restart");
        assert!(ring_verifies(k, b"after", &sig));
        assert_eq!(k.sessions_open(), 1, "{k:?}");
    }
    assert_eq!(
        rsa.module_reinitialisations(),
        1,
        "one C_Initialize again for both keys"
    );
    assert_eq!(ec.module_reinitialisations(), 1);
}
