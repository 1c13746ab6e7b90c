//! The TEST-ONLY TLS material in `certs-test/tls/`, written by `saoy pki init` (and alone
//! by `saoy pki init-tls`): a TLS CA as a provincial CA would run it, the server's
//! certificate, and one client certificate per role in the profile of
//! [`crate::identity::profile`] (role policy, agency in organizationIdentifier,
//! clientAuth), plus the failure cases the tests need.

use std::path::Path;

use rcgen::{
    CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, Issuer, RevocationReason, RevokedCertParams, SanType,
};
use time::{Duration, OffsetDateTime};

use super::testca::{TestCaError, ca_params, crl_params, ec_key, gen_err, name, serial};
use crate::clock::{Clock, SystemClock};
use crate::identity::Role;

/// organizationIdentifier (X.520), the agency code of a client certificate.
const OID_ORGANIZATION_IDENTIFIER: &[u64] = &[2, 5, 4, 97];
/// certificatePolicies.
const OID_CERTIFICATE_POLICIES: &[u64] = &[2, 5, 29, 32];

/// One client certificate of the test set.
struct Client {
    file: &'static str,
    cn: &'static str,
    agency: &'static str,
    role: Role,
    serial: u64,
    expired: bool,
}

const CLIENTS: &[Client] = &[
    Client {
        file: "clerk",
        cn: "Trần Thị Một Cửa (TEST)",
        agency: "H72.21.01",
        role: Role::Clerk,
        serial: 200,
        expired: false,
    },
    Client {
        file: "certifier",
        cn: "Nguyễn Thị Hồng Nhung (TEST)",
        agency: "H72.21.01",
        role: Role::Certifier,
        serial: 201,
        expired: false,
    },
    Client {
        file: "admin",
        cn: "Phạm Văn Quản Trị (TEST)",
        agency: "H72.21.01",
        role: Role::Admin,
        serial: 202,
        expired: false,
    },
    Client {
        file: "verifier",
        cn: "Sở Tư pháp Tây Ninh — kiểm tra (TEST)",
        agency: "H72.30",
        role: Role::Verifier,
        serial: 203,
        expired: false,
    },
    Client {
        file: "portal",
        cn: "Cổng dịch vụ công Tây Ninh (TEST)",
        agency: "H72",
        role: Role::Portal,
        serial: 204,
        expired: false,
    },
    Client {
        file: "expired",
        cn: "Lê Thị Hết Hạn (TEST)",
        agency: "H72.21.01",
        role: Role::Clerk,
        serial: 205,
        expired: true,
    },
    Client {
        file: "revoked",
        cn: "Võ Văn Thu Hồi (TEST)",
        agency: "H72.21.01",
        role: Role::Clerk,
        serial: 206,
        expired: false,
    },
    Client {
        file: "clerk2",
        cn: "Đỗ Thị Xã Bên (TEST)",
        agency: "H72.21.02",
        role: Role::Clerk,
        serial: 207,
        expired: false,
    },
];

/// Serial of `revoked.pem`, listed in `ca.crl`.
const REVOKED_SERIAL: u64 = 206;

fn write(dir: &Path, file: &str, contents: &[u8]) -> Result<(), TestCaError> {
    let path = dir.join(file);
    std::fs::write(&path, contents).map_err(|source| TestCaError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn client_dn(cn: &str, agency: &str) -> DistinguishedName {
    let mut dn = name(&[
        (DnType::CountryName, "VN"),
        (DnType::LocalityName, "Tây Ninh"),
        (DnType::OrganizationName, "UBND tỉnh Tây Ninh (TEST)"),
        (DnType::CommonName, cn),
    ]);
    dn.push(
        DnType::CustomDnType(OID_ORGANIZATION_IDENTIFIER.to_vec()),
        DnValue::Utf8String(agency.to_string()),
    );
    dn
}

fn client_params(c: &Client, serial_no: u64, now: OffsetDateTime) -> CertificateParams {
    let day = Duration::days(1);
    let mut p = CertificateParams::default();
    p.distinguished_name = client_dn(c.cn, c.agency);
    p.serial_number = Some(serial(serial_no));
    (p.not_before, p.not_after) = if c.expired {
        (now - 400 * day, now - 30 * day)
    } else {
        (now - day, now + 3 * 365 * day)
    };
    p.is_ca = rcgen::IsCa::ExplicitNoCa;
    p.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.use_authority_key_identifier_extension = true;
    p.key_identifier_method = rcgen::KeyIdMethod::Sha256;
    p.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec!["http://127.0.0.1:50070/crl/tls-ca.crl".into()],
    }];
    p.custom_extensions = vec![CustomExtension::from_oid_content(
        OID_CERTIFICATE_POLICIES,
        c.role.certificate_policies_der(),
    )];
    p
}

