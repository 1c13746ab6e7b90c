//! The PAdES baseline level a copy is signed at, and the `[signing]` configuration.

use serde::Deserialize;

/// A PAdES baseline level (ETSI EN 319 142-1). Only B-B and B-T are made today; B-LT and
/// B-LTA (validation data in the /DSS, a document time-stamp) come later and will take
/// their places here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum SignatureLevel {
    /// Signed attributes only: the signing time is the service's own claim.
    #[serde(rename = "B-B")]
    BB,
    /// B-B plus a signature time-stamp (RFC 3161) over each signature value.
    #[default]
    #[serde(rename = "B-T")]
    BT,
}

impl SignatureLevel {
    /// True when each signature carries a signature time-stamp.
    pub fn needs_timestamp(self) -> bool {
        self >= SignatureLevel::BT
    }

    /// The level's name as the standard writes it (`B-B`, `B-T`).
    pub fn name(self) -> &'static str {
        match self {
            SignatureLevel::BB => "B-B",
            SignatureLevel::BT => "B-T",
        }
    }
}

/// `[signing]`: how copies are signed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigningConfig {
    /// The PAdES level of both signatures of a copy: `"B-T"` (the default: each signature
    /// time-stamped by a TSA of `[tsa] urls`) or `"B-B"` (no time-stamp, said explicitly).
    pub level: SignatureLevel,
}
