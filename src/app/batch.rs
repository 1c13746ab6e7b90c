//! Back-office digitisation of a whole shelf: every file of a directory is one document,
//! and every sub-directory is one document made of its files in name order. Each becomes
//! `OUT/<name>.pdf` (PDF/A-2b, with OCR when asked), written atomically.
//!
//! Resumable: after each document the state file `OUT/.saoy-digitize.json` records it (done
//! or refused, with the input's size and modification time); a new run skips documents
//! already done whose input is unchanged and whose PDF is still there, and tries refused
//! ones again only if their input changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock};
use crate::digitize::from_disk::digitize_files;
use crate::digitize::ocr::{self, Tesseract};
use crate::digitize::{DecodeLimits, DigitizeOptions, DocumentPolicy, UploadedFile, digitize_with};
use crate::pdf::{PdfError, ScanContent, assemble_scan, assemble_scan_to};

/// Name of the state file kept in the output directory.
pub const STATE_FILE: &str = ".saoy-digitize.json";

/// How to digitise the shelf.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// Limits and resolution floor.
    pub digitize: DigitizeOptions,
    /// The document type's rules.
    pub policy: DocumentPolicy,
    /// Decode limits per document.
    pub limits: DecodeLimits,
    /// Run OCR with this engine (None: no text layer).
    pub ocr: Option<Tesseract>,
    /// Who digitises (PDF metadata).
    pub agency: String,
    /// Document type (PDF metadata keyword).
    pub document_type: String,
}

/// Why the batch as a whole could not run (single documents are refused, not errors).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The input directory cannot be listed.
    #[error("cannot read the input directory {path}: {reason}")]
    Input {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The output directory or the state file cannot be written.
    #[error("cannot write to the output directory {path}: {reason}")]
    Output {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The state file exists but is not one saoy wrote.
    #[error("the state file {path} is damaged ({reason}): move it away to start over")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// What happened to one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentResult {
    /// Digitised now, into this file name.
    Done(String),
    /// Done in an earlier run; nothing to do.
    AlreadyDone,
    /// Refused, with the clerk's reason.
    Refused(String),
}

/// Progress reported after each document.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    /// 1-based position.
    pub index: usize,
    /// Documents in the shelf.
    pub total: usize,
    /// The document's name.
    pub name: &'a str,
    /// What happened.
    pub outcome: &'a DocumentResult,
}

/// A refused document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The document's name.
    pub name: String,
    /// Why, in the clerk's words.
    pub reason: String,
}

/// The result of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Documents digitised in this run.
    pub done: usize,
    /// Documents skipped because an earlier run did them.
    pub already_done: usize,
    /// Documents refused (in this run or, unchanged, in an earlier one).
    pub refused: Vec<Refusal>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Entry {
    fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    refused: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    version: u32,
    documents: BTreeMap<String, Entry>,
}

/// One document on the shelf: its name and files in page order.
struct Document {
    name: String,
    files: Vec<PathBuf>,
}

/// Digitises every document of `input` into `out`; `progress` is called after each one.
pub fn digitize_dir(
    input: &Path,
    out: &Path,
    opts: &BatchOptions,
    mut progress: impl FnMut(&Step<'_>),
) -> Result<Summary, BatchError> {
    let docs = list_documents(input)?;
    std::fs::create_dir_all(out).map_err(|e| output_err(out, &e))?;
    let state_path = out.join(STATE_FILE);
    let mut state = load_state(&state_path)?;
    let mut summary = Summary::default();
    for (i, doc) in docs.iter().enumerate() {
        let fingerprint = fingerprint(&doc.files);
        let previous = state.documents.get(&doc.name);
        let outcome = match previous {
            Some(e)
                if e.fingerprint == fingerprint
                    && e.output.as_ref().is_some_and(|o| out.join(o).is_file()) =>
            {
                DocumentResult::AlreadyDone
            }
            Some(Entry {
                fingerprint: f,
                refused: Some(reason),
                ..
            }) if *f == fingerprint => DocumentResult::Refused(reason.clone()),
            _ => {
                let outcome = digitize_document(doc, out, opts);
                let entry = Entry {
                    fingerprint,
                    output: match &outcome {
                        DocumentResult::Done(name) => Some(name.clone()),
                        _ => None,
                    },
                    refused: match &outcome {
                        DocumentResult::Refused(r) => Some(r.clone()),
                        _ => None,
                    },
                };
                state.documents.insert(doc.name.clone(), entry);
                save_state(&state_path, &state)?;
                outcome
            }
        };
        match &outcome {
            DocumentResult::Done(_) => summary.done += 1,
            DocumentResult::AlreadyDone => summary.already_done += 1,
            DocumentResult::Refused(reason) => summary.refused.push(Refusal {
                name: doc.name.clone(),
                reason: reason.clone(),
            }),
        }
        progress(&Step {
            index: i + 1,
            total: docs.len(),
            name: &doc.name,
            outcome: &outcome,
        });
    }
    Ok(summary)
}

fn output_err(path: &Path, e: &std::io::Error) -> BatchError {
    BatchError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn visible(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| !n.starts_with('.'))
}

fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| visible(p))
        .collect();
    paths.sort();
    Ok(paths)
}

fn list_documents(input: &Path) -> Result<Vec<Document>, BatchError> {
    let err = |e: std::io::Error| BatchError::Input {
        path: input.to_path_buf(),
        reason: e.to_string(),
    };
    let mut docs = Vec::new();
    for path in sorted_entries(input).map_err(err)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            let files: Vec<PathBuf> = sorted_entries(&path)
                .map_err(err)?
                .into_iter()
                .filter(|p| p.is_file())
                .collect();
            if !files.is_empty() {
                docs.push(Document { name, files });
            }
        } else if path.is_file() {
            docs.push(Document {
                name,
                files: vec![path],
            });
        }
    }
    Ok(docs)
}

