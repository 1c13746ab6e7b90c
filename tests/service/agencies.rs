//! Many agencies in one deployment: two agencies on one store behind two replicas, each
//! copy signed by its own agency and certifier (checked by saoy, pyHanko and pdfsig); the
//! agency of a call comes from the clerk's certificate; certifiers who sign on their own
//! device (prepare → sign → finish, with `saoy sign-pending` and a SoftHSM2 key held only
//! by the client); renewed certificates picked up under load; a store written by the
//! single-agency release keeps working.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use saoy::proto::certification_service_client::CertificationServiceClient;
use saoy::proto::record_service_client::RecordServiceClient;
use saoy::proto::{
    CertificationRecord, CompleteCertificationRequest, GetCopyRequest,
    ListPendingCertificationsRequest,
};
use saoy::records::{EntryState, Registry};
use saoy::store::{LocalStore, ObjectStore};
use tonic::Code;

use crate::support::client::{self, Upload};
use crate::support::server::{TestServer, start_with};
use crate::support::{pki, pyhanko, softhsm};

fn png() -> Upload {
    Upload {
        name: "scan.png".into(),
        media_type: "image/png".into(),
        data: std::fs::read(crate::support::root().join("tests/data/sample-scan.png"))
            .expect("sample scan"),
    }
}

/// Certifies the sample scan as test client `who`.
async fn certify_as(
    url: &str,
    who: &str,
    request_id: &str,
) -> Result<CertificationRecord, tonic::Status> {
    let mut c = CertificationServiceClient::new(client::channel(url, who).await);
    c.certify(futures::stream::iter(client::messages(
        Some(client::meta(request_id, 1)),
        &[png()],
    )))
    .await
    .map(tonic::Response::into_inner)
}

/// Reads a copy back as `who`: its verification status and bytes.
async fn copy_as(url: &str, who: &str, id: &str) -> Result<(String, Vec<u8>), tonic::Status> {
    let mut c = RecordServiceClient::new(client::channel(url, who).await);
    let mut stream = c
        .get_copy(GetCopyRequest { id: id.into() })
        .await?
        .into_inner();
    let (mut status, mut pdf) = (String::new(), Vec::new());
    while let Some(m) = stream.message().await? {
        match m.part {
            Some(saoy::proto::get_copy_response::Part::Header(h)) => {
                status = h.report.map(|r| r.status).unwrap_or_default();
            }
            Some(saoy::proto::get_copy_response::Part::Chunk(c)) => pdf.extend_from_slice(&c),
            None => {}
        }
    }
    Ok((status, pdf))
}

async fn registry_on(dir: &Path) -> Registry {
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir).await.expect("store"));
    Registry::new(store)
}

/// The states of one agency's book this year, by number.
async fn book(dir: &Path, agency: &str) -> BTreeMap<u64, EntryState> {
    let year = time::OffsetDateTime::now_utc()
        .to_offset(saoy::app::VIETNAM_OFFSET)
        .year();
    registry_on(dir)
        .await
        .book_entries(agency, year)
        .await
        .expect("book")
        .into_iter()
        .map(|e| (e.number, e.state))
        .collect()
}

fn assert_gapless(book: &BTreeMap<u64, EntryState>, what: &str) {
    let numbers: Vec<u64> = book.keys().copied().collect();
    let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
    assert_eq!(
        numbers, expected,
        "{what}: the book has a gap or a duplicate"
    );
    for (n, state) in book {
        assert!(
            !matches!(state, EntryState::Reserved),
            "{what}: number {n} is left reserved"
        );
    }
}

fn pdfsig_names(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.pdf");
    std::fs::write(&path, pdf).unwrap();
    crate::support::peers::pdfsig(&path, &pki("root.pem"))
}

