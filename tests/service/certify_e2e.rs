//! End to end over real gRPC: a clerk certifies a JPEG + PNG original, gets it back through
//! GetCopy with a PASSED report, and the copy holds up in pyHanko, pdfsig, qpdf and
//! pdftotext; the QR code decodes to the copy's page URL; the JPEG is embedded byte for byte.

use std::path::Path;
use std::process::Command;

use crate::support::client::{self, Upload};

fn sample(name: &str, media_type: &str) -> Upload {
    Upload {
        name: name.into(),
        media_type: media_type.into(),
        data: std::fs::read(crate::support::root().join("tests/data").join(name))
            .expect("sample scan"),
    }
}

/// Renders the last page with pdftoppm and decodes the QR code on it.
fn decode_qr(pdf: &Path, page: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("page");
    let status = Command::new("pdftoppm")
        .args([
            "-r",
            "150",
            "-png",
            "-f",
            &page.to_string(),
            "-l",
            &page.to_string(),
        ])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .expect("pdftoppm (poppler-utils) must be installed; run scripts/test");
    assert!(status.success());
    let png = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .expect("a rendered page");
    let img = image::open(png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, content)| content))
        .collect()
}

fn image_streams(pdf: &[u8]) -> Vec<Vec<u8>> {
    let doc = lopdf::Document::load_mem(pdf).expect("copy parses");
    doc.objects
        .values()
        .filter_map(|o| o.as_stream().ok())
        .filter(|s| {
            s.dict
                .get(b"Subtype")
                .and_then(|v| v.as_name())
                .is_ok_and(|n| n == b"Image")
        })
        .map(|s| s.content.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certify_get_copy_and_peer_validation() {
    let server = crate::support::server::start().await;
    let jpeg = sample("sample-scan.jpg", "image/jpeg");
    let png = sample("sample-scan.png", "image/png");
    let jpeg_bytes = jpeg.data.clone();
    let record = client::certify(
        &server.url(),
        client::messages(Some(client::meta("e2e-1", 2)), &[jpeg, png]),
    )
    .await
    .expect("certify succeeds");
    assert_eq!(record.number, 1);
    assert_eq!(record.original_sha256.len(), 2);
    assert_eq!(record.signers.len(), 2, "agency and certifier sign");
    assert!(record.reference.contains("SCT/BS"), "{}", record.reference);

    let (header, pdf) = client::get_copy(&server.url(), &record.id)
        .await
        .expect("get copy");
    let report = header.report.expect("report travels with the bytes");
    assert_eq!(report.status, "PASSED", "{}", report.json);
    assert_eq!(report.signatures.len(), 2);
    assert!(header.hash_matches);
    assert_eq!(saoy::app::sha256_hex(&pdf), record.copy_sha256);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.pdf");
    std::fs::write(&path, &pdf).unwrap();

    // Every original page plus the certification page; the QR on the last page leads to the
    // copy's public page (`{public_base_url}/c/{id}`; by default the HTTP listener's address).
    let pages = lopdf::Document::load_mem(&pdf).unwrap().get_pages().len();
    assert_eq!(
        pages as u32,
        record.page_count + 1,
        "pages = original pages + certification page"
    );
    assert_eq!(
        decode_qr(&path, pages),
        vec![format!("http://127.0.0.1:50080/c/{}", record.id)]
    );

    // The JPEG is embedded exactly as uploaded.
    assert!(
        image_streams(&pdf).iter().any(|s| s == &jpeg_bytes),
        "the uploaded JPEG must be embedded byte for byte"
    );

    // The certification statement is extractable exactly, with its diacritics.
    let text = crate::support::peers::pdftotext(&path);
    assert!(
        text.contains("Chứng thực bản sao đúng với bản chính"),
        "pdftotext:\n{text}"
    );
    assert!(
        text.contains(&format!("Số chứng thực: {}", record.number)),
        "{text}"
    );

    let root = crate::support::pki("root.pem");
    let crl = crate::support::pki("issuing-ca.crl");
    let verdicts = crate::support::peers::pyhanko_validate(&path, &[&root], &[&crl]);
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    for v in &verdicts {
        assert!(v.error.is_none(), "{v:?}");
        assert!(v.intact && v.valid && v.trusted, "pyHanko: {}", v.summary);
    }
    let pdfsig = crate::support::peers::pdfsig(&path, &root);
    assert_eq!(pdfsig.matches("Signature is Valid").count(), 2, "{pdfsig}");
    let (ok, out) = crate::support::peers::qpdf_check(&path);
    assert!(
        ok && out.contains("No syntax or stream encoding errors found") && !out.contains("WARNING"),
        "qpdf --check: {out}"
    );

    // saoy verify (the CLI) agrees, with the JSON contract.
    let cli = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .arg("verify")
        .arg(&path)
        .arg("--trust")
        .arg(&root)
        .arg("--crl")
        .arg(&crl)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stdout)
    );
    let json: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(json["status"], "PASSED");
    assert_eq!(json["signatures"].as_array().unwrap().len(), 2);
    for s in json["signatures"].as_array().unwrap() {
        assert_eq!(
            s["level"], "B-T",
            "the embedded default time-stamps both signatures"
        );
        assert_eq!(s["modified_after_signing"], false);
    }
    assert_eq!(json["signatures"][1]["covers_whole_document"], true);

    // Verify RPC by id gives the same verdict.
    let mut verifier = saoy::proto::verification_service_client::VerificationServiceClient::new(
        server.channel("clerk").await,
    );
    let by_id = verifier
        .verify(futures::stream::iter(vec![saoy::proto::VerifyRequest {
            source: Some(saoy::proto::verify_request::Source::CopyId(
                record.id.clone(),
            )),
        }]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_id.status, "PASSED");
    // ... and by bytes, where a flipped byte in the signed range is a HASH_FAILURE.
    let mut tampered = pdf.clone();
    let middle = tampered.len() / 3;
    tampered[middle] ^= 0x01;
    let by_bytes = verifier
        .verify(futures::stream::iter(
            tampered
                .chunks(1 << 20)
                .map(|c| saoy::proto::VerifyRequest {
                    source: Some(saoy::proto::verify_request::Source::Chunk(c.to_vec())),
                })
                .collect::<Vec<_>>(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(by_bytes.status, "PASSED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_certifications_get_numbers_one_to_fifty_and_retries_replay() {
    let server = crate::support::server::start().await;
    let png = std::fs::read(crate::support::root().join("tests/data/sample-scan.png")).unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let url = server.url();
        let png = png.clone();
        tasks.push(tokio::spawn(async move {
            let upload = Upload {
                name: "p.png".into(),
                media_type: "image/png".into(),
                data: png,
            };
            client::certify(
                &url,
                client::messages(Some(client::meta(&format!("par-{i}"), 1)), &[upload]),
            )
            .await
            .expect("certify")
        }));
    }
    let mut numbers = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        numbers.push(r.number);
        ids.insert(r.id);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=50).collect::<Vec<u64>>());
    assert_eq!(ids.len(), 50);

    // A retry with a used request id returns the first copy, not a 51st.
    let upload = Upload {
        name: "p.png".into(),
        media_type: "image/png".into(),
        data: png.clone(),
    };
    let first = client::certify(
        &server.url(),
        client::messages(Some(client::meta("par-7", 1)), &[upload]),
    )
    .await
    .unwrap();
    let (_, again) = client::get_copy(&server.url(), &first.id).await.unwrap();
    assert!(first.number <= 50);
    assert_eq!(saoy::app::sha256_hex(&again), first.copy_sha256);
    let upload = Upload {
        name: "p.png".into(),
        media_type: "image/png".into(),
        data: png,
    };
    let next = client::certify(
        &server.url(),
        client::messages(Some(client::meta("fresh", 1)), &[upload]),
    )
    .await
    .unwrap();
    assert_eq!(
        next.number, 51,
        "the replay must not have consumed a number"
    );
}
