//! The validation report as ETSI TS 119 102-2 XML (namespace
//! `http://uri.etsi.org/19102/v1.2.1#`), rendered from a [`Report`]: nothing is validated
//! again, and only what the report knows is written.
//!
//! Produced:
//! - `ValidationReport` with one `SignatureValidationReport` per signature, in file order. A
//!   document without any signature gets one carrying only the document's status (the schema
//!   requires at least one).
//! - `SignatureIdentifier`: `ds:SignatureValue` (with an `id` derived from its SHA-256),
//!   `HashOnly` and `DocHashOnly` (both false: a PAdES signature covers the document itself),
//!   `DAIdentifier` (the PDF field name).
//! - `ValidationTimeInfo`: `ValidationTime`; `BestSignatureTime` is the genTime of a signature
//!   time-stamp that verifies under a trusted authority, otherwise the validation time (as
//!   ETSI EN 319 102-1 initialises it), both with `TypeOfProof`
//!   `urn:etsi:019102:poetype:validation`.
//! - `SignatureAttributes`: `SigningTime` (the claimed time: signing-time attribute or /M, both
//!   signed) and `SignatureTimeStamp` (its genTime, unsigned).
//! - `SignerInformation`: `SignerCertificate` (a reference to a validation object) and `Signer`
//!   (the subject distinguished name).
//! - `SignatureValidationProcess`: `urn:etsi:019102:validationprocess:Basic`, or `LTVM` when a
//!   trusted signature time-stamp served as proof of existence.
//! - `SignatureValidationStatus`: `MainIndication` and `SubIndication` URIs, and
//!   `AssociatedValidationReportData` with `TrustAnchor`, `CertificateChain` and
//!   `AdditionalValidationReportData` holding saoy's own facts under `urn:saoy:` types (each
//!   check, building block, PAdES level, modifications, DocMDP permission, why the anchor is
//!   trusted, document messages).
//! - `SignatureValidationObjects`: each certificate referenced above (`base64` DER) and each
//!   document time-stamp (its token, `POEProvisioning` at its genTime when it passed, and its
//!   own `ValidationReport`; document time-stamps are not `SignatureValidationReport`s).
//!
//! Left out, because the report does not know them: `SignersDocument` (digest of the signed
//! bytes), `SignatureIdentifier/DigestAlgAndValue`, `ValidationConstraintsEvaluationReport`,
//! `SignatureQuality` (no qualification is assessed), CRLs, OCSP responses and signature
//! time-stamp tokens as validation objects, `RevocationStatusInformation`, `CryptoInformation`,
//! the `POE` of each validation object, `SignatureValidator` (saoy has no identity of its own)
//! and a `ds:Signature` over the report (it is not signed).

use std::collections::HashSet;

use serde::Serialize;

use crate::crypto::DigestAlg;
use crate::report::{Check, Indication, Report, SignatureReport, SubIndication};

/// The TS 119 102-2 (v1.2.1) namespace.
pub const ETSI_VR_NAMESPACE: &str = "http://uri.etsi.org/19102/v1.2.1#";
/// The XML signature namespace (for `ds:SignatureValue`).
const DS_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Object type of a certificate validation object.
const VO_CERTIFICATE: &str = "urn:etsi:019102:validationObject:certificate";
/// Object type of a time-stamp validation object.
const VO_TIMESTAMP: &str = "urn:etsi:019102:validationObject:timestamp";
/// Proof of existence found during validation.
const POE_VALIDATION: &str = "urn:etsi:019102:poetype:validation";

