//! The validation report: ETSI EN 319 102-1 indications, per-signature results, JSON and text output.

pub mod etsi_xml;

use serde::{Deserialize, Serialize};

/// Main status indication (ETSI EN 319 102-1, clause 5.1.3).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Indication {
    /// Every check succeeded.
    Passed,
    /// The checks do not allow a conclusion either way (missing data, untrusted chain, ...).
    Indeterminate,
    /// At least one check proves the signature invalid.
    Failed,
}

impl Indication {
    /// Severity rank: `Passed` < `Indeterminate` < `Failed`.
    fn rank(self) -> u8 {
        match self {
            Indication::Passed => 0,
            Indication::Indeterminate => 1,
            Indication::Failed => 2,
        }
    }
}

/// Sub-indications, named as in ETSI EN 319 102-1 (clause 5.1.3, table 5).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubIndication {
    /// The signed data could not be obtained or the signature is not well formed.
    FormatFailure,
    /// The digest of the signed bytes does not match the signed one.
    HashFailure,
    /// The signature value does not verify with the signer's public key.
    SigCryptoFailure,
    /// The signing certificate was revoked before the signature is proven to exist.
    Revoked,
    /// The signing certificate was not yet valid at the signing time.
    NotYetValid,
    /// The signature does not meet the signature constraints (e.g. missing signed attributes).
    SigConstraintsFailure,
    /// The certificate chain does not meet the chain constraints (key usage, CA flags, ...).
    ChainConstraintsFailure,
    /// The chain could not be validated for another reason (bad certificate signature, ...).
    CertificateChainGeneralFailure,
    /// An algorithm or key size is too weak or unsupported.
    CryptoConstraintsFailure,
    /// The certificate expired before the signature is proven to exist.
    Expired,
    /// No certificate chain to a trust anchor was found.
    NoCertificateChainFound,
    /// The signing certificate could not be identified.
    NoSigningCertificateFound,
    /// Revoked after the claimed signing time, without proof of existence before it.
    RevokedNoPoe,
    /// A CA certificate of the chain is revoked, without proof of existence before it.
    RevokedCaNoPoe,
    /// The validation time is outside the certificate's validity and no proof of existence helps.
    OutOfBoundsNoPoe,
    /// As `OutOfBoundsNoPoe`, but revocation data shows the certificate was not revoked.
    OutOfBoundsNotRevoked,
    /// Revocation data is missing or not fresh enough; try again later.
    TryLater,
    /// The signed data (or any signature) could not be found.
    SignedDataNotFound,
    /// A time-stamp is inconsistent with the signature (e.g. imprint mismatch).
    TimestampOrderFailure,
    /// No proof of existence is available where one is required.
    NoPoe,
}

/// How far later revisions go beyond the signed one (pyHanko's and ISO 32000's classes).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ModificationLevel {
    /// Nothing changed.
    None,
    /// Only signatures, document time-stamps and validation data (/DSS) were added.
    SignaturesAndValidationData,
    /// Form fields were filled in (values and their appearances).
    FormFilling,
    /// Annotations were added, changed or removed.
    Annotations,
    /// Anything else: content, pages, catalog, fonts, ...
    Other,
}

/// One incremental update made after a signature, and its class.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RevisionReport {
    /// Byte offset where the revision ends.
    pub end: usize,
    /// What the revision changed compared with the one before it.
    pub modification_level: ModificationLevel,
}

/// The ETSI EN 319 102-1 building blocks (clause 5.2) of the basic validation.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Block {
    /// 5.2.2 Format checking.
    FormatChecking,
    /// 5.2.3 Identification of the signing certificate.
    IdentificationOfTheSigningCertificate,
    /// 5.2.4 Validation context initialization.
    ValidationContextInitialization,
    /// 5.2.6 X.509 certificate validation.
    X509CertificateValidation,
    /// 5.2.7 Cryptographic verification.
    CryptographicVerification,
    /// 5.2.8 Signature acceptance validation.
    SignatureAcceptanceValidation,
}