/// Writes `ca.pem`, `ca.key.pem`, `ca.crl`, `server.pem` + `server.key.pem`, and
/// `NAME.pem` + `NAME.key.pem` for every client and for `stranger` (a clerk certificate
/// from a CA nobody trusts) into `dir` (created if missing).
pub fn generate_tls(dir: &Path) -> Result<(), TestCaError> {
    std::fs::create_dir_all(dir).map_err(|source| TestCaError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    let now = SystemClock.now();
    let year = Duration::days(365);
    let ca_key = ec_key()?;
    let params = ca_params(
        tls_ca_name("SAOY TEST TLS CA tỉnh Tây Ninh (thử nghiệm)"),
        190,
        now - year,
        now + 15 * year,
        Some(0),
        None,
    );
    let ca_cert = params.self_signed(&ca_key).map_err(gen_err)?;
    let ca = Issuer::new(params, &ca_key);
    write(dir, "ca.pem", ca_cert.pem().as_bytes())?;
    write(dir, "ca.key.pem", ca_key.serialize_pem().as_bytes())?;

    let server_key = ec_key()?;
    let mut server = CertificateParams::new(vec!["localhost".to_string()]).map_err(gen_err)?;
    server
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    server.distinguished_name = name(&[
        (DnType::CountryName, "VN"),
        (DnType::OrganizationName, "SAOY TEST"),
        (DnType::CommonName, "localhost"),
    ]);
    server.serial_number = Some(serial(199));
    server.not_before = now - Duration::days(1);
    server.not_after = now + 10 * year;
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &ca).map_err(gen_err)?;
    write(
        dir,
        "server.pem",
        format!("{}{}", server_cert.pem(), ca_cert.pem()).as_bytes(),
    )?;
    write(dir, "server.key.pem", server_key.serialize_pem().as_bytes())?;

    for c in CLIENTS {
        let key = ec_key()?;
        let cert = client_params(c, c.serial, now)
            .signed_by(&key, &ca)
            .map_err(gen_err)?;
        write(dir, &format!("{}.pem", c.file), cert.pem().as_bytes())?;
        write(
            dir,
            &format!("{}.key.pem", c.file),
            key.serialize_pem().as_bytes(),
        )?;
    }
    let crl = crl_params(
        now,
        vec![RevokedCertParams {
            serial_number: serial(REVOKED_SERIAL),
            revocation_time: now - Duration::days(1),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
    )
    .signed_by(&ca)
    .map_err(gen_err)?;
    write(dir, "ca.crl", crl.der())?;
    write_stranger(dir, now)
}

fn tls_ca_name(cn: &str) -> DistinguishedName {
    name(&[
        (DnType::CountryName, "VN"),
        (DnType::OrganizationName, "SAOY TEST PKI — KHÔNG DÙNG THẬT"),
        (DnType::CommonName, cn),
    ])
}

/// A clerk certificate with the right profile from a CA saoy does not trust.
fn write_stranger(dir: &Path, now: OffsetDateTime) -> Result<(), TestCaError> {
    let year = Duration::days(365);
    let key = ec_key()?;
    let params = ca_params(
        tls_ca_name("SAOY TEST TLS CA lạ — không được tin cậy"),
        290,
        now - year,
        now + 10 * year,
        Some(0),
        None,
    );
    let other = Issuer::new(params, &key);
    let stranger = Client {
        file: "stranger",
        cn: "Kẻ Lạ Mặt (TEST)",
        agency: "H72.21.01",
        role: Role::Clerk,
        serial: 291,
        expired: false,
    };
    let leaf_key = ec_key()?;
    let cert = client_params(&stranger, stranger.serial, now)
        .signed_by(&leaf_key, &other)
        .map_err(gen_err)?;
    write(dir, "stranger.pem", cert.pem().as_bytes())?;
    write(dir, "stranger.key.pem", leaf_key.serialize_pem().as_bytes())
}
