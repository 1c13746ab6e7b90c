//! `DigitizationService` over real gRPC: scans are checked while the caller waits, OCR runs
//! as a job whose progress is polled, the PDF is fetched in chunks.

use std::time::Duration;

use saoy::proto::digitization_job::State;
use saoy::proto::digitization_service_client::DigitizationServiceClient;
use saoy::proto::{
    DigitizationJob, DigitizationJobRequest, DigitizeOptions, DigitizeRequest, FileHeader,
    digitize_request::Part,
};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn messages(options: DigitizeOptions, files: &[(&str, Vec<u8>)]) -> Vec<DigitizeRequest> {
    let mut out = vec![DigitizeRequest {
        part: Some(Part::Options(options)),
    }];
    for (name, bytes) in files {
        out.push(DigitizeRequest {
            part: Some(Part::File(FileHeader {
                name: (*name).into(),
                media_type: String::new(),
            })),
        });
        for chunk in bytes.chunks(64 << 10) {
            out.push(DigitizeRequest {
                part: Some(Part::Chunk(chunk.to_vec())),
            });
        }
    }
    out
}

async fn poll(
    client: &mut DigitizationServiceClient<tonic::transport::Channel>,
    id: &str,
) -> DigitizationJob {
    let mut seen_progress = Vec::new();
    for _ in 0..1200 {
        let job = client
            .get_digitization_job(DigitizationJobRequest { job_id: id.into() })
            .await
            .unwrap()
            .into_inner();
        seen_progress.push((job.pages_done, job.pages_total));
        if job.state == State::Done as i32 || job.state == State::Failed as i32 {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job never finished: {seen_progress:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_become_a_searchable_pdf_through_a_polled_job() {
    let server = crate::support::server::start().await;
    let mut client = DigitizationServiceClient::new(server.channel("clerk").await);
    let options = DigitizeOptions {
        document_type: "Giấy xác nhận".into(),
        ocr: true,
        allow_low_resolution: false,
        title: "Giấy xác nhận (bản số hóa)".into(),
    };
    let files = [
        ("scan.png", data("sample-scan.png")),
        ("fax.tif", data("bilevel-g4.tif")),
    ];
    let job = client
        .start_digitization(tokio_stream::iter(messages(options, &files)))
        .await
        .unwrap()
        .into_inner();
    assert!(!job.job_id.is_empty());
    assert_eq!(job.pages_total, 3);
    let done = poll(&mut client, &job.job_id).await;
    assert_eq!(done.state, State::Done as i32, "{}", done.error);
    assert_eq!((done.pages_done, done.pages_total), (3, 3));
    assert!(done.pdfa);

    let mut stream = client
        .get_digitized_pdf(DigitizationJobRequest {
            job_id: job.job_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut pdf = Vec::new();
    while let Some(chunk) = stream.message().await.unwrap() {
        pdf.extend_from_slice(&chunk.data);
    }
    assert_eq!(pdf.len() as u64, done.pdf_size);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = crate::support::peers::pdftotext(&path);
    assert!(text.contains("TIẾP NHẬN"), "no OCR text: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_scans_fail_before_any_job_and_unknown_jobs_are_not_found() {
    let server = crate::support::server::start().await;
    let mut client = DigitizationServiceClient::new(server.channel("clerk").await);
    let options = DigitizeOptions {
        document_type: "Giấy khai sinh".into(),
        ..DigitizeOptions::default()
    };
    let cut = data("colour-jpeg.tif");
    let err = client
        .start_digitization(tokio_stream::iter(messages(
            options.clone(),
            &[("cut.tif", cut[..cut.len() / 2].to_vec())],
        )))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err}");
    assert!(err.message().contains("damaged"), "{}", err.message());

    // A sealed document type refuses a black-and-white scan, with the clerk's message.
    let err = client
        .start_digitization(tokio_stream::iter(messages(
            options,
            &[("fax.tif", data("bilevel-g4.tif"))],
        )))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("must be scanned in colour"),
        "{}",
        err.message()
    );

    let err = client
        .get_digitization_job(DigitizationJobRequest {
            job_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_file_is_refused_as_certify_refuses_it() {
    let server = crate::support::server::start().await;
    let mut client = DigitizationServiceClient::new(server.channel("clerk").await);
    let err = client
        .start_digitization(tokio_stream::iter(messages(
            DigitizeOptions::default(),
            &[
                ("scan.png", data("sample-scan.png")),
                ("empty.png", Vec::new()),
            ],
        )))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err}");
    assert!(
        err.message().contains("file 2 (\"empty.png\") is empty"),
        "{}",
        err.message()
    );
}
