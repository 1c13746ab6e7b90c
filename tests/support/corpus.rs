//! Test data kept beside the project, never copied into it (the EU DSS validation corpus,
//! NIST PKITS), and the tools some tests drive. Where they are is said by
//! [`CORPUS_ENV`] (default `../shared/corpus` beside the project). When something is
//! missing the test says so loudly, naming what to install or set — and fails under
//! `CI=true`, where everything must be there; elsewhere it returns early.

use std::path::PathBuf;

/// The environment variable naming the corpus directory (holding `dss-validation/`,
/// `pkits/`).
pub const CORPUS_ENV: &str = "SAOY_CORPUS_DIR";

/// Whether this is a CI run (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The corpus directory: `$SAOY_CORPUS_DIR`, else `../shared/corpus` beside the project.
pub fn corpus_root() -> PathBuf {
    match std::env::var_os(CORPUS_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => super::crate_dir().join("../shared/corpus"),
    }
}

/// Says loudly that `what` is missing and why the test does not run; panics under CI.
#[track_caller]
pub fn missing(what: &str, fix: &str) {
    let line = "=".repeat(78);
    let text = format!("{what} is missing: {fix}");
    if in_ci() {
        panic!("{text} (CI=true: everything must be there)");
    }
    // Straight to stderr, not through `eprintln!`: the test harness hides what a passing
    // test prints, and this must be seen.
    use std::io::Write;
    let _ = write!(
        std::io::stderr(),
        "\n{line}\nNOT RUN: {text}\n(outside CI this test returns without checking; under CI=true it fails)\n{line}\n"
    );
}

/// `corpus_root()/name` when `marker` (a file in it) exists; otherwise [`missing`] says so
/// (naming [`CORPUS_ENV`]) and `None` is returned outside CI.
#[track_caller]
pub fn corpus(name: &str, marker: &str) -> Option<PathBuf> {
    let dir = corpus_root().join(name);
    if dir.join(marker).is_file() {
        return Some(dir);
    }
    missing(
        &format!("the {name} corpus"),
        &format!(
            "expected {} (set {CORPUS_ENV} to the directory holding {name}/, or check out ../shared beside the project)",
            dir.join(marker).display()
        ),
    );
    None
}

/// Whether `program` runs (`program ARG` exits at all); otherwise [`missing`] names the
/// package that brings it.
#[track_caller]
pub fn tool(program: &str, arg: &str, package: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg(arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !found {
        missing(
            &format!("`{program}`"),
            &format!("install {package} (scripts/test does)"),
        );
    }
    found
}
