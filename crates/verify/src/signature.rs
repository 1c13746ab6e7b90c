//! The validation of one signature, in the building blocks of ETSI EN 319 102-1 (clause 5):
//! each block is one function that records its checks in the signature's report and returns
//! a [`Step`]: the block's result, or [`Stopped`] with the indication and sub-indication that
//! ended the validation. `?` carries a stop through the blocks that follow; the signature
//! acceptance block (changes after signing) still runs once the signed bytes are known.

use lopdf::{Dictionary, Document, Object};

use crate::cms::signed_data::{SignedData, SignerInfo};
use crate::cms::{signed_data, signer, timestamp};
use crate::context::{Context, Done};
use crate::crypto::Signed;
use crate::pdf::byterange::{self, ByteRange};
use crate::pdf::{objects, revisions, xref_reader};
use crate::report::{
    Check, CheckName, Indication, ModificationLevel, SignatureReport, SignerSummary, SubIndication,
    TrustAnchorInfo,
};
use crate::x509::certs::{self, CertInfo};
use crate::x509::path::{self, CertPath as Path};
use crate::x509::revocation::{self, RevocationStatus};
use crate::x509::validate::{self, LeafUse};
use crate::{asn1, crypto, fmt_time};

/// Validation of a signature stopped in a building block, with the indication and
/// sub-indication of the check that stopped it (recorded in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stopped {
    /// The indication the block gave.
    pub indication: Indication,
    /// Its sub-indication.
    pub sub_indication: Option<SubIndication>,
}

/// The result of a building block.
pub(crate) type Step<T> = Result<T, Stopped>;

fn stopped(r: &SignatureReport) -> Stopped {
    Stopped {
        indication: r.status,
        sub_indication: r.sub_indication,
    }
}

/// What format checking established: the signature's format and the bytes it signs.
struct Formatted<'c> {
    sub_filter: Option<String>,
    br: ByteRange,
    contents: Vec<u8>,
    signed: xref_reader::Ranges<'c>,
}

/// The CMS object of a signature, checked for form.
struct Cms<'f> {
    sd: SignedData<'f>,
    /// adbe.pkcs7.sha1: the SHA-1 digest of the byte ranges, which is what is signed.
    sha1_digest: Option<Vec<u8>>,
}

impl Cms<'_> {
    fn signer_info(&self) -> &SignerInfo<'_> {
        // Format checking made sure there is exactly one.
        &self.sd.signer_infos[0]
    }
}

/// The signer identified and the signature value verified.
struct Identified {
    cert: CertInfo,
    pool: Vec<CertInfo>,
    /// The claimed signing time (signed attribute, else /M).
    claimed: Option<i64>,
}

/// One signature under validation.
struct Validation<'c, 'a> {
    ctx: &'c Context<'a>,
    doc: &'c Document,
    dict: &'c Dictionary,
    is_doc_ts: bool,
    r: SignatureReport,
    end: Option<usize>,
    doc_ts_ok: bool,
    sig_ts_ok: bool,
}

/// Validates the signature `f`, whose references resolve in `doc`.
pub(crate) fn validate(ctx: &Context<'_>, f: &objects::FoundSignature, doc: &Document) -> Done {
    let sub_filter = objects::get_name(doc, &f.dict, b"SubFilter")
        .map(|n| String::from_utf8_lossy(n).into_owned());
    let is_doc_ts = objects::get_name(doc, &f.dict, b"Type") == Some(b"DocTimeStamp")
        || sub_filter.as_deref() == Some("ETSI.RFC3161");
    let mut v = Validation {
        ctx,
        doc,
        dict: &f.dict,
        is_doc_ts,
        r: SignatureReport::new(f.field.clone()),
        end: None,
        doc_ts_ok: false,
        sig_ts_ok: false,
    };
    let _ = v.run(f.broken.as_deref(), sub_filter);
    Done {
        report: v.r,
        end: v.end,
        doc_ts_ok: v.doc_ts_ok,
        is_doc_ts,
        sig_ts_ok: v.sig_ts_ok,
    }
}