/// Checks a copy in pyHanko and pdfsig: two valid signatures whose signers are the agency's
/// organisation certificate `org` and its certifier `person`.
fn assert_signed_by(pdf: &[u8], org: &str, person: &str) {
    match pyhanko::validate(pdf) {
        pyhanko::PeerResult::Verdicts(v) => {
            assert_eq!(v.len(), 2, "two signatures: {v:?}");
            assert!(
                !v.iter().any(pyhanko::Verdict::rejects),
                "pyHanko rejects: {v:?}"
            );
            let signers: Vec<String> = v.iter().filter_map(|s| s.signer.clone()).collect();
            assert!(signers[0].contains(org), "agency signature by {signers:?}");
            assert!(
                signers[1].contains(person),
                "certifier signature by {signers:?}"
            );
        }
        pyhanko::PeerResult::Crashed(e) => panic!("pyHanko crashed: {e}"),
    }
    let out = pdfsig_names(pdf);
    assert_eq!(out.matches("Signature is Valid").count(), 2, "{out}");
    assert!(
        out.contains(org) && out.contains(person),
        "pdfsig names: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agencies_on_two_replicas_keep_their_own_books_and_signers() {
    let shared = tempfile::tempdir().unwrap();
    let dir = shared.path().to_path_buf();
    let lift = |c: &mut saoy::config::Config| {
        c.data_dir = dir.clone();
        c.server.requests_per_second = 1000;
    };
    let a = start_with(lift).await;
    let b = start_with(lift).await;
    let mut calls = Vec::new();
    for i in 0..12 {
        let url = if i % 2 == 0 { a.url() } else { b.url() };
        let who = if i % 3 == 0 { "clerk2" } else { "clerk" };
        calls.push(tokio::spawn(async move {
            (
                who,
                certify_as(&url, who, &format!("two-agencies-{i}")).await,
            )
        }));
    }
    let mut issued: BTreeMap<&str, Vec<CertificationRecord>> = BTreeMap::new();
    for call in calls {
        let (who, record) = call.await.unwrap();
        issued
            .entry(who)
            .or_default()
            .push(record.expect("certified"));
    }
    let first = &issued["clerk"];
    let second = &issued["clerk2"];
    assert_eq!((first.len(), second.len()), (8, 4));
    assert!(first.iter().all(|r| r.agency == "UBND xã Tân Lập"));
    assert!(second.iter().all(|r| r.agency == "UBND xã Hòa Hiệp"));
    for (agency, records) in [("H72.21.01", first), ("H72.21.02", second)] {
        let book = book(&dir, agency).await;
        assert_gapless(&book, agency);
        assert_eq!(book.len(), records.len(), "{agency}: one number per copy");
        let mut numbers: Vec<u64> = records.iter().map(|r| r.number).collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=records.len() as u64).collect::<Vec<_>>());
    }

    let (status, pdf) = copy_as(&b.url(), "clerk", &first[0].id).await.unwrap();
    assert_eq!(status, "PASSED");
    assert_signed_by(&pdf, "Tân Lập", "Nguyễn Thị Hồng Nhung");
    let (status, pdf) = copy_as(&a.url(), "clerk2", &second[0].id).await.unwrap();
    assert_eq!(status, "PASSED");
    assert_signed_by(&pdf, "Hòa Hiệp", "Phạm Văn Bình");

    // Each agency's staff reads its own copies only.
    let refused = copy_as(&a.url(), "clerk2", &first[0].id).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_of_an_agency_not_served_here_cannot_certify() {
    let server = start_with(|c| c.agencies.truncate(1)).await;
    let refused = certify_as(&server.url(), "clerk2", "not-ours")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(
        refused.message().contains("H72.21.02") && refused.message().contains("H72.21.01"),
        "names the caller's agency and the served ones: {}",
        refused.message()
    );
    let ok = certify_as(&server.url(), "clerk", "ours")
        .await
        .expect("own agency");
    assert_eq!(ok.number, 1);
    assert!(
        book(&server.data_dir(), "H72.21.02").await.is_empty(),
        "a refusal takes no number"
    );
}

/// A server whose first agency's certifier signs on their own device.
async fn external_server(adjust: impl FnOnce(&mut saoy::config::Config)) -> TestServer {
    start_with(|c| {
        let certifier = &mut c.agencies[0].certifiers[0];
        certifier.key_file = PathBuf::new();
        certifier.external = true;
        adjust(c);
    })
    .await
}

