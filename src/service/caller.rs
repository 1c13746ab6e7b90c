//! Who is calling: read from the request metadata in one place, so that authentication
//! (mTLS, tokens) can replace it later without touching the RPCs.

use tonic::Request;

use crate::app::Caller;

/// Metadata key carrying the caller's stated identity (unauthenticated for now).
pub const CALLER_HEADER: &str = "x-saoy-caller";

/// The caller of `request`: the `x-saoy-caller` value when it is printable ASCII of at
/// most 128 characters, else anonymous.
pub fn caller_of<T>(request: &Request<T>) -> Caller {
    request
        .metadata()
        .get(CALLER_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| (' '..='~').contains(&c)))
        .map(Caller::named)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_header() {
        let mut request = Request::new(());
        assert_eq!(caller_of(&request), Caller::anonymous());
        request
            .metadata_mut()
            .insert(CALLER_HEADER, "clerk-07@H72.21.01".parse().unwrap());
        assert_eq!(caller_of(&request), Caller::named("clerk-07@H72.21.01"));
    }
}
