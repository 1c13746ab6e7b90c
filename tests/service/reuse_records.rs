//! RecordService reuse calls over real gRPC: a citizen's records list in issue order with
//! paging; FindReusable skips revoked and expired results; a revoked copy is not PASSED by
//! id or by bytes and the revocation is named; LookupByHash finds an issued copy and not a
//! modified one. The citizen's records are read through the portal with a citizen
//! assertion, revocation by the agency's admin, as the access rules say.

use crate::support::client::{self, Upload};
use saoy::proto::record_service_client::RecordServiceClient;
use saoy::proto::verification_service_client::VerificationServiceClient;
use saoy::proto::{
    CertificationRecord, FindReusableRequest, ListRecordsRequest, LookupByHashRequest,
    RevokeCopyRequest, VerificationReport, VerifyRequest, verify_request::Source,
};
use saoy::store::{LocalStore, ObjectStore};
use tonic::Code;

const OWNER: &str = "001203004567";
const BIRTH: &str = "Giấy khai sinh";

fn jpeg() -> Upload {
    Upload {
        name: "scan.jpg".into(),
        media_type: "image/jpeg".into(),
        data: std::fs::read(crate::support::root().join("tests/data/sample-scan.jpg")).unwrap(),
    }
}

async fn certify(url: &str, request_id: &str, owner: &str, doc_type: &str) -> CertificationRecord {
    let mut meta = client::meta(request_id, 1);
    meta.owner_id = owner.into();
    meta.document_type = doc_type.into();
    client::certify(url, client::messages(Some(meta), &[jpeg()]))
        .await
        .expect("certify")
}

async fn verify_bytes(url: &str, pdf: &[u8]) -> VerificationReport {
    // Verifying bytes is public: no client certificate.
    let mut verifier = VerificationServiceClient::new(client::channel(url, "none").await);
    let chunks: Vec<VerifyRequest> = pdf
        .chunks(1 << 20)
        .map(|c| VerifyRequest {
            source: Some(Source::Chunk(c.to_vec())),
        })
        .collect();
    verifier
        .verify(futures::stream::iter(chunks))
        .await
        .expect("verify")
        .into_inner()
}

async fn verify_id(url: &str, id: &str) -> VerificationReport {
    let mut verifier = VerificationServiceClient::new(client::channel(url, "clerk").await);
    verifier
        .verify(futures::stream::iter(vec![VerifyRequest {
            source: Some(Source::CopyId(id.into())),
        }]))
        .await
        .expect("verify")
        .into_inner()
}

fn code<T>(result: Result<tonic::Response<T>, tonic::Status>) -> Option<Code> {
    result.err().map(|s| s.code())
}

