//! The book's life, driven by a test clock through the library: numbers continue in a
//! second book opened mid-year and restart at 1 in the next year, two replicas racing
//! across the year boundary keep a gapless book per year, a month's printout holds every
//! numbered entry once and validates (saoy, pyHanko), closing a year refuses its numbers
//! afterwards, and the report's totals match the book.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use saoy::app::{App, Caller, CertifyInput, CertifyMeta, books};
use saoy::clock::Clock;
use saoy::digitize::UploadedFile;
use saoy::identity::{Holder, Role};
use saoy::records::{EntryState, Registry};
use saoy::store::{LocalStore, ObjectStore};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::support::{peers, pki, pyhanko};

/// A clock the test moves.
struct TestClock(Mutex<OffsetDateTime>);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn set(&self, t: OffsetDateTime) {
        *self.0.lock().unwrap() = t;
    }
}

const AGENCY: &str = "H72.21.01";

fn clerk() -> Caller {
    Caller {
        holder: Some(Holder {
            role: Role::Clerk,
            agency: AGENCY.into(),
            name: "Cán bộ một cửa (TEST)".into(),
            fingerprint: "00".repeat(32),
        }),
        citizen: None,
        address: None,
    }
}

fn input(request: &str) -> CertifyInput {
    CertifyInput {
        meta: CertifyMeta {
            owner_id: "079203001234".into(),
            document_type: "Giấy khai sinh".into(),
            document_name: "Giấy khai sinh bản chính".into(),
            procedure_code: "2.000815".into(),
            page_count: 1,
            client_request_id: request.into(),
            allow_low_resolution: false,
            certifier: String::new(),
        },
        files: vec![UploadedFile {
            name: "scan.png".into(),
            media_type: Some("image/png".into()),
            data: Bytes::from(
                std::fs::read(crate::support::root().join("tests/data/sample-scan.png")).unwrap(),
            ),
        }],
    }
}

async fn store_in(dir: &Path) -> Arc<dyn ObjectStore> {
    Arc::new(LocalStore::open(dir).await.expect("store"))
}

fn app(dir: &Path, store: Arc<dyn ObjectStore>, clock: Arc<TestClock>) -> Arc<App> {
    let config = crate::support::server::test_config(dir);
    Arc::new(App::with_store(config, store, clock).expect("app"))
}

async fn book(store: &Arc<dyn ObjectStore>, year: i32) -> Vec<saoy::records::BookEntry> {
    let mut e = Registry::new(Arc::clone(store))
        .book_entries(AGENCY, year)
        .await
        .unwrap();
    e.sort_by_key(|e| e.number);
    e
}

