//! `saoy verify-cert`: one certificate's path validated with the PDF verifier's validator
//! (`verify::x509::validate_path`), the path, the valid policies and the reason for a
//! refusal printed as text or JSON. Exit code 0 only when the path is valid, 1 when not,
//! 2 on usage or I/O errors (the caller maps `Err`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use crate::clock::Clock;
use crate::pki::trust;
use crate::verify::x509::{
    PathFailure, PathInput, PathOptions, RevocationMode, ValidPath, sub_name, validate_path,
};

/// The arguments of `saoy verify-cert`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyCertArgs {
    /// The certificate to validate (DER or PEM; the first certificate of the file).
    pub cert: PathBuf,
    /// Files of intermediate certificates (DER or PEM, several per PEM file).
    #[arg(long = "chain")]
    pub chain: Vec<PathBuf>,
    /// Files of trust anchors (DER or PEM); nothing else is trusted.
    #[arg(long = "trust", required = true)]
    pub trust: Vec<PathBuf>,
    /// CRL files (DER or PEM), complete or delta, direct or indirect.
    #[arg(long = "crl")]
    pub crl: Vec<PathBuf>,
    /// Validation time (RFC 3339); now by default.
    #[arg(long)]
    pub at: Option<String>,
    /// Revocation checking: require (no usable data: not valid), hard-fail (data present
    /// must check out), soft-fail (only a revocation is fatal).
    #[arg(long, default_value = "require", value_parser = ["require", "hard-fail", "soft-fail"])]
    pub revocation: String,
    /// An acceptable policy OID (user-initial-policy-set); repeatable; any policy by default.
    #[arg(long = "initial-policy")]
    pub initial_policy: Vec<String>,
    /// initial-explicit-policy: the path must be valid for an acceptable policy.
    #[arg(long)]
    pub require_explicit_policy: bool,
    /// initial-policy-mapping-inhibit.
    #[arg(long)]
    pub inhibit_policy_mapping: bool,
    /// initial-any-policy-inhibit.
    #[arg(long)]
    pub inhibit_any_policy: bool,
    /// Output format: text (default) or json.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// Reads the certificates of one file (DER or PEM).
fn certs_in(path: &PathBuf) -> Result<Vec<Vec<u8>>, String> {
    trust::load_anchors(path)
        .map(|v| v.into_iter().map(|a| a.der).collect())
        .map_err(|e| e.to_string())
}

fn mode(s: &str) -> Result<RevocationMode, String> {
    match s {
        "require" => Ok(RevocationMode::Require),
        "hard-fail" => Ok(RevocationMode::HardFail),
        "soft-fail" => Ok(RevocationMode::SoftFail),
        other => Err(format!(
            "--revocation {other:?}: require, hard-fail or soft-fail"
        )),
    }
}

/// Runs `saoy verify-cert`; `Err` is a usage or I/O error (exit code 2).
pub fn run(args: &VerifyCertArgs, clock: &dyn Clock) -> Result<ExitCode, String> {
    let leaf = certs_in(&args.cert)?
        .into_iter()
        .next()
        .ok_or_else(|| format!("{}: no certificate", args.cert.display()))?;
    let mut chain = Vec::new();
    for p in &args.chain {
        chain.extend(certs_in(p)?);
    }
    let mut anchors = Vec::new();
    for p in &args.trust {
        anchors.extend(certs_in(p)?);
    }
    let mut crls = Vec::new();
    for p in &args.crl {
        crls.extend(trust::load_crls(p).map_err(|e| e.to_string())?);
    }
    for oid in &args.initial_policy {
        if oid.is_empty()
            || !oid
                .split('.')
                .all(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!("--initial-policy {oid:?} is not a dotted OID"));
        }
    }
    let time: SystemTime = match &args.at {
        Some(s) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(SystemTime::from)
            .map_err(|e| format!("--at {s:?} is not an RFC 3339 time: {e}"))?,
        None => SystemTime::from(clock.now()),
    };
    let options = PathOptions {
        revocation: mode(&args.revocation)?,
        initial_policies: args.initial_policy.clone(),
        require_explicit_policy: args.require_explicit_policy,
        inhibit_policy_mapping: args.inhibit_policy_mapping,
        inhibit_any_policy: args.inhibit_any_policy,
    };
    let input = PathInput {
        end_entity: &leaf,
        intermediates: &chain,
        trust_anchors: &anchors,
        crls: &crls,
        ocsp_responses: &[],
        time,
    };
    let result = validate_path(&input, &options);
    let text = if args.format == "json" {
        json(&result, &options).to_string() + "\n"
    } else {
        render(&result, &options)
    };
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The JSON report: `valid`, `status` (PASSED / INDETERMINATE / FAILED), `sub_indication`,
/// `rfc5280_step`, `certificate`, `reason`, `path`, `valid_policies`, `revocation`, `notes`.
fn json(result: &Result<ValidPath, PathFailure>, options: &PathOptions) -> serde_json::Value {
    let cert = |c: &crate::verify::x509::PathCertificate| serde_json::json!({"subject": c.subject, "issuer": c.issuer, "serial": c.serial, "sha256": c.sha256});
    match result {
        Ok(p) => serde_json::json!({
            "valid": true,
            "status": "PASSED",
            "sub_indication": null,
            "path": p.certificates.iter().map(cert).collect::<Vec<_>>(),
            "valid_policies": p.valid_policies,
            "revocation": options.revocation.as_str(),
            "notes": p.notes,
        }),
        Err(f) => {
            let sub = sub_name(f.sub_indication);
            serde_json::json!({
                "valid": false,
                "status": if sub == "REVOKED" { "FAILED" } else { "INDETERMINATE" },
                "sub_indication": sub,
                "rfc5280_step": f.rfc5280_step,
                "certificate": f.certificate,
                "reason": f.detail,
                "path": f.path.iter().map(cert).collect::<Vec<_>>(),
                "revocation": options.revocation.as_str(),
            })
        }
    }
}

fn render(result: &Result<ValidPath, PathFailure>, options: &PathOptions) -> String {
    let mut out = String::new();
    let path = |out: &mut String, certs: &[crate::verify::x509::PathCertificate]| {
        for (i, c) in certs.iter().enumerate() {
            out.push_str(&format!("  {i}: {} (serial {})\n", c.subject, c.serial));
        }
    };
    match result {
        Ok(p) => {
            out.push_str("VALID: the certification path checks out (RFC 5280)\n");
            path(&mut out, &p.certificates);
            let policies = if p.valid_policies.is_empty() {
                "none".to_string()
            } else {
                p.valid_policies.join(", ")
            };
            out.push_str(&format!("valid policies: {policies}\n"));
            out.push_str(&format!("revocation ({}):\n", options.revocation.as_str()));
            for n in &p.notes {
                out.push_str(&format!("  {n}\n"));
            }
        }
        Err(f) => {
            out.push_str(&format!(
                "NOT VALID: {} (RFC 5280 {})\n  {}\n",
                sub_name(f.sub_indication),
                f.rfc5280_step,
                f.detail
            ));
            if !f.path.is_empty() {
                out.push_str("path refused:\n");
                path(&mut out, &f.path);
            }
        }
    }
    out
}