impl Block {
    /// Every block, in the order the standard runs them.
    pub const ALL: [Block; 6] = [
        Block::FormatChecking,
        Block::IdentificationOfTheSigningCertificate,
        Block::ValidationContextInitialization,
        Block::X509CertificateValidation,
        Block::CryptographicVerification,
        Block::SignatureAcceptanceValidation,
    ];
}

/// Every check the verifier runs. Each belongs to exactly one building block of ETSI EN
/// 319 102-1 ([`CheckName::block`]): a new check is a new variant, and the compiler asks for
/// its block.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// /SubFilter names a format the verifier reads.
    SubFilter,
    /// /ByteRange is well formed and fits the file.
    ByteRange,
    /// /Contents is the string /ByteRange leaves out.
    Contents,
    /// /Contents is one CMS SignedData with one SignerInfo, detached.
    Cms,
    /// What follows the CMS object in /Contents.
    CmsPadding,
    /// The cross-reference data needed no repair.
    Xref,
    /// The field holds a readable signature dictionary.
    SignatureDictionary,
    /// Every byte after the last signed revision reads without repair.
    FileStructure,
    /// The certificate the SignerInfo names is in the signature.
    SigningCertificate,
    /// The signing-certificate(-v2) attribute binds that certificate.
    SigningCertificateAttribute,
    /// What the validation uses: anchors, CRLs, OCSP responses, time.
    ValidationContext,
    /// A path from the signer to a trust anchor.
    CertificateChain,
    /// basicConstraints and keyUsage along the path.
    ChainConstraints,
    /// Revocation status of each certificate of the path.
    Revocation,
    /// Validity periods at the validation time.
    Validity,
    /// The time-stamping authority chains to a trust anchor.
    TimestampChain,
    /// The signed digest matches the signed bytes.
    MessageDigest,
    /// The signed attributes hold one contentType.
    ContentType,
    /// The signature value verifies with the signer's key.
    SignatureValue,
    /// A document time-stamp's imprint matches the signed bytes.
    TimestampImprint,
    /// A document time-stamp token's signature verifies.
    TimestampSignature,
    /// The digest algorithm is supported and strong enough.
    DigestAlgorithm,
    /// Algorithms and key sizes meet today's constraints.
    CryptoConstraints,
    /// A document time-stamp verifies and its authority is trusted.
    Timestamp,
    /// The signature time-stamp (proof of existence of the signature).
    SignatureTimestamp,
    /// The claimed signing time lies in the signer certificate's validity.
    SigningTime,
    /// What the signed bytes cover.
    Coverage,
    /// Changes after signing are within what is permitted.
    Modifications,
    /// A certification signature's DocMDP permission is honoured.
    Docmdp,
}

impl CheckName {
    /// Every check, in the order of the building blocks.
    pub const ALL: [CheckName; 29] = [
        CheckName::SubFilter,
        CheckName::ByteRange,
        CheckName::Contents,
        CheckName::Cms,
        CheckName::CmsPadding,
        CheckName::Xref,
        CheckName::SignatureDictionary,
        CheckName::FileStructure,
        CheckName::SigningCertificate,
        CheckName::SigningCertificateAttribute,
        CheckName::ValidationContext,
        CheckName::CertificateChain,
        CheckName::ChainConstraints,
        CheckName::Revocation,
        CheckName::Validity,
        CheckName::TimestampChain,
        CheckName::MessageDigest,
        CheckName::ContentType,
        CheckName::SignatureValue,
        CheckName::TimestampImprint,
        CheckName::TimestampSignature,
        CheckName::DigestAlgorithm,
        CheckName::CryptoConstraints,
        CheckName::Timestamp,
        CheckName::SignatureTimestamp,
        CheckName::SigningTime,
        CheckName::Coverage,
        CheckName::Modifications,
        CheckName::Docmdp,
    ];

