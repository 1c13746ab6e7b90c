//! Mutation harness: certified copies made by saoy and files signed by pyHanko, mutated
//! thousands of times (bit flips, byte changes, insertions, deletions, duplicated runs,
//! truncations). No mutant may be PASSED unless the mutation is provably harmless, none may
//! crash, and for the mutants saoy does not FAIL, peers agree on what exists: saoy reports at
//! least as many signatures as pdfsig lists signed, and every signature saoy PASSES reads in
//! pdfsig and pyHanko.
//!
//! Provably harmless (the only mutants allowed to stay PASSED), both a single-byte
//! substitution inside a signature's /Contents hex string (bytes no /ByteRange covers):
//! - a hex digit replaced by another hex digit after the end of the DER-encoded CMS object
//!   (the zero padding: the CMS object's own length says where it ends, and what follows it is
//!   not part of it);
//! - a hex digit replaced by the same digit in the other case (`a` ↔ `A`: the same byte).
//!
//! The seed is fixed and printed. `SAOY_MUTANTS`, `SAOY_MUTATION_SEED` and
//! `SAOY_MUTATION_PEERS` change the run (`scripts/mutate` runs thousands more). A mutant that
//! fails is written to `target/tmp/mutants/`: keep it in `tests/data/mutants/` under a name that
//! says what it shows, where `mutant_regressions_stay_refused` replays it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{crate_dir, pki, policy};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use saoy::verify::{Indication, Report, ValidationPolicy, verify_pdf};

const DEFAULT_MUTANTS: usize = 6000;
const DEFAULT_PEER_MUTANTS: usize = 300;
const DEFAULT_SEED: u64 = 20_261_203;
/// A mutant that takes longer than this is a hang, not a slow input.
const HANG: Duration = Duration::from_secs(120);

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn data_dir() -> PathBuf {
    crate_dir().join("tests/data/mutation")
}

/// A signature's /Contents hex string: `start` is its first hex digit, `end` the `>`,
/// `der_hex` the hex digits the CMS object itself takes.
#[derive(Debug, Clone)]
struct Gap {
    start: usize,
    end: usize,
    der_hex: usize,
}

struct Base {
    name: String,
    bytes: Vec<u8>,
    gaps: Vec<Gap>,
    ends: Vec<usize>,
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Length in bytes of the DER object at the start of `der` (tag, length, contents).
fn der_len(der: &[u8]) -> Option<usize> {
    let first = *der.get(1)?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    let mut len = 0usize;
    for i in 0..n {
        len = len.checked_mul(256)? + usize::from(*der.get(2 + i)?);
    }
    Some(2 + n + len)
}

/// The /Contents gaps of every /ByteRange in `pdf`.
fn gaps_of(pdf: &[u8]) -> Vec<Gap> {
    let mut out = Vec::new();
    for at in find_all(pdf, b"/ByteRange") {
        let rest = &pdf[at + 10..pdf.len().min(at + 200)];
        let Some(open) = rest.iter().position(|b| *b == b'[') else {
            continue;
        };
        let Some(close) = rest.iter().position(|b| *b == b']') else {
            continue;
        };
        let nums: Vec<usize> = String::from_utf8_lossy(&rest[open + 1..close])
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        let [_, b, c, _] = nums[..] else { continue };
        if pdf.get(b) != Some(&b'<') || c == 0 || pdf.get(c - 1) != Some(&b'>') {
            continue;
        }
        let hex = &pdf[b + 1..c - 1];
        let der: Vec<u8> = hex
            .chunks(2)
            .take(16)
            .filter_map(|p| Some(hex_val(p[0])? << 4 | hex_val(*p.get(1)?)?))
            .collect();
        let Some(n) = der_len(&der) else { continue };
        out.push(Gap {
            start: b + 1,
            end: c - 1,
            der_hex: 2 * n,
        });
    }
    out
}

fn revision_ends(pdf: &[u8]) -> Vec<usize> {
    find_all(pdf, b"%%EOF").into_iter().map(|p| p + 5).collect()
}

fn load_bases() -> Vec<Base> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("tests/data/mutation")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    files.sort();
    let bases: Vec<Base> = files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).expect("read base");
            Base {
                name: f.file_stem().unwrap().to_string_lossy().into_owned(),
                gaps: gaps_of(&bytes),
                ends: revision_ends(&bytes),
                bytes,
            }
        })
        .collect();
    assert!(
        bases.len() >= 3,
        "expected the mutation bases in {}",
        data_dir().display()
    );
    for b in &bases {
        assert!(
            b.gaps.len() >= 2,
            "{}: every base has two signatures",
            b.name
        );
        let r = verify_pdf(&b.bytes, &policy_at());
        assert!(
            r.is_passed(),
            "{}: the base must pass\n{}",
            b.name,
            r.render_text()
        );
    }
    bases
}