impl Report {
    /// The report as an ETSI TS 119 102-2 XML validation report (`saoy verify --format
    /// etsi-xml`); the module documentation of `verify::etsi_xml` lists what it covers.
    pub fn to_etsi_xml(&self) -> String {
        let mut w = Writer::default();
        w.out
            .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        w.start(
            "vr:ValidationReport",
            &[("xmlns:vr", ETSI_VR_NAMESPACE), ("xmlns:ds", DS_NAMESPACE)],
        );
        let mut ids = HashSet::new();
        let mut objects = Objects::default();
        let mut any = false;
        for s in &self.signatures {
            objects.add_signature(s);
            if !s.material.document_timestamp {
                any = true;
                signature_report(&mut w, "vr:SignatureValidationReport", s, self, &mut ids);
            }
        }
        if !any {
            document_report(&mut w, self);
        }
        if !objects.list.is_empty() {
            w.start("vr:SignatureValidationObjects", &[]);
            for o in &objects.list {
                validation_object(&mut w, o, self, &mut ids);
            }
            w.end();
        }
        w.end();
        w.out
    }
}

/// The URI of a main indication (TS 119 102-2, clause 5.2.7).
pub(crate) fn main_indication_uri(i: Indication) -> &'static str {
    match i {
        Indication::Passed => "urn:etsi:019102:mainindication:total-passed",
        Indication::Failed => "urn:etsi:019102:mainindication:total-failed",
        Indication::Indeterminate => "urn:etsi:019102:mainindication:indeterminate",
    }
}

/// The URI of a sub-indication (TS 119 102-2, clause 5.2.7).
pub(crate) fn sub_indication_uri(s: SubIndication) -> String {
    format!("urn:etsi:019102:subindication:{}", sub_indication_name(s))
}

/// The ETSI EN 319 102-1 name of a sub-indication (also its JSON name).
fn sub_indication_name(s: SubIndication) -> &'static str {
    match s {
        SubIndication::FormatFailure => "FORMAT_FAILURE",
        SubIndication::HashFailure => "HASH_FAILURE",
        SubIndication::SigCryptoFailure => "SIG_CRYPTO_FAILURE",
        SubIndication::Revoked => "REVOKED",
        SubIndication::NotYetValid => "NOT_YET_VALID",
        SubIndication::SigConstraintsFailure => "SIG_CONSTRAINTS_FAILURE",
        SubIndication::ChainConstraintsFailure => "CHAIN_CONSTRAINTS_FAILURE",
        SubIndication::CertificateChainGeneralFailure => "CERTIFICATE_CHAIN_GENERAL_FAILURE",
        SubIndication::CryptoConstraintsFailure => "CRYPTO_CONSTRAINTS_FAILURE",
        SubIndication::Expired => "EXPIRED",
        SubIndication::NoCertificateChainFound => "NO_CERTIFICATE_CHAIN_FOUND",
        SubIndication::NoSigningCertificateFound => "NO_SIGNING_CERTIFICATE_FOUND",
        SubIndication::RevokedNoPoe => "REVOKED_NO_POE",
        SubIndication::RevokedCaNoPoe => "REVOKED_CA_NO_POE",
        SubIndication::OutOfBoundsNoPoe => "OUT_OF_BOUNDS_NO_POE",
        SubIndication::OutOfBoundsNotRevoked => "OUT_OF_BOUNDS_NOT_REVOKED",
        SubIndication::TryLater => "TRY_LATER",
        SubIndication::SignedDataNotFound => "SIGNED_DATA_NOT_FOUND",
        SubIndication::TimestampOrderFailure => "TIMESTAMP_ORDER_FAILURE",
        SubIndication::NoPoe => "NO_POE",
    }
}

fn indication_name(i: Indication) -> &'static str {
    match i {
        Indication::Passed => "PASSED",
        Indication::Indeterminate => "INDETERMINATE",
        Indication::Failed => "FAILED",
    }
}

/// The serde (JSON) name of a unit enum value, e.g. `FORMAT_CHECKING`.
fn serde_name<T: Serialize>(v: T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "UNKNOWN".to_string(),
    }
}

/// One validation object to list.
struct Object<'a> {
    id: String,
    object_type: &'static str,
    der: &'a [u8],
    /// The document time-stamp it is, for its POE and nested report.
    timestamp: Option<&'a SignatureReport>,
}

