//! Certification paths made by test code (rcgen, ECDSA P-256): a root, one or two CAs with
//! one flaw each, and a signer whose key and certificate are written as PEM files for
//! pyHanko. Each flaw is one thing RFC 5280 path validation must refuse.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension,
    DistinguishedName, DnType, GeneralSubtree, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    NameConstraints, RevocationReason, RevokedCertParams, SerialNumber,
};

/// What is wrong with the CA (or the path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// Nothing.
    Sound,
    /// The CA certificate's signature does not verify.
    BadCaSignature,
    /// The CA certificate expired.
    ExpiredCa,
    /// The CA certificate is not yet valid.
    NotYetValidCa,
    /// The CA certificate has no basicConstraints.
    NoBasicConstraints,
    /// The CA certificate says cA false.
    CaFalse,
    /// root → CA (pathLen 0) → sub-CA → signer.
    PathLenExceeded,
    /// The CA's keyUsage lacks keyCertSign.
    NoKeyCertSign,
    /// The CA permits only O=Permitted, C=VN; the signer is O=Other, C=VN.
    NameConstraintsViolated,
    /// As above, the signer inside the permitted subtree.
    NameConstraintsKept,
    /// The CA requires an explicit policy (requireExplicitPolicy 0); nobody asserts one.
    PolicyRequiredAbsent,
    /// The CA carries an unknown critical extension.
    UnknownCriticalExtension,
}

/// A made path.
pub struct Chain {
    /// The root (trust anchor), DER.
    pub root: Vec<u8>,
    /// The CA certificates as PEM files, the signer's issuer first.
    pub chain: Vec<PathBuf>,
    /// The signer's key and certificate (PEM).
    pub key: PathBuf,
    /// The signer's certificate (PEM file).
    pub cert: PathBuf,
    /// The CA certificate directly below the root, DER.
    pub ca: Vec<u8>,
    /// The signer's certificate, DER.
    pub leaf: Vec<u8>,
    root_key: KeyPair,
    root_params: CertificateParams,
    issuer_key: KeyPair,
    issuer_params: CertificateParams,
}

fn dn(parts: &[(DnType, &str)]) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    for (t, v) in parts {
        d.push(t.clone(), *v);
    }
    d
}

fn ca_params(name: &str, path_len: Option<u8>) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(&[(DnType::CountryName, "VN"), (DnType::CommonName, name)]);
    p.is_ca = match path_len {
        Some(n) => IsCa::Ca(BasicConstraints::Constrained(n)),
        None => IsCa::Ca(BasicConstraints::Unconstrained),
    };
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.use_authority_key_identifier_extension = true;
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(30);
    p.not_after = now + time::Duration::days(3650);
    p
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write PEM");
    p
}

fn pem_of(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))
}

/// The CA's parameters for `flaw`.
fn flawed_ca(flaw: Flaw) -> CertificateParams {
    let mut p = ca_params("Issuing CA (TEST chain)", None);
    let now = time::OffsetDateTime::now_utc();
    match flaw {
        Flaw::ExpiredCa => {
            p.not_before = now - time::Duration::days(400);
            p.not_after = now - time::Duration::days(10);
        }
        Flaw::NotYetValidCa => {
            p.not_before = now + time::Duration::days(10);
        }
        Flaw::NoBasicConstraints => p.is_ca = IsCa::NoCa,
        Flaw::CaFalse => p.is_ca = IsCa::ExplicitNoCa,
        Flaw::PathLenExceeded => p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0)),
        Flaw::NoKeyCertSign => {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
        }
        Flaw::NameConstraintsViolated | Flaw::NameConstraintsKept => {
            p.name_constraints = Some(NameConstraints {
                permitted_subtrees: vec![GeneralSubtree::DirectoryName(dn(&[
                    (DnType::CountryName, "VN"),
                    (DnType::OrganizationName, "Permitted"),
                ]))],
                excluded_subtrees: vec![],
            });
        }
        Flaw::PolicyRequiredAbsent => {
            // PolicyConstraints ::= SEQUENCE { requireExplicitPolicy [0] 0 }
            let mut e = CustomExtension::from_oid_content(
                &[2, 5, 29, 36],
                vec![0x30, 0x03, 0x80, 0x01, 0x00],
            );
            e.set_criticality(true);
            p.custom_extensions.push(e);
        }
        Flaw::UnknownCriticalExtension => {
            let mut e =
                CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00]);
            e.set_criticality(true);
            p.custom_extensions.push(e);
        }
        Flaw::Sound | Flaw::BadCaSignature => {}
    }
    p
}

