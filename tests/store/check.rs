//! `saoy store check` on the local store: each kind of leftover is crafted, found, and
//! repaired (or, for records, only reported); a clean store reports clean, also via the CLI.

use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use saoy::records::check::{Action, CheckOptions, CheckReport, FindingKind, check_store};
use saoy::records::{
    EntryState, HashEntry, OriginalFile, OwnerEntry, Record, RecordStatus, Registry, RequestEntry,
    SCHEMA_VERSION,
};
use saoy::store::{LocalStore, ObjectStore};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::{NoContext, Timestamp, Uuid};

const AGENCY: &str = "H72.21.01";
const YEAR: i32 = 2026;
const OWNER: &str = "079203001234";

fn sha(data: &[u8]) -> String {
    saoy::app::sha256_hex(data)
}

/// A UUIDv7 id made `age_secs` ago.
fn id_aged(age_secs: u64) -> String {
    let secs = OffsetDateTime::now_utc().unix_timestamp() as u64 - age_secs;
    Uuid::new_v7(Timestamp::from_unix(NoContext, secs, 0)).to_string()
}

fn json<T: serde::Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec_pretty(value).unwrap())
}

/// Issues one copy through the registry (no PDF needed: the registry checks hashes only).
async fn issue(registry: &Registry, id: &str, n: usize) -> Record {
    let r = registry.reserve_number(AGENCY, YEAR).await.unwrap();
    let copy = format!("copy {id} {n}").into_bytes();
    let original = format!("original {id} {n}").into_bytes();
    let record = Record {
        schema_version: SCHEMA_VERSION,
        id: id.to_string(),
        agency_code: AGENCY.into(),
        agency_name: "UBND xã Tân Lập".into(),
        number: r.number,
        book: r.book.clone(),
        year: r.year,
        book_code: "SCT/BS".into(),
        reference: format!("{}, quyển số {}/{}-SCT/BS", r.number, r.book, r.year),
        owner_id: OWNER.into(),
        document_type: "Giấy khai sinh".into(),
        document_name: "Giấy khai sinh bản chính".into(),
        procedure_code: "2.000815".into(),
        client_request_id: format!("check-{id}"),
        issued_at: format!("2026-01-05T14:{:02}:00+07:00", n % 60),
        valid_until: None,
        status: RecordStatus::Valid,
        page_count: 1,
        copy_sha256: sha(&copy),
        copy_size: copy.len() as u64,
        originals: vec![OriginalFile {
            name: "scan.jpg".into(),
            media_type: "image/jpeg".into(),
            sha256: sha(&original),
            size: original.len() as u64,
        }],
        signers: vec![],
        kind: Default::default(),
        refusal: None,
        fee_vnd: None,
    };
    registry
        .commit(&r, &record, Bytes::from(copy), vec![Bytes::from(original)])
        .await
        .unwrap();
    record
}

async fn check(store: &Arc<LocalStore>, repair: bool) -> CheckReport {
    let options = CheckOptions {
        repair,
        ..CheckOptions::default()
    };
    let store: Arc<dyn ObjectStore> = store.clone();
    let report = check_store(store, &options).await.expect("check runs");
    eprintln!("{}", report.render());
    report
}

fn keys_of(report: &CheckReport, kind: FindingKind) -> Vec<String> {
    let mut keys: Vec<String> = report.of(kind).iter().map(|f| f.key.clone()).collect();
    keys.sort();
    keys
}

fn cli_check(dir: &std::path::Path, repair: bool) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_saoy"));
    cmd.current_dir(crate::support::root())
        .args(["store", "check", "--data"])
        .arg(dir)
        .env("RUST_LOG", "warn");
    if repair {
        cmd.arg("--repair");
    }
    let out = cmd.output().expect("run saoy store check");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), stdout)
}

#[tokio::test]
async fn a_clean_store_reports_clean() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::open(dir.path()).await.unwrap());
    let registry = Registry::new(store.clone());
    for n in 0..3 {
        issue(&registry, &id_aged(0), n).await;
    }
    // A voided number is a proper book line, not a problem.
    let r = registry.reserve_number(AGENCY, YEAR).await.unwrap();
    registry.void(AGENCY, &r, "signing failed").await.unwrap();

    let report = check(&store, false).await;
    assert!(report.is_clean(), "{}", report.render());
    assert_eq!(
        (report.records, report.copy_objects, report.book_entries),
        (3, 6, 4)
    );
    assert_eq!(report.index_entries, 9, "owner, hash and request per copy");

    let (code, out) = cli_check(dir.path(), false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("clean"), "{out}");
}

