//! `saoy digitize DIR --out DIR`: a shelf of files and folders becomes PDF/A files; a second
//! run resumes (skips what is done, redoes what went missing or changed); refused documents
//! are listed with the clerk's reason.

use std::path::Path;
use std::process::Command;

use saoy::app::batch::{self, BatchOptions, DocumentResult, STATE_FILE};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn shelf(dir: &Path) {
    std::fs::write(dir.join("a-scan.jpg"), data("sample-scan.jpg")).unwrap();
    std::fs::write(dir.join("b-fax.tif"), data("bilevel-g4.tif")).unwrap();
    std::fs::create_dir(dir.join("c-folder")).unwrap();
    std::fs::write(dir.join("c-folder/1.png"), data("sample-scan.png")).unwrap();
    std::fs::write(dir.join("c-folder/2.tif"), data("colour-jpeg.tif")).unwrap();
    std::fs::write(dir.join("d-notes.txt"), b"not a scan\n").unwrap();
    std::fs::write(dir.join(".hidden"), b"ignored").unwrap();
}

fn run(input: &Path, out: &Path) -> (batch::Summary, Vec<(String, DocumentResult)>) {
    let mut steps = Vec::new();
    let summary = batch::digitize_dir(input, out, &BatchOptions::default(), |s| {
        assert!(s.index <= s.total);
        steps.push((s.name.to_owned(), s.outcome.clone()));
    })
    .unwrap();
    (summary, steps)
}

#[test]
fn a_shelf_is_digitised_resumably_with_refusals_explained() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    shelf(input.path());

    let (summary, steps) = run(input.path(), out.path());
    assert_eq!(summary.done, 3, "{steps:?}");
    assert_eq!(summary.refused.len(), 1);
    assert_eq!(summary.refused[0].name, "d-notes.txt");
    assert!(
        summary.refused[0]
            .reason
            .contains("is not a JPEG, PNG, TIFF or PDF file")
    );
    let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["a-scan.jpg", "b-fax.tif", "c-folder", "d-notes.txt"]
    );
    for pdf in ["a-scan.pdf", "b-fax.pdf", "c-folder.pdf"] {
        let bytes = std::fs::read(out.path().join(pdf)).unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "{pdf}");
    }
    let folder = lopdf::Document::load(out.path().join("c-folder.pdf")).unwrap();
    assert_eq!(folder.get_pages().len(), 2);
    assert!(out.path().join(STATE_FILE).is_file());

    // Interrupted or repeated: nothing done twice; a lost output is made again.
    std::fs::remove_file(out.path().join("b-fax.pdf")).unwrap();
    let (summary, steps) = run(input.path(), out.path());
    assert_eq!((summary.done, summary.already_done), (1, 2), "{steps:?}");
    assert_eq!(steps[1].1, DocumentResult::Done("b-fax.pdf".into()));
    assert_eq!(summary.refused.len(), 1, "the refusal is still reported");

    // A fixed input is tried again.
    std::fs::remove_file(input.path().join("d-notes.txt")).unwrap();
    std::fs::write(input.path().join("d-notes.txt"), data("sample-scan.jpg")).unwrap();
    let (summary, _) = run(input.path(), out.path());
    assert_eq!((summary.done, summary.already_done), (1, 3));
    assert!(summary.refused.is_empty());
}

#[test]
fn the_cli_prints_progress_and_the_refusals() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    shelf(input.path());
    let result = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .arg("digitize")
        .arg(input.path())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("3 digitised, 0 already done, 1 refused"),
        "{stdout}"
    );
    assert!(
        stdout.contains("refused d-notes.txt: file 1 \"d-notes.txt\" is not"),
        "{stdout}"
    );
    assert!(stderr.contains("] 4/4 d-notes.txt: REFUSED"), "{stderr}");
    assert!(stderr.contains("1/4 a-scan.jpg: → a-scan.pdf"), "{stderr}");
}
