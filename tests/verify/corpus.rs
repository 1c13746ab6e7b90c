//! Runs the verifier over the EU DSS validation corpus (`$SAOY_CORPUS_DIR/dss-validation`,
//! default ../shared/corpus/dss-validation) with no trust anchors and checks each file
//! against its category's rule (see the corpus README).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use saoy::verify::{Indication, Report, SubIndication, ValidationPolicy, verify_pdf};

/// The DSS corpus, when present (see `support::corpus`).
pub fn corpus_dir() -> Option<PathBuf> {
    crate::support::corpus::corpus("dss-validation", "expectations.json")
}

fn summary(r: &Report) -> String {
    let sigs: Vec<String> = r
        .signatures
        .iter()
        .map(|s| {
            format!(
                "{}:{:?}/{:?} whole={} mod={}",
                s.field,
                s.status,
                s.sub_indication,
                s.covers_whole_document,
                s.modified_after_signing
            )
        })
        .collect();
    format!(
        "{:?}/{:?} [{}] {:?}",
        r.status,
        r.sub_indication,
        sigs.join(", "),
        r.messages
    )
}

#[test]
fn dss_corpus_meets_category_rules() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    let exp_text = std::fs::read_to_string(dir.join("expectations.json")).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}",
            dir.join("expectations.json").display()
        )
    });
    let exp: serde_json::Value =
        serde_json::from_str(&exp_text).expect("expectations.json is JSON");
    let exp = exp.as_object().expect("expectations.json is an object");
    let policy = ValidationPolicy::default();
    let mut failures = Vec::new();
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".pdf") {
            continue;
        }
        seen += 1;
        let bytes = std::fs::read(entry.path()).expect("read pdf");
        let started = Instant::now();
        let report = verify_pdf(&bytes, &policy);
        let took = started.elapsed();
        let line = summary(&report);
        println!("{name} ({} ms): {line}", took.as_millis());
        // The JSON contract always serialises.
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("report JSON");
        assert!(json.get("status").is_some() && json.get("signatures").is_some());
        if took > Duration::from_secs(5) {
            failures.push(format!("{name}: took {took:?}"));
        }
        if report.is_passed() {
            failures.push(format!("{name}: PASSED without trust anchors: {line}"));
        }
        let Some(e) = exp.get(&name) else {
            continue;
        };
        let category = e["category"].as_str().unwrap_or("");
        match category {
            "clean" => {
                let expected = e["pyhanko"].as_array().map_or(0, Vec::len);
                if report.signatures.len() < expected {
                    failures.push(format!(
                        "{name}: found {} of {expected} signatures: {line}",
                        report.signatures.len()
                    ));
                }
                for s in &report.signatures {
                    if s.status == Indication::Failed
                        && matches!(
                            s.sub_indication,
                            Some(SubIndication::HashFailure | SubIndication::SigCryptoFailure)
                        )
                    {
                        failures.push(format!(
                            "{name}: clean signature {} failed: {line}",
                            s.field
                        ));
                    }
                }
                if !report
                    .signatures
                    .last()
                    .is_some_and(|s| s.covers_whole_document)
                {
                    failures.push(format!(
                        "{name}: last signature does not cover the document: {line}"
                    ));
                }
            }
            "attack" => {
                let noticed = report.status == Indication::Failed
                    || report.signatures.iter().any(|s| s.modified_after_signing)
                    || report.signatures.is_empty();
                if !noticed {
                    failures.push(format!("{name}: attack not noticed: {line}"));
                }
            }
            "robustness" => {}
            other => failures.push(format!("{name}: unknown category {other}")),
        }
    }
    assert!(seen > 10, "the corpus looks empty ({seen} PDFs)");
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn garbage_is_never_passed() {
    let policy = ValidationPolicy::default();
    for input in [
        &b""[..],
        b"%PDF-1.7\n",
        b"hello",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    ] {
        let r = verify_pdf(input, &policy);
        assert!(!r.is_passed(), "{input:?}");
    }
}