/// The validation objects, each once, in order of first mention.
#[derive(Default)]
struct Objects<'a> {
    list: Vec<Object<'a>>,
    seen: HashSet<String>,
}

impl<'a> Objects<'a> {
    fn add(&mut self, o: Object<'a>) {
        if self.seen.insert(o.id.clone()) {
            self.list.push(o);
        }
    }

    fn add_certificate(&mut self, der: &'a [u8]) {
        self.add(Object {
            id: certificate_id(der),
            object_type: VO_CERTIFICATE,
            der,
            timestamp: None,
        });
    }

    fn add_signature(&mut self, s: &'a SignatureReport) {
        let m = &s.material;
        if m.document_timestamp
            && let Some(token) = &m.timestamp_token
        {
            self.add(Object {
                id: timestamp_id(token),
                object_type: VO_TIMESTAMP,
                der: token,
                timestamp: Some(s),
            });
        }
        if let Some(c) = &m.signer_certificate {
            self.add_certificate(c);
        }
        for c in &m.certificate_chain {
            self.add_certificate(c);
        }
    }
}

fn certificate_id(der: &[u8]) -> String {
    format!("C-{}", hex::encode_upper(DigestAlg::Sha256.digest(der)))
}

fn timestamp_id(der: &[u8]) -> String {
    format!("T-{}", hex::encode_upper(DigestAlg::Sha256.digest(der)))
}

fn validation_object(w: &mut Writer, o: &Object<'_>, report: &Report, ids: &mut HashSet<String>) {
    w.start("vr:ValidationObject", &[("id", &o.id)]);
    w.leaf("vr:ObjectType", &[], o.object_type);
    w.start("vr:ValidationObjectRepresentation", &[]);
    w.leaf("vr:base64", &[], &base64(o.der));
    w.end();
    if let Some(ts) = o.timestamp {
        if ts.status == Indication::Passed
            && let Some(t) = ts.timestamp.as_deref().and_then(xml_time)
        {
            w.start("vr:POEProvisioning", &[]);
            w.leaf("vr:POETime", &[], &t);
            w.end();
        }
        signature_report(w, "vr:ValidationReport", ts, report, ids);
    }
    w.end();
}

