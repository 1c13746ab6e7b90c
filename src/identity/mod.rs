//! Who a caller is, read from what it presented: the role and agency its client certificate
//! names ([`profile`]) and, for the citizen portal, the citizen a short signed assertion
//! names ([`assertion`]). Knows nothing of TLS, gRPC or the rules: `app` judges the
//! certificate's path and decides what the holder may do.

pub mod assertion;
pub mod profile;

pub use assertion::{AssertionError, CitizenClaims, MAX_ASSERTION_LIFETIME_SECS, mint, verify};
pub use profile::{Holder, ProfileError, ROLE_POLICY_ARC, Role};
