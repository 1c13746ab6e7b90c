//! RFC 3161 time-stamp tokens: the signature time-stamp in the CMS unsigned attributes and
//! document time-stamps (/SubFilter /ETSI.RFC3161).

use crate::asn1::{self, tag};
use crate::cms::signed_data as cms;
use crate::cms::signer;
use crate::crypto::{AlgId, DigestAlg, Signed};
use crate::x509::certs::{self, CertInfo};
use crate::x509::validate::{self, LeafUse};

/// What a time-stamp token says and how well it checks.
#[derive(Debug, Clone)]
pub struct TimestampCheck {
    /// genTime (Unix seconds), when the TSTInfo could be read.
    pub gen_time: Option<i64>,
    /// The message imprint matches the time-stamped data.
    pub imprint_ok: bool,
    /// The token's own signature (digest + value) verifies.
    pub signature_ok: bool,
    /// The TSA certificate chains to a trust anchor.
    pub trusted: bool,
    /// The TSA certificate.
    pub tsa: Option<CertInfo>,
    /// Notes explaining failures.
    pub notes: Vec<String>,
}

impl TimestampCheck {
    /// Proof of existence at genTime: everything checks and the TSA is trusted.
    pub fn poe(&self) -> Option<i64> {
        if self.imprint_ok && self.signature_ok && self.trusted {
            self.gen_time
        } else {
            None
        }
    }
}

/// Checks the token `der` as a time-stamp over `data` (the parts are concatenated).
pub fn check<C: Signed + ?Sized>(
    der: &[u8],
    data: &C,
    extra_certs: &[CertInfo],
    anchors: &[CertInfo],
) -> TimestampCheck {
    let mut out = TimestampCheck {
        gen_time: None,
        imprint_ok: false,
        signature_ok: false,
        trusted: false,
        tsa: None,
        notes: Vec::new(),
    };
    let sd = match cms::parse_signed_data(der) {
        Ok((sd, _)) => sd,
        Err(e) => {
            out.notes.push(format!("time-stamp token: {e}"));
            return out;
        }
    };
    if sd.econtent_type != cms::oid::TST_INFO {
        out.notes
            .push("time-stamp token does not hold a TSTInfo".into());
        return out;
    }
    let Some(tst) = sd.econtent.as_deref() else {
        out.notes.push("time-stamp token without content".into());
        return out;
    };
    match parse_tst_info(tst) {
        Ok((alg, imprint, gen_time)) => {
            out.gen_time = Some(gen_time);
            match DigestAlg::from_oid(&alg.oid) {
                Some(d) => {
                    out.imprint_ok = data.digest(d) == imprint;
                    if !out.imprint_ok {
                        out.notes.push("time-stamp imprint does not match".into());
                    }
                }
                None => out.notes.push(format!(
                    "time-stamp imprint algorithm {} unsupported",
                    alg.oid
                )),
            }
        }
        Err(e) => {
            out.notes.push(format!("TSTInfo: {e}"));
            return out;
        }
    }
    let mut pool = certs::parse_all(sd.certificates.iter().copied());
    pool.extend(extra_certs.iter().cloned());
    let Some(si) = sd.signer_infos.first() else {
        out.notes
            .push("time-stamp token without a SignerInfo".into());
        return out;
    };
    let res = signer::check(&sd, si, &[tst][..], &pool);
    out.signature_ok = res.steps.iter().all(|(_, r)| r.is_ok()) && res.cert.is_some();
    for (name, r) in &res.steps {
        if let Err(f) = r {
            out.notes.push(format!("time-stamp {name}: {}", f.detail));
        }
    }
    if let Some(tsa) = res.cert {
        match validate::structural(&tsa, &pool, anchors, LeafUse::TimeStamping, None) {
            Ok(_) => out.trusted = true,
            Err(rf) if rf.path.is_empty() || rf.step == "6.1.3 (a)(1)" => out
                .notes
                .push(format!("time-stamp authority: {}", rf.detail)),
            Err(rf) => out.notes.push(format!(
                "time-stamp chain: RFC 5280 {}: {}",
                rf.step, rf.detail
            )),
        }
        out.tsa = Some(tsa);
    }
    out
}

/// (imprint algorithm, imprint, genTime) from DER TSTInfo.
fn parse_tst_info(der: &[u8]) -> Result<(AlgId, Vec<u8>, i64), asn1::Asn1Error> {
    let (t, _) = asn1::parse(der)?;
    let f = t.seq()?;
    let mi = f
        .get(2)
        .ok_or(asn1::Asn1Error::Unexpected("messageImprint"))?
        .seq()?;
    let alg = AlgId::from_tlv(
        mi.first()
            .ok_or(asn1::Asn1Error::Unexpected("hashAlgorithm"))?,
    )?;
    let imprint = mi
        .get(1)
        .filter(|x| x.is(tag::OCTET_STRING))
        .ok_or(asn1::Asn1Error::Unexpected("hashedMessage"))?
        .octets()?;
    let gen_time = f.get(4).ok_or(asn1::Asn1Error::Unexpected("genTime"))?;
    Ok((alg, imprint, asn1::parse_time(gen_time)?))
}