fn assert_gapless(entries: &[saoy::records::BookEntry], what: &str) {
    let numbers: Vec<u64> = entries.iter().map(|e| e.number).collect();
    assert_eq!(
        numbers,
        (1..=entries.len() as u64).collect::<Vec<_>>(),
        "{what}"
    );
    assert!(
        entries
            .iter()
            .all(|e| !matches!(e.state, EntryState::Reserved)),
        "{what}: an entry is left reserved"
    );
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("book.pdf");
    std::fs::write(&p, pdf).unwrap();
    // Table cells wrap: compare words, not lines.
    peers::pdftotext(&p)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn assert_signed(pdf: &[u8]) {
    let report = saoy::verify::verify_pdf(pdf, &crate::support::policy());
    assert!(report.is_passed(), "{}", crate::support::show(&report));
    match pyhanko::validate(pdf) {
        pyhanko::PeerResult::Verdicts(v) => {
            assert_eq!(v.len(), 1);
            assert!(!v[0].rejects(), "pyHanko: {v:?}");
        }
        pyhanko::PeerResult::Crashed(e) => panic!("pyHanko: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn books_continue_mid_year_restart_each_year_print_close_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path()).await;
    let clock = Arc::new(TestClock(Mutex::new(datetime!(2026-12-31 23:58:00 +07:00))));
    let (one, two) = (
        app(dir.path(), Arc::clone(&store), Arc::clone(&clock)),
        app(dir.path(), Arc::clone(&store), Arc::clone(&clock)),
    );
    for (i, a) in [&one, &one, &two].into_iter().enumerate() {
        let c = a
            .certify(&clerk(), input(&format!("dec-{i}")))
            .await
            .unwrap();
        assert_eq!(
            (c.record.number, c.record.book.as_str()),
            (i as u64 + 1, "01")
        );
    }
    // A refusal in December takes no number; it is printed after the entries.
    let mut refused = input("dec-refused").meta;
    refused.document_name = "Giấy khai sinh bị tẩy xóa".into();
    one.refuse_certification(
        &clerk(),
        saoy::app::RefuseInput {
            subject: saoy::app::RefusalSubject::Request(refused),
            reason_code: "tampered".into(),
            reason_text: "tẩy xóa ở trang một".into(),
        },
    )
    .await
    .unwrap();
    // A number voided in December stays in the book with its reason.
    let registry = Registry::with_clock(Arc::clone(&store), clock.clone());
    let r = registry.reserve_number(AGENCY, 2026).await.unwrap();
    registry
        .void(AGENCY, &r, "máy quét hỏng giữa chừng")
        .await
        .unwrap();

    // A second book within the year: numbering continues; both replicas take it up.
    let opened = books::open_next_book(Arc::clone(&store), clock.clone(), AGENCY)
        .await
        .unwrap();
    assert_eq!((opened.book.as_str(), opened.first_number), ("02", 5));
    let c = two.certify(&clerk(), input("dec-book2")).await.unwrap();
    assert_eq!((c.record.number, c.record.book.as_str()), (5, "02"));
    assert!(
        c.record.reference.contains("quyển số 02/2026"),
        "{}",
        c.record.reference
    );
    let c = one.certify(&clerk(), input("dec-book2-one")).await.unwrap();
    assert_eq!((c.record.number, c.record.book.as_str()), (6, "02"));

    // Two replicas racing across midnight: each year's book stays gapless; 2027 starts at 1.
    let mut racing = Vec::new();
    for i in 0..6 {
        let a = Arc::clone(if i % 2 == 0 { &one } else { &two });
        racing.push(tokio::spawn(async move {
            a.certify(&clerk(), input(&format!("race-{i}"))).await
        }));
        if i == 2 {
            clock.set(datetime!(2027-01-01 00:00:05 +07:00));
        }
    }
    for r in racing {
        r.await.unwrap().expect("certified across the boundary");
    }
    let (old, new) = (book(&store, 2026).await, book(&store, 2027).await);
    assert_gapless(&old, "2026");
    assert_gapless(&new, "2027");
    assert_eq!(old.len() + new.len(), 12);
    assert!(
        !new.is_empty() && new[0].book == "01",
        "a new year starts in book 01 at 1"
    );

    // December's printout: every entry of the month once, in number order; signed.
    let config = crate::support::server::test_config(dir.path());
    let pdf = books::print_month(
        &config,
        Arc::clone(&store),
        clock.clone(),
        AGENCY,
        "2026-12",
    )
    .await
    .unwrap();
    assert_signed(&pdf);
    let text = pdftotext(&pdf);
    assert!(text.contains("Tháng 12/2026"), "{text}");
    assert!(
        text.contains(&format!("Số việc trong tháng: {}", old.len())),
        "{text}"
    );
    assert!(
        text.contains("máy quét hỏng giữa chừng"),
        "the void and its reason: {text}"
    );
    let again = books::print_month(
        &config,
        Arc::clone(&store),
        clock.clone(),
        AGENCY,
        "2026-12",
    )
    .await
    .unwrap();
    assert_eq!(pdftotext(&again), text, "the same month printed twice");

    // Closing: not before the year is over; then once, and 2026 takes no number after.
    clock.set(datetime!(2026-12-31 23:59:59 +07:00));
    let early = books::close_year(&config, Arc::clone(&store), clock.clone(), AGENCY, 2026).await;
    assert!(
        early
            .unwrap_err()
            .to_string()
            .contains("after 31 December 2026")
    );
    clock.set(datetime!(2027-01-02 08:00:00 +07:00));
    let (closing, made) =
        books::close_year(&config, Arc::clone(&store), clock.clone(), AGENCY, 2026)
            .await
            .unwrap();
    assert!(made);
    assert_eq!(
        (closing.total, closing.issued, closing.void),
        (old.len() as u64, old.len() as u64 - 1, 1)
    );
    let year_book = store
        .get(&closing.printout)
        .await
        .unwrap()
        .expect("year book stored");
    assert_signed(&year_book);
    assert!(pdftotext(&year_book).contains(&format!(
        "Tổng số việc chứng thực trong năm 2026: {}",
        old.len()
    )));
    let (_, made_again) =
        books::close_year(&config, Arc::clone(&store), clock.clone(), AGENCY, 2026)
            .await
            .unwrap();
    assert!(!made_again, "closing twice does nothing new");
    let late = Registry::with_clock(Arc::clone(&store), clock.clone())
        .reserve_number(AGENCY, 2026)
        .await
        .unwrap_err();
    assert!(late.to_string().contains("closed"), "{late}");

    // The report's totals match the book.
    let from = books::parse_date("2026-01-01", "from").unwrap();
    let to = books::parse_date("2026-12-31", "to").unwrap();
    let report = books::report(Arc::clone(&store), AGENCY, from, to)
        .await
        .unwrap();
    assert_eq!(report.issued, old.len() as u64 - 1);
    assert_eq!(report.voided, 1);
    assert_eq!(report.refused.get("tampered"), Some(&1));
    assert_eq!(
        report.fees_vnd,
        2000 * report.issued,
        "one page: 2,000 VND each"
    );
    assert_eq!(report.pages, report.issued);
    assert_eq!(
        report.by_procedure_code.get("2.000815"),
        Some(&report.issued)
    );

    // The same through the CLI, on the data directory.
    let out = dir.path().join("2026-12.pdf");
    let cli = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .args([
            "book", "print", "--agency", AGENCY, "--month", "2026-12", "--out",
        ])
        .arg(&out)
        .arg("--data")
        .arg(dir.path())
        .current_dir(crate::support::crate_dir())
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(pdftotext(&std::fs::read(&out).unwrap()), text);
    let cli = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .args([
            "report",
            "--agency",
            AGENCY,
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--format",
            "json",
            "--data",
        ])
        .arg(dir.path())
        .current_dir(crate::support::crate_dir())
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(json["issued"], report.issued);
    assert_eq!(json["voided"], 1);
    // Openings, closings, printouts and refusals are not leftovers for store check.
    let check = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .args(["store", "check", "--grace-secs", "0", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "store check: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let _ = pki("root.pem");
}