impl<'c, 'a> Validation<'c, 'a> {
    /// The blocks in order.
    fn run(&mut self, broken: Option<&str>, sub_filter: Option<String>) -> Step<()> {
        if let Some(why) = broken {
            self.r.fail(
                CheckName::SignatureDictionary,
                Indication::Failed,
                SubIndication::FormatFailure,
                why,
            );
            return Err(stopped(&self.r));
        }
        self.validation_context_initialisation();
        let fc = self.format_checking(sub_filter)?;
        if self.is_doc_ts {
            self.document_timestamp(&fc);
            self.signature_acceptance(&fc.br);
            return Ok(());
        }
        let cms = self.cms_format(&fc)?;
        let outcome = self.after_format(&fc, &cms);
        self.signature_acceptance(&fc.br);
        outcome
    }

    /// Identification, cryptographic verification, proof of existence and X.509 validation.
    fn after_format(&mut self, fc: &Formatted<'_>, cms: &Cms<'_>) -> Step<()> {
        let id = self.identification_and_cryptographic_verification(fc, cms)?;
        let poe = self.proof_of_existence(cms, &id);
        let path = self.certification_path(&id)?;
        let signer_status = self.revocation(cms, &id, &path, poe);
        self.validity(&id, &path, poe, signer_status);
        Ok(())
    }

    /// Validation context initialisation (5.2.4): the claimed time, the permissions, and
    /// what the validation uses.
    fn validation_context_initialisation(&mut self) {
        let (ctx, doc, d, r) = (self.ctx, self.doc, self.dict, &mut self.r);
        if let Some(Object::String(m, _)) = objects::get(doc, d, b"M") {
            r.signing_time = pdf_date(m).map(fmt_time);
        }
        r.docmdp_permission = objects::docmdp_permission(doc, d);
        r.ok(
        CheckName::ValidationContext,
        format!(
            "{} trust anchor(s), {} CRL(s), {} OCSP response(s) and {} extra certificate(s) from /DSS, validation time {}",
            ctx.anchors.len(),
            ctx.crls.len(),
            ctx.ocsps.len(),
            ctx.extra_certs.len(),
            fmt_time(ctx.now)
        ),
    );
    }

