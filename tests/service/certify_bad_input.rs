//! Bad input gets INVALID_ARGUMENT or RESOURCE_EXHAUSTED with a message naming the problem;
//! the server keeps serving, nothing is stored and no certification number is used.

use crate::support::client::{self, Upload};
use tonic::Code;

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header declares `w`×`h` pixels, with a valid CRC and a token IDAT.
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], body: &[u8]| {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut typed = kind.to_vec();
        typed.extend_from_slice(body);
        out.extend_from_slice(&typed);
        out.extend_from_slice(&crc32(&typed).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"pHYs", &[0, 0, 0x2E, 0x23, 0, 0, 0x2E, 0x23, 1]);
    chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

fn upload(name: &str, media_type: &str, data: Vec<u8>) -> Upload {
    Upload {
        name: name.into(),
        media_type: media_type.into(),
        data,
    }
}

fn stored_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_refused_clearly_and_leave_nothing_behind() {
    let server = crate::support::server::start_with(|c| c.limits.max_file_bytes = 8 << 20).await;
    let jpeg = std::fs::read(crate::support::root().join("tests/data/sample-scan.jpg")).unwrap();
    let png = std::fs::read(crate::support::root().join("tests/data/sample-scan.png")).unwrap();
    let mut eleven = client::meta("bad-owner", 1);
    eleven.owner_id = "07920300123".into();
    let mut bad_procedure = client::meta("bad-proc", 1);
    bad_procedure.procedure_code = "3.000815".into();

    let cases: Vec<(&str, Vec<saoy::proto::CertifyRequest>, Code, &[&str])> = vec![
        (
            "empty upload",
            client::messages(
                Some(client::meta("empty", 1)),
                &[upload("a.jpg", "image/jpeg", vec![])],
            ),
            Code::InvalidArgument,
            &["empty"],
        ),
        (
            "no file at all",
            client::messages(Some(client::meta("nofile", 1)), &[]),
            Code::InvalidArgument,
            &["no file"],
        ),
        (
            "truncated JPEG",
            client::messages(
                Some(client::meta("trunc", 1)),
                &[upload(
                    "a.jpg",
                    "image/jpeg",
                    jpeg[..jpeg.len() / 2].to_vec(),
                )],
            ),
            Code::InvalidArgument,
            &["a.jpg"],
        ),
        (
            "claims to be a PDF and is not",
            client::messages(
                Some(client::meta("fakepdf", 1)),
                &[upload(
                    "x.pdf",
                    "application/pdf",
                    b"this is plain text, not a PDF".to_vec(),
                )],
            ),
            Code::InvalidArgument,
            &["x.pdf"],
        ),
        (
            "PNG header declaring 100000x100000 pixels",
            client::messages(
                Some(client::meta("bomb", 1)),
                &[upload(
                    "bomb.png",
                    "image/png",
                    png_declaring(100_000, 100_000),
                )],
            ),
            Code::ResourceExhausted,
            &["pixel"],
        ),
        (
            "11-digit owner ID",
            client::messages(Some(eleven), &[upload("p.png", "image/png", png.clone())]),
            Code::InvalidArgument,
            &["12"],
        ),
        (
            "bad procedure code",
            client::messages(
                Some(bad_procedure),
                &[upload("p.png", "image/png", png.clone())],
            ),
            Code::InvalidArgument,
            &["procedure"],
        ),
        (
            "stream without the request message",
            client::messages(None, &[upload("p.png", "image/png", png.clone())]),
            Code::InvalidArgument,
            &["first message"],
        ),
        (
            "page count differs from the pages received",
            client::messages(
                Some(client::meta("pages", 3)),
                &[upload("p.png", "image/png", png.clone())],
            ),
            Code::InvalidArgument,
            &["counted"],
        ),
        (
            "file over the size limit",
            client::messages(
                Some(client::meta("huge", 1)),
                &[upload("big.png", "image/png", vec![0u8; 9 << 20])],
            ),
            Code::ResourceExhausted,
            &["limit"],
        ),
    ];
    for (what, messages, code, words) in cases {
        let err = client::certify(&server.url(), messages)
            .await
            .expect_err(&format!("{what} must be refused"));
        assert_eq!(err.code(), code, "{what}: {err:?}");
        let message = err.message().to_lowercase();
        for w in words {
            assert!(
                message.contains(&w.to_lowercase()),
                "{what}: message {message:?} should name {w:?}"
            );
        }
    }
    assert!(
        stored_files(server.data.path()).is_empty(),
        "nothing may be stored for refused input: {:?}",
        stored_files(server.data.path())
    );

    // The server still serves, and no number was used up by the refusals.
    let ok = client::certify(
        &server.url(),
        client::messages(
            Some(client::meta("good", 1)),
            &[upload("p.png", "image/png", png)],
        ),
    )
    .await
    .expect("a good request after the bad ones succeeds");
    assert_eq!(ok.number, 1);
}