/// The usual test policy at a fixed time after the bases were made.
fn policy_at() -> ValidationPolicy {
    let mut p = policy();
    p.validation_time = Some(std::time::UNIX_EPOCH + Duration::from_secs(1_798_761_600));
    p
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    BitFlip,
    ByteChange,
    Insert,
    Delete,
    Duplicate,
    Truncate,
}

struct Mutant {
    label: String,
    op: Op,
    bytes: Vec<u8>,
    harmless: bool,
}

/// A position: anywhere, inside a /Contents string (or at its edges), or near the end of a
/// revision (signature dictionaries, xref, trailer).
fn position(base: &Base, rng: &mut StdRng) -> usize {
    let len = base.bytes.len();
    match rng.gen_range(0..10) {
        0..=2 => rng.gen_range(0..len),
        3..=6 => {
            let g = &base.gaps[rng.gen_range(0..base.gaps.len())];
            rng.gen_range(g.start - 1..=g.end).min(len - 1)
        }
        _ => {
            let e = base.ends[rng.gen_range(0..base.ends.len())].min(len);
            rng.gen_range(e.saturating_sub(3000)..e)
        }
    }
}

fn insertion(rng: &mut StdRng) -> Vec<u8> {
    let n = rng.gen_range(1..=8);
    const ALPHABETS: [&[u8]; 4] = [b"0123456789abcdef", b" \n\r\t", b"0123456789", b"<>[]()/% "];
    match rng.gen_range(0..5) {
        4 => (0..n).map(|_| rng.r#gen()).collect(),
        k => {
            let a = ALPHABETS[k];
            (0..n).map(|_| a[rng.gen_range(0..a.len())]).collect()
        }
    }
}

fn mutate(base: &Base, rng: &mut StdRng) -> Mutant {
    let ops = [
        Op::BitFlip,
        Op::ByteChange,
        Op::Insert,
        Op::Delete,
        Op::Duplicate,
        Op::Truncate,
    ];
    let op = ops[rng.gen_range(0..ops.len())];
    let mut b = base.bytes.clone();
    let p = position(base, rng);
    let old = b[p];
    let mut harmless = false;
    let label = match op {
        Op::BitFlip | Op::ByteChange => {
            let new = if op == Op::BitFlip {
                old ^ (1 << rng.gen_range(0..8))
            } else {
                let mut v: u8 = rng.r#gen();
                if v == old {
                    v = v.wrapping_add(1);
                }
                v
            };
            b[p] = new;
            harmless = base.gaps.iter().any(|g| {
                (g.start..g.end).contains(&p)
                    && hex_val(new).is_some()
                    && (p - g.start >= g.der_hex || hex_val(new) == hex_val(old))
            });
            format!("{op:?} at {p}: {old:#04x} -> {new:#04x}")
        }
        Op::Insert => {
            let ins = insertion(rng);
            let label = format!("Insert at {p}: {:?}", String::from_utf8_lossy(&ins));
            b.splice(p..p, ins);
            label
        }
        Op::Delete => {
            let n = rng.gen_range(1..=8).min(b.len() - p);
            b.drain(p..p + n);
            format!("Delete {n} at {p}")
        }
        Op::Duplicate => {
            let n = rng.gen_range(1..=64).min(b.len() - p);
            let run = b[p..p + n].to_vec();
            b.splice(p + n..p + n, run);
            format!("Duplicate {n} at {p}")
        }
        Op::Truncate => {
            b.truncate(p);
            format!("Truncate at {p}")
        }
    };
    Mutant {
        label: format!("{}: {label}", base.name),
        op,
        bytes: b,
        harmless,
    }
}

/// Panics on the mutation worker thread (the verifier catches them; each is a crash).
static PANICS: AtomicUsize = AtomicUsize::new(0);
/// The name of the mutation worker thread.
const WORKER: &str = "mutation-worker";

#[derive(Default)]
struct Summary {
    mutants: usize,
    not_passed: usize,
    harmless_passed: usize,
    crashes: usize,
    slowest: (Duration, String),
    failures: Vec<String>,
    /// Mutants saoy does not FAIL, with saoy's report, for the peers.
    kept: Vec<(String, Vec<u8>, Report)>,
}

fn save_failure(m: &Mutant, why: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mutants");
    std::fs::create_dir_all(&dir).expect("mutant dir");
    let name: String = m
        .label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, &m.bytes).expect("save mutant");
    format!("{} ({why}): saved as {}", m.label, path.display())
}

