//! PDF signature validation in the ETSI EN 319 102-1 model. Shares nothing with `sign`:
//! it re-parses the bytes like a stranger would.

mod asn1;
mod cms;
mod crypto;
mod report;

pub use report::{Check, Indication, Report, SignatureReport, SignerSummary, SubIndication};