/// A `SignatureValidationReportType` element named `tag` for one signature.
fn signature_report(
    w: &mut Writer,
    tag: &'static str,
    s: &SignatureReport,
    report: &Report,
    ids: &mut HashSet<String>,
) {
    let m = &s.material;
    w.start(tag, &[]);

    let id = m
        .signature_value
        .as_deref()
        .map(|v| format!("S-{}", hex::encode_upper(DigestAlg::Sha256.digest(v))))
        .filter(|id| ids.insert(id.clone()));
    match &id {
        Some(id) => w.start("vr:SignatureIdentifier", &[("id", id)]),
        None => w.start("vr:SignatureIdentifier", &[]),
    }
    if let Some(v) = &m.signature_value {
        w.leaf("ds:SignatureValue", &[], &base64(v));
    }
    w.leaf("vr:HashOnly", &[], "false");
    w.leaf("vr:DocHashOnly", &[], "false");
    w.leaf("vr:DAIdentifier", &[], &s.field);
    w.end();

    let best = m.best_signature_time.as_deref().and_then(xml_time);
    validation_time_info(w, report, best.as_deref());

    let signing_time = s.signing_time.as_deref().and_then(xml_time);
    let ts_time = s.timestamp.as_deref().and_then(xml_time);
    if !m.document_timestamp && (signing_time.is_some() || ts_time.is_some()) {
        w.start("vr:SignatureAttributes", &[]);
        if let Some(t) = &signing_time {
            w.start("vr:SigningTime", &[("Signed", "true")]);
            w.leaf("vr:Time", &[], t);
            w.end();
        }
        if let Some(t) = &ts_time {
            w.start("vr:SignatureTimeStamp", &[("Signed", "false")]);
            w.leaf("vr:TimeStampValue", &[], t);
            w.end();
        }
        w.end();
    }

    if let Some(c) = &m.signer_certificate {
        w.start("vr:SignerInformation", &[]);
        w.empty(
            "vr:SignerCertificate",
            &[("VOReference", &certificate_id(c))],
        );
        if let Some(signer) = &s.signer {
            w.leaf("vr:Signer", &[], &signer.subject);
        }
        w.end();
    }

    w.start("vr:SignatureValidationProcess", &[]);
    let process = if best.is_some() { "LTVM" } else { "Basic" };
    w.leaf(
        "vr:SignatureValidationProcessID",
        &[],
        &format!("urn:etsi:019102:validationprocess:{process}"),
    );
    w.end();

    w.start("vr:SignatureValidationStatus", &[]);
    w.leaf("vr:MainIndication", &[], main_indication_uri(s.status));
    if let Some(sub) = s.sub_indication {
        w.leaf("vr:SubIndication", &[], &sub_indication_uri(sub));
    }
    w.start("vr:AssociatedValidationReportData", &[]);
    let chain = &m.certificate_chain;
    if let Some(anchor) = chain.last() {
        w.empty(
            "vr:TrustAnchor",
            &[("VOReference", &certificate_id(anchor))],
        );
    }
    if let Some((first, rest)) = chain.split_first() {
        w.start("vr:CertificateChain", &[]);
        w.empty(
            "vr:SigningCertificate",
            &[("VOReference", &certificate_id(first))],
        );
        if let Some((anchor, intermediates)) = rest.split_last() {
            for c in intermediates {
                w.empty(
                    "vr:IntermediateCertificate",
                    &[("VOReference", &certificate_id(c))],
                );
            }
            w.empty(
                "vr:TrustAnchor",
                &[("VOReference", &certificate_id(anchor))],
            );
        } else {
            w.empty("vr:TrustAnchor", &[("VOReference", &certificate_id(first))]);
        }
        w.end();
    }
    additional_data(w, &signature_facts(s, report));
    w.end();
    w.end();

    w.end();
}

/// `ValidationTimeInfo`, when the validation time is known.
fn validation_time_info(w: &mut Writer, report: &Report, best: Option<&str>) {
    let Some(now) = report.validation_time.as_deref().and_then(xml_time) else {
        return;
    };
    w.start("vr:ValidationTimeInfo", &[]);
    w.leaf("vr:ValidationTime", &[], &now);
    w.start("vr:BestSignatureTime", &[]);
    w.leaf("vr:POETime", &[], best.unwrap_or(&now));
    w.leaf("vr:TypeOfProof", &[], POE_VALIDATION);
    w.end();
    w.end();
}

/// The one `SignatureValidationReport` of a document without signatures.
fn document_report(w: &mut Writer, report: &Report) {
    w.start("vr:SignatureValidationReport", &[]);
    validation_time_info(w, report, None);
    w.start("vr:SignatureValidationStatus", &[]);
    w.leaf("vr:MainIndication", &[], main_indication_uri(report.status));
    if let Some(sub) = report.sub_indication {
        w.leaf("vr:SubIndication", &[], &sub_indication_uri(sub));
    }
    let facts: Vec<(String, String)> = report
        .messages
        .iter()
        .map(|m| ("urn:saoy:message".to_string(), m.clone()))
        .collect();
    if !facts.is_empty() {
        w.start("vr:AssociatedValidationReportData", &[]);
        additional_data(w, &facts);
        w.end();
    }
    w.end();
    w.end();
}