fn run(bases: &[Base], n: usize, seed: u64, keep: usize) -> Summary {
    let policy = policy_at();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut s = Summary::default();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name(WORKER.into())
            .spawn_scoped(scope, || {
                let mut s = Summary::default();
                for i in 0..n {
                    let base = &bases[i % bases.len()];
                    let m = mutate(base, &mut rng);
                    let _ = tx.send(m.label.clone());
                    let before = PANICS.load(Ordering::SeqCst);
                    let started = Instant::now();
                    let r = verify_pdf(&m.bytes, &policy);
                    let took = started.elapsed();
                    s.mutants += 1;
                    if took > s.slowest.0 {
                        s.slowest = (took, m.label.clone());
                    }
                    let crashed = PANICS.load(Ordering::SeqCst) > before
                        || r.messages.iter().any(|x| x.contains("internal error"));
                    if crashed {
                        s.crashes += 1;
                        s.failures.push(save_failure(&m, "crash"));
                    }
                    if r.is_passed() {
                        if m.harmless {
                            s.harmless_passed += 1;
                        } else {
                            s.failures.push(save_failure(&m, "PASSED"));
                        }
                    } else {
                        s.not_passed += 1;
                    }
                    if r.status != Indication::Failed && s.kept.len() < keep {
                        s.kept.push((m.label.clone(), m.bytes, r));
                    }
                    let _ = m.op;
                }
                drop(tx);
                s
            })
            .expect("spawn the mutation worker");
        loop {
            match rx.recv_timeout(HANG) {
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("a mutant took over {HANG:?}: a hang");
                }
            }
        }
        s = worker.join().expect("mutation worker");
    });
    s
}

/// An NSS database trusting the test root, for pdfsig.
fn nss_db(dir: &Path) -> String {
    crate::support::peers::nss_db(dir, &pki("root.pem"))
}

/// What pdfsig says of a file: the number of signed signatures it lists, and whether each of
/// them validates (signature valid, digest intact).
struct PdfSig {
    signed: usize,
    all_valid: bool,
    text: String,
}

fn pdfsig(db: &str, file: &Path) -> PdfSig {
    let out = crate::support::peers::pdfsig_in(db, file);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let blocks: Vec<&str> = text.split("Signature #").skip(1).collect();
    let signed: Vec<&&str> = blocks
        .iter()
        .filter(|b| !b.contains("is not signed"))
        .collect();
    let all_valid = !signed.is_empty()
        && signed
            .iter()
            .all(|b| b.contains("Signature Validation: Signature is Valid."));
    PdfSig {
        signed: signed.len(),
        all_valid,
        text,
    }
}