    /// The name in the report (`checks[].name`).
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::SubFilter => "sub_filter",
            CheckName::ByteRange => "byte_range",
            CheckName::Contents => "contents",
            CheckName::Cms => "cms",
            CheckName::CmsPadding => "cms_padding",
            CheckName::Xref => "xref",
            CheckName::SignatureDictionary => "signature_dictionary",
            CheckName::FileStructure => "file_structure",
            CheckName::SigningCertificate => "signing_certificate",
            CheckName::SigningCertificateAttribute => "signing_certificate_attribute",
            CheckName::ValidationContext => "validation_context",
            CheckName::CertificateChain => "certificate_chain",
            CheckName::ChainConstraints => "chain_constraints",
            CheckName::Revocation => "revocation",
            CheckName::Validity => "validity",
            CheckName::TimestampChain => "timestamp_chain",
            CheckName::MessageDigest => "message_digest",
            CheckName::ContentType => "content_type",
            CheckName::SignatureValue => "signature_value",
            CheckName::TimestampImprint => "timestamp_imprint",
            CheckName::TimestampSignature => "timestamp_signature",
            CheckName::DigestAlgorithm => "digest_algorithm",
            CheckName::CryptoConstraints => "crypto_constraints",
            CheckName::Timestamp => "timestamp",
            CheckName::SignatureTimestamp => "signature_timestamp",
            CheckName::SigningTime => "signing_time",
            CheckName::Coverage => "coverage",
            CheckName::Modifications => "modifications",
            CheckName::Docmdp => "docmdp",
        }
    }

    /// The building block the check belongs to.
    pub fn block(self) -> Block {
        match self {
            CheckName::SubFilter
            | CheckName::ByteRange
            | CheckName::Contents
            | CheckName::Cms
            | CheckName::CmsPadding
            | CheckName::Xref
            | CheckName::SignatureDictionary
            | CheckName::FileStructure => Block::FormatChecking,
            CheckName::SigningCertificate | CheckName::SigningCertificateAttribute => {
                Block::IdentificationOfTheSigningCertificate
            }
            CheckName::ValidationContext => Block::ValidationContextInitialization,
            CheckName::CertificateChain
            | CheckName::ChainConstraints
            | CheckName::Revocation
            | CheckName::Validity
            | CheckName::TimestampChain => Block::X509CertificateValidation,
            CheckName::MessageDigest
            | CheckName::ContentType
            | CheckName::SignatureValue
            | CheckName::TimestampImprint
            | CheckName::TimestampSignature => Block::CryptographicVerification,
            CheckName::DigestAlgorithm
            | CheckName::CryptoConstraints
            | CheckName::Timestamp
            | CheckName::SignatureTimestamp
            | CheckName::SigningTime
            | CheckName::Coverage
            | CheckName::Modifications
            | CheckName::Docmdp => Block::SignatureAcceptanceValidation,
        }
    }
}

impl std::fmt::Display for CheckName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for CheckName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CheckName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The result of one building block.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BlockResult {
    /// Which block.
    pub block: Block,
    /// Its indication; `None` when the block did not run (an earlier one stopped validation).
    pub status: Option<Indication>,
    /// Sub-indication when not passed.
    pub sub_indication: Option<SubIndication>,
    /// Names of the checks it ran.
    pub checks: Vec<String>,
}

/// The trust anchor that ended a signer's path, and why it is trusted.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TrustAnchorInfo {
    /// Subject of the anchor.
    pub subject: String,
    /// SHA-256 of its DER, hexadecimal.
    pub sha256: String,
    /// Why it is trusted (e.g. the file it was loaded from).
    pub source: String,
    /// The file it was loaded from, when the policy labels it (see [`AnchorLabel`]).
    #[serde(default)]
    pub file: Option<String>,
    /// Why the operator trusts it, when the policy's label says.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Where a trust anchor of a validation policy comes from and why it is trusted, so that
/// the report can say so: matched to the anchor by the SHA-256 of its DER.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AnchorLabel {
    /// SHA-256 of the anchor's DER, hexadecimal.
    pub sha256: String,
    /// The file it was loaded from.
    pub file: String,
    /// Why it is trusted, when the operator said.
    pub reason: Option<String>,
}

/// Who signed: taken from the signing certificate.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SignerSummary {
    /// Subject distinguished name (RFC 4514 style).
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number, hexadecimal.
    pub serial: String,
}

