//! Streaming verification of a large signed PDF next to `openssl dgst -sha256` on the same
//! file: `cargo bench --bench verify_large [-- MiB]` (default 150).
//!
//! Builds a PDF of big incompressible image streams, signs it with saoy (agency key of the
//! test PKI), then runs `saoy verify FILE --trust root.pem --crl … --format json` as a child
//! process under `/usr/bin/time -v` (Debian package `time`) to read its peak memory, and
//! prints wall times (best of 3), the ratio to openssl, and the peak RSS. Timings are never
//! asserted.

#[path = "../tests/support/bigpdf.rs"]
mod bigpdf;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Best wall time of `runs` runs of `cmd`, and the largest "Maximum resident set size".
fn measure(mut cmd: impl FnMut() -> Command, runs: usize) -> (f64, Option<u64>) {
    let mut best = f64::INFINITY;
    let mut rss = None;
    for _ in 0..runs {
        let mut c = cmd();
        let start = Instant::now();
        let out = c.output().expect("run");
        best = best.min(start.elapsed().as_secs_f64());
        let err = String::from_utf8_lossy(&out.stderr);
        if let Some(kb) = err
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            rss = Some(rss.unwrap_or(0).max(kb));
        }
    }
    (best, rss)
}

/// A command factory.
type Cmd<'a> = Box<dyn Fn() -> Command + 'a>;

fn timed(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new("/usr/bin/time");
    c.arg("-v").arg(program).args(args);
    c
}

/// The same global allocator as the `saoy` binary (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mb: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(150);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("large-signed.pdf");
    let t = Instant::now();
    std::fs::write(&path, bigpdf::signed(&root, mb)).expect("write");
    let size = std::fs::metadata(&path).expect("stat").len();
    println!(
        "built and signed a {:.1} MiB PDF in {:.1}s: {}",
        size as f64 / 1048576.0,
        t.elapsed().as_secs_f64(),
        path.display()
    );
    let file = path.to_str().expect("utf-8 path");
    let pki = |f: &str| root.join("certs-test").join(f).display().to_string();
    let (root_pem, ca_crl, root_crl) = (pki("root.pem"), pki("issuing-ca.crl"), pki("root.crl"));
    let saoy = env!("CARGO_BIN_EXE_saoy");
    let args = [
        "verify", file, "--trust", &root_pem, "--crl", &ca_crl, "--crl", &root_crl, "--format",
        "json",
    ];
    let check = Command::new(saoy).args(args).output().expect("saoy verify");
    let status = serde_json::from_slice::<serde_json::Value>(&check.stdout)
        .ok()
        .and_then(|v| v["status"].as_str().map(String::from))
        .unwrap_or_else(|| "?".into());
    let has_time = Path::new("/usr/bin/time").exists();
    let (runs, cmd_saoy, cmd_ssl): (usize, Cmd<'_>, Cmd<'_>) = if has_time {
        (
            3,
            Box::new(|| timed(saoy, &args)),
            Box::new(|| timed("openssl", &["dgst", "-sha256", file])),
        )
    } else {
        eprintln!("/usr/bin/time missing (apt-get install time): no peak memory figures");
        (
            3,
            Box::new(|| {
                let mut c = Command::new(saoy);
                c.args(args);
                c
            }),
            Box::new(|| {
                let mut c = Command::new("openssl");
                c.args(["dgst", "-sha256", file]);
                c
            }),
        )
    };
    let (t_ssl, rss_ssl) = measure(cmd_ssl, runs);
    let (t_saoy, rss_saoy) = measure(cmd_saoy, runs);
    let mib = |kb: Option<u64>| {
        kb.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
            .unwrap_or_else(|| "?".into())
    };
    println!(
        "\nstreaming verify of a {:.0} MiB signed PDF (best of {runs})",
        size as f64 / 1048576.0
    );
    println!("{:<24} {:>9} {:>12} {:>12}", "", "time", "MB/s", "peak RSS");
    for (name, t, rss) in [
        ("openssl dgst -sha256", t_ssl, rss_ssl),
        ("saoy verify", t_saoy, rss_saoy),
    ] {
        println!(
            "{name:<24} {:>8.3}s {:>12.0} {:>12}",
            t,
            size as f64 / 1e6 / t,
            mib(rss)
        );
    }
    println!(
        "\nverdict {status}; time ratio saoy / openssl = {:.2}x (goal ≤ 1.5x); peak RSS {} (goal < 64 MiB)",
        t_saoy / t_ssl,
        mib(rss_saoy)
    );
}