/// pyHanko's verdict per file: `Err` when it refuses the file, else (intact and valid) per
/// signature.
fn pyhanko_many(files: &[PathBuf]) -> Vec<Result<Vec<bool>, String>> {
    let mut out = Vec::new();
    for chunk in files.chunks(100) {
        let res = Command::new("python3")
            .arg(crate_dir().join("tests/peers/pyhanko_validate_many.py"))
            .arg("--trust")
            .arg(pki("root.pem"))
            .arg("--crl")
            .arg(pki("issuing-ca.crl"))
            .args(chunk)
            .output()
            .expect("python3 with pyHanko must be installed; run scripts/test");
        assert!(
            res.status.success(),
            "pyHanko batch validation failed: {}",
            String::from_utf8_lossy(&res.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&res.stdout).expect("pyHanko JSON");
        for f in chunk {
            let e = &v[f.to_string_lossy().as_ref()];
            out.push(match e.get("error").and_then(|x| x.as_str()) {
                Some(err) => Err(err.to_string()),
                None => Ok(e["signatures"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|s| {
                                s["intact"].as_bool() == Some(true)
                                    && s["valid"].as_bool() == Some(true)
                            })
                            .collect()
                    })
                    .unwrap_or_default()),
            });
        }
    }
    out
}

/// Peers judge the mutants saoy does not FAIL: count and readability (see the module docs).
fn differential(kept: &[(String, Vec<u8>, Report)]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_dir = tempfile::tempdir().expect("nss dir");
    let db = nss_db(db_dir.path());
    let mut files = Vec::new();
    for (i, (_, bytes, _)) in kept.iter().enumerate() {
        let p = dir.path().join(format!("m{i}.pdf"));
        std::fs::write(&p, bytes).expect("write mutant");
        files.push(p);
    }
    let py = pyhanko_many(&files);
    let mut failures = Vec::new();
    for (((label, bytes, r), f), py) in kept.iter().zip(&files).zip(&py) {
        let ps = pdfsig(&db, f);
        let fail = |why: String| {
            let m = Mutant {
                label: label.clone(),
                op: Op::ByteChange,
                bytes: bytes.clone(),
                harmless: false,
            };
            save_failure(&m, &why)
        };
        if r.signatures.len() < ps.signed {
            failures.push(fail(format!(
                "saoy reports {} signature(s), pdfsig lists {} signed\n{}\n{}",
                r.signatures.len(),
                ps.signed,
                r.render_text(),
                ps.text
            )));
        }
        if r.is_passed() {
            if !ps.all_valid {
                failures.push(fail(format!(
                    "saoy PASSES what pdfsig cannot read\n{}",
                    ps.text
                )));
            }
            match py {
                Ok(v) if !v.is_empty() && v.iter().all(|ok| *ok) => {}
                other => failures.push(fail(format!(
                    "saoy PASSES what pyHanko cannot read: {other:?}"
                ))),
            }
        }
    }
    failures
}