/// saoy's own facts about one signature, as (type URI, value) pairs.
fn signature_facts(s: &SignatureReport, report: &Report) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for b in &s.building_blocks {
        let status = match (b.status, b.sub_indication) {
            (None, _) => "not run".to_string(),
            (Some(i), None) => indication_name(i).to_string(),
            (Some(i), Some(sub)) => {
                format!("{}/{}", indication_name(i), sub_indication_name(sub))
            }
        };
        v.push((
            format!("urn:saoy:building-block:{}", serde_name(b.block)),
            status,
        ));
    }
    for c in &s.checks {
        v.push((format!("urn:saoy:check:{}", c.name), check_value(c)));
    }
    if let Some(l) = &s.level {
        v.push(("urn:saoy:pades-level".into(), l.clone()));
    }
    v.push((
        "urn:saoy:covers-whole-document".into(),
        s.covers_whole_document.to_string(),
    ));
    v.push((
        "urn:saoy:modified-after-signing".into(),
        s.modified_after_signing.to_string(),
    ));
    if let Some(l) = s.modification_level {
        v.push(("urn:saoy:modification-level".into(), serde_name(l)));
    }
    if let Some(p) = s.docmdp_permission {
        v.push(("urn:saoy:docmdp-permission".into(), p.to_string()));
    }
    if let Some(a) = &s.trust_anchor {
        v.push(("urn:saoy:trust-anchor".into(), a.source.clone()));
    }
    for m in &report.messages {
        v.push(("urn:saoy:message".into(), m.clone()));
    }
    v
}

/// A check's outcome: `ok: …`, `INDICATION/SUB: …`, or `note: …` for a failure that decided
/// nothing (e.g. revocation data that could not be used).
fn check_value(c: &Check) -> String {
    if c.passed {
        return format!("ok: {}", c.detail);
    }
    match (c.indication, c.sub_indication) {
        (Some(i), Some(s)) => format!(
            "{}/{}: {}",
            indication_name(i),
            sub_indication_name(s),
            c.detail
        ),
        (Some(i), None) => format!("{}: {}", indication_name(i), c.detail),
        _ => format!("note: {}", c.detail),
    }
}

fn additional_data(w: &mut Writer, facts: &[(String, String)]) {
    if facts.is_empty() {
        return;
    }
    w.start("vr:AdditionalValidationReportData", &[]);
    for (t, value) in facts {
        w.start("vr:ReportData", &[]);
        w.leaf("vr:Type", &[], t);
        w.leaf("vr:Value", &[], value);
        w.end();
    }
    w.end();
}

/// An RFC 3339 time as an `xs:dateTime` in UTC, or `None` when it is not one.
fn xml_time(s: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(s, &Rfc3339)
        .ok()?
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .ok()
}

/// Standard base64 (RFC 4648, padded, no line breaks), as `xs:base64Binary` expects.
pub(crate) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                let idx = ((n >> shift) & 63) as usize;
                out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// True for a character XML 1.0 allows in a document.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `s` escaped for element content (`attribute == false`) or for a double-quoted
