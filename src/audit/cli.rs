//! `saoy audit verify` and `saoy audit show`: the arguments and what they do, given the
//! store `main` opened from `--data` / `--store` / `--config`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::model::{AuditEntry, EntryId, parse_time};
use super::read::{AuditFilter, entries};
use super::verify::{VerifyOptions, read_checkpoints, verify_with};
use crate::pki::key::read_pem_certificates;
use crate::store::{Location, ObjectStore, S3Options};

/// The `saoy audit` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditAction {
    /// Verifies the audit chains and checkpoints: exit 0 when intact, 1 naming the first
    /// block or entry edited, removed or reordered, 2 on usage or I/O errors. Entries after
    /// the last checkpoint are reported as not yet sealed.
    Verify {
        /// Only this agency's chain (`_none`: calls that named no agency); all by default.
        #[arg(long)]
        agency: Option<String>,
        /// PEM files of the certificates allowed to sign checkpoints; without any, every
        /// embedded signer is accepted and listed.
        #[arg(long = "trust")]
        trust: Vec<PathBuf>,
        /// Another store (directory or s3://BUCKET[/prefix]) holding copies of the
        /// checkpoints: shows a tail cut from the main store.
        #[arg(long)]
        checkpoint_copy: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Which store to read.
        #[command(flatten)]
        location: StoreFlags,
    },
    /// Lists audit entries, in chain order.
    Show {
        /// Only this agency's chain (`_none`: calls that named no agency); all by default.
        #[arg(long)]
        agency: Option<String>,
        /// Only entries about this citizen (owner id).
        #[arg(long)]
        owner: Option<String>,
        /// Only this action, e.g. GetCopy.
        #[arg(long)]
        action: Option<String>,
        /// Only entries about this copy id.
        #[arg(long = "copy")]
        copy_id: Option<String>,
        /// Only entries at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only entries before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// At most this many entries (the first ones).
        #[arg(long)]
        limit: Option<usize>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Which store to read.
        #[command(flatten)]
        location: StoreFlags,
    },
}

/// Output format of the audit commands.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    Text,
    /// JSON (one object for verify, an array of `{id, entry}` for show).
    Json,
}

/// Which store the audit commands read (main opens it, like its other offline commands).
#[derive(Debug, clap::Args)]
pub struct StoreFlags {
    /// Data directory of a local store.
    #[arg(long, conflicts_with = "store")]
    pub data: Option<PathBuf>,
    /// Object store: s3://BUCKET[/prefix] or a directory.
    #[arg(long)]
    pub store: Option<String>,
    /// TOML config file (for the store settings).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

impl AuditAction {
    /// The store flags of the subcommand.
    pub fn location(&self) -> &StoreFlags {
        match self {
            Self::Verify { location, .. } | Self::Show { location, .. } => location,
        }
    }
}

/// Runs an audit subcommand on `store`; `Err` is a usage or I/O error (exit 2).
pub async fn run(action: AuditAction, store: Arc<dyn ObjectStore>) -> Result<ExitCode, String> {
    match action {
        AuditAction::Verify {
            agency,
            trust,
            checkpoint_copy,
            format,
            ..
        } => verify_command(store, agency, &trust, checkpoint_copy, format).await,
        AuditAction::Show {
            agency,
            owner,
            action,
            copy_id,
            since,
            until,
            limit,
            format,
            ..
        } => {
            let time = |t: Option<String>| match t {
                None => Ok(None),
                Some(text) => parse_time(&text)
                    .map(Some)
                    .ok_or_else(|| format!("{text:?} is not an RFC 3339 time")),
            };
            let filter = AuditFilter {
                owner_id: owner,
                action,
                copy_id,
                since: time(since)?,
                until: time(until)?,
                limit,
            };
            let found = entries(store.as_ref(), agency.as_deref(), &filter)
                .await
                .map_err(|e| e.to_string())?;
            print_quietly(&render_entries(&found, format)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes `text` to stdout; a reader that went away (`saoy audit show | head`) ends the
/// output quietly instead of a panic.
fn print_quietly(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

async fn verify_command(
    store: Arc<dyn ObjectStore>,
    agency: Option<String>,
    trust: &[PathBuf],
    checkpoint_copy: Option<String>,
    format: OutputFormat,
) -> Result<ExitCode, String> {
    let mut options = VerifyOptions::default();
    for path in trust {
        options
            .trusted_sealers
            .extend(read_pem_certificates(path).map_err(|e| e.to_string())?);
    }
    if let Some(copy) = checkpoint_copy {
        let location = Location::parse(&copy).map_err(|e| e.to_string())?;
        let copy = crate::store::open(&location, &S3Options::default())
            .await
            .map_err(|e| e.to_string())?;
        options.external_checkpoints = read_checkpoints(copy.as_ref(), agency.as_deref())
            .await
            .map_err(|e| e.to_string())?;
    }
    let report = verify_with(store.as_ref(), agency.as_deref(), &options)
        .await
        .map_err(|e| e.to_string())?;
    match format {
        OutputFormat::Text => print_quietly(&report.render()),
        OutputFormat::Json => print_quietly(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        )),
    }
    Ok(if report.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The entries as lines (text) or as a JSON array of `{id, entry}`.
pub fn render_entries(
    found: &[(EntryId, AuditEntry)],
    format: OutputFormat,
) -> Result<String, String> {
    if let OutputFormat::Json = format {
        let items: Vec<serde_json::Value> = found
            .iter()
            .map(|(id, entry)| serde_json::json!({ "id": id, "entry": entry }))
            .collect();
        let mut text = serde_json::to_string_pretty(&items).map_err(|e| e.to_string())?;
        text.push('\n');
        return Ok(text);
    }
    let mut out = String::new();
    for (id, e) in found {
        let mut line = format!(
            "{}#{} {} {} {}",
            id.chain, id.number, e.at, e.action, e.outcome
        );
        let fields = [
            ("owner", &e.owner_id),
            ("copy", &e.copy_id),
            ("consent", &e.consent_id),
            ("agency", &e.actor.agency),
            ("role", &e.actor.role),
            ("citizen", &e.actor.citizen),
            ("cert", &e.actor.fingerprint),
            ("detail", &e.detail),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                line.push_str(&format!(" {name}={v:?}"));
            }
        }
        line.push('\n');
        out.push_str(&line);
    }
    Ok(out)
}
