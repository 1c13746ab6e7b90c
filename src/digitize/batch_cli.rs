//! `saoy digitize DIR --out DIR`: the command-line face of [`super::batch`], with a
//! progress bar on stderr and the summary of refused documents at the end.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::batch::{self, BatchOptions, Outcome, Step};
use super::ocr::Tesseract;
use super::{DigitizeOptions, PolicyBook};

/// Arguments of `saoy digitize`.
#[derive(Debug, Clone, clap::Args)]
pub struct DigitizeArgs {
    /// Directory of scans: each file is one document, each sub-directory one document of
    /// its files in name order (JPEG, PNG, TIFF, PDF).
    pub dir: PathBuf,
    /// Where the PDF/A files and the resume state go.
    #[arg(long)]
    pub out: PathBuf,
    /// Document type: selects the policy (dpi, colour, OCR), e.g. "Giấy khai sinh".
    #[arg(long, default_value = "")]
    pub doc_type: String,
    /// Add a Vietnamese text layer (Tesseract) even if the type does not ask for it.
    #[arg(long)]
    pub ocr: bool,
    /// Minimum resolution in dpi (raised by the document type's policy if higher).
    #[arg(long, default_value_t = 200)]
    pub min_dpi: u32,
    /// Accept scans under the minimum resolution.
    #[arg(long)]
    pub allow_low_resolution: bool,
    /// Agency named in the PDF metadata.
    #[arg(long, default_value = "")]
    pub agency: String,
}

/// Runs the batch; exit code 0 when nothing was refused, 1 when some documents were, 2 when
/// the batch could not run.
pub fn run(args: DigitizeArgs) -> ExitCode {
    let policy = PolicyBook::builtin().lookup(&args.doc_type).clone();
    let opts = BatchOptions {
        digitize: DigitizeOptions {
            min_dpi: args.min_dpi,
            allow_low_resolution: args.allow_low_resolution,
            ..DigitizeOptions::default()
        },
        ocr: (args.ocr || policy.ocr).then(Tesseract::default),
        policy,
        agency: args.agency,
        document_type: args.doc_type,
        ..BatchOptions::default()
    };
    let mut stderr = std::io::stderr();
    let result = batch::digitize_dir(&args.dir, &args.out, &opts, |step| {
        let _ = writeln!(stderr, "{}", progress_line(step));
    });
    match result {
        Ok(summary) => {
            println!(
                "{} digitised, {} already done, {} refused",
                summary.done,
                summary.already_done,
                summary.refused.len()
            );
            for r in &summary.refused {
                println!("refused {}: {}", r.name, r.reason);
            }
            if summary.refused.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `[#####.....] 12/50 name: done`
fn progress_line(step: &Step<'_>) -> String {
    const WIDTH: usize = 30;
    let filled = (step.index * WIDTH)
        .checked_div(step.total)
        .unwrap_or(WIDTH);
    let what = match step.outcome {
        Outcome::Done(file) => format!("→ {file}"),
        Outcome::AlreadyDone => "already done".into(),
        Outcome::Refused(reason) => format!("REFUSED: {reason}"),
    };
    format!(
        "[{}{}] {}/{} {}: {what}",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        step.index,
        step.total,
        step.name
    )
}