    /// Format checking (5.2.2): the cross-reference data, /SubFilter, /ByteRange, /Contents.
    fn format_checking(&mut self, sub_filter: Option<String>) -> Step<Formatted<'c>> {
        let (ctx, doc, d, r, end) = (self.ctx, self.doc, self.dict, &mut self.r, &mut self.end);
        if let Some(m) = &ctx.xref_repaired {
            r.fail(
                CheckName::Xref,
                Indication::Indeterminate,
                SubIndication::FormatFailure,
                m.clone(),
            );
        }
        match sub_filter.as_deref() {
            Some(
                "adbe.pkcs7.detached"
                | "ETSI.CAdES.detached"
                | "ETSI.RFC3161"
                | "PBAD.PAdES"
                | "adbe.pkcs7.sha1",
            ) => {
                r.ok(CheckName::SubFilter, sub_filter.clone().unwrap_or_default());
            }
            other => {
                r.fail(
                    CheckName::SubFilter,
                    Indication::Indeterminate,
                    SubIndication::SigConstraintsFailure,
                    format!("unsupported /SubFilter {}", other.unwrap_or("(none)")),
                );
                return Err(stopped(r));
            }
        }
        // /ByteRange
        let br_vals = objects::byte_range_values(doc, d);
        let br: ByteRange = match br_vals.as_deref().map(|v| byterange::check(v, ctx.src)) {
            Some(Ok(br)) => br,
            Some(Err(e)) => {
                r.fail(
                    CheckName::ByteRange,
                    Indication::Failed,
                    SubIndication::FormatFailure,
                    e.to_string(),
                );
                return Err(stopped(r));
            }
            None => {
                r.fail(
                    CheckName::ByteRange,
                    Indication::Failed,
                    SubIndication::FormatFailure,
                    "missing or malformed /ByteRange",
                );
                return Err(stopped(r));
            }
        };
        *end = Some(br.end());
        r.ok(
            CheckName::ByteRange,
            format!("[0 {} {} {}]", br.first_len, br.second_start, br.second_len),
        );
        let contents = match (objects::get(doc, d, b"Contents"), br.gap_contents(ctx.src)) {
            (Some(Object::String(c, _)), Some(gap)) if *c == gap => gap,
            (Some(Object::String(_, _)), Some(_)) => {
                r.fail(
                    CheckName::Contents,
                    Indication::Failed,
                    SubIndication::FormatFailure,
                    "/Contents is not the string excluded by /ByteRange",
                );
                return Err(stopped(r));
            }
            _ => {
                r.fail(
                    CheckName::Contents,
                    Indication::Failed,
                    SubIndication::FormatFailure,
                    "missing /Contents",
                );
                return Err(stopped(r));
            }
        };
        let signed = xref_reader::Ranges {
            src: ctx.src,
            ranges: br.ranges().to_vec(),
            prefixes: Some(&ctx.prefixes),
        };
        r.covers_whole_document = br.covers_whole_file(ctx.src);
        Ok(Formatted {
            sub_filter,
            br,
            contents,
            signed,
        })
    }

    /// A document time-stamp: its imprint, token signature and authority (5.4).
    fn document_timestamp(&mut self, fc: &Formatted<'_>) {
        let (ctx, r, doc_ts_ok) = (self.ctx, &mut self.r, &mut self.doc_ts_ok);
        let (contents, signed) = (&fc.contents, &fc.signed);
        let ts = timestamp::check(contents, signed, &ctx.extra_certs, &ctx.anchors);
        r.timestamp = ts.gen_time.map(fmt_time);
        r.material.document_timestamp = true;
        r.material.timestamp_token = asn1::parse(contents).ok().map(|(t, _)| t.raw.to_vec());
        if let Some(tsa) = &ts.tsa {
            r.signer = Some(summary(tsa));
            r.material.signer_certificate = Some(tsa.raw.clone());
        }
        if !ts.imprint_ok {
            r.fail(
                CheckName::TimestampImprint,
                Indication::Failed,
                SubIndication::HashFailure,
                ts.notes.join("; "),
            );
        } else if !ts.signature_ok {
            r.fail(
                CheckName::TimestampSignature,
                Indication::Failed,
                SubIndication::SigCryptoFailure,
                ts.notes.join("; "),
            );
        } else if !ts.trusted {
            r.ok(CheckName::Timestamp, "imprint and signature check");
            r.fail(
                CheckName::TimestampChain,
                Indication::Indeterminate,
                SubIndication::NoCertificateChainFound,
                ts.notes.join("; "),
            );
        } else {
            r.ok(
                CheckName::Timestamp,
                "document time-stamp verifies and its authority is trusted",
            );
        }
        *doc_ts_ok = ts.imprint_ok && ts.signature_ok;
    }

    /// Format checking of the CMS object (5.2.2): one SignerInfo, detached content.
    fn cms_format<'f>(&mut self, fc: &'f Formatted<'_>) -> Step<Cms<'f>> {
        let r = &mut self.r;
        let (contents, signed, sub_filter) = (&fc.contents, &fc.signed, &fc.sub_filter);
        let (sd, used) = match signed_data::parse_signed_data(contents) {
            Ok(x) => x,
            Err(e) => {
                r.fail(
                    CheckName::Cms,
                    Indication::Failed,
                    SubIndication::FormatFailure,
                    format!("/Contents: {e}"),
                );
                return Err(stopped(r));
            }
        };
        if contents
            .get(used..)
            .is_some_and(|rest| rest.iter().any(|b| *b != 0))
        {
            r.ok(
                CheckName::CmsPadding,
                "non-zero bytes follow the CMS object in /Contents (ignored)",
            );
        }
        if sd.signer_infos.len() != 1 {
            r.fail(
                CheckName::Cms,
                Indication::Failed,
                SubIndication::FormatFailure,
                format!(
                    "a PDF signature needs exactly one SignerInfo, found {}",
                    sd.signer_infos.len()
                ),
            );
            return Err(stopped(r));
        }
        let sha1_wrapped = sub_filter.as_deref() == Some("adbe.pkcs7.sha1");
        let digest_of_ranges;
        let content_parts: Option<[&[u8]; 1]> = if sha1_wrapped {
            // adbe.pkcs7.sha1: the signed content is the SHA-1 digest of the byte ranges.
            digest_of_ranges = signed.digest(crypto::DigestAlg::Sha1);
            if sd.econtent.as_deref() != Some(digest_of_ranges.as_slice()) {
                r.fail(
                    CheckName::MessageDigest,
                    Indication::Failed,
                    SubIndication::HashFailure,
                    "the encapsulated SHA-1 digest does not match the signed bytes",
                );
                return Err(stopped(r));
            }
            r.fail(
                CheckName::CryptoConstraints,
                Indication::Indeterminate,
                SubIndication::CryptoConstraintsFailure,
                "adbe.pkcs7.sha1 relies on SHA-1",
            );
            Some([digest_of_ranges.as_slice()])
        } else {
            None
        };
        if sd.econtent.is_some() && !sha1_wrapped {
            r.fail(
                CheckName::Cms,
                Indication::Failed,
                SubIndication::FormatFailure,
                "the CMS object encapsulates content; a detached signature is required",
            );
            return Err(stopped(r));
        }
        if sd.econtent_type != signed_data::oid::DATA {
            r.fail(
                CheckName::Cms,
                Indication::Failed,
                SubIndication::FormatFailure,
                format!("eContentType {} is not id-data", sd.econtent_type),
            );
            return Err(stopped(r));
        }
        r.ok(
            CheckName::Cms,
            format!("SignedData with {} certificate(s)", sd.certificates.len()),
        );
        Ok(Cms {
            sd,
            sha1_digest: content_parts.map(|[p]| p.to_vec()),
        })
    }

    /// Identification of the signing certificate (5.2.3) and cryptographic verification
    /// (5.2.7): digest, signed attributes, signature value.
    fn identification_and_cryptographic_verification(
        &mut self,
        fc: &Formatted<'_>,
        cms: &Cms<'_>,
    ) -> Step<Identified> {
        let (ctx, doc, d, r) = (self.ctx, self.doc, self.dict, &mut self.r);
        let (sd, si, signed) = (&cms.sd, cms.signer_info(), &fc.signed);
        let content_parts = cms.sha1_digest.as_deref().map(|p| [p]);
        r.material.signature_value = Some(si.signature.clone());
        let mut pool = certs::parse_all(sd.certificates.iter().copied());
        pool.extend(ctx.extra_certs.iter().cloned());
        let so = match &content_parts {
            Some(parts) => signer::check(sd, si, &parts[..], &pool),
            None => signer::check(sd, si, signed, &pool),
        };
        for (name, step) in &so.steps {
            match step {
                Ok(detail) => r.ok(*name, detail.clone()),
                Err(f) => r.fail(*name, f.ind, f.sub, f.detail.clone()),
            }
        }
        if let Some(t) = so.signing_time {
            r.signing_time = Some(fmt_time(t));
        }
        let claimed = so
            .signing_time
            .or_else(|| match objects::get(doc, d, b"M") {
                Some(Object::String(m, _)) => pdf_date(m),
                _ => None,
            });
        let Some(cert) = so.cert.clone() else {
            return Err(stopped(r));
        };
        r.signer = Some(summary(&cert));
        r.material.signer_certificate = Some(cert.raw.clone());
        if so
            .steps
            .iter()
            .any(|(_, s)| matches!(s, Err(f) if f.ind == Indication::Failed))
        {
            return Err(stopped(r));
        }
        Ok(Identified {
            cert,
            pool,
            claimed,
        })
    }

    /// The signature time-stamp: proof of existence of the signature value (5.6.2.4).
    fn proof_of_existence(&mut self, cms: &Cms<'_>, id: &Identified) -> Option<i64> {
        let (ctx, r, sig_ts_ok) = (self.ctx, &mut self.r, &mut self.sig_ts_ok);
        let (si, pool) = (cms.signer_info(), &id.pool);
        let mut poe: Option<i64> = None;
        if let Some(tok) = si
            .unsigned_attrs
            .iter()
            .find(|a| a.oid == signed_data::oid::SIGNATURE_TIMESTAMP)
            .and_then(|a| a.values.first())
        {
            let ts = timestamp::check(tok.raw, &[si.signature.as_slice()][..], pool, &ctx.anchors);
            r.timestamp = ts.gen_time.map(fmt_time);
            if ts.imprint_ok && ts.signature_ok {
                *sig_ts_ok = true;
                r.ok(
                    CheckName::SignatureTimestamp,
                    format!(
                        "imprint matches, token verifies{}",
                        if ts.trusted {
                            ", authority trusted"
                        } else {
                            "; authority not trusted (no proof of existence)"
                        }
                    ),
                );
            } else {
                r.checks.push(Check {
                    name: CheckName::SignatureTimestamp,
                    passed: false,
                    detail: format!("ignored: {}", ts.notes.join("; ")),
                    indication: None,
                    sub_indication: None,
                });
            }
            poe = ts.poe();
            r.material.best_signature_time = poe.map(fmt_time);
        }
        poe
    }

    /// X.509 certificate validation (5.2.6): a path to a trust anchor, processed as RFC 5280
    /// §6.1 says (validity and revocation are judged after, with proofs of existence).
    fn certification_path(&mut self, id: &Identified) -> Step<Path> {
        let (ctx, r) = (self.ctx, &mut self.r);
        let (cert, pool) = (&id.cert, &id.pool);
        let (certs, refusal) =
            match validate::structural(cert, pool, &ctx.anchors, LeafUse::Signing, None) {
                Ok(v) => (v.path, None),
                Err(rf) if rf.path.is_empty() || rf.step == "6.1.3 (a)(1)" => {
                    r.fail(
                        CheckName::CertificateChain,
                        Indication::Indeterminate,
                        SubIndication::NoCertificateChainFound,
                        format!("RFC 5280 {}: {}", rf.step, rf.detail),
                    );
                    return Err(stopped(r));
                }
                Err(rf) => (rf.path.clone(), Some(rf)),
            };
        let path = Path { certs };
        r.ok(
            CheckName::CertificateChain,
            path.certs
                .iter()
                .map(|c| c.subject.clone())
                .collect::<Vec<_>>()
                .join(" → "),
        );
        r.material.certificate_chain = path.certs.iter().map(|c| c.raw.clone()).collect();
        if let Some(a) = path.certs.last() {
            r.trust_anchor = Some(TrustAnchorInfo {
                subject: a.subject.clone(),
                sha256: hex::encode(crypto::DigestAlg::Sha256.digest(&a.raw)),
                source: "supplied as a trust anchor in the validation policy".into(),
                file: None,
                reason: None,
            });
        }
        match refusal {
            None => r.ok(
                CheckName::ChainConstraints,
                "RFC 5280 path processing passed: signatures, basicConstraints and pathLenConstraint, keyUsage, name constraints, certificate policies, critical extensions",
            ),
            Some(rf) => r.fail(
                CheckName::ChainConstraints,
                Indication::Indeterminate,
                rf.sub,
                format!("RFC 5280 {} refused {}: {}", rf.step, rf.cert.as_deref().unwrap_or("the path"), rf.detail),
            ),
        }
        Ok(path)
    }

    /// X.509 certificate validation, revocation (5.2.6): each certificate of the path
    /// against every CRL and OCSP response; returns the signer's status.
    fn revocation(
        &mut self,
        cms: &Cms<'_>,
        id: &Identified,
        path: &Path,
        poe: Option<i64>,
    ) -> Option<RevocationStatus> {
        let (ctx, r) = (self.ctx, &mut self.r);
        let (sd, si, pool, claimed) = (&cms.sd, cms.signer_info(), &id.pool, id.claimed);
        let mut crls = ctx.crls.clone();
        crls.extend(sd.crls.iter().map(|c| c.to_vec()));
        let embedded = revocation::embedded(sd, si);
        crls.extend(embedded.crls);
        let (crls, _) = revocation::parse_crls(&crls);
        let mut ocsps = ctx.ocsps.clone();
        ocsps.extend(embedded.ocsps);
        let signer_ok = |s: &CertInfo| {
            validate::structural(s, pool, &ctx.anchors, LeafUse::Any, Some(ctx.now))
                .map(|_| ())
                .map_err(|rf| format!("RFC 5280 {}: {}", rf.step, rf.detail))
        };
        let evidence = revocation::Evidence {
            crls: &crls,
            crl_signer: &signer_ok,
            ocsps: &ocsps,
            certs: pool,
            now: ctx.now,
        };
        let mut signer_status = None;
        for (i, pair) in path.certs.windows(2).enumerate() {
            let (Some(c), Some(issuer)) = (pair.first(), pair.get(1)) else {
                continue;
            };
            let outcome = revocation::check_all(c, issuer, &evidence);
            for note in outcome.notes {
                // Ignored revocation data: noted, never a failure by itself.
                if !r.checks.iter().any(|x| x.detail == note) {
                    r.checks.push(Check {
                        name: CheckName::Revocation,
                        passed: false,
                        detail: note,
                        indication: None,
                        sub_indication: None,
                    });
                }
            }
            let st = outcome.status;
            match &st {
                RevocationStatus::Good { next_update, .. } => {
                    let stale = next_update.is_some_and(|n| n < ctx.now);
                    r.ok(
                        CheckName::Revocation,
                        format!(
                            "{} not revoked according to the {}{}",
                            c.subject,
                            outcome.source,
                            if stale { " (past its nextUpdate)" } else { "" }
                        ),
                    );
                }
                RevocationStatus::Revoked { date, reason } => {
                    let what = format!(
                        "{} revoked on {} ({}{})",
                        c.subject,
                        fmt_time(*date),
                        reason
                            .as_ref()
                            .map(|x| format!("{x}; "))
                            .unwrap_or_default(),
                        outcome.source
                    );
                    if poe.is_some_and(|p| p < *date) {
                        r.ok(
                            CheckName::Revocation,
                            format!("{what}, after the time-stamp proving the signature existed"),
                        );
                    } else if claimed.is_some_and(|t| t < *date) {
                        let sub = if i == 0 {
                            SubIndication::RevokedNoPoe
                        } else {
                            SubIndication::RevokedCaNoPoe
                        };
                        r.fail(
                        CheckName::Revocation,
                        Indication::Indeterminate,
                        sub,
                        format!(
                            "{what}, after the claimed signing time but without proof of existence"
                        ),
                    );
                    } else {
                        r.fail(
                            CheckName::Revocation,
                            Indication::Failed,
                            SubIndication::Revoked,
                            what,
                        );
                    }
                }
                RevocationStatus::Unknown(m) => {
                    r.ok(CheckName::Revocation, format!("not checked: {m}"))
                }
            }
            if i == 0 {
                signer_status = Some(st);
            }
        }
        signer_status
    }

    /// X.509 certificate validation, validity periods (5.2.6), and the claimed signing time
    /// against the signer's certificate.
    fn validity(
        &mut self,
        id: &Identified,
        path: &Path,
        poe: Option<i64>,
        signer_status: Option<RevocationStatus>,
    ) {
        let (ctx, r) = (self.ctx, &mut self.r);
        let (cert, claimed) = (&id.cert, id.claimed);
        for (i, v) in path::check_validity(path, ctx.now) {
            let c = path.certs.get(i);
            let covered =
                poe.is_some_and(|p| c.is_some_and(|c| p >= c.not_before && p <= c.not_after));
            match v {
                path::Violation::Expired(m) if covered => r.ok(
                    CheckName::Validity,
                    format!("{m}; the time-stamp proves the signature existed before"),
                ),
                path::Violation::Expired(m) => {
                    let sub =
                        if i == 0 && matches!(signer_status, Some(RevocationStatus::Good { .. })) {
                            SubIndication::OutOfBoundsNotRevoked
                        } else {
                            SubIndication::OutOfBoundsNoPoe
                        };
                    r.fail(CheckName::Validity, Indication::Indeterminate, sub, m);
                }
                path::Violation::NotYetValid(m) => r.fail(
                    CheckName::Validity,
                    Indication::Indeterminate,
                    SubIndication::NotYetValid,
                    m,
                ),
            }
        }
        if let Some(t) = claimed
            && (t + 300 < cert.not_before || t > cert.not_after)
        {
            r.fail(
                CheckName::SigningTime,
                Indication::Indeterminate,
                SubIndication::OutOfBoundsNoPoe,
                format!(
                    "claimed signing time {} is outside the signer certificate's validity",
                    fmt_time(t)
                ),
            );
        }
    }

    /// Signature acceptance validation (5.2.8): what changed after signing.
    fn signature_acceptance(&mut self, br: &ByteRange) {
        check_modifications(self.ctx, br, &mut self.r);
    }
}

