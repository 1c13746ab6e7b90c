//! The test hierarchy's time-stamping authority: `tsa.pem` (ECDSA P-256, issued by the
//! issuing CA, extKeyUsage id-kp-timeStamping alone and critical, RFC 3161 §2.3),
//! `tsa.key.pem` and `tsa-chain.pem` (TSA + issuing CA). Added to an existing hierarchy by
//! [`add_tsa`], like [`super::testca::add_second_agency`]; `saoy pki serve` signs with it.

use std::path::Path;

use rcgen::{
    CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, PKCS_RSA_SHA256,
};
use time::Duration;

use super::testca::{TestCaError, ec_key, gen_err, name, serial};
use crate::clock::{Clock, SystemClock};

/// The serial of the test TSA's certificate (unique in the hierarchy).
const TSA_SERIAL: u64 = 16;

/// DER of `ExtKeyUsageSyntax ::= SEQUENCE { id-kp-timeStamping }`.
const EKU_TIME_STAMPING: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
];

/// Issues the test TSA's certificate from the issuing CA in `dir` (`issuing-ca.pem`,
/// `issuing-ca.key.pem`) and writes `tsa.pem`, `tsa.key.pem`, `tsa-chain.pem`, leaving
/// every other file as it is.
pub fn add_tsa(dir: &Path) -> Result<(), TestCaError> {
    let read = |f: &str| {
        let path = dir.join(f);
        std::fs::read_to_string(&path).map_err(|source| TestCaError::Write {
            path: path.display().to_string(),
            source,
        })
    };
    let write = |f: &str, text: &str| {
        let path = dir.join(f);
        std::fs::write(&path, text).map_err(|source| TestCaError::Write {
            path: path.display().to_string(),
            source,
        })
    };
    let ca_pem = read("issuing-ca.pem")?;
    let ca_key =
        KeyPair::from_pkcs8_pem_and_sign_algo(&read("issuing-ca.key.pem")?, &PKCS_RSA_SHA256)
            .map_err(gen_err)?;
    let ca = Issuer::from_ca_cert_pem(&ca_pem, &ca_key).map_err(gen_err)?;
    let now = SystemClock.now();
    let mut p = CertificateParams::default();
    p.distinguished_name = name(&[
        (DnType::CountryName, "VN"),
        (DnType::OrganizationName, "SAOY TEST PKI — KHÔNG DÙNG THẬT"),
        (DnType::CommonName, "SAOY TEST TSA (thử nghiệm)"),
    ]);
    p.serial_number = Some(serial(TSA_SERIAL));
    p.not_before = now - Duration::days(30);
    p.not_after = now + Duration::days(10 * 365);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.use_authority_key_identifier_extension = true;
    p.key_identifier_method = KeyIdMethod::Sha256;
    let mut eku = CustomExtension::from_oid_content(&[2, 5, 29, 37], EKU_TIME_STAMPING.to_vec());
    eku.set_criticality(true);
    p.custom_extensions = vec![eku];
    let key = ec_key()?;
    let cert = p.signed_by(&key, &ca).map_err(gen_err)?;
    write("tsa.pem", &cert.pem())?;
    write("tsa.key.pem", &key.serialize_pem())?;
    write("tsa-chain.pem", &format!("{}{ca_pem}", cert.pem()))
}