#[tokio::test]
async fn every_leftover_is_found_and_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::open(dir.path()).await.unwrap());
    let registry = Registry::new(store.clone());
    let hour = 3600;

    // Healthy copies stay untouched throughout.
    let healthy = issue(&registry, &id_aged(hour), 0).await;

    // (a) A record whose copy is gone: reported, never deleted.
    let dangling = issue(&registry, &id_aged(hour), 1).await;
    store
        .delete(&format!("copies/{}/copy.pdf", dangling.id))
        .await
        .unwrap();

    // (b) Orphans: an old copy without a record, and an extra original under a record.
    let old = id_aged(hour);
    store
        .put(&format!("copies/{old}/original-0"), Bytes::from("o"))
        .await
        .unwrap();
    store
        .put(&format!("copies/{old}/copy.pdf"), Bytes::from("c"))
        .await
        .unwrap();
    let extra = format!("copies/{}/original-7", healthy.id);
    store.put(&extra, Bytes::from("x")).await.unwrap();
    // ... and a fresh one, which may be a commit in flight: not reported, not deleted.
    let fresh = format!("copies/{}/original-0", id_aged(0));
    store.put(&fresh, Bytes::from("f")).await.unwrap();

    // (c) Index entries pointing at a missing record.
    let missing = id_aged(hour);
    let owner_key = format!("owners/{OWNER}/20200101T000000Z-{missing}");
    let owner = OwnerEntry {
        schema_version: SCHEMA_VERSION,
        record_id: missing.clone(),
    };
    store.put(&owner_key, json(&owner)).await.unwrap();
    let hash_key = format!("hashes/{}.json", sha(b"never issued"));
    let hash = HashEntry {
        schema_version: SCHEMA_VERSION,
        record_id: missing.clone(),
    };
    store.put(&hash_key, json(&hash)).await.unwrap();
    let request_key = format!("requests/{AGENCY}/{}.json", sha(b"lost-request"));
    let request = RequestEntry {
        schema_version: SCHEMA_VERSION,
        agency_code: AGENCY.into(),
        client_request_id: "lost-request".into(),
        record_id: missing.clone(),
    };
    store.put(&request_key, json(&request)).await.unwrap();
    // A hash entry naming a record with another hash is dangling too.
    let wrong_hash_key = format!("hashes/{}.json", sha(b"other bytes"));
    let wrong = HashEntry {
        schema_version: SCHEMA_VERSION,
        record_id: healthy.id.clone(),
    };
    store.put(&wrong_hash_key, json(&wrong)).await.unwrap();

    // (d) A reservation abandoned an hour ago, and one taken just now (in flight).
    let stale = registry.reserve_number(AGENCY, YEAR).await.unwrap();
    let stale_key = format!("books/{AGENCY}/{YEAR}/{:08}.json", stale.number);
    let mut entry: serde_json::Value =
        serde_json::from_slice(&store.get(&stale_key).await.unwrap().unwrap()).unwrap();
    let an_hour_ago = (OffsetDateTime::now_utc() - time::Duration::hours(1))
        .format(&Rfc3339)
        .unwrap();
    entry["reserved_at"] = an_hour_ago.into();
    store.put(&stale_key, json(&entry)).await.unwrap();
    let in_flight = registry.reserve_number(AGENCY, YEAR).await.unwrap();

    // (d) An issued number whose record vanished (its copy objects become orphans, its
    // index entries dangling).
    let vanished = issue(&registry, &id_aged(hour), 2).await;
    store
        .delete(&format!("records/{}.json", vanished.id))
        .await
        .unwrap();
    let vanished_book = format!("books/{AGENCY}/{YEAR}/{:08}.json", vanished.number);

    // Found, nothing changed.
    let report = check(&store, false).await;
    assert!(!report.is_clean());
    assert!(report.findings.iter().all(|f| f.action == Action::Reported));
    assert_eq!(
        keys_of(&report, FindingKind::DanglingRecord),
        vec![format!("records/{}.json", dangling.id)]
    );
    let mut orphans = vec![
        format!("copies/{old}/copy.pdf"),
        format!("copies/{old}/original-0"),
        extra.clone(),
        format!("copies/{}/copy.pdf", vanished.id),
        format!("copies/{}/original-0", vanished.id),
    ];
    orphans.sort();
    assert_eq!(keys_of(&report, FindingKind::Orphan), orphans);
    let vanished_owner = store
        .list(&format!("owners/{OWNER}/"))
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.ends_with(&vanished.id))
        .unwrap();
    let mut indexes = vec![
        owner_key.clone(),
        hash_key.clone(),
        wrong_hash_key.clone(),
        vanished_owner,
        format!("hashes/{}.json", vanished.copy_sha256),
    ];
    indexes.sort();
    assert_eq!(keys_of(&report, FindingKind::DanglingIndex), indexes);
    // A request entry whose record was never stored is the claim of a failed attempt.
    let mut claims = vec![
        request_key.clone(),
        format!(
            "requests/{AGENCY}/{}.json",
            sha(vanished.client_request_id.as_bytes())
        ),
    ];
    claims.sort();
    assert_eq!(keys_of(&report, FindingKind::AbandonedClaim), claims);
    assert_eq!(
        keys_of(&report, FindingKind::StaleReservation),
        vec![stale_key.clone()]
    );
    assert_eq!(
        keys_of(&report, FindingKind::IssuedWithoutRecord),
        vec![vanished_book.clone()]
    );
    assert!(report.of(FindingKind::Unreadable).is_empty());
    assert_eq!(
        report.in_flight, 2,
        "the fresh orphan and the fresh reservation"
    );
    for key in orphans.iter().chain(&indexes) {
        assert!(store.get(key).await.unwrap().is_some(), "{key} kept");
    }

    // The CLI says the same and exits 1.
    let (code, out) = cli_check(dir.path(), false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("orphan object"), "{out}");

    // Repaired.
    let report = check(&store, true).await;
    for f in &report.findings {
        let repairable = matches!(
            f.kind,
            FindingKind::Orphan
                | FindingKind::DanglingIndex
                | FindingKind::AbandonedClaim
                | FindingKind::StaleReservation
        );
        assert_eq!(matches!(f.action, Action::Repaired(_)), repairable, "{f:?}");
    }
    for key in orphans.iter().chain(&indexes).chain(&claims) {
        assert!(store.get(key).await.unwrap().is_none(), "{key} deleted");
    }
    let entries = registry.book_entries(AGENCY, YEAR).await.unwrap();
    let voided = entries.iter().find(|e| e.number == stale.number).unwrap();
    match &voided.state {
        EntryState::Void { reason, .. } => assert!(reason.starts_with("abandoned: "), "{reason}"),
        other => panic!("stale reservation not voided: {other:?}"),
    }
    let open = entries
        .iter()
        .find(|e| e.number == in_flight.number)
        .unwrap();
    assert_eq!(
        open.state,
        EntryState::Reserved,
        "in-flight number untouched"
    );
    assert!(
        store.get(&fresh).await.unwrap().is_some(),
        "fresh copy kept"
    );
    // Records are never deleted; healthy copies are intact.
    assert!(registry.get(&dangling.id).await.unwrap().is_some());
    assert!(registry.get(&healthy.id).await.unwrap().is_some());
    assert!(registry.copy_bytes(&healthy.id).await.unwrap().is_some());
    assert_eq!(
        registry.find_by_hash(&healthy.copy_sha256).await.unwrap(),
        Some(healthy.clone())
    );

    // What --repair cannot fix is still reported; everything else is gone.
    let report = check(&store, false).await;
    let kinds: Vec<FindingKind> = report.findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        vec![
            FindingKind::DanglingRecord,
            FindingKind::IssuedWithoutRecord
        ]
    );

    // The CLI repair on a store with only those two left prints them and exits 1.
    let (code, out) = cli_check(dir.path(), true);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("dangling record"), "{out}");
}