async fn complete(
    url: &str,
    who: &str,
    copy_id: &str,
    signature_value: Vec<u8>,
) -> Result<CertificationRecord, tonic::Status> {
    let mut c = CertificationServiceClient::new(client::channel(url, who).await);
    c.complete_certification(CompleteCertificationRequest {
        copy_id: copy_id.into(),
        signature_value,
    })
    .await
    .map(tonic::Response::into_inner)
}

fn sign_with_file_key(key: &str, message: &[u8]) -> Vec<u8> {
    use saoy::pki::key::SigningKey;
    saoy::pki::key::RingKey::load(&pki(key))
        .expect("key")
        .sign(message)
        .expect("signs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certifier_signs_pending_copies_on_a_token_only_the_client_holds() {
    let server = external_server(|_| {}).await;
    let url = server.url();
    let pending = certify_as(&url, "clerk", "external-1")
        .await
        .expect("pending");
    assert_eq!(pending.status, "awaiting_signature");
    assert!(pending.copy_sha256.is_empty(), "nothing issued yet");
    let asked = pending.pending.clone().expect("what to sign");
    let certifier_der = crate::support::read_der(&pki("certifier.pem"));
    assert_eq!(asked.signer_certificate, certifier_der);
    assert_eq!(asked.signature_algorithm, "ecdsa-p256-sha256");
    assert!(
        copy_as(&url, "clerk", &pending.id).await.is_err(),
        "not readable before it is signed"
    );

    // The clerk may not sign; a wrong value and another certificate's signature are refused.
    let refused = complete(&url, "clerk", &pending.id, vec![1, 2, 3])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let refused = complete(
        &url,
        "certifier",
        &pending.id,
        vec![0x30, 0x06, 2, 1, 1, 2, 1, 1],
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains("Nguyễn Thị Hồng Nhung"),
        "{}",
        refused.message()
    );
    let forged = sign_with_file_key("other-signer.key.pem", &asked.signed_attributes);
    let refused = complete(&url, "certifier", &pending.id, forged)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");

    // A second copy waits too; the certifier lists both.
    let second = certify_as(&url, "clerk", "external-2")
        .await
        .expect("pending");
    let mut c = CertificationServiceClient::new(client::channel(&url, "certifier").await);
    let listed = c
        .list_pending_certifications(ListPendingCertificationsRequest {})
        .await
        .unwrap()
        .into_inner()
        .pending;
    let ids: Vec<&str> = listed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [pending.id.as_str(), second.id.as_str()]);
    assert!(listed.iter().all(|r| r.status == "awaiting_signature"));
    let clerk_lists = CertificationServiceClient::new(client::channel(&url, "clerk").await)
        .list_pending_certifications(ListPendingCertificationsRequest {})
        .await
        .unwrap_err();
    assert_eq!(clerk_lists.code(), Code::PermissionDenied);

    // Copies awaiting their certifier are not leftovers: store check finds nothing to repair.
    let check = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .args(["store", "check", "--grace-secs", "0", "--data"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "store check with pending copies: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // The certifier's key lives in a SoftHSM2 token that only the signing client opens.
    let hsm = softhsm::SoftHsm::new("certifier-token", "4321");
    hsm.import_pem_file(&pki("certifier.key.pem"), "nhung", "01");
    let uri = format!(
        "pkcs11:token=certifier-token;object=nhung?module-path={}&pin-source=file:{}",
        softhsm::SOFTHSM_MODULE,
        hsm.pin_file().display()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .arg("sign-pending")
        .arg("--server")
        .arg(&url)
        .arg("--tls-ca")
        .arg(pki("tls/ca.pem"))
        .arg("--cert")
        .arg(pki("tls/certifier.pem"))
        .arg("--key")
        .arg(pki("tls/certifier.key.pem"))
        .arg("--signer-cert")
        .arg(pki("certifier.pem"))
        .arg("--signer-key")
        .arg(&uri)
        .envs(hsm.env())
        .output()
        .expect("saoy runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sign-pending: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("\"issued\"").count(), 2, "{stdout}");

    for id in [&pending.id, &second.id] {
        let (status, pdf) = copy_as(&url, "clerk", id).await.expect("issued");
        assert_eq!(status, "PASSED");
        assert_signed_by(&pdf, "Tân Lập", "Nguyễn Thị Hồng Nhung");
    }
    // Completing again returns the issued copy; the book is gapless with both issued.
    let again = complete(&url, "certifier", &pending.id, vec![9])
        .await
        .expect("issued");
    assert_eq!(
        (again.status.as_str(), again.number),
        ("valid", pending.number)
    );
    let unknown = complete(
        &url,
        "certifier",
        &uuid::Uuid::now_v7().to_string(),
        vec![9],
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), Code::PermissionDenied);
    let book = book(&server.data_dir(), "H72.21.01").await;
    assert_gapless(&book, "H72.21.01");
    assert!(
        book.values()
            .all(|s| matches!(s, EntryState::Issued { .. }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_not_signed_before_its_deadline_is_voided_without_a_gap() {
    let server = external_server(|c| {
        // Long enough for a completion right after Certify on a loaded machine.
        c.pending.timeout_secs = 4;
        c.pending.sweep_interval_secs = 3600;
    })
    .await;
    let url = server.url();
    let late = certify_as(&url, "clerk", "late-1").await.expect("pending");
    let asked = late.pending.clone().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    let good = sign_with_file_key("certifier.key.pem", &asked.signed_attributes);
    let refused = complete(&url, "certifier", &late.id, good.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("deadline"),
        "{}",
        refused.message()
    );
    let refused = complete(&url, "certifier", &late.id, good)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("voided"),
        "{}",
        refused.message()
    );

    // The next copy takes the next number; the late one is void with its reason.
    let next = certify_as(&url, "clerk", "late-2").await.expect("pending");
    assert_eq!((late.number, next.number), (1, 2));
    let signed = sign_with_file_key(
        "certifier.key.pem",
        &next.pending.unwrap().signed_attributes,
    );
    let issued = complete(&url, "certifier", &next.id, signed)
        .await
        .expect("in time");
    assert_eq!(issued.status, "valid");
    let book = book(&server.data_dir(), "H72.21.01").await;
    assert_gapless(&book, "H72.21.01");
    match &book[&1] {
        EntryState::Void { reason, .. } => assert!(reason.contains("deadline"), "{reason}"),
        other => panic!("number 1 should be void: {other:?}"),
    }
    assert!(matches!(book[&2], EntryState::Issued { .. }));
}

/// Copies `agency`'s key and chain to `dir` as the files an agency file names.
fn write_agency_files(dir: &Path, key: &Path, chain: &Path) {
    std::fs::copy(key, dir.join("agency.key.pem")).unwrap();
    std::fs::copy(chain, dir.join("agency-chain.pem")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_agency_certificate_is_picked_up_under_load() {
    let keys = tempfile::tempdir().unwrap();
    let agencies = tempfile::tempdir().unwrap();
    write_agency_files(
        keys.path(),
        &pki("agency.key.pem"),
        &pki("agency-chain.pem"),
    );
    let renewed =
        crate::support::pkigen::issue(keys.path(), crate::support::pkigen::Kind::AgencyRenewal);
    let file = format!(
        "code = \"H72.21.01\"\nname = \"UBND xã Tân Lập\"\nlocation = \"Tây Ninh\"\nbook = \"01\"\nbook_code = \"SCT/BS\"\ncopy_type = \"Bản sao điện tử\"\nstatement = \"Chứng thực bản sao đúng với bản chính.\"\n[signer]\nkey_file = {:?}\nchain_file = {:?}\n",
        keys.path().join("agency.key.pem").display().to_string(),
        keys.path().join("agency-chain.pem").display().to_string(),
    );
    std::fs::write(agencies.path().join("h72-21-01.toml"), file).unwrap();
    let dir = agencies.path().to_path_buf();
    let server = start_with(move |c| {
        c.agencies.clear();
        c.agencies_dir = dir;
        c.agencies_reload_secs = 1;
        c.server.requests_per_second = 1000;
    })
    .await;
    let url = server.url();
    let old_fingerprint = crate::support::sha256_hex(&crate::support::read_der(&pki("agency.pem")));

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for worker in 0..2 {
        let (url, stop) = (url.clone(), Arc::clone(&stop));
        load.push(tokio::spawn(async move {
            let mut done = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || done.len() < 3 {
                let r = certify_as(&url, "clerk", &format!("rotation-{worker}-{i}"))
                    .await
                    .expect("no call fails while the certificate is renewed");
                done.push(r);
                i += 1;
            }
            done
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // Renewal: new key and certificate written in place (key first, then the chain).
    write_agency_files(keys.path(), &renewed.key, &renewed.chain);
    let app = Arc::clone(&server.app);
    assert!(
        tokio::task::spawn_blocking(move || app.reload_agencies(true))
            .await
            .unwrap()
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut records = Vec::new();
    for l in load {
        records.extend(l.await.unwrap());
    }
    let new_fingerprint = crate::support::sha256_hex(&renewed.der);
    let fingerprint = |r: &CertificationRecord| r.signers[0].sha256_fingerprint.clone();
    assert!(
        records.iter().any(|r| fingerprint(r) == old_fingerprint),
        "copies before"
    );
    assert!(
        records.iter().any(|r| fingerprint(r) == new_fingerprint),
        "copies after"
    );
    for r in records
        .iter()
        .filter(|r| fingerprint(r) == old_fingerprint)
        .take(1)
        .chain(
            records
                .iter()
                .filter(|r| fingerprint(r) == new_fingerprint)
                .take(1),
        )
    {
        let (status, _) = copy_as(&url, "clerk", &r.id).await.unwrap();
        assert_eq!(status, "PASSED", "copy {} by {}", r.id, fingerprint(r));
    }
    let book = book(&server.data_dir(), "H72.21.01").await;
    assert_gapless(&book, "H72.21.01");

    // A commune added as a file is served without a restart.
    let refused = certify_as(&url, "clerk2", "new-commune").await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let second = format!(
        "code = \"H72.21.02\"\nname = \"UBND xã Hòa Hiệp\"\nlocation = \"Tây Ninh\"\nbook = \"01\"\nbook_code = \"SCT/BS\"\ncopy_type = \"Bản sao điện tử\"\nstatement = \"Chứng thực bản sao đúng với bản chính.\"\n[signer]\nkey_file = {:?}\nchain_file = {:?}\n",
        pki("agency2.key.pem").display().to_string(),
        pki("agency2-chain.pem").display().to_string(),
    );
    std::fs::write(agencies.path().join("h72-21-02.toml"), second).unwrap();
    let app = Arc::clone(&server.app);
    assert!(
        tokio::task::spawn_blocking(move || app.reload_agencies(false))
            .await
            .unwrap()
    );
    let added = certify_as(&url, "clerk2", "new-commune")
        .await
        .expect("served now");
    assert_eq!(
        (added.agency.as_str(), added.number),
        ("UBND xã Hòa Hiệp", 1)
    );
}

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_the_single_agency_release_keeps_working() {
    let old = tempfile::tempdir().unwrap();
    copy_tree(
        &crate::support::root().join("tests/data/store-v1"),
        old.path(),
    );
    let dir = old.path().to_path_buf();
    let server = start_with(move |c| c.data_dir = dir).await;
    let url = server.url();
    // The two copies the single-agency release issued read back PASSED.
    let records = registry_on(old.path()).await;
    let year = 2026;
    let entries = records.book_entries("H72.21.01", year).await.unwrap();
    assert_eq!(entries.len(), 2);
    for e in &entries {
        let EntryState::Issued { record_id, .. } = &e.state else {
            panic!("fixture entry {} not issued", e.number)
        };
        let (status, _) = copy_as(&url, "clerk", record_id).await.expect("old copy");
        assert_eq!(status, "PASSED");
    }
    // Its agency is one of the configured ones: numbering continues; the other agency starts.
    let next = certify_as(&url, "clerk", "after-upgrade").await.unwrap();
    let current_year = time::OffsetDateTime::now_utc()
        .to_offset(saoy::app::VIETNAM_OFFSET)
        .year();
    if current_year == year {
        assert_eq!(next.number, 3);
    }
    let other = certify_as(&url, "clerk2", "after-upgrade").await.unwrap();
    assert_eq!(other.number, 1);
    // The audit chain written by the old release goes on and verifies.
    let out = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .args(["audit", "verify", "--agency", "H72.21.01", "--data"])
        .arg(old.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