/// One named check and its outcome.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Which check (`byte_range`, `message_digest`, ... in the JSON).
    pub name: CheckName,
    /// Whether the check succeeded.
    pub passed: bool,
    /// Human-readable detail.
    pub detail: String,
    /// Indication this check leads to, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indication: Option<Indication>,
    /// Sub-indication this check leads to, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_indication: Option<SubIndication>,
}

/// Raw material of one signature kept for renderings other than the JSON one (the ETSI
/// TS 119 102-2 XML report). Never serialised: the JSON contract does not carry it, and a
/// report read back from JSON has it empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignatureMaterial {
    /// The entry is a document time-stamp (an RFC 3161 token over the document).
    pub document_timestamp: bool,
    /// DER of the signing certificate (the time-stamping authority's for a document
    /// time-stamp), when it was found.
    pub signer_certificate: Option<Vec<u8>>,
    /// DER of the certification path that was built: signer first, trust anchor last.
    pub certificate_chain: Vec<Vec<u8>>,
    /// The SignerInfo's signature value.
    pub signature_value: Option<Vec<u8>>,
    /// The DER time-stamp token of a document time-stamp.
    pub timestamp_token: Option<Vec<u8>>,
    /// Proof of existence of the signature (RFC 3339): the genTime of a signature time-stamp
    /// that verifies and whose authority is trusted.
    pub best_signature_time: Option<String>,
}

/// The result for one signature (or document time-stamp).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SignatureReport {
    /// Fully qualified field name (or a synthetic name for unnamed dictionaries).
    pub field: String,
    /// Indication for this signature.
    pub status: Indication,
    /// Sub-indication when not passed.
    pub sub_indication: Option<SubIndication>,
    /// The signing certificate, if it was found.
    pub signer: Option<SignerSummary>,
    /// Claimed signing time (RFC 3339): signing-time attribute or the /M entry.
    pub signing_time: Option<String>,
    /// Signature time-stamp genTime (RFC 3339), if any.
    pub timestamp: Option<String>,
    /// The signed byte ranges cover the whole file.
    pub covers_whole_document: bool,
    /// Changes were made after this signature that are not allowed (content, pages, ...).
    pub modified_after_signing: bool,
    /// PAdES baseline level reached: "B-B", "B-T", "B-LT", "B-LTA".
    pub level: Option<String>,
    /// Every check made, in order.
    pub checks: Vec<Check>,
    /// The ETSI EN 319 102-1 building blocks with their results.
    #[serde(default)]
    pub building_blocks: Vec<BlockResult>,
    /// Worst class of change made after this signature (`None` when nothing was checked).
    #[serde(default)]
    pub modification_level: Option<ModificationLevel>,
    /// The incremental updates made after this signature, each classified.
    #[serde(default)]
    pub later_revisions: Vec<RevisionReport>,
    /// DocMDP permission (1, 2 or 3) when this is a certification signature.
    #[serde(default)]
    pub docmdp_permission: Option<u8>,
    /// The trust anchor that ended the signer's path.
    #[serde(default)]
    pub trust_anchor: Option<TrustAnchorInfo>,
    /// Certificates, signature value and proof of existence (not in the JSON).
    #[serde(skip)]
    pub material: SignatureMaterial,
}

impl SignatureReport {
    /// A fresh report for `field`, passed until a check says otherwise.
    pub(crate) fn new(field: String) -> Self {
        SignatureReport {
            field,
            status: Indication::Passed,
            sub_indication: None,
            signer: None,
            signing_time: None,
            timestamp: None,
            covers_whole_document: false,
            modified_after_signing: false,
            level: None,
            checks: Vec::new(),
            building_blocks: Vec::new(),
            modification_level: None,
            later_revisions: Vec::new(),
            docmdp_permission: None,
            trust_anchor: None,
            material: SignatureMaterial::default(),
        }
    }

