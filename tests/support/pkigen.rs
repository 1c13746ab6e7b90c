//! Extra test certificates issued on the fly by certs-test's issuing CA (rcgen): a P-384
//! signer and a time-stamping authority whose EKU (id-kp-timeStamping) is critical.

use std::path::{Path, PathBuf};

use rcgen::{
    CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256,
};

use super::pki;

/// A key and certificate written as PEM files.
pub struct Issued {
    /// Private key (PKCS#8 PEM).
    pub key: PathBuf,
    /// Certificate PEM.
    pub cert: PathBuf,
    /// Certificate DER.
    pub der: Vec<u8>,
    /// The certificate followed by the issuing CA's (PEM), as a signer's chain file.
    pub chain: PathBuf,
}

/// What to issue.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A document signer with an ECDSA P-384 key.
    SignerP384,
    /// A time-stamping authority with a critical timeStamping EKU. Its RSA key is the agency's
    /// test key (pyHanko's DummyTimeStamper signs with RSA only).
    Tsa,
    /// A renewed organisation certificate of the first test agency (same organisation, a
    /// new ECDSA P-256 key and serial).
    AgencyRenewal,
}

/// Issues a certificate of `kind` from the issuing CA into `dir`.
pub fn issue(dir: &Path, kind: Kind) -> Issued {
    let ca_key_pem = std::fs::read_to_string(pki("issuing-ca.key.pem")).expect("CA key");
    let ca_key = KeyPair::from_pem(&ca_key_pem).expect("CA key parses");
    let ca_pem = std::fs::read_to_string(pki("issuing-ca.pem")).expect("CA cert");
    let ca = Issuer::from_ca_cert_pem(&ca_pem, &ca_key).expect("CA issuer");
    let (key, cn, file) = match kind {
        Kind::SignerP384 => (
            KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).expect("key"),
            "P-384 signer (TEST)",
            "p384",
        ),
        Kind::AgencyRenewal => (
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key"),
            "UBND xã Tân Lập (TEST, renewed)",
            "agency-renewed",
        ),
        Kind::Tsa => {
            let pem = std::fs::read_to_string(pki("agency.key.pem")).expect("agency key");
            (
                KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &PKCS_RSA_SHA256).expect("RSA key"),
                "Local TSA (TEST)",
                "tsa",
            )
        }
    };
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name.push(DnType::CountryName, "VN");
    if let Kind::AgencyRenewal = kind {
        p.distinguished_name
            .push(DnType::OrganizationName, "UBND xã Tân Lập");
        p.distinguished_name.push(DnType::LocalityName, "Tây Ninh");
    }
    p.is_ca = IsCa::ExplicitNoCa;
    p.use_authority_key_identifier_extension = true;
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(30);
    p.not_after = now + time::Duration::days(365);
    match kind {
        Kind::SignerP384 | Kind::AgencyRenewal => {
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
            ];
        }
        Kind::Tsa => {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            // ExtKeyUsage ::= SEQUENCE { id-kp-timeStamping }, marked critical (RFC 3161 2.3).
            let mut eku = CustomExtension::from_oid_content(
                &[2, 5, 29, 37],
                vec![
                    0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
                ],
            );
            eku.set_criticality(true);
            p.custom_extensions = vec![eku];
        }
    }
    let cert = p.signed_by(&key, &ca).expect("issue");
    let keyp = dir.join(format!("{file}.key.pem"));
    let certp = dir.join(format!("{file}.pem"));
    std::fs::write(&keyp, key.serialize_pem()).expect("write key");
    std::fs::write(&certp, cert.pem()).expect("write cert");
    let chainp = dir.join(format!("{file}-chain.pem"));
    std::fs::write(&chainp, format!("{}{ca_pem}", cert.pem())).expect("write chain");
    Issued {
        key: keyp,
        cert: certp,
        der: cert.der().to_vec(),
        chain: chainp,
    }
}