fn summary(c: &CertInfo) -> SignerSummary {
    SignerSummary {
        subject: c.subject.clone(),
        issuer: c.issuer.clone(),
        serial: c.serial_hex(),
    }
}

fn check_modifications(ctx: &Context<'_>, br: &ByteRange, r: &mut SignatureReport) {
    if r.covers_whole_document {
        r.modification_level = Some(ModificationLevel::None);
        r.ok(CheckName::Coverage, "the signature covers the whole file");
        return;
    }
    let constraint = |r: &mut SignatureReport, detail: String| {
        r.modified_after_signing = true;
        r.fail(
            CheckName::Modifications,
            Indication::Indeterminate,
            SubIndication::SigConstraintsFailure,
            detail,
        );
    };
    r.later_revisions = ctx
        .revisions
        .iter()
        .filter(|x| x.end > br.end())
        .cloned()
        .collect();
    if !br.ends_at_revision(ctx.src) {
        r.modification_level = Some(ModificationLevel::Other);
        constraint(r, "the signed bytes do not end at the end of a revision; the rest of the file is unsigned".into());
        return;
    }
    // A signature usually covers `%%EOF` but not the end of line after it: read the revision
    // at its recorded end, so the document and comparisons made for it are reused.
    let end = ctx
        .revision_ends
        .iter()
        .copied()
        .find(|&e| e >= br.end() && e - br.end() <= 2)
        .unwrap_or(br.end());
    let signed = match ctx.docs.at(end) {
        Ok(d) => d,
        Err(e) => {
            r.modification_level = Some(ModificationLevel::Other);
            constraint(r, format!("the signed revision cannot be read: {e}"));
            return;
        }
    };
    let res = ctx
        .diffs
        .between((end, &signed), (ctx.src.len() as usize, ctx.doc));
    let per_revision = revisions::worst(&r.later_revisions);
    let level = res.level().max(per_revision);
    r.modification_level = Some(level);
    let mut beyond = res.beyond(ctx.permitted);
    if beyond.is_empty() && per_revision > ctx.permitted {
        beyond.push(format!(
            "a later revision makes changes of class {per_revision:?}, beyond what is permitted ({:?})",
            ctx.permitted
        ));
    }
    if beyond.is_empty() {
        r.ok(
            CheckName::Modifications,
            format!(
                "later revisions make changes of class {level:?}, within what is permitted ({:?}; {} signature or validation-data change(s))",
                ctx.permitted, res.allowed
            ),
        );
    } else {
        constraint(r, beyond.join("; "));
    }
}