    /// Groups the checks into the ETSI building blocks (call once all checks ran).
    pub(crate) fn compute_blocks(&mut self) {
        self.building_blocks = Block::ALL
            .iter()
            .map(|b| {
                let mine: Vec<&Check> = self
                    .checks
                    .iter()
                    .filter(|c| c.name.block() == *b)
                    .collect();
                let mut status = (!mine.is_empty()).then_some(Indication::Passed);
                let mut sub = None;
                for c in &mine {
                    if let (Some(i), Some(cur)) = (c.indication, status)
                        && i.rank() > cur.rank()
                    {
                        status = Some(i);
                        sub = c.sub_indication;
                    }
                }
                BlockResult {
                    block: *b,
                    status,
                    sub_indication: sub,
                    checks: mine.iter().map(|c| c.name.as_str().to_string()).collect(),
                }
            })
            .collect();
    }

    /// Records a successful check.
    pub(crate) fn ok(&mut self, name: CheckName, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            passed: true,
            detail: detail.into(),
            indication: None,
            sub_indication: None,
        });
    }

    /// Records a failed check and lowers the status to at most `ind`/`sub`.
    pub(crate) fn fail(
        &mut self,
        name: CheckName,
        ind: Indication,
        sub: SubIndication,
        detail: impl Into<String>,
    ) {
        self.checks.push(Check {
            name,
            passed: false,
            detail: detail.into(),
            indication: Some(ind),
            sub_indication: Some(sub),
        });
        self.degrade(ind, sub);
    }

    /// Lowers the status to `ind`/`sub` if that is worse than the current one.
    pub(crate) fn degrade(&mut self, ind: Indication, sub: SubIndication) {
        if ind.rank() > self.status.rank() {
            self.status = ind;
            self.sub_indication = Some(sub);
        }
    }
}

/// The whole validation report for one PDF.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Report {
    /// Overall indication: the worst of the signatures.
    pub status: Indication,
    /// Sub-indication of the overall status.
    pub sub_indication: Option<SubIndication>,
    /// One entry per signature and document time-stamp, in file order.
    pub signatures: Vec<SignatureReport>,
    /// Document-level messages (parse problems, notes).
    pub messages: Vec<String>,
    /// The validation time (RFC 3339); not in the JSON.
    #[serde(skip)]
    pub validation_time: Option<String>,
}

impl Report {
    /// A report for a file that could not be validated at all.
    pub(crate) fn document_failure(
        ind: Indication,
        sub: SubIndication,
        message: impl Into<String>,
    ) -> Self {
        Report {
            status: ind,
            sub_indication: Some(sub),
            signatures: Vec::new(),
            messages: vec![message.into()],
            validation_time: None,
        }
    }

    /// Builds the overall status from the signatures (worst wins; none → INDETERMINATE).
    pub(crate) fn from_signatures(signatures: Vec<SignatureReport>, messages: Vec<String>) -> Self {
        if signatures.is_empty() {
            let mut messages = messages;
            messages.push("no signature found in the document".to_string());
            return Report {
                status: Indication::Indeterminate,
                sub_indication: Some(SubIndication::SignedDataNotFound),
                signatures,
                messages,
                validation_time: None,
            };
        }
        let mut status = Indication::Passed;
        let mut sub = None;
        for s in &signatures {
            if s.status.rank() > status.rank() {
                status = s.status;
                sub = s.sub_indication;
            }
        }
        Report {
            status,
            sub_indication: sub,
            signatures,
            messages,
            validation_time: None,
        }
    }