/// Size and modification time of every file: changes when the input is replaced.
fn fingerprint(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| {
            let meta = std::fs::metadata(f).ok();
            let size = meta.as_ref().map_or(0, std::fs::Metadata::len);
            let mtime = meta
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
            format!("{}:{size}:{mtime}", name.unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Output file name: the document name without its extension, `.pdf`.
fn output_name(doc: &Document) -> String {
    let stem = if doc.files.len() == 1 && doc.files[0].file_name().is_some_and(|n| *n == *doc.name)
    {
        Path::new(&doc.name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| doc.name.clone())
    } else {
        doc.name.clone()
    };
    format!("{stem}.pdf")
}

/// Digitises one document. Without OCR the files are streamed ([`digitize_files`],
/// [`assemble_scan_to`]): each is read to be checked, then copied into the output file
/// when its page is written, so memory does not grow with the document. OCR needs the
/// images at hand, so with it the document is read into memory.
fn digitize_document(doc: &Document, out: &Path, opts: &BatchOptions) -> DocumentResult {
    if opts.ocr.is_some() {
        return digitize_in_memory(doc, out, opts);
    }
    let d = match digitize_files(&doc.files, &opts.digitize, &opts.policy, &opts.limits) {
        Ok(d) => d,
        Err(e) => return DocumentResult::Refused(e.to_string()),
    };
    let content = scan_content(doc, opts);
    let name = output_name(doc);
    let written = write_atomic_with(&out.join(&name), |w| {
        assemble_scan_to(&d, &content, w).map(|_| ())
    });
    finished(name, written)
}

fn digitize_in_memory(doc: &Document, out: &Path, opts: &BatchOptions) -> DocumentResult {
    let mut uploads = Vec::with_capacity(doc.files.len());
    for f in &doc.files {
        match std::fs::read(f) {
            Ok(data) => uploads.push(UploadedFile {
                name: f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                media_type: None,
                data: Bytes::from(data),
            }),
            Err(e) => return DocumentResult::Refused(format!("cannot read {}: {e}", f.display())),
        }
    }
    let mut d = match digitize_with(&uploads, &opts.digitize, &opts.policy, &opts.limits) {
        Ok(d) => d,
        Err(e) => return DocumentResult::Refused(e.to_string()),
    };
    drop(uploads);
    if let Some(engine) = &opts.ocr
        && let Err(e) = ocr::recognize_pages(&mut d, engine, |_, _| {})
    {
        return DocumentResult::Refused(e.to_string());
    }
    let built = match assemble_scan(&d, &scan_content(doc, opts)) {
        Ok(b) => b,
        Err(e) => return DocumentResult::Refused(format!("the PDF could not be built: {e}")),
    };
    let name = output_name(doc);
    let written = write_atomic_with(&out.join(&name), |w| {
        w.write_all(&built.pdf)
            .map_err(|e| PdfError::Write(e.to_string()))
    });
    finished(name, written)
}

fn scan_content(doc: &Document, opts: &BatchOptions) -> ScanContent {
    ScanContent {
        id: uuid::Uuid::now_v7().to_string(),
        title: doc.name.clone(),
        agency: opts.agency.clone(),
        facts: if opts.document_type.is_empty() {
            Vec::new()
        } else {
            vec![("Loại giấy tờ".into(), opts.document_type.clone())]
        },
        pdfa: true,
        created: SystemClock.now_vietnam(),
    }
}

/// Why an output file was not written.
enum WriteFailure {
    /// The PDF could not be built (or a scan changed while it was written).
    Build(PdfError),
    /// The file system refused.
    Io(std::io::Error),
}

fn finished(name: String, written: Result<(), WriteFailure>) -> DocumentResult {
    match written {
        Ok(()) => DocumentResult::Done(name),
        Err(WriteFailure::Build(PdfError::Write(e))) => {
            DocumentResult::Refused(format!("cannot write {name}: {e}"))
        }
        Err(WriteFailure::Build(e)) => {
            DocumentResult::Refused(format!("the PDF could not be built: {e}"))
        }
        Err(WriteFailure::Io(e)) => DocumentResult::Refused(format!("cannot write {name}: {e}")),
    }
}

/// Writes through `write` to a temporary file in the same directory, syncs, then renames
/// it over `path`; the temporary file is removed on any failure.
fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> Result<(), PdfError>,
) -> Result<(), WriteFailure> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(WriteFailure::Io)?;
        let mut w = std::io::BufWriter::with_capacity(256 << 10, file);
        write(&mut w).map_err(WriteFailure::Build)?;
        let file = w
            .into_inner()
            .map_err(|e| WriteFailure::Io(e.into_error()))?;
        file.sync_all().map_err(WriteFailure::Io)?;
        std::fs::rename(&tmp, path).map_err(WriteFailure::Io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `data` atomically to `path` (see [`write_atomic_with`]).
fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| {
        w.write_all(data)
            .map_err(|e| PdfError::Write(e.to_string()))
    })
    .map_err(|e| match e {
        WriteFailure::Io(e) => e,
        WriteFailure::Build(e) => std::io::Error::other(e.to_string()),
    })
}

fn load_state(path: &Path) -> Result<State, BatchError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| BatchError::State {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State {
            version: 1,
            documents: BTreeMap::new(),
        }),
        Err(e) => Err(output_err(path, &e)),
    }
}

fn save_state(path: &Path, state: &State) -> Result<(), BatchError> {
    let json = serde_json::to_vec_pretty(state).map_err(|e| BatchError::State {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_atomic(path, &json).map_err(|e| output_err(path, &e))
}
