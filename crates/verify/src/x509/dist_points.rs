//! Distribution points read with the crate's own DER reader: cRLDistributionPoints and
//! freshestCRL of certificates, issuingDistributionPoint of CRLs. x509-parser 0.18 cannot
//! read a nameRelativeToCRLIssuer (it expects the SET tag inside the implicit [1]) and then
//! drops the whole extension, which would widen a CRL's scope; so these are parsed here.

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::x509::RelativeDistinguishedName;

use crate::asn1::{self, Tlv};
use crate::x509::names::{DistPoint, GName, Name};

/// The issuingDistributionPoint of a CRL (RFC 5280 §5.2.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Idp {
    /// distributionPoint names (a relative name made full with the CRL issuer).
    pub names: Option<Vec<GName>>,
    /// onlyContainsUserCerts.
    pub only_user: bool,
    /// onlyContainsCACerts.
    pub only_ca: bool,
    /// onlyContainsAttributeCerts.
    pub only_attr: bool,
    /// onlySomeReasons bits.
    pub reasons: Option<u16>,
    /// indirectCRL.
    pub indirect: bool,
}

/// GeneralNames inside an implicitly tagged element.
fn general_names(t: &Tlv<'_>) -> Option<Vec<GName>> {
    let mut out = Vec::new();
    for c in t.children().ok()? {
        let (_, g) = GeneralName::from_der(c.raw).ok()?;
        out.push(GName::from_x509(&g));
    }
    Some(out)
}

/// DER length octets.
fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes: Vec<u8> = n
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

/// DistributionPointName ([0] fullName GeneralNames | [1] nameRelativeToCRLIssuer).
fn dp_name(t: &Tlv<'_>, base: &Name) -> Option<Vec<GName>> {
    let inner = t.children().ok()?.into_iter().next()?;
    if inner.is_context(0) {
        general_names(&inner)
    } else if inner.is_context(1) {
        // Re-tag the implicit SET OF so that x509-parser reads it as an RDN.
        let mut set = vec![0x31];
        set.extend(der_len(inner.value.len()));
        set.extend_from_slice(inner.value);
        let (_, rdn) = RelativeDistinguishedName::from_der(&set).ok()?;
        Some(vec![GName::Dir(base.with_rdn(&rdn))])
    } else {
        None
    }
}

/// ReasonFlags: bit k of the BIT STRING (k = 0 the first) is bit k of the result.
fn reason_bits(t: &Tlv<'_>) -> Option<u16> {
    let (unused, bytes) = t.value.split_first()?;
    if *unused > 7 {
        return None;
    }
    let mut flags = 0u16;
    for k in 0..16usize {
        if bytes.get(k / 8).is_some_and(|b| b & (0x80 >> (k % 8)) != 0) {
            flags |= 1 << k;
        }
    }
    Some(flags)
}

/// cRLDistributionPoints / freshestCRL of a certificate issued by `issuer` (`None`:
/// unreadable).
pub fn parse_dist_points(value: &[u8], issuer: &Name) -> Option<Vec<DistPoint>> {
    let (seq, _) = asn1::parse(value).ok()?;
    let mut out = Vec::new();
    for dp in seq.seq().ok()? {
        let fields = dp.seq().ok()?;
        let crl_issuer = match fields.iter().find(|f| f.is_context(2)) {
            Some(f) => Some(general_names(f)?),
            None => None,
        };
        let base = crl_issuer
            .as_ref()
            .and_then(|n| {
                n.iter().find_map(|g| match g {
                    GName::Dir(d) => Some(d.clone()),
                    _ => None,
                })
            })
            .unwrap_or_else(|| issuer.clone());
        let names = match fields.iter().find(|f| f.is_context(0)) {
            Some(f) => Some(dp_name(f, &base)?),
            None => None,
        };
        let reasons = match fields.iter().find(|f| f.is_context(1)) {
            Some(f) => Some(reason_bits(f)?),
            None => None,
        };
        out.push(DistPoint {
            names,
            reasons,
            crl_issuer,
        });
    }
    Some(out)
}

/// issuingDistributionPoint of a CRL issued by `issuer` (`None`: unreadable).
pub fn parse_idp(value: &[u8], issuer: &Name) -> Option<Idp> {
    let (seq, _) = asn1::parse(value).ok()?;
    let mut idp = Idp::default();
    let flag = |f: &Tlv<'_>| f.value.first().is_some_and(|b| *b != 0);
    for f in seq.seq().ok()? {
        match (f.class, f.number) {
            (asn1::CONTEXT, 0) => idp.names = Some(dp_name(&f, issuer)?),
            (asn1::CONTEXT, 1) => idp.only_user = flag(&f),
            (asn1::CONTEXT, 2) => idp.only_ca = flag(&f),
            (asn1::CONTEXT, 3) => idp.reasons = Some(reason_bits(&f)?),
            (asn1::CONTEXT, 4) => idp.indirect = flag(&f),
            (asn1::CONTEXT, 5) => idp.only_attr = flag(&f),
            _ => return None,
        }
    }
    Some(idp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_bits_follow_the_bit_string() {
        // keyCompromise (1) and cACompromise (2): 0b0110_0000, 5 unused bits.
        let t = Tlv {
            class: asn1::CONTEXT,
            constructed: false,
            number: 3,
            value: &[5, 0x60],
            raw: &[],
        };
        assert_eq!(reason_bits(&t), Some(0b110));
        assert_eq!(der_len(300), vec![0x82, 0x01, 0x2c]);
    }
}
