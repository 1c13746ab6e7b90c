//! Who may do what, over real mutual TLS: every RPC called by every kind of caller (each
//! role of certs-test/tls, no certificate, an expired, a revoked and an untrusted
//! certificate, forged, expired and stolen citizen assertions) gets exactly the code the
//! rule table allows; nothing about another citizen leaks through errors; a consent opens
//! exactly what it covers and its withdrawal closes it on the next call, also on a second
//! replica; the citizen sees who read their copies; limits answer RESOURCE_EXHAUSTED.

use std::collections::BTreeMap;

use crate::support::client::{self, Upload};
use crate::support::server::{TestServer, start, start_with};
use saoy::proto::certification_service_client::CertificationServiceClient;
use saoy::proto::digitization_service_client::DigitizationServiceClient;
use saoy::proto::record_service_client::RecordServiceClient;
use saoy::proto::verification_service_client::VerificationServiceClient;
use saoy::proto::{
    CertificationRecord, DigitizationJobRequest, FindReusableRequest, GetCopyRequest,
    GrantConsentRequest, ListAccessesRequest, ListConsentsRequest, ListRecordsRequest,
    LookupByHashRequest, RevokeCopyRequest, VerifyRequest, WithdrawConsentRequest,
    verify_request::Source,
};
use tonic::transport::Channel;
use tonic::{Code, Request};

const OWNER: &str = "001203004567";
const OTHER: &str = "079203009999";
const BIRTH: &str = "Giấy khai sinh";
const DIPLOMA: &str = "Bằng tốt nghiệp";

fn jpeg() -> Upload {
    Upload {
        name: "scan.jpg".into(),
        media_type: "image/jpeg".into(),
        data: std::fs::read(crate::support::root().join("tests/data/sample-scan.jpg")).unwrap(),
    }
}

async fn certify(url: &str, id: &str, owner: &str, doc_type: &str) -> CertificationRecord {
    let mut meta = client::meta(id, 1);
    meta.owner_id = owner.into();
    meta.document_type = doc_type.into();
    client::certify(url, client::messages(Some(meta), &[jpeg()]))
        .await
        .expect("certify")
}

/// One kind of caller: a client pair of certs-test/tls (or none) and, for the portal, the
/// citizen assertion it sends.
struct Who {
    name: &'static str,
    pair: &'static str,
    assertion: Option<String>,
}

impl Who {
    fn request<T>(&self, message: T) -> Request<T> {
        match &self.assertion {
            Some(token) => client::as_citizen(message, token),
            None => Request::new(message),
        }
    }
}

/// An assertion for OWNER in the portal's name, signed with the clerk's key (not the
/// portal's): its signature does not match the portal's certificate.
fn forged_assertion() -> String {
    let dir = crate::support::root().join("certs-test/tls");
    let portal = crate::support::read_der(&dir.join("portal.pem"));
    let holder = saoy::identity::profile::read_holder(&portal).unwrap();
    let key = std::fs::read(dir.join("clerk.key.pem")).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    saoy::identity::mint(OWNER, &holder.name, &key, now, 300).unwrap()
}

fn callers() -> Vec<Who> {
    let who = |name, pair, assertion| Who {
        name,
        pair,
        assertion,
    };
    vec![
        who("clerk", "clerk", None),
        who("certifier", "certifier", None),
        who("admin", "admin", None),
        who("verifier", "verifier", None),
        who("citizen", "portal", Some(client::citizen_token(OWNER, 300))),
        who("portal-alone", "portal", None),
        who("clerk2", "clerk2", None),
        who("none", "none", None),
        who("expired", "expired", None),
        who("revoked", "revoked", None),
        who("stranger", "stranger", None),
        who("forged", "portal", Some(forged_assertion())),
        who("stale", "portal", Some(client::citizen_token(OWNER, -300))),
        who("stolen", "clerk", Some(client::citizen_token(OWNER, 300))),
    ]
}

/// The copies and ids the table works on.
struct World {
    owners: CertificationRecord,
    others: CertificationRecord,
    owners_pdf: Vec<u8>,
    /// A consent of OWNER for an unrelated agency, for WithdrawConsent.
    spare_consent: String,
}

