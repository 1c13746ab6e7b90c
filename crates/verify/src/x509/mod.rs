//! X.509: certificates, certification paths (RFC 5280 §6), CRLs and OCSP responses.
//!
//! The public face is [`validate_path`]: one certificate validated against trust anchors,
//! with the same code that judges the certificates of PDF signatures, time-stamps, OCSP
//! responders and CRL issuers.

pub(crate) mod certs;
pub(crate) mod crl_scope;
pub(crate) mod dist_points;
pub(crate) mod name_constraints;
pub(crate) mod names;
pub(crate) mod ocsp;
pub(crate) mod path;
pub(crate) mod path_build;
pub(crate) mod policy_graph;
pub(crate) mod revocation;
pub(crate) mod validate;

pub use validate::{
    PathCertificate, PathFailure, PathInput, PathOptions, RevocationMode, ValidPath, sub_name,
    validate_path,
};