/// Unix seconds of a PDF date string (`D:YYYYMMDDHHmmSS+HH'mm'`), parts left out taking their defaults.
fn pdf_date(s: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(s).ok()?;
    let s = s.strip_prefix("D:").unwrap_or(s);
    let num = |a: usize, b: usize, d: i64| -> Option<i64> {
        match s.get(a..b) {
            Some(x) if !x.is_empty() => x.parse().ok(),
            _ => Some(d),
        }
    };
    let year = i32::try_from(num(0, 4, -1)?).ok().filter(|y| *y > 0)?;
    let month = time::Month::try_from(u8::try_from(num(4, 6, 1)?).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(year, month, u8::try_from(num(6, 8, 1)?).ok()?).ok()?;
    let tod = time::Time::from_hms(
        u8::try_from(num(8, 10, 0)?).ok()?,
        u8::try_from(num(10, 12, 0)?).ok()?,
        u8::try_from(num(12, 14, 0)?.min(59)).ok()?,
    )
    .ok()?;
    let mut secs = time::PrimitiveDateTime::new(date, tod)
        .assume_utc()
        .unix_timestamp();
    if let Some(sign) = s.get(14..15) {
        let oh = s
            .get(15..17)
            .and_then(|x| x.parse::<i64>().ok())
            .unwrap_or(0);
        let om = s
            .get(18..20)
            .and_then(|x| x.parse::<i64>().ok())
            .unwrap_or(0);
        match sign {
            "+" => secs -= oh * 3600 + om * 60,
            "-" => secs += oh * 3600 + om * 60,
            _ => {}
        }
    }
    Some(secs)
}
