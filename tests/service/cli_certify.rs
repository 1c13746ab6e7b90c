//! `saoy certify` as a newcomer runs it: a multi-page TIFF without `--pages` is counted as
//! the server counts it (every directory a page), and the help names TIFF.

use std::process::Command;

use tiff::encoder::{Rational, TiffEncoder, colortype};
use tiff::tags::ResolutionUnit;

/// A three-page 300 dpi RGB TIFF with some ink on each page.
fn three_page_tiff() -> Vec<u8> {
    let (w, h) = (600u32, 400u32);
    let mut out = std::io::Cursor::new(Vec::new());
    let mut enc = TiffEncoder::new(&mut out).unwrap();
    for page in 0..3u32 {
        let mut pixels = vec![255u8; (w * h * 3) as usize];
        for y in 40 + page * 20..120 + page * 20 {
            for x in 40..(w - 60) {
                let i = ((y * w + x) * 3) as usize;
                pixels[i..i + 3].copy_from_slice(&[20, 30, (page * 60) as u8]);
            }
        }
        let mut image = enc.new_image::<colortype::RGB8>(w, h).unwrap();
        image.resolution(ResolutionUnit::Inch, Rational { n: 300, d: 1 });
        image.write_data(&pixels).unwrap();
    }
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_page_tiff_is_certified_without_pages() {
    let server = crate::support::server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("three-page.tif");
    std::fs::write(&tif, three_page_tiff()).unwrap();
    let out = dir.path().join("copy.pdf");
    let tls = crate::support::crate_dir().join("certs-test/tls");
    let url = server.url();
    let args = (tif.clone(), out.clone(), tls.clone());
    let run = tokio::task::spawn_blocking(move || {
        let (tif, out, tls) = args;
        Command::new(env!("CARGO_BIN_EXE_saoy"))
            .arg("certify")
            .arg(&tif)
            .args(["--server", &url])
            .arg("--tls-ca")
            .arg(tls.join("ca.pem"))
            .arg("--cert")
            .arg(tls.join("clerk.pem"))
            .arg("--key")
            .arg(tls.join("clerk.key.pem"))
            .args([
                "--owner",
                "079203001234",
                "--doc-type",
                "Giấy khai sinh",
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "saoy certify refused a 3-page TIFF: {stderr}"
    );
    let printed: serde_json::Value = serde_json::from_slice(&run.stdout).expect("JSON record");
    assert_eq!(printed["verification"], "PASSED", "{printed}");
    // Three pages of the original plus the certification page.
    let pages = lopdf::Document::load(&out).unwrap().get_pages().len();
    assert_eq!(pages, 4);

    let help = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .args(["certify", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("TIFF"));
}
