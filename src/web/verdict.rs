//! The verdict on a file told for a person, in one sentence (Vietnamese or English), from
//! the verifier's report and the copy's standing; the ETSI indications stay beside it for
//! those who want them.

use crate::app::{Standing, StandingStatus};
use crate::verify::{Indication, Report, SubIndication};

use super::text::{Lang, human_date};

/// What a file is, as a person needs to hear it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A copy issued here, intact, signatures valid, not revoked or expired.
    ValidCopy {
        /// The issuing agency.
        agency: String,
        /// The issue date (RFC 3339).
        issued_at: String,
    },
    /// A copy issued here that its agency revoked.
    CopyRevoked {
        /// The decision.
        decision: String,
    },
    /// A copy issued here whose validity ended.
    CopyExpired {
        /// The end of validity (RFC 3339), when known.
        until: String,
    },
    /// The bytes were changed after signing (a digest does not match, or content was
    /// changed in a later revision).
    Changed,
    /// A signer's certificate was revoked.
    SignerRevoked,
    /// The signatures are intact but do not lead to a trusted root.
    NotTrusted,
    /// Signatures valid, but the file is not a copy issued here.
    ValidNotOurs,
    /// Not a PDF, or a PDF without a signature.
    NoSignature,
    /// A signature is invalid for another reason.
    Invalid,
    /// No conclusion (missing revocation data, weak algorithm, …).
    Indeterminate,
}

/// How the verdict should look: good, bad or uncertain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Valid.
    Good,
    /// Not valid.
    Bad,
    /// No conclusion.
    Unsure,
}

impl Tone {
    /// The CSS class of the verdict box.
    pub fn class(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Bad => "bad",
            Tone::Unsure => "unsure",
        }
    }
}

fn any_sub(report: &Report, wanted: &[SubIndication]) -> bool {
    report.sub_indication.is_some_and(|s| wanted.contains(&s))
        || report
            .signatures
            .iter()
            .any(|s| s.sub_indication.is_some_and(|x| wanted.contains(&x)))
}

/// Judges a file from its report and, when it is a copy issued here, its standing.
pub fn judge(report: &Report, copy: Option<&Standing>) -> Verdict {
    if report.signatures.is_empty() {
        return Verdict::NoSignature;
    }
    let changed = any_sub(report, &[SubIndication::HashFailure])
        || report.signatures.iter().any(|s| s.modified_after_signing);
    if let Some(c) = copy
        && c.status == StandingStatus::Revoked
    {
        return Verdict::CopyRevoked {
            decision: c
                .revocation
                .as_ref()
                .map(|r| r.decision.clone())
                .unwrap_or_default(),
        };
    }
    if changed {
        return Verdict::Changed;
    }
    if any_sub(
        report,
        &[
            SubIndication::Revoked,
            SubIndication::RevokedNoPoe,
            SubIndication::RevokedCaNoPoe,
        ],
    ) {
        return Verdict::SignerRevoked;
    }
    match (report.status, copy) {
        (Indication::Passed, Some(c)) if c.status == StandingStatus::Expired => {
            Verdict::CopyExpired {
                until: c.valid_until.clone().unwrap_or_default(),
            }
        }
        (Indication::Passed, Some(c)) => Verdict::ValidCopy {
            agency: c.agency_name.clone(),
            issued_at: c.issued_at.clone(),
        },
        (Indication::Passed, None) => Verdict::ValidNotOurs,
        _ if report.sub_indication == Some(SubIndication::NoCertificateChainFound) => {
            Verdict::NotTrusted
        }
        (Indication::Failed, _) => Verdict::Invalid,
        _ => Verdict::Indeterminate,
    }
}

impl Verdict {
    /// Good, bad or uncertain.
    pub fn tone(&self) -> Tone {
        match self {
            Verdict::ValidCopy { .. } | Verdict::ValidNotOurs => Tone::Good,
            Verdict::NotTrusted | Verdict::Indeterminate => Tone::Unsure,
            _ => Tone::Bad,
        }
    }

    /// The one sentence for the whole file.
    pub fn sentence(&self, lang: Lang) -> String {
        match (self, lang) {
            (Verdict::ValidCopy { agency, issued_at }, Lang::Vi) => format!(
                "Bản sao điện tử hợp lệ, do {agency} chứng thực ngày {}.",
                human_date(issued_at)
            ),
            (Verdict::ValidCopy { agency, issued_at }, Lang::En) => format!(
                "Valid electronic certified copy, certified by {agency} on {}.",
                human_date(issued_at)
            ),
            (Verdict::CopyRevoked { decision }, Lang::Vi) => {
                format!("Bản sao điện tử này đã bị thu hồi: {decision}")
            }
            (Verdict::CopyRevoked { decision }, Lang::En) => {
                format!("This certified copy has been revoked: {decision}")
            }
            (Verdict::CopyExpired { until }, Lang::Vi) => {
                format!(
                    "Bản sao điện tử này đã hết hiệu lực ({}).",
                    human_date(until)
                )
            }
            (Verdict::CopyExpired { until }, Lang::En) => {
                format!(
                    "This certified copy is no longer valid ({}).",
                    human_date(until)
                )
            }
            (v, lang) => lang.pick(v.vi(), v.en()).to_string(),
        }
    }

    fn vi(&self) -> &'static str {
        match self {
            Verdict::Changed => "Tệp đã bị sửa sau khi ký.",
            Verdict::SignerRevoked => "Chứng thư số của người ký đã bị thu hồi.",
            Verdict::NotTrusted => {
                "Chữ ký còn nguyên vẹn nhưng chứng thư số của người ký không dẫn tới một chứng thư gốc được tin cậy."
            }
            Verdict::ValidNotOurs => {
                "Các chữ ký số hợp lệ; tệp này không phải bản sao do hệ thống này cấp."
            }
            Verdict::NoSignature => "Tệp này không phải tệp PDF có chữ ký số.",
            Verdict::Invalid => "Chữ ký số không hợp lệ.",
            _ => "Chưa kết luận được về chữ ký số của tệp này.",
        }
    }

    fn en(&self) -> &'static str {
        match self {
            Verdict::Changed => "The file was changed after it was signed.",
            Verdict::SignerRevoked => "The signer's certificate has been revoked.",
            Verdict::NotTrusted => {
                "The signatures are intact, but the signer's certificate does not lead to a trusted root."
            }
            Verdict::ValidNotOurs => {
                "The signatures are valid; this file is not a copy issued by this service."
            }
            Verdict::NoSignature => "This file is not a signed PDF.",
            Verdict::Invalid => "A signature is not valid.",
            _ => "No conclusion could be reached about this file's signatures.",
        }
    }
}

/// The ETSI name of an indication (`PASSED`, …) or sub-indication (`HASH_FAILURE`, …).
pub fn etsi_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
