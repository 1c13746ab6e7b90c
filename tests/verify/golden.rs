//! Golden reports: the JSON report of every file of the EU DSS corpus and of every frozen attack
//! fixture, validated at a fixed time, must be byte-identical to the one recorded in
//! `tests/golden/`. A change of verdict is then a visible diff in the commit that makes it.
//!
//! The attack fixtures are frozen in `tests/golden/attacks/*.pdf` (made once from
//! `crate::support::attacks`, which re-signs on every run). To record new reports after a
//! deliberate change, run `SAOY_BLESS=1 cargo test --test verify golden` and list every changed
//! verdict in the commit; `SAOY_BLESS=fixtures` also re-makes the attack fixtures.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{crate_dir, pki, read_der};
use saoy::verify::{ValidationPolicy, verify_pdf};

/// The fixed validation time: 2027-01-01T00:00:00Z (after the fixtures were signed, inside the
/// test PKI's validity and its CRL's update window).
const AT_UNIX: u64 = 1_798_761_600;

fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(AT_UNIX)
}

fn golden_dir() -> PathBuf {
    crate_dir().join("tests/golden")
}

fn corpus_dir() -> Option<PathBuf> {
    crate::corpus::corpus_dir()
}

fn bless() -> Option<String> {
    std::env::var("SAOY_BLESS").ok().filter(|v| !v.is_empty())
}

/// The PDFs of `dir`, sorted by name.
fn pdfs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    v.sort();
    v
}

/// Compares (or, when blessing, records) the report of each file against `reports/<set>/NAME.json`.
fn check_set(set: &str, files: &[PathBuf], policy: &ValidationPolicy) -> Vec<String> {
    let out_dir = golden_dir().join("reports").join(set);
    std::fs::create_dir_all(&out_dir).expect("golden report dir");
    let mut failures = Vec::new();
    for f in files {
        let name = f.file_stem().expect("file name").to_string_lossy();
        let bytes = std::fs::read(f).expect("read fixture");
        let json = verify_pdf(&bytes, policy).to_json() + "\n";
        // The same input twice gives the same report: the comparison below is meaningful.
        let again = verify_pdf(&bytes, policy).to_json() + "\n";
        if json != again {
            failures.push(format!("{set}/{name}: two runs give different reports"));
        }
        let golden = out_dir.join(format!("{name}.json"));
        if bless().is_some() {
            std::fs::write(&golden, &json).expect("write golden report");
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(g) if g == json => {}
            Ok(g) => failures.push(format!(
                "{set}/{name}: report differs from {}\n--- recorded\n{g}\n--- now\n{json}",
                golden.display()
            )),
            Err(e) => failures.push(format!(
                "{set}/{name}: no recorded report {} ({e}); record it with SAOY_BLESS=1",
                golden.display()
            )),
        }
    }
    failures
}

#[test]
fn dss_corpus_reports_are_unchanged() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    let files = pdfs(&dir);
    assert!(files.len() > 10, "the DSS corpus looks empty");
    let policy = ValidationPolicy::new(Vec::new(), Vec::new(), Some(at()));
    let failures = check_set("dss", &files, &policy);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn attack_fixture_reports_are_unchanged() {
    let dir = golden_dir().join("attacks");
    if bless().as_deref() == Some("fixtures") {
        std::fs::create_dir_all(&dir).expect("attack fixture dir");
        for f in crate::support::attacks::all() {
            std::fs::write(dir.join(format!("{}.pdf", f.name)), &f.bytes).expect("write fixture");
        }
    }
    let files = pdfs(&dir);
    // Every attack the generator knows is frozen (a new attack must be frozen too).
    let frozen: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    for f in crate::support::attacks::all() {
        assert!(
            frozen.iter().any(|n| n == f.name),
            "attack {} is not frozen in {}: run SAOY_BLESS=fixtures",
            f.name,
            dir.display()
        );
    }
    let policy = ValidationPolicy::new(
        vec![read_der(&pki("root.pem"))],
        vec![std::fs::read(pki("issuing-ca.crl")).expect("crl")],
        Some(at()),
    );
    let failures = check_set("attacks", &files, &policy);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
