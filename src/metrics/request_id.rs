//! The request id of a call: taken from the caller's `x-request-id` when it is well formed
//! (1 to 128 characters of `A-Z a-z 0-9 . _ -`), else made (a UUIDv7). It is in the call's
//! tracing span (so in every log line of the call), in its audit entries, and sent back in
//! the answer's `x-request-id`.

use std::future::Future;

/// The metadata (header) name of the request id.
pub const HEADER: &str = "x-request-id";

/// Longest request id taken from a caller.
pub const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: String;
}

/// True when `id` may be taken as it is.
pub fn is_valid(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The caller's id when valid, else a new one.
pub fn take_or_make(sent: Option<&str>) -> String {
    match sent {
        Some(id) if is_valid(id) => id.to_string(),
        _ => uuid::Uuid::now_v7().to_string(),
    }
}

/// Runs `work` with `id` as the current request id.
pub async fn scope<F: Future>(id: String, work: F) -> F::Output {
    CURRENT.scope(id, work).await
}

/// The request id of the call being served on this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(String::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_are_kept_and_others_replaced() {
        assert_eq!(take_or_make(Some("abc-1.2_3")), "abc-1.2_3");
        for bad in ["", "a b", "ä", "x\n", &"x".repeat(129)] {
            let made = take_or_make(Some(bad));
            assert_ne!(made, bad);
            assert!(is_valid(&made), "{made}");
        }
        assert!(is_valid(&take_or_make(None)));
        assert!(is_valid(&"x".repeat(128)));
    }

    #[tokio::test]
    async fn current_inside_the_scope_only() {
        assert_eq!(current(), None);
        let inside = scope("r1".into(), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("r1"));
    }
}