async fn world(server: &TestServer) -> World {
    let url = server.url();
    let owners = certify(&url, "a-1", OWNER, BIRTH).await;
    let others = certify(&url, "a-2", OTHER, BIRTH).await;
    let (_, owners_pdf) = client::get_copy(&url, &owners.id).await.unwrap();
    let mut portal = RecordServiceClient::new(server.channel("portal").await);
    let spare_consent = portal
        .grant_consent(client::as_citizen(
            GrantConsentRequest {
                owner_id: OWNER.into(),
                agency: "H72.99".into(),
                document_type: DIPLOMA.into(),
                purpose: "thử".into(),
                ..Default::default()
            },
            &client::citizen_token(OWNER, 300),
        ))
        .await
        .expect("grant")
        .into_inner()
        .id;
    World {
        owners,
        others,
        owners_pdf,
        spare_consent,
    }
}

fn code<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

/// Calls every RPC as `who`; the code each answered, by RPC name.
async fn call_all(channel: Channel, who: &Who, w: &World) -> BTreeMap<&'static str, Code> {
    let mut out = BTreeMap::new();
    let mut certifier = CertificationServiceClient::new(channel.clone());
    let mut verifier = VerificationServiceClient::new(channel.clone());
    let mut records = RecordServiceClient::new(channel.clone());
    let mut jobs = DigitizationServiceClient::new(channel.clone());

    let mut meta = client::meta(&format!("t-{}", who.name), 1);
    meta.owner_id = OTHER.into();
    let messages = client::messages(Some(meta), &[jpeg()]);
    let r = certifier
        .certify(who.request(futures::stream::iter(messages)))
        .await;
    out.insert("Certify", code(r));
    let r = certifier
        .complete_certification(who.request(saoy::proto::CompleteCertificationRequest {
            copy_id: "0190e1c2-0000-7000-8000-00000000cafe".into(),
            signature_value: vec![1, 2, 3],
        }))
        .await;
    out.insert("CompleteCertification", code(r));
    let r = certifier
        .list_pending_certifications(who.request(saoy::proto::ListPendingCertificationsRequest {}))
        .await;
    out.insert("ListPendingCertifications", code(r));
    let mut refused = client::meta(&format!("refuse-{}", who.name), 1);
    refused.owner_id = OTHER.into();
    let r = certifier
        .refuse_certification(who.request(saoy::proto::RefuseCertificationRequest {
            subject: Some(saoy::proto::refuse_certification_request::Subject::Request(
                refused,
            )),
            reason_code: "damaged_unreadable".into(),
            reason_text: String::new(),
        }))
        .await;
    out.insert("RefuseCertification", code(r));
    let bytes = vec![VerifyRequest {
        source: Some(Source::Chunk(w.owners_pdf.clone())),
    }];
    let r = verifier
        .verify(who.request(futures::stream::iter(bytes)))
        .await;
    out.insert("Verify(bytes)", code(r));
    let by_id = vec![VerifyRequest {
        source: Some(Source::CopyId(w.owners.id.clone())),
    }];
    let r = verifier
        .verify(who.request(futures::stream::iter(by_id)))
        .await;
    out.insert("Verify(id)", code(r));
    let r = records
        .get_copy(who.request(GetCopyRequest {
            id: w.owners.id.clone(),
        }))
        .await;
    out.insert("GetCopy", code(r));
    let r = records
        .list_records(who.request(ListRecordsRequest {
            owner_id: OWNER.into(),
            ..Default::default()
        }))
        .await;
    out.insert("ListRecords", code(r));
    let r = records
        .find_reusable(who.request(FindReusableRequest {
            owner_id: OWNER.into(),
            document_type: BIRTH.into(),
        }))
        .await;
    out.insert("FindReusable", code(r));
    let r = records
        .lookup_by_hash(who.request(LookupByHashRequest {
            sha256: w.owners.copy_sha256.clone(),
        }))
        .await;
    out.insert("LookupByHash", code(r));
    let r = records
        .revoke_copy(who.request(RevokeCopyRequest {
            id: w.others.id.clone(),
            reason: "Quyết định 1/QĐ".into(),
            by: String::new(),
            decision_number: "12/QĐ-UBND".into(),
            decision_date: "2025-01-02".into(),
            decided_by: "Chủ tịch UBND xã".into(),
        }))
        .await;
    out.insert("RevokeCopy", code(r));
    let r = records
        .grant_consent(who.request(GrantConsentRequest {
            owner_id: OWNER.into(),
            agency: "H72.98".into(),
            document_type: DIPLOMA.into(),
            purpose: "tuyển dụng".into(),
            ..Default::default()
        }))
        .await;
    out.insert("GrantConsent", code(r));
    let r = records
        .withdraw_consent(who.request(WithdrawConsentRequest {
            consent_id: w.spare_consent.clone(),
        }))
        .await;
    out.insert("WithdrawConsent", code(r));
    let r = records
        .list_consents(who.request(ListConsentsRequest {
            owner_id: OWNER.into(),
        }))
        .await;
    out.insert("ListConsents", code(r));
    let r = records
        .list_accesses(who.request(ListAccessesRequest {
            owner_id: OWNER.into(),
        }))
        .await;
    out.insert("ListAccesses", code(r));
    let r = jobs
        .get_digitization_job(who.request(DigitizationJobRequest {
            job_id: "0190e1c2-0000-7000-8000-00000000beef".into(),
        }))
        .await;
    out.insert("GetDigitizationJob", code(r));
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let r = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await;
    out.insert("Health", code(r));
    out
}

