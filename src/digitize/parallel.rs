//! Runs the per-file work of a digitising run on a few threads and merges the results in
//! upload order, so that the policy checks, the page limit and the first error reported
//! are exactly those of a sequential run.
//!
//! Each file is sniffed, checked and measured (the blank-page check is the costly part)
//! on whichever worker takes it; the merge then goes file by file in upload order and
//! stops at the first error. Workers stop taking new files once the merge has failed.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use super::checks;
use super::error::{DigitizeError, FileRef};
use super::inspect::{FileResult, Run};
use super::policy::DocumentPolicy;
use crate::pdf::pages::{Digitized, FileJpeg, Page};

/// Most threads one run uses (the work is memory-bound beyond a few cores).
const MAX_WORKERS: usize = 4;

/// The merged run.
pub(super) struct Merged {
    /// Pages, PDF sources and warnings.
    pub digitized: Digitized,
    /// Per page, where its JPEG bytes are when they were dropped.
    pub jpeg_files: Vec<Option<FileJpeg>>,
}

/// Digitises files `0..names.len()`: `work(i)` turns file `i` into pages (on a worker);
/// the results are checked under `policy` and merged in upload order.
pub(super) fn run_files<E, W>(
    names: &[&str],
    run: &Run<'_>,
    policy: &DocumentPolicy,
    work: W,
) -> Result<Merged, E>
where
    E: From<DigitizeError> + Send,
    W: Fn(usize, &FileRef) -> Result<FileResult, E> + Sync,
{
    let mut merge = Merge {
        names,
        run,
        policy,
        out: Merged {
            digitized: Digitized::default(),
            jpeg_files: Vec::new(),
        },
    };
    let guarded = |i: usize| -> Result<FileResult, E> {
        let file = FileRef::new(i, names[i]);
        // A decoder that panics on some input must not take the run (or the server) down.
        catch_unwind(AssertUnwindSafe(|| work(i, &file))).unwrap_or_else(|_| {
            Err(DigitizeError::Corrupt {
                file,
                reason: "its data could not be decoded".into(),
            }
            .into())
        })
    };
    // Without the blank-page check a file is only sniffed and walked through, faster
    // than a thread starts.
    let workers = if run.measure_ink {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_WORKERS)
            .min(names.len())
    } else {
        1
    };
    if workers <= 1 {
        for i in 0..names.len() {
            merge.add(i, guarded(i))?;
        }
        return Ok(merge.out);
    }
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, stop, guarded) = (&next, &stop, &guarded);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= names.len() || tx.send((i, guarded(i))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut waiting = BTreeMap::new();
        let mut expected = 0;
        let merged = (|| -> Result<(), E> {
            for (i, result) in &rx {
                waiting.insert(i, result);
                while let Some(result) = waiting.remove(&expected) {
                    merge.add(expected, result)?;
                    expected += 1;
                }
            }
            Ok(())
        })();
        if merged.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        merged
    })?;
    Ok(merge.out)
}

/// The in-order part: page limit, policy checks, PDF source numbering, deadline.
struct Merge<'a, 'r> {
    names: &'a [&'a str],
    run: &'a Run<'r>,
    policy: &'a DocumentPolicy,
    out: Merged,
}

impl Merge<'_, '_> {
    fn add<E: From<DigitizeError>>(
        &mut self,
        index: usize,
        result: Result<FileResult, E>,
    ) -> Result<(), E> {
        let result = result?;
        let file = FileRef::new(index, self.names[index]);
        let out = &mut self.out.digitized;
        let max = self.run.opts.max_pages;
        if out.pages.len() + result.pages.len() > max as usize {
            return Err(DigitizeError::TooManyPages { file, max }.into());
        }
        let pdf_source = result.pdf.map(|data| {
            out.pdf_sources.push(data);
            out.pdf_sources.len() - 1
        });
        let several = result.pages.len() > 1;
        let mut jpeg_files = result.jpeg_files.into_iter();
        for (k, (mut page, facts)) in result.pages.into_iter().enumerate() {
            if let (Page::PdfPage { pdf_source: p, .. }, Some(s)) = (&mut page, pdf_source) {
                *p = s;
            }
            let at = checks::PageAt {
                file: &file,
                page_in_file: several.then_some(k + 1),
                page_in_copy: out.pages.len() + 1,
            };
            if let Some(w) = checks::check_page(&at, &page, &facts, self.policy)? {
                out.warnings.push(w);
            }
            out.pages.push(page);
            self.out.jpeg_files.push(jpeg_files.next().flatten());
        }
        Ok(self.run.check_time(&file)?)
    }
}
