//! The `saoy` command line: serve, certify, verify, pki.
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "saoy",
    version,
    about = "Electronic certified copies: certify, sign, store, verify"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Test PKI management.
    Pki {
        #[command(subcommand)]
        action: PkiAction,
    },
}

#[derive(Subcommand)]
enum PkiAction {
    /// Regenerates the TEST-ONLY CA hierarchy (root, issuing CA, agency, certifier, CRL).
    Init {
        /// Output directory.
        #[arg(long, default_value = "certs-test")]
        out: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Pki {
            action: PkiAction::Init { out },
        } => match saoy::pki::testca::generate(&out) {
            Ok(()) => {
                eprintln!("wrote the TEST-ONLY PKI to {}", out.display());
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::ExitCode::from(2)
            }
        },
    }
}