/// The codes the rule table (docs/ARCHITECTURE.md, "Who may do what") gives each caller.
fn expected(who: &str) -> BTreeMap<&'static str, Code> {
    use Code::{NotFound as NF, Ok as OK, PermissionDenied as PD, Unauthenticated as UA};
    let rpcs = [
        "Certify",
        "Verify(bytes)",
        "Verify(id)",
        "GetCopy",
        "ListRecords",
        "FindReusable",
        "LookupByHash",
        "RevokeCopy",
        "GrantConsent",
        "WithdrawConsent",
        "ListConsents",
        "ListAccesses",
        "GetDigitizationJob",
        "Health",
        "CompleteCertification",
        "ListPendingCertifications",
        "RefuseCertification",
    ];
    // Then: signing a pending copy (an unknown id is refused like another's) and
    // listing them are the certifier's; refusing a request is the clerk's and the
    // certifier's, for their own agency.
    let codes: [Code; 17] = match who {
        // Staff of the agency: certify, read its copies; a citizen's list needs consent.
        "clerk" => [
            OK, OK, OK, OK, PD, PD, OK, PD, PD, PD, PD, PD, NF, OK, PD, PD, OK,
        ],
        "certifier" => [
            OK, OK, OK, OK, PD, PD, OK, PD, PD, PD, PD, PD, NF, OK, PD, OK, OK,
        ],
        "admin" => [
            PD, OK, OK, OK, PD, PD, OK, OK, PD, PD, PD, PD, PD, OK, PD, PD, PD,
        ],
        // Another agency without a consent.
        "verifier" => [
            PD, OK, PD, PD, PD, PD, OK, PD, PD, PD, PD, PD, PD, OK, PD, PD, PD,
        ],
        "citizen" => [
            PD, OK, OK, OK, OK, OK, OK, PD, OK, OK, OK, OK, PD, OK, PD, PD, PD,
        ],
        "portal-alone" => [
            PD, OK, PD, PD, PD, PD, OK, PD, PD, PD, PD, PD, PD, OK, PD, PD, PD,
        ],
        // A clerk of the other commune this deployment serves: certifies for it, but does
        // not read the first commune's copies.
        "clerk2" => [
            OK, OK, PD, PD, PD, PD, OK, PD, PD, PD, PD, PD, NF, OK, PD, PD, OK,
        ],
        // No certificate: the public calls only.
        "none" => [
            UA, OK, UA, UA, UA, UA, OK, UA, UA, UA, UA, UA, UA, OK, UA, UA, UA,
        ],
        // A certificate or assertion that proves nothing: refused, except health.
        _ => [
            UA, UA, UA, UA, UA, UA, UA, UA, UA, UA, UA, UA, UA, OK, UA, UA, UA,
        ],
    };
    rpcs.into_iter().zip(codes).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_every_caller_as_the_table_says() {
    let server = start().await;
    let w = world(&server).await;
    let mut wrong = Vec::new();
    for who in callers() {
        let got = call_all(server.channel(who.pair).await, &who, &w).await;
        let want = expected(who.name);
        for (rpc, code) in &want {
            if got.get(rpc) != Some(code) {
                wrong.push(format!(
                    "{} {rpc}: got {:?}, want {code:?}",
                    who.name,
                    got.get(rpc)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The message of a refused call.
async fn refusal(records: &mut RecordServiceClient<Channel>, r: Request<GetCopyRequest>) -> String {
    let Err(status) = records.get_copy(r).await else {
        panic!("the copy was handed out");
    };
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    status.message().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_leaks_about_another_citizen() {
    let server = start().await;
    let w = world(&server).await;
    let unknown = "0190e1c2-0000-7000-8000-000000000001";
    let token = client::citizen_token(OWNER, 300);
    let mut portal = RecordServiceClient::new(server.channel("portal").await);
    let ask = |id: &str| client::as_citizen(GetCopyRequest { id: id.to_string() }, &token);
    // Someone else's copy and a copy that does not exist: the same code and message.
    let others = refusal(&mut portal, ask(&w.others.id)).await;
    let missing = refusal(&mut portal, ask(unknown)).await;
    assert_eq!(
        others.replace(&w.others.id, "ID"),
        missing.replace(unknown, "ID")
    );
    let mut verifier = RecordServiceClient::new(server.channel("verifier").await);
    let a = refusal(
        &mut verifier,
        Request::new(GetCopyRequest {
            id: w.others.id.clone(),
        }),
    )
    .await;
    let b = refusal(
        &mut verifier,
        Request::new(GetCopyRequest { id: unknown.into() }),
    )
    .await;
    assert_eq!(a.replace(&w.others.id, "ID"), b.replace(unknown, "ID"));
    // The citizen's assertion names one citizen: another's list is refused.
    let other_list = portal
        .list_records(client::as_citizen(
            ListRecordsRequest {
                owner_id: OTHER.into(),
                ..Default::default()
            },
            &token,
        ))
        .await;
    assert_eq!(code(other_list), Code::PermissionDenied);
    // Without a certificate, LookupByHash says the status and no personal data.
    let mut anonymous = RecordServiceClient::new(server.channel("none").await);
    let found = anonymous
        .lookup_by_hash(LookupByHashRequest {
            sha256: w.owners.copy_sha256.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(found.found && found.valid, "{found:?}");
    let record = found.record.expect("the copy's standing");
    assert_eq!(record.id, w.owners.id);
    assert!(
        record.owner_id.is_empty() && record.signers.is_empty() && record.document_name.is_empty(),
        "{record:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_opens_what_it_covers_until_withdrawn_on_every_replica() {
    let server = start().await;
    let url = server.url();
    let birth = certify(&url, "c-1", OWNER, BIRTH).await;
    let diploma = certify(&url, "c-2", OWNER, DIPLOMA).await;
    let second_birth = certify(&url, "c-3", OWNER, BIRTH).await;
    let data = server.data.path().to_path_buf();
    let replica = start_with(|c| c.data_dir = data).await;

    let token = client::citizen_token(OWNER, 300);
    let mut portal = RecordServiceClient::new(server.channel("portal").await);
    let mut verifier = RecordServiceClient::new(server.channel("verifier").await);
    let mut verifier2 = RecordServiceClient::new(replica.channel("verifier").await);
    let get = |id: &str| GetCopyRequest { id: id.to_string() };
    assert_eq!(
        code(verifier.get_copy(get(&birth.id)).await),
        Code::PermissionDenied
    );

    // One copy, for the other agency.
    let consent = portal
        .grant_consent(client::as_citizen(
            GrantConsentRequest {
                owner_id: OWNER.into(),
                agency: "H72.30".into(),
                copy_id: birth.id.clone(),
                purpose: "hồ sơ tuyển dụng".into(),
                valid_until: "2099-12-31T23:59:59+07:00".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("grant")
        .into_inner();
    assert!(consent.in_force && !consent.id.is_empty(), "{consent:?}");
    assert_eq!(code(verifier.get_copy(get(&birth.id)).await), Code::Ok);
    assert_eq!(code(verifier2.get_copy(get(&birth.id)).await), Code::Ok);
    assert_eq!(
        code(verifier.get_copy(get(&second_birth.id)).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code(verifier.get_copy(get(&diploma.id)).await),
        Code::PermissionDenied
    );
    let reusable = verifier
        .find_reusable(FindReusableRequest {
            owner_id: OWNER.into(),
            document_type: BIRTH.into(),
        })
        .await
        .expect("find under consent")
        .into_inner();
    let ids: Vec<_> = reusable.records.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, vec![birth.id.clone()], "only the consented copy");

    // A document type, for the clerk at the counter: ListRecords shows only that type.
    let mut clerk = RecordServiceClient::new(server.channel("clerk").await);
    let list = |owner: &str| ListRecordsRequest {
        owner_id: owner.to_string(),
        ..Default::default()
    };
    assert_eq!(
        code(clerk.list_records(list(OWNER)).await),
        Code::PermissionDenied
    );
    let by_type = portal
        .grant_consent(client::as_citizen(
            GrantConsentRequest {
                owner_id: OWNER.into(),
                agency: "H72.21.01".into(),
                document_type: BIRTH.into(),
                purpose: "làm thủ tục".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("grant by type")
        .into_inner();
    let listed = clerk
        .list_records(list(OWNER))
        .await
        .expect("list")
        .into_inner();
    let mut ids: Vec<_> = listed.records.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    let mut want = vec![birth.id.clone(), second_birth.id.clone()];
    want.sort();
    assert_eq!(ids, want, "the diploma is not covered");

    // The citizen sees who read their copy, under which consent.
    let accesses = portal
        .list_accesses(client::as_citizen(
            ListAccessesRequest {
                owner_id: OWNER.into(),
            },
            &token,
        ))
        .await
        .expect("accesses")
        .into_inner()
        .accesses;
    assert!(
        accesses.iter().any(|a| a.agency == "H72.30"
            && a.action == "GetCopy"
            && a.copy_id == birth.id
            && a.consent_id == consent.id),
        "{accesses:?}"
    );

    // Withdrawn: refused on the next call, on both replicas.
    let withdrawn = portal
        .withdraw_consent(client::as_citizen(
            WithdrawConsentRequest {
                consent_id: consent.id.clone(),
            },
            &token,
        ))
        .await
        .expect("withdraw")
        .into_inner();
    assert!(!withdrawn.in_force && !withdrawn.withdrawn_at.is_empty());
    assert_eq!(
        code(verifier.get_copy(get(&birth.id)).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code(verifier2.get_copy(get(&birth.id)).await),
        Code::PermissionDenied
    );
    // The other consent stands; its list shows both, one withdrawn.
    let all = portal
        .list_consents(client::as_citizen(
            ListConsentsRequest {
                owner_id: OWNER.into(),
            },
            &token,
        ))
        .await
        .expect("list consents")
        .into_inner()
        .consents;
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.iter().any(|c| c.id == by_type.id && c.in_force));
    // Bad consents are refused with what to fix.
    let both = portal
        .grant_consent(client::as_citizen(
            GrantConsentRequest {
                owner_id: OWNER.into(),
                agency: "H72.30".into(),
                copy_id: birth.id.clone(),
                document_type: BIRTH.into(),
                purpose: "x".into(),
                ..Default::default()
            },
            &token,
        ))
        .await;
    assert_eq!(code(both), Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_resource_exhausted_and_a_stalled_upload_is_cut_off() {
    let server = start_with(|c| {
        c.server.requests_per_second = 3;
        c.server.stream_idle_timeout_ms = 700;
    })
    .await;
    // A stalled upload: the metadata, then nothing.
    let channel = server.channel("clerk").await;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let meta = client::messages(Some(client::meta("stall", 1)), &[]);
    tx.send(meta[0].clone()).await.unwrap();
    let mut certifier = CertificationServiceClient::new(channel);
    let stalled = tokio::spawn(async move {
        certifier
            .certify(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
    });
    // Meanwhile another caller is served.
    let mut other = VerificationServiceClient::new(server.channel("none").await);
    let served = other
        .verify(futures::stream::iter(vec![VerifyRequest {
            source: Some(Source::Chunk(b"%PDF-1.7\n".to_vec())),
        }]))
        .await;
    assert_eq!(code(served), Code::Ok);
    let cut = tokio::time::timeout(std::time::Duration::from_secs(20), stalled)
        .await
        .expect("cut off in time")
        .unwrap()
        .expect_err("refused");
    assert_eq!(cut.code(), Code::ResourceExhausted, "{cut:?}");
    assert!(cut.message().contains("stream_idle_timeout_ms"), "{cut:?}");
    drop(tx);

    // Over the rate: the limit is named.
    let mut records = RecordServiceClient::new(server.channel("verifier").await);
    let mut codes = Vec::new();
    let mut message = String::new();
    for _ in 0..10 {
        match records
            .lookup_by_hash(LookupByHashRequest {
                sha256: "00".repeat(32),
            })
            .await
        {
            Ok(_) => codes.push(Code::Ok),
            Err(s) => {
                codes.push(s.code());
                message = s.message().to_string();
            }
        }
    }
    assert!(codes.contains(&Code::ResourceExhausted), "{codes:?}");
    assert!(message.contains("server.requests_per_second"), "{message}");
}