#[test]
fn mutants_are_never_passed_unless_harmless() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some(WORKER) {
            PANICS.fetch_add(1, Ordering::SeqCst);
            eprintln!("panic in the verifier: {info}");
        } else {
            previous(info);
        }
    }));
    let bases = load_bases();
    let n = env_num("SAOY_MUTANTS", DEFAULT_MUTANTS as u64) as usize;
    let seed = env_num("SAOY_MUTATION_SEED", DEFAULT_SEED);
    let peers = env_num("SAOY_MUTATION_PEERS", DEFAULT_PEER_MUTANTS as u64) as usize;
    println!(
        "mutation seed {seed}, {n} mutants over {} bases",
        bases.len()
    );
    let started = Instant::now();
    let s = run(&bases, n, seed, peers);
    println!(
        "mutants {}, not PASSED {}, PASSED (harmless) {}, crashes {}, slowest {:?} ({}), {:?} in all",
        s.mutants,
        s.not_passed,
        s.harmless_passed,
        s.crashes,
        s.slowest.0,
        s.slowest.1,
        started.elapsed()
    );
    assert_eq!(s.mutants, n);
    let mut failures = s.failures;
    let not_failed = s.kept.len();
    let diff = differential(&s.kept);
    println!(
        "peers judged {not_failed} mutants saoy does not FAIL: {} disagreement(s)",
        diff.len()
    );
    failures.extend(diff);
    assert!(
        failures.is_empty(),
        "{} failing mutant(s) (seed {seed}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Inserts `what` into the /Contents hex string of the last signature of `pdf`, halfway.
fn insert_into_last_contents(pdf: &[u8], what: &[u8]) -> (Vec<u8>, usize) {
    let g = gaps_of(pdf)
        .into_iter()
        .max_by_key(|g| g.start)
        .expect("a signature");
    let at = g.start + (g.end - g.start) / 2;
    let mut b = pdf.to_vec();
    b.splice(at..at, what.iter().copied());
    (b, at)
}

#[test]
fn insertion_into_a_later_signatures_contents_is_refused_and_named() {
    let policy = policy_at();
    for base in load_bases() {
        // The end of the first signed revision: where the unreadable bytes start.
        let first_gap = base.gaps.iter().map(|g| g.end).min().expect("a signature");
        let first_end = *base
            .ends
            .iter()
            .find(|e| **e > first_gap)
            .expect("a revision end after the first signature");
        for what in [&b"00"[..], b"a0f", b"\n0 0"] {
            let (m, at) = insert_into_last_contents(&base.bytes, what);
            let r = verify_pdf(&m, &policy);
            let shown = r.render_text();
            assert!(
                !r.is_passed(),
                "{}: insertion at {at} PASSED\n{shown}",
                base.name
            );
            assert!(
                r.signatures.len() >= 2,
                "{}: the second signature must still be reported\n{shown}",
                base.name
            );
            let named = r.messages.iter().any(|x| {
                x.contains("cannot be read")
                    && (first_end..=first_end + 2).any(|e| x.contains(&format!("bytes {e}..")))
            });
            assert!(
                named,
                "{}: the report must name the unreadable revision (from byte {first_end})\n{shown}",
                base.name
            );
        }
    }
}

#[test]
fn mutant_regressions_stay_refused() {
    let dir = crate_dir().join("tests/data/mutants");
    let policy = policy_at();
    let mut seen = 0;
    for e in std::fs::read_dir(&dir)
        .expect("tests/data/mutants")
        .flatten()
    {
        let bytes = std::fs::read(e.path()).expect("read mutant");
        let r = verify_pdf(&bytes, &policy);
        assert!(
            !r.is_passed(),
            "{} is PASSED\n{}",
            e.path().display(),
            r.render_text()
        );
        seen += 1;
    }
    assert!(seen > 0, "no regression mutants in {}", dir.display());
}

#[test]
fn dss_corpus_signature_count_is_never_below_pdfsigs() {
    let Some(dir) = crate::corpus::corpus_dir() else {
        return;
    };
    let db_dir = tempfile::tempdir().expect("nss dir");
    let db = nss_db(db_dir.path());
    let mut failures = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    files.sort();
    assert!(files.len() > 10, "the DSS corpus looks empty");
    for f in &files {
        let bytes = std::fs::read(f).expect("read");
        let r = verify_pdf(&bytes, &ValidationPolicy::default());
        let ps = pdfsig(&db, f);
        println!(
            "{}: saoy {} signature(s), pdfsig {} signed",
            f.display(),
            r.signatures.len(),
            ps.signed
        );
        if r.signatures.len() < ps.signed {
            failures.push(format!(
                "{}: saoy reports {}, pdfsig lists {} signed\n{}",
                f.display(),
                r.signatures.len(),
                ps.signed,
                ps.text
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
