//! X.509: certificates, certification paths, CRLs and OCSP responses.

pub mod certs;
pub mod ocsp;
pub mod path;
pub mod revocation;
