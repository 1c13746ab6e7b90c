//! NIST PKITS: the 246 path-validation cases of `$SAOY_CORPUS_DIR/pkits/` (default
//! `../shared/corpus/pkits/`; see its README)
//! through `saoy_verify::x509::validate_path`, the validator the PDF verifier uses for its
//! signers, time-stamp authorities and CRL issuers. Every case must get its expected outcome;
//! the only refusals allowed for a valid case are those of saoy's algorithm policy (DSA),
//! listed by id. The corpus is test data kept beside the project, never copied into it: when
//! it is absent the test says so loudly, and fails under `CI=true`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use saoy_verify::x509::{PathInput, PathOptions, RevocationMode, sub_name, validate_path};
use serde_json::Value;

/// The DSA signature algorithms (id-dsa-with-sha1, id-dsa-with-sha256), outside saoy's policy.
const DSA_OIDS: [&[u8]; 2] = [
    &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03],
    &[
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02,
    ],
];

/// The PKITS corpus, when present (see `support::corpus`: loud when absent, fatal in CI).
pub fn corpus() -> Option<PathBuf> {
    crate::support::corpus::corpus("pkits", "pkits.json")
}

fn read(dir: &Path, sub: &str, name: &str) -> Vec<u8> {
    let p = dir.join(sub).join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

fn names(case: &Value, key: &str) -> Vec<String> {
    case.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn uses_dsa(der: &[u8]) -> bool {
    DSA_OIDS
        .iter()
        .any(|oid| der.windows(oid.len()).any(|w| w == *oid))
}

/// The outcome of the whole run.
#[derive(Debug, Default)]
pub struct Tally {
    /// Cases with the expected outcome.
    pub passed: Vec<String>,
    /// Valid cases refused for DSA (id: reason).
    pub dsa_refused: Vec<String>,
    /// Cases with another outcome (id name: what happened).
    pub failed: Vec<String>,
    /// Time taken by the validations.
    pub elapsed: Duration,
}

/// The options of one case: revocation required unless `revocation` is false (hard-fail),
/// and the initial settings of `params`.
fn options(case: &Value) -> PathOptions {
    let params = case.get("params");
    let flag = |k: &str| {
        params
            .and_then(|p| p.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    PathOptions {
        revocation: if case.get("revocation") == Some(&Value::Bool(false)) {
            RevocationMode::HardFail
        } else {
            RevocationMode::Require
        },
        initial_policies: params
            .map(|p| names(p, "user_initial_policy_set"))
            .unwrap_or_default(),
        require_explicit_policy: flag("initial_explicit_policy"),
        inhibit_policy_mapping: flag("initial_policy_mapping_inhibit"),
        inhibit_any_policy: flag("initial_any_policy_inhibit"),
    }
}

/// Runs every case; `None` when the corpus is absent (outside CI).
pub fn run_all() -> Option<Tally> {
    let dir = corpus()?;
    let cases: Vec<Value> =
        serde_json::from_slice(&read(&dir, "", "pkits.json")).expect("pkits.json");
    assert_eq!(cases.len(), 246, "pkits.json holds {} cases", cases.len());
    let anchor = read(&dir, "certs", "TrustAnchorRootCertificate.crt");
    let anchor_crl = read(&dir, "crls", "TrustAnchorRootCRL.crl");
    // 2022-05-01T00:00:00Z, within every certificate's validity (the README's time).
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_651_363_200);
    let mut tally = Tally::default();
    for case in &cases {
        let id = case["id"].as_str().unwrap_or("?").to_string();
        let name = case["name"].as_str().unwrap_or("?");
        let ee = read(&dir, "certs", case["cert"].as_str().unwrap_or_default());
        let others: Vec<Vec<u8>> = names(case, "other_certs")
            .iter()
            .map(|n| read(&dir, "certs", n))
            .collect();
        let mut crls: Vec<Vec<u8>> = names(case, "crls")
            .iter()
            .map(|n| read(&dir, "crls", n))
            .collect();
        crls.push(anchor_crl.clone());
        let input = PathInput {
            end_entity: &ee,
            intermediates: &others,
            trust_anchors: std::slice::from_ref(&anchor),
            crls: &crls,
            ocsp_responses: &[],
            time: at,
        };
        let start = Instant::now();
        let res = validate_path(&input, &options(case));
        tally.elapsed += start.elapsed();
        let expect_valid = case.get("error").is_none();
        let dsa = uses_dsa(&ee) || others.iter().any(|c| uses_dsa(c));
        match (&res, expect_valid) {
            (Ok(_), true) | (Err(_), false) => tally.passed.push(id),
            (Err(f), true) if dsa && sub_name(f.sub_indication) == "CRYPTO_CONSTRAINTS_FAILURE" => {
                tally.dsa_refused.push(format!("{id} {name}: {f}"));
            }
            (Err(f), true) => tally.failed.push(format!("{id} {name}: refused: {f}")),
            (Ok(p), false) => tally.failed.push(format!(
                "{id} {name}: accepted (expected {}), path of {}, notes {:?}",
                case["error"]["class"],
                p.certificates.len(),
                p.notes
            )),
        }
    }
    Some(tally)
}

#[test]
fn pkits_every_case_gets_its_expected_outcome() {
    let Some(t) = run_all() else {
        return;
    };
    println!(
        "PKITS: {} of 246 as expected, {} refused for DSA, {} differ ({} ms of validation)",
        t.passed.len(),
        t.dsa_refused.len(),
        t.failed.len(),
        t.elapsed.as_millis()
    );
    for d in &t.dsa_refused {
        println!("  DSA (outside saoy's algorithm policy): {d}");
    }
    for f in &t.failed {
        println!("  DIFFERS: {f}");
    }
    assert!(
        t.failed.is_empty(),
        "{} PKITS case(s) differ:\n{}",
        t.failed.len(),
        t.failed.join("\n")
    );
    assert!(
        t.elapsed < Duration::from_secs(10),
        "PKITS took {:?}",
        t.elapsed
    );
}