/// Makes a root, the CA(s) and a signer for `flaw`, writing the PEM files into `dir`.
pub fn make(dir: &Path, flaw: Flaw) -> Chain {
    let root_key = KeyPair::generate().expect("key");
    let root_params = ca_params("Root CA (TEST chain)", None);
    let root = root_params.self_signed(&root_key).expect("root");
    let root_issuer = Issuer::from_params(&root_params, &root_key);
    let ca_key = KeyPair::generate().expect("key");
    let ca_p = flawed_ca(flaw);
    let mut ca_der = ca_p
        .signed_by(&ca_key, &root_issuer)
        .expect("CA")
        .der()
        .to_vec();
    if flaw == Flaw::BadCaSignature {
        let last = ca_der.len() - 1;
        ca_der[last] ^= 0x01;
    }
    let mut chain = vec![write(dir, "ca.pem", &pem_of(&ca_der))];
    let (issuer_key, issuer_params) = if flaw == Flaw::PathLenExceeded {
        let sub_key = KeyPair::generate().expect("key");
        let sub_p = ca_params("Sub CA (TEST chain)", None);
        let sub = sub_p
            .signed_by(&sub_key, &Issuer::from_params(&ca_p, &ca_key))
            .expect("sub CA");
        chain.insert(0, write(dir, "sub.pem", &sub.pem()));
        (sub_key, sub_p)
    } else {
        (ca_key, ca_p)
    };
    let leaf_key = KeyPair::generate().expect("key");
    let mut lp = CertificateParams::default();
    let org = if flaw == Flaw::NameConstraintsViolated {
        "Other"
    } else {
        "Permitted"
    };
    lp.distinguished_name = dn(&[
        (DnType::CountryName, "VN"),
        (DnType::OrganizationName, org),
        (DnType::CommonName, "Signer (TEST chain)"),
    ]);
    lp.is_ca = IsCa::ExplicitNoCa;
    lp.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    lp.use_authority_key_identifier_extension = true;
    let now = time::OffsetDateTime::now_utc();
    lp.not_before = now - time::Duration::days(1);
    lp.not_after = now + time::Duration::days(365);
    let leaf = lp
        .signed_by(&leaf_key, &Issuer::from_params(&issuer_params, &issuer_key))
        .expect("leaf");
    Chain {
        root: root.der().to_vec(),
        chain,
        key: write(dir, "signer.key.pem", &leaf_key.serialize_pem()),
        cert: write(dir, "signer.pem", &leaf.pem()),
        ca: ca_der,
        leaf: leaf.der().to_vec(),
        root_key,
        root_params,
        issuer_key,
        issuer_params,
    }
}

impl Chain {
    /// A CRL of the root revoking the CA.
    pub fn root_crl_revoking_ca(&self) -> Vec<u8> {
        let issuer = Issuer::from_params(&self.root_params, &self.root_key);
        crl(&issuer, &self.ca)
    }

    /// A CRL of the signer's issuer revoking the signer, its signature spoilt.
    pub fn badly_signed_crl_revoking_signer(&self) -> Vec<u8> {
        let issuer = Issuer::from_params(&self.issuer_params, &self.issuer_key);
        let mut der = crl(&issuer, &self.leaf);
        let last = der.len() - 1;
        der[last] ^= 0x01;
        der
    }
}

fn crl(issuer: &Issuer<'_, &KeyPair>, revoked: &[u8]) -> Vec<u8> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, c) = X509Certificate::from_der(revoked).expect("certificate");
    let now = time::OffsetDateTime::now_utc();
    CertificateRevocationListParams {
        this_update: now - time::Duration::hours(1),
        next_update: now + time::Duration::days(7),
        crl_number: SerialNumber::from_slice(&[1]),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from_slice(c.raw_serial()),
            revocation_time: now - time::Duration::minutes(30),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(issuer)
    .expect("CRL")
    .der()
    .to_vec()
}
