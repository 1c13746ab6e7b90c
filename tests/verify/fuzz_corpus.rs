//! Replays the kept fuzz corpus (fuzz/corpus/TARGET/*) through the verifier in the normal test
//! suite: every file gets a verdict, never PASSED without trust anchors, no panic, and each
//! within a time bound (2 s is the fuzzing bar in release; debug builds get 5 s).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use saoy::verify::{ValidationPolicy, fuzzing, verify_pdf};

const BOUND: Duration = Duration::from_secs(5);

#[test]
fn fuzz_corpus_replays_cleanly() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let policy = ValidationPolicy::default();
    let mut seen = 0;
    let mut failures = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("fuzz/corpus exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let target = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("corpus dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).expect("read corpus file");
            seen += 1;
            let started = Instant::now();
            let outcome = std::panic::catch_unwind(|| {
                match target.as_str() {
                    "pdf_parser" => fuzzing::pdf(&data),
                    "cms_parser" => fuzzing::cms(&data),
                    _ => {}
                }
                verify_pdf(&data, &policy)
            });
            let took = started.elapsed();
            let name = f.display();
            match outcome {
                Err(_) => failures.push(format!("{name}: panicked")),
                Ok(r) => {
                    if r.is_passed() {
                        failures.push(format!("{name}: PASSED without trust anchors"));
                    }
                    if r.messages.iter().any(|m| m.starts_with("internal error")) {
                        failures.push(format!("{name}: the verifier caught a panic"));
                    }
                }
            }
            if took > BOUND {
                failures.push(format!("{name}: took {took:?}"));
            }
        }
    }
    assert!(
        seen > 1000,
        "the kept fuzz corpus looks lost ({seen} files)"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