#[tokio::test]
async fn unreadable_documents_are_reported_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::open(dir.path()).await.unwrap());
    let id = id_aged(3600);
    let key = format!("records/{id}.json");
    store.put(&key, Bytes::from("{not json")).await.unwrap();
    store
        .put(&format!("copies/{id}/copy.pdf"), Bytes::from("c"))
        .await
        .unwrap();
    let report = check(&store, true).await;
    assert_eq!(keys_of(&report, FindingKind::Unreadable), vec![key.clone()]);
    assert!(
        report.of(FindingKind::Orphan).is_empty(),
        "bytes of an unreadable record kept"
    );
    assert!(store.get(&key).await.unwrap().is_some());
}

#[tokio::test]
async fn interrupted_commits_are_rolled_forward() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::open(dir.path()).await.unwrap());
    let registry = Registry::new(store.clone());
    let hour = 3600;
    let book_key = |n: u64| format!("books/{AGENCY}/{YEAR}/{n:08}.json");
    let request_key = |r: &Record| {
        format!(
            "requests/{AGENCY}/{}.json",
            sha(r.client_request_id.as_bytes())
        )
    };
    let hash_key = |r: &Record| format!("hashes/{}.json", r.copy_sha256);

    // Interrupted after the record and the owner entry: no hash, book still reserved, no
    // request entry.
    let unfinished = issue(&registry, &id_aged(hour), 0).await;
    let key = book_key(unfinished.number);
    let mut entry: serde_json::Value =
        serde_json::from_slice(&store.get(&key).await.unwrap().unwrap()).unwrap();
    entry["state"] = serde_json::json!({"state": "reserved"});
    entry["reserved_at"] = "2026-01-05T14:00:00+07:00".into();
    store.put(&key, json(&entry)).await.unwrap();
    store.delete(&hash_key(&unfinished)).await.unwrap();
    store.delete(&request_key(&unfinished)).await.unwrap();

    // Issued, but the request entry (written last) is missing.
    let no_request = issue(&registry, &id_aged(hour), 1).await;
    store.delete(&request_key(&no_request)).await.unwrap();

    // A number entered as void although its record is stored.
    let voided = issue(&registry, &id_aged(hour), 2).await;
    let key = book_key(voided.number);
    let mut entry: serde_json::Value =
        serde_json::from_slice(&store.get(&key).await.unwrap().unwrap()).unwrap();
    entry["state"] = serde_json::json!({"state": "void", "reason": "store failed", "at": "2026-01-05T14:00:00+07:00"});
    store.put(&key, json(&entry)).await.unwrap();

    // A fresh record missing its request entry may be a commit in flight: left alone.
    let fresh = issue(&registry, &id_aged(0), 3).await;
    store.delete(&request_key(&fresh)).await.unwrap();

    let report = check(&store, false).await;
    let mut missing = vec![
        hash_key(&unfinished),
        request_key(&unfinished),
        request_key(&no_request),
    ];
    missing.sort();
    assert_eq!(keys_of(&report, FindingKind::MissingIndex), missing);
    assert_eq!(
        keys_of(&report, FindingKind::UnfinishedCommit),
        vec![book_key(unfinished.number)]
    );
    assert_eq!(
        keys_of(&report, FindingKind::VoidWithRecord),
        vec![book_key(voided.number)]
    );
    assert_eq!(report.findings.len(), 5, "{}", report.render());

    let report = check(&store, true).await;
    for f in &report.findings {
        assert_eq!(
            matches!(f.action, Action::Repaired(_)),
            f.kind != FindingKind::VoidWithRecord,
            "{f:?}"
        );
    }
    // Rolled forward: the book says issued, lookups and retries find the copy.
    let entries = registry.book_entries(AGENCY, YEAR).await.unwrap();
    assert!(matches!(
        &entries[(unfinished.number - 1) as usize].state,
        EntryState::Issued { record_id, .. } if *record_id == unfinished.id
    ));
    assert_eq!(
        registry
            .find_by_hash(&unfinished.copy_sha256)
            .await
            .unwrap(),
        Some(unfinished.clone())
    );
    for r in [&unfinished, &no_request] {
        let guard = registry
            .begin_request(AGENCY, &r.client_request_id)
            .await
            .unwrap();
        assert_eq!(guard.existing.as_ref().map(|e| &e.id), Some(&r.id));
    }
    assert!(store.get(&request_key(&fresh)).await.unwrap().is_none());
    let report = check(&store, false).await;
    assert_eq!(
        report.findings.iter().map(|f| f.kind).collect::<Vec<_>>(),
        vec![FindingKind::VoidWithRecord]
    );
}