fn ids(records: &[CertificationRecord]) -> Vec<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_calls_list_find_lookup_and_revoke() {
    let server = crate::support::server::start().await;
    let url = server.url();
    let revoked = certify(&url, "r-1", OWNER, BIRTH).await;
    let expired = certify(&url, "r-2", OWNER, BIRTH).await;
    let diploma = certify(&url, "r-3", OWNER, "Bằng tốt nghiệp").await;
    let current = certify(&url, "r-4", OWNER, BIRTH).await;
    let stranger = certify(&url, "r-5", "079203009999", BIRTH).await;
    let mut records = RecordServiceClient::new(client::channel(&url, "portal").await);
    let mut admin = RecordServiceClient::new(client::channel(&url, "admin").await);
    let token_of_owner = client::citizen_token(OWNER, 300);

    // Issue order, two per page.
    let mut listed = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = records
            .list_records(client::as_citizen(
                ListRecordsRequest {
                    owner_id: OWNER.into(),
                    page_size: 2,
                    page_token: token.clone(),
                },
                &token_of_owner,
            ))
            .await
            .expect("list")
            .into_inner();
        pages += 1;
        assert!(page.records.len() <= 2);
        listed.extend(page.records);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 2);
    assert_eq!(
        ids(&listed),
        ids(&[
            revoked.clone(),
            expired.clone(),
            diploma.clone(),
            current.clone()
        ])
    );
    let numbers: Vec<u64> = listed.iter().map(|r| r.number).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");

    // A revocation needs a reason.
    let no_reason = admin
        .revoke_copy(RevokeCopyRequest {
            id: revoked.id.clone(),
            reason: " ".into(),
            by: String::new(),
            decision_number: "12/QĐ-UBND".into(),
            decision_date: "2025-01-02".into(),
            decided_by: "Chủ tịch UBND xã".into(),
        })
        .await;
    assert_eq!(code(no_reason), Some(Code::InvalidArgument));
    // Revoke one: the admin's certificate is recorded as who revoked it.
    let revoke = RevokeCopyRequest {
        id: revoked.id.clone(),
        reason: "Quyết định thu hồi số 12/QĐ-UBND".into(),
        by: String::new(),
        decision_number: "12/QĐ-UBND".into(),
        decision_date: "2025-01-02".into(),
        decided_by: "Chủ tịch UBND xã".into(),
    };
    let after = admin
        .revoke_copy(revoke)
        .await
        .expect("revoke")
        .into_inner();
    assert_eq!(after.status, "revoked");
    let revocation = after.revocation.expect("revocation details");
    assert!(
        revocation.by.starts_with("admin:") && revocation.by.ends_with("@H72.21.01"),
        "{}",
        revocation.by
    );
    assert!(revocation.at.ends_with("+07:00"), "{}", revocation.at);
    // Revoking again keeps the first revocation.
    let again = admin
        .revoke_copy(RevokeCopyRequest {
            id: revoked.id.clone(),
            reason: "another reason".into(),
            by: "someone else".into(),
            decision_number: "12/QĐ-UBND".into(),
            decision_date: "2025-01-02".into(),
            decided_by: "Chủ tịch UBND xã".into(),
        })
        .await
        .expect("revoke twice")
        .into_inner();
    assert_eq!(again.revocation.unwrap().reason, revocation.reason);

    // Expire another by giving its record an end of validity in the past.
    let store = LocalStore::open(server.data.path()).await.unwrap();
    let key = format!("records/{}.json", expired.id);
    let mut json: serde_json::Value =
        serde_json::from_slice(&store.get(&key).await.unwrap().unwrap()).unwrap();
    json["valid_until"] = "2020-01-01T00:00:00+07:00".into();
    store
        .put(&key, serde_json::to_vec(&json).unwrap().into())
        .await
        .unwrap();

    // FindReusable skips the revoked and the expired copy, and other document types.
    let found = records
        .find_reusable(client::as_citizen(
            FindReusableRequest {
                owner_id: OWNER.into(),
                document_type: BIRTH.into(),
            },
            &token_of_owner,
        ))
        .await
        .expect("find")
        .into_inner();
    assert_eq!(ids(&found.records), vec![current.id.clone()]);

    // The revoked copy: GetCopy, Verify by id and Verify by bytes are not PASSED and say why.
    let (header, revoked_pdf) = client::get_copy(&url, &revoked.id).await.unwrap();
    for report in [
        header.report.expect("report"),
        verify_id(&url, &revoked.id).await,
        verify_bytes(&url, &revoked_pdf).await,
    ] {
        assert_eq!(report.status, "FAILED", "{}", report.json);
        assert_eq!(report.sub_indication, "REVOKED", "{}", report.json);
        assert!(
            report
                .messages
                .iter()
                .any(|m| m.contains("revoked") && m.contains("12/QĐ-UBND")),
            "{:?}",
            report.messages
        );
    }

    // LookupByHash: the issued copy is found and valid; the revoked one found but not
    // valid; a modified file is not found.
    let (_, current_pdf) = client::get_copy(&url, &current.id).await.unwrap();
    let lookup = |sha256: String| {
        let mut records = records.clone();
        async move {
            records
                .lookup_by_hash(LookupByHashRequest { sha256 })
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let hit = lookup(current.copy_sha256.to_uppercase()).await.unwrap();
    assert!(hit.found && hit.valid, "{hit:?}");
    assert_eq!(hit.record.unwrap().id, current.id);
    let gone = lookup(revoked.copy_sha256.clone()).await.unwrap();
    assert!(
        gone.found && !gone.valid && gone.reason.contains("12/QĐ-UBND"),
        "{gone:?}"
    );
    let mut modified = current_pdf.clone();
    modified.extend_from_slice(b"\n% appended\n");
    let miss = lookup(saoy::app::sha256_hex(&modified)).await.unwrap();
    assert!(
        !miss.found && !miss.valid && miss.record.is_none(),
        "{miss:?}"
    );

    // A valid copy's bytes verify as PASSED and are recognised.
    let report = verify_bytes(&url, &current_pdf).await;
    assert_eq!(report.status, "PASSED", "{}", report.json);
    assert!(
        report.messages.iter().any(|m| m.contains(&current.id)),
        "{:?}",
        report.messages
    );

    // The other owner's copy is not listed for this owner and is still valid.
    assert!(!ids(&listed).contains(&stranger.id));
    assert!(lookup(stranger.copy_sha256.clone()).await.unwrap().valid);
}

#[tokio::test]
async fn reuse_calls_refuse_bad_input() {
    let server = crate::support::server::start().await;
    let mut records = RecordServiceClient::new(server.channel("portal").await);
    let mut admin = RecordServiceClient::new(server.channel("admin").await);
    let token = client::citizen_token(OWNER, 300);
    assert_eq!(
        code(
            records
                .list_records(client::as_citizen(
                    ListRecordsRequest {
                        owner_id: "123".into(),
                        ..Default::default()
                    },
                    &token
                ))
                .await
        ),
        Some(Code::InvalidArgument)
    );
    assert_eq!(
        code(
            records
                .list_records(client::as_citizen(
                    ListRecordsRequest {
                        owner_id: OWNER.into(),
                        page_size: 10,
                        page_token: "../x".into(),
                    },
                    &token
                ))
                .await
        ),
        Some(Code::InvalidArgument)
    );
    assert_eq!(
        code(
            records
                .lookup_by_hash(LookupByHashRequest {
                    sha256: "abc".into()
                })
                .await
        ),
        Some(Code::InvalidArgument)
    );
    // An unknown id is refused like a copy of someone else: nothing leaks.
    assert_eq!(
        code(
            admin
                .revoke_copy(RevokeCopyRequest {
                    id: "0190e1c2-0000-7000-8000-000000000001".into(),
                    reason: "x".into(),
                    by: "y".into(),
                    decision_number: "12/QĐ-UBND".into(),
                    decision_date: "2025-01-02".into(),
                    decided_by: "Chủ tịch UBND xã".into(),
                })
                .await
        ),
        Some(Code::PermissionDenied)
    );
    assert_eq!(
        code(
            records
                .find_reusable(client::as_citizen(
                    FindReusableRequest {
                        owner_id: OWNER.into(),
                        document_type: String::new(),
                    },
                    &token
                ))
                .await
        ),
        Some(Code::InvalidArgument)
    );
    let empty = records
        .list_records(client::as_citizen(
            ListRecordsRequest {
                owner_id: OWNER.into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(empty.records.is_empty() && empty.next_page_token.is_empty());
}
