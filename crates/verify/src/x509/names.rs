//! Names as path validation compares them: distinguished names normalised (RFC 5280 §7.1:
//! case and inner white space do not count, nor the string type), and the general names of
//! subjectAltName, nameConstraints, distribution points and CRL issuers as owned values.

use x509_parser::extensions::GeneralName;
use x509_parser::x509::{RelativeDistinguishedName, X509Name};

/// The emailAddress attribute type (PKCS #9).
const EMAIL_ADDRESS: &str = "1.2.840.113549.1.9.1";

/// One attribute of a relative distinguished name: its type and normalised value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Attr {
    /// The attribute type (dotted OID).
    pub oid: String,
    /// The value: strings lower-cased with white space collapsed; other types as hex.
    pub value: String,
}

/// A distinguished name as a sequence of RDNs, each a sorted set of attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Name(pub Vec<Vec<Attr>>);

impl Name {
    /// The normalised form of `name`.
    pub fn from_x509(name: &X509Name<'_>) -> Name {
        Name(name.iter().map(rdn).collect())
    }

    /// No RDN at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `base` is a leading part of this name (directoryName subtree, RFC 5280 §4.2.1.10).
    pub fn within(&self, base: &Name) -> bool {
        base.0.len() <= self.0.len() && self.0.iter().zip(&base.0).all(|(a, b)| a == b)
    }

    /// The values of the emailAddress attributes.
    pub fn emails(&self) -> Vec<String> {
        self.0
            .iter()
            .flatten()
            .filter(|a| a.oid == EMAIL_ADDRESS)
            .map(|a| a.value.clone())
            .collect()
    }

    /// This name with one more RDN (nameRelativeToCRLIssuer).
    pub fn with_rdn(&self, extra: &RelativeDistinguishedName<'_>) -> Name {
        let mut n = self.clone();
        n.0.push(rdn(extra));
        n
    }
}

fn rdn(r: &RelativeDistinguishedName<'_>) -> Vec<Attr> {
    let mut attrs: Vec<Attr> = r
        .iter()
        .map(|a| Attr {
            oid: a.attr_type().to_id_string(),
            value: match a.as_str() {
                Ok(s) => normalise(s),
                Err(_) => hex::encode(a.as_slice()),
            },
        })
        .collect();
    attrs.sort();
    attrs
}

/// Lower case, leading and trailing white space removed, inner runs of it made one space.
fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A general name in the forms path validation uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GName {
    /// rfc822Name (a mailbox, a host or a domain).
    Email(String),
    /// dNSName.
    Dns(String),
    /// uniformResourceIdentifier.
    Uri(String),
    /// iPAddress: 4 or 16 octets (a name), 8 or 32 (address and mask in a constraint).
    Ip(Vec<u8>),
    /// directoryName.
    Dir(Name),
    /// Any other form (otherName, x400Address, ediPartyName, registeredID, invalid).
    Other(&'static str),
}

impl GName {
    /// The owned form of `g`.
    pub fn from_x509(g: &GeneralName<'_>) -> GName {
        match g {
            GeneralName::RFC822Name(s) => GName::Email((*s).to_string()),
            GeneralName::DNSName(s) => GName::Dns((*s).to_string()),
            GeneralName::URI(s) => GName::Uri((*s).to_string()),
            GeneralName::IPAddress(b) => GName::Ip(b.to_vec()),
            GeneralName::DirectoryName(n) => GName::Dir(Name::from_x509(n)),
            GeneralName::OtherName(..) => GName::Other("otherName"),
            GeneralName::X400Address(_) => GName::Other("x400Address"),
            GeneralName::EDIPartyName(_) => GName::Other("ediPartyName"),
            GeneralName::RegisteredID(_) => GName::Other("registeredID"),
            GeneralName::Invalid(..) => GName::Other("invalid"),
        }
    }

    /// The same name (URIs and DNS names compared without case).
    pub fn same(&self, other: &GName) -> bool {
        match (self, other) {
            (GName::Uri(a), GName::Uri(b))
            | (GName::Dns(a), GName::Dns(b))
            | (GName::Email(a), GName::Email(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a == b,
        }
    }
}

/// The owned forms of `names`.
pub fn gnames(names: &[GeneralName<'_>]) -> Vec<GName> {
    names.iter().map(GName::from_x509).collect()
}

/// A distribution point of a certificate (cRLDistributionPoints, freshestCRL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistPoint {
    /// distributionPoint names (relative names made full), if present.
    pub names: Option<Vec<GName>>,
    /// reasons bits (`None`: all reasons).
    pub reasons: Option<u16>,
    /// cRLIssuer, if present.
    pub crl_issuer: Option<Vec<GName>>,
}

/// Some name of `a` is some name of `b`.
pub fn any_common(a: &[GName], b: &[GName]) -> bool {
    a.iter().any(|x| b.iter().any(|y| x.same(y)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        assert_eq!(normalise("  Good   CA "), "good ca");
    }

    #[test]
    fn within_is_a_prefix() {
        let a = |o: &str, v: &str| Attr {
            oid: o.into(),
            value: v.into(),
        };
        let base = Name(vec![vec![a("2.5.4.6", "vn")]]);
        let name = Name(vec![vec![a("2.5.4.6", "vn")], vec![a("2.5.4.10", "x")]]);
        assert!(name.within(&base));
        assert!(!base.within(&name));
    }
}
