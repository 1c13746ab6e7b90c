//! Refusals (NĐ 23/2015 Art. 22) over real mutual TLS: one per reason, each notice signed
//! and PASSED by saoy and pyHanko, its text (pdftotext) holding the reason; no number is
//! taken; the audit log (`saoy audit show`) and the citizen's list (ListRecords through the
//! portal) show it; a pending copy refused has its number voided with the reason, the book
//! gapless; the book export lists refusals after the numbered entries, with fees.
//! Revocation: the decision's fields are checked and shown on the public JSON.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use saoy::proto::certification_service_client::CertificationServiceClient;
use saoy::proto::record_service_client::RecordServiceClient;
use saoy::proto::refuse_certification_request::Subject;
use saoy::proto::{ListRecordsRequest, RefuseCertificationRequest, RevokeCopyRequest};
use saoy::records::{EntryState, REFUSAL_REASONS, Registry};
use saoy::store::{LocalStore, ObjectStore};
use tonic::Code;

use crate::support::client::{self, Upload};
use crate::support::server::start_with;
use crate::support::{peers, pyhanko};

fn png() -> Upload {
    Upload {
        name: "scan.png".into(),
        media_type: "image/png".into(),
        data: std::fs::read(crate::support::root().join("tests/data/sample-scan.png"))
            .expect("sample scan"),
    }
}

async fn registry(dir: &std::path::Path) -> Registry {
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir).await.expect("store"));
    Registry::new(store)
}

fn year() -> i32 {
    time::OffsetDateTime::now_utc()
        .to_offset(saoy::app::VIETNAM_OFFSET)
        .year()
}