    /// The report as one JSON object (the `saoy verify --format json` contract).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            format!(r#"{{"status":"INDETERMINATE","sub_indication":"FORMAT_FAILURE","signatures":[],"messages":["report serialisation failed: {e}"]}}"#)
        })
    }

    /// A human-readable rendering for terminals.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "Status: {}{}\n",
            indication_name(self.status),
            sub_name(self.sub_indication)
        ));
        for m in &self.messages {
            out.push_str(&format!("  note: {m}\n"));
        }
        for (i, s) in self.signatures.iter().enumerate() {
            out.push_str(&format!(
                "Signature {} (field {}): {}{}\n",
                i + 1,
                s.field,
                indication_name(s.status),
                sub_name(s.sub_indication)
            ));
            if let Some(signer) = &s.signer {
                out.push_str(&format!("  signer:  {}\n", signer.subject));
                out.push_str(&format!("  issuer:  {}\n", signer.issuer));
                out.push_str(&format!("  serial:  {}\n", signer.serial));
            }
            if let Some(t) = &s.signing_time {
                out.push_str(&format!("  signing time (claimed): {t}\n"));
            }
            if let Some(t) = &s.timestamp {
                out.push_str(&format!("  time-stamp: {t}\n"));
            }
            if let Some(a) = &s.trust_anchor {
                out.push_str(&format!("  trust anchor: {} ({})\n", a.subject, a.source));
            }
            out.push_str(&format!(
                "  level: {}\n  covers whole document: {}\n  modified after signing: {}\n",
                s.level.as_deref().unwrap_or("-"),
                yes_no(s.covers_whole_document),
                yes_no(s.modified_after_signing)
            ));
            for c in &s.checks {
                out.push_str(&format!(
                    "  [{}] {}: {}\n",
                    if c.passed { "ok" } else { "FAIL" },
                    c.name,
                    c.detail
                ));
            }
        }
        out
    }

    /// Fills in why each trust anchor used is trusted, from `reason(sha256)` (e.g. a trust
    /// store's file); anchors it does not know keep their default reason.
    pub fn explain_anchors(&mut self, reason: impl Fn(&str) -> Option<String>) {
        for s in &mut self.signatures {
            if let Some(a) = &mut s.trust_anchor
                && let Some(r) = reason(&a.sha256)
            {
                a.source = r;
            }
        }
    }

    /// Names the file and reason of each trust anchor used that `labels` knows (matched by
    /// SHA-256); the first label of an anchor wins.
    pub fn label_anchors(&mut self, labels: &[AnchorLabel]) {
        for s in &mut self.signatures {
            let Some(a) = &mut s.trust_anchor else {
                continue;
            };
            let Some(l) = labels
                .iter()
                .find(|l| l.sha256.eq_ignore_ascii_case(&a.sha256))
            else {
                continue;
            };
            a.source = match &l.reason {
                Some(r) => format!("trust anchor file {}: {r}", l.file),
                None => format!("trust anchor file {}", l.file),
            };
            a.file = Some(l.file.clone());
            a.reason = l.reason.clone();
        }
    }

    /// True only when the overall status is PASSED.
    pub fn is_passed(&self) -> bool {
        self.status == Indication::Passed
    }
}

fn indication_name(i: Indication) -> &'static str {
    match i {
        Indication::Passed => "PASSED",
        Indication::Indeterminate => "INDETERMINATE",
        Indication::Failed => "FAILED",
    }
}

fn sub_name(s: Option<SubIndication>) -> String {
    match s.and_then(|s| serde_json::to_value(s).ok()) {
        Some(serde_json::Value::String(n)) => format!(" / {n}"),
        _ => String::new(),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_follow_the_contract() {
        let mut s = SignatureReport::new("Sig1".into());
        s.fail(
            CheckName::MessageDigest,
            Indication::Failed,
            SubIndication::HashFailure,
            "mismatch",
        );
        let r = Report::from_signatures(vec![s], vec![]);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap_or_default();
        assert_eq!(v["status"], "FAILED");
        assert_eq!(v["sub_indication"], "HASH_FAILURE");
        assert_eq!(v["signatures"][0]["modified_after_signing"], false);
        assert!(v["signatures"][0]["signer"].is_null());
        assert!(!r.is_passed());
    }

    #[test]
    fn every_check_serialises_as_its_report_name() {
        for c in CheckName::ALL {
            let json = serde_json::to_string(&c).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
    }

    #[test]
    fn no_signature_is_not_passed() {
        let r = Report::from_signatures(vec![], vec![]);
        assert_eq!(r.status, Indication::Indeterminate);
        assert_eq!(r.sub_indication, Some(SubIndication::SignedDataNotFound));
    }
}