/// attribute value. Characters XML 1.0 cannot carry at all become U+FFFD.
pub(crate) fn push_escaped(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            // A raw CR would be read back as LF (end-of-line handling).
            '\r' => out.push_str("&#13;"),
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// A minimal indenting XML writer: elements close in the order they were opened.
#[derive(Default)]
struct Writer {
    out: String,
    open: Vec<&'static str>,
}

impl Writer {
    fn indent(&mut self) {
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            push_escaped(&mut self.out, v, true);
            self.out.push('"');
        }
    }

    fn start(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        self.indent();
        self.tag(name, attrs);
        self.out.push_str(">\n");
        self.open.push(name);
    }

    fn end(&mut self) {
        if let Some(name) = self.open.pop() {
            self.indent();
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push_str(">\n");
        }
    }

    fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.indent();
        self.tag(name, attrs);
        self.out.push('>');
        push_escaped(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.tag(name, attrs);
        self.out.push_str("/>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CheckName, SignerSummary, TrustAnchorInfo};

    fn escaped(s: &str, attribute: bool) -> String {
        let mut out = String::new();
        push_escaped(&mut out, s, attribute);
        out
    }

    #[test]
    fn escaping_keeps_vietnamese_and_quotes_markup() {
        let name = "CN=Nguyễn Thị Hồng Nhung, O=UBND xã Tân Lập";
        assert_eq!(escaped(name, false), name);
        assert_eq!(escaped(name, true), name);
        assert_eq!(
            escaped("a<b>&\"c'\td\ne\r", false),
            "a&lt;b&gt;&amp;\"c'\td\ne&#13;"
        );
        assert_eq!(
            escaped("a<b>&\"c'\td\ne\r", true),
            "a&lt;b&gt;&amp;&quot;c&apos;&#9;d&#10;e&#13;"
        );
        assert_eq!(
            escaped("x\u{0}y\u{1b}z\u{FFFF}", false),
            "x\u{FFFD}y\u{FFFD}z\u{FFFD}"
        );
        assert_eq!(escaped("𝄞 ]]>", false), "𝄞 ]]&gt;");
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    const ALL_SUBS: [SubIndication; 20] = [
        SubIndication::FormatFailure,
        SubIndication::HashFailure,
        SubIndication::SigCryptoFailure,
        SubIndication::Revoked,
        SubIndication::NotYetValid,
        SubIndication::SigConstraintsFailure,
        SubIndication::ChainConstraintsFailure,
        SubIndication::CertificateChainGeneralFailure,
        SubIndication::CryptoConstraintsFailure,
        SubIndication::Expired,
        SubIndication::NoCertificateChainFound,
        SubIndication::NoSigningCertificateFound,
        SubIndication::RevokedNoPoe,
        SubIndication::RevokedCaNoPoe,
        SubIndication::OutOfBoundsNoPoe,
        SubIndication::OutOfBoundsNotRevoked,
        SubIndication::TryLater,
        SubIndication::SignedDataNotFound,
        SubIndication::TimestampOrderFailure,
        SubIndication::NoPoe,
    ];

    #[test]
    fn indications_map_to_the_etsi_uris() {
        assert_eq!(
            main_indication_uri(Indication::Passed),
            "urn:etsi:019102:mainindication:total-passed"
        );
        assert_eq!(
            main_indication_uri(Indication::Failed),
            "urn:etsi:019102:mainindication:total-failed"
        );
        assert_eq!(
            main_indication_uri(Indication::Indeterminate),
            "urn:etsi:019102:mainindication:indeterminate"
        );
        assert_eq!(
            sub_indication_uri(SubIndication::HashFailure),
            "urn:etsi:019102:subindication:HASH_FAILURE"
        );
        // The URI names are the EN 319 102-1 names the JSON uses.
        for s in ALL_SUBS {
            assert_eq!(
                sub_indication_uri(s),
                format!("urn:etsi:019102:subindication:{}", serde_name(s))
            );
        }
    }

    fn signed_report() -> Report {
        let mut s = SignatureReport::new("Chữ ký <1> & \"A\"".into());
        s.ok(CheckName::ByteRange, "[0 10 20 30]");
        s.fail(
            CheckName::MessageDigest,
            Indication::Failed,
            SubIndication::HashFailure,
            "digest < mismatch",
        );
        s.signer = Some(SignerSummary {
            subject: "CN=Nguyễn Thị Hồng Nhung".into(),
            issuer: "CN=CA".into(),
            serial: "01".into(),
        });
        s.signing_time = Some("2026-11-24T13:00:00+07:00".into());
        s.trust_anchor = Some(TrustAnchorInfo {
            subject: "CN=Root".into(),
            sha256: "00".into(),
            source: "file root.pem: «tin cậy»".into(),
            file: None,
            reason: None,
        });
        s.material.signer_certificate = Some(b"leaf".to_vec());
        s.material.certificate_chain = vec![b"leaf".to_vec(), b"ca".to_vec(), b"root".to_vec()];
        s.material.signature_value = Some(vec![1, 2, 3]);
        s.compute_blocks();
        let mut ts = SignatureReport::new("DocTs".into());
        ts.material.document_timestamp = true;
        ts.material.timestamp_token = Some(b"token".to_vec());
        ts.timestamp = Some("2026-11-24T06:00:00Z".into());
        ts.material.signer_certificate = Some(b"tsa".to_vec());
        let mut r = Report::from_signatures(vec![s, ts], vec!["note & more".into()]);
        r.validation_time = Some("2026-11-24T06:12:29Z".into());
        r
    }

    #[test]
    fn a_failed_signature_is_reported_with_its_uris_and_objects() {
        let xml = signed_report().to_etsi_xml();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        assert!(xml.contains("xmlns:vr=\"http://uri.etsi.org/19102/v1.2.1#\""));
        assert_eq!(xml.matches("<vr:SignatureValidationReport>").count(), 1);
        assert!(xml.contains(
            "<vr:MainIndication>urn:etsi:019102:mainindication:total-failed</vr:MainIndication>"
        ));
        assert!(xml.contains(
            "<vr:SubIndication>urn:etsi:019102:subindication:HASH_FAILURE</vr:SubIndication>"
        ));
        assert!(xml.contains("<vr:DAIdentifier>Chữ ký &lt;1&gt; &amp; \"A\"</vr:DAIdentifier>"));
        assert!(xml.contains("<vr:Signer>CN=Nguyễn Thị Hồng Nhung</vr:Signer>"));
        assert!(xml.contains("<vr:ValidationTime>2026-11-24T06:12:29Z</vr:ValidationTime>"));
        // No trusted time-stamp: the best signature time is the validation time.
        assert!(xml.contains("<vr:POETime>2026-11-24T06:12:29Z</vr:POETime>"));
        // The claimed time, in UTC.
        assert!(xml.contains("<vr:Time>2026-11-24T06:00:00Z</vr:Time>"));
        assert!(xml.contains("<ds:SignatureValue>AQID</ds:SignatureValue>"));
        let leaf = certificate_id(b"leaf");
        assert!(xml.contains(&format!("<vr:SignerCertificate VOReference=\"{leaf}\"/>")));
        assert!(xml.contains(&format!("<vr:SigningCertificate VOReference=\"{leaf}\"/>")));
        assert!(xml.contains(&format!(
            "<vr:IntermediateCertificate VOReference=\"{}\"/>",
            certificate_id(b"ca")
        )));
        // Every certificate once, the document time-stamp as a timestamp object.
        assert_eq!(xml.matches(VO_CERTIFICATE).count(), 4);
        assert_eq!(xml.matches(VO_TIMESTAMP).count(), 1);
        assert!(xml.contains(&format!("<vr:base64>{}</vr:base64>", base64(b"leaf"))));
        assert_eq!(xml.matches("<vr:ValidationReport>").count(), 1);
        assert!(xml.contains("digest &lt; mismatch"));
        assert!(xml.contains("FAILED/HASH_FAILURE: digest &lt; mismatch"));
        assert!(xml.contains("note &amp; more"));
        assert!(xml.contains("file root.pem: «tin cậy»"));
        // Balanced: every opened element is closed.
        assert!(xml.trim_end().ends_with("</vr:ValidationReport>"));
    }

    #[test]
    fn a_document_without_signatures_still_has_one_report() {
        let mut r = Report::from_signatures(vec![], vec![]);
        r.validation_time = Some("2026-11-24T06:12:29Z".into());
        let xml = r.to_etsi_xml();
        assert_eq!(xml.matches("<vr:SignatureValidationReport>").count(), 1);
        assert!(xml.contains("urn:etsi:019102:mainindication:indeterminate"));
        assert!(xml.contains("urn:etsi:019102:subindication:SIGNED_DATA_NOT_FOUND"));
        assert!(!xml.contains("SignatureValidationObjects"));
    }
}