fn saoy(args: &[&str], data: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .args(args)
        .arg("--data")
        .arg(data)
        .current_dir(crate::support::root())
        .output()
        .expect("saoy runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn text_of(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p: PathBuf = dir.path().join("notice.pdf");
    std::fs::write(&p, pdf).unwrap();
    peers::pdftotext(&p)
}

fn policy() -> saoy::verify::ValidationPolicy {
    let root = crate::support::pki("root.pem");
    saoy::app::policy_from_files(&[root], &[], &[], None).expect("policy")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_art_22_reason_yields_a_signed_notice_and_no_number() {
    let server = start_with(|c| {
        c.agencies[0].certifiers[0].key_file = PathBuf::new();
        c.agencies[0].certifiers[0].external = true;
    })
    .await;
    let url = server.url();
    let mut clerk = CertificationServiceClient::new(client::channel(&url, "clerk").await);
    let owner = client::meta("x", 1).owner_id;
    let mut ids = Vec::new();
    for (code, clause, text) in REFUSAL_REASONS {
        let mut meta = client::meta(&format!("refuse-{code}"), 0);
        meta.document_name = format!("Giấy tờ {code}");
        let answer = clerk
            .refuse_certification(RefuseCertificationRequest {
                subject: Some(Subject::Request(meta.clone())),
                reason_code: (*code).into(),
                reason_text: "Kiểm tra tại quầy".into(),
            })
            .await
            .expect("refused")
            .into_inner();
        let record = answer.record.expect("record");
        assert_eq!(record.kind, "refusal");
        assert_eq!(record.number, 0, "a refusal takes no number");
        let refusal = record.refusal.clone().expect("reason");
        assert_eq!(refusal.reason_code, *code);
        assert_eq!(
            refusal.legal_basis,
            format!("Khoản {clause} Điều 22 Nghị định 23/2015/NĐ-CP")
        );
        let notice = answer.notice;
        let report = saoy::verify::verify_pdf(&notice, &policy());
        assert!(report.is_passed(), "{code}: {}", report.render_text());
        let peer = pyhanko::validate(&notice);
        assert!(!peer.rejects(), "{code}: pyHanko: {peer:?}");
        let words = text_of(&notice)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let first_words: String = text
            .split_whitespace()
            .take(5)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(words.contains(&first_words), "{code}: {words}");
        assert!(words.contains("Điều 22 Nghị định 23/2015/NĐ-CP"), "{words}");
        assert!(words.contains(&meta.procedure_code), "{words}");
        // A retry returns the same refusal.
        let again = clerk
            .refuse_certification(RefuseCertificationRequest {
                subject: Some(Subject::Request(meta.clone())),
                reason_code: (*code).into(),
                reason_text: "Kiểm tra tại quầy".into(),
            })
            .await
            .expect("again")
            .into_inner();
        assert_eq!(again.record.unwrap().id, record.id);
        // The refused request can no longer be certified under the same id.
        let mut certify_meta = meta.clone();
        certify_meta.page_count = 1;
        let err = clerk
            .certify(futures::stream::iter(client::messages(
                Some(certify_meta),
                &[png()],
            )))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
        ids.push(record.id);
    }
    // An unknown reason is refused.
    let bad = clerk
        .refuse_certification(RefuseCertificationRequest {
            subject: Some(Subject::Request(client::meta("refuse-bad", 1))),
            reason_code: "because".into(),
            reason_text: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);

    // No number was taken.
    let data = server.data_dir();
    let reg = registry(&data).await;
    assert!(
        reg.book_entries("H72.21.01", year())
            .await
            .unwrap()
            .is_empty()
    );

    // A pending copy refused by its certifier: its number is voided with the reason.
    let pending = clerk
        .certify(futures::stream::iter(client::messages(
            Some(client::meta("pending-refused", 1)),
            &[png()],
        )))
        .await
        .expect("pending")
        .into_inner();
    assert_eq!(pending.status, "awaiting_signature");
    assert_eq!(pending.number, 1);
    let mut certifier = CertificationServiceClient::new(client::channel(&url, "certifier").await);
    let refused = certifier
        .refuse_certification(RefuseCertificationRequest {
            subject: Some(Subject::CopyId(pending.id.clone())),
            reason_code: "tampered".into(),
            reason_text: "Ngày cấp bị sửa".into(),
        })
        .await
        .expect("refused")
        .into_inner();
    let record = refused.record.unwrap();
    assert_eq!(
        (record.kind.as_str(), record.id.as_str()),
        ("refusal", pending.id.as_str())
    );
    assert_eq!(record.refusal.unwrap().voided_number, 1);
    assert!(saoy::verify::verify_pdf(&refused.notice, &policy()).is_passed());
    // Its signature can no longer complete it.
    let late = certifier
        .complete_certification(saoy::proto::CompleteCertificationRequest {
            copy_id: pending.id.clone(),
            signature_value: vec![1, 2, 3],
        })
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");
    let book = reg.book_entries("H72.21.01", year()).await.unwrap();
    assert_eq!(book.len(), 1);
    match &book[0].state {
        EntryState::Void { reason, .. } => {
            assert!(
                reason.contains("tampered") && reason.contains("Điều 22"),
                "{reason}"
            )
        }
        other => panic!("number 1 should be void: {other:?}"),
    }
    ids.push(pending.id.clone());

    // The citizen's list shows every refusal as a refusal.
    let token = client::citizen_token(&owner, 300);
    let mut portal = RecordServiceClient::new(server.channel("portal").await);
    let listed = portal
        .list_records(client::as_citizen(
            ListRecordsRequest {
                owner_id: owner.clone(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("list")
        .into_inner()
        .records;
    for id in &ids {
        let r = listed.iter().find(|r| &r.id == id).expect("listed");
        assert_eq!(r.kind, "refusal");
    }

    // The audit log has each refusal.
    let shown = saoy(&["audit", "show", "--action", "RefuseCertification"], &data);
    for id in &ids {
        assert!(shown.contains(id.as_str()), "{id} not in:\n{shown}");
    }

    // The book export: the void number, then the refusals, as their own kind.
    let csv = saoy(
        &[
            "book",
            "export",
            "--agency",
            "H72.21.01",
            "--year",
            &year().to_string(),
        ],
        &data,
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], saoy::records::BOOK_CSV_HEADER);
    assert!(lines[1].starts_with("1,void,"), "{}", lines[1]);
    let refusals: Vec<&&str> = lines[2..]
        .iter()
        .filter(|l| l.contains(",refusal,"))
        .collect();
    assert_eq!(refusals.len(), REFUSAL_REASONS.len() + 1, "{csv}");
    assert!(refusals.iter().all(|l| l.starts_with(",refused,")), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fees_and_revocation_decisions_are_recorded_and_shown() {
    let t = crate::support::web::start_web_with(|_| {}).await;
    let server = &t.server;
    let url = server.url();
    let mut clerk = CertificationServiceClient::new(client::channel(&url, "clerk").await);
    let copy = clerk
        .certify(futures::stream::iter(client::messages(
            Some(client::meta("fee-1", 1)),
            &[png()],
        )))
        .await
        .expect("certified")
        .into_inner();
    assert_eq!(copy.kind, "copy");
    assert_eq!(copy.fee_vnd, 2_000, "one page: 2,000 VND");

    let mut admin = RecordServiceClient::new(client::channel(&url, "admin").await);
    let ask = |number: &str, date: &str, by: &str| RevokeCopyRequest {
        id: copy.id.clone(),
        reason: "Chứng thực sai quy định".into(),
        by: String::new(),
        decision_number: number.into(),
        decision_date: date.into(),
        decided_by: by.into(),
    };
    for (n, d, b) in [
        ("", "2025-01-02", "Chủ tịch"),
        ("12/QĐ-UBND", "2999-01-01", "Chủ tịch"),
        ("12/QĐ-UBND", "02/01/2025", "Chủ tịch"),
        ("12/QĐ-UBND", "2025-01-02", " "),
    ] {
        let err = admin.revoke_copy(ask(n, d, b)).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{n} {d} {b}: {err:?}");
    }
    let revoked = admin
        .revoke_copy(ask(
            "12/QĐ-UBND",
            "2025-01-02",
            "Chủ tịch UBND xã Nguyễn Văn B",
        ))
        .await
        .expect("revoked")
        .into_inner();
    let r = revoked.revocation.expect("revocation");
    assert_eq!(
        (r.decision_number.as_str(), r.decision_date.as_str()),
        ("12/QĐ-UBND", "2025-01-02")
    );

    // The public JSON shows the decision.
    let body = crate::support::web::request(
        t.addr(),
        "GET",
        &format!("/api/v1/copies/{}", copy.id),
        &[],
        Vec::new(),
    )
    .await
    .json();
    assert_eq!(body["status"], "revoked", "{body}");
    assert_eq!(body["kind"], "copy", "{body}");
    assert_eq!(
        body["revocation"]["decision_number"], "12/QĐ-UBND",
        "{body}"
    );
    assert_eq!(body["revocation"]["decision_date"], "2025-01-02", "{body}");
    assert_eq!(
        body["revocation"]["decided_by"], "Chủ tịch UBND xã Nguyễn Văn B",
        "{body}"
    );

    // The book export: the fee and the revocation note beside number 1.
    let csv = saoy(
        &[
            "book",
            "export",
            "--agency",
            "H72.21.01",
            "--year",
            &year().to_string(),
        ],
        &server.data_dir(),
    );
    let row = csv.lines().nth(1).expect("number 1");
    assert!(row.starts_with("1,issued,"), "{row}");
    assert!(row.contains(",copy,2000,"), "{row}");
    assert!(
        row.contains("Quyết định số 12/QĐ-UBND ngày 2025-01-02"),
        "{row}"
    );
}
