//! Who calls, and the one place where access is decided.

use super::*;

/// Who is calling, as the transport established it (today: the `x-saoy-caller` request
/// metadata, unauthenticated). Access rules are decided in [`App::authorize`] alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    /// The caller's stated identity; `None` when it gave none.
    pub id: Option<String>,
}

impl Caller {
    /// A caller that gave no identity.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// A caller known as `id`.
    pub fn named(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
        }
    }

    /// The identity for logs and records, `anonymous` when none.
    pub fn label(&self) -> &str {
        self.id.as_deref().unwrap_or("anonymous")
    }
}

/// What a caller asks to do, as seen by [`App::authorize`].
#[derive(Clone, Copy, Debug)]
pub enum Action<'a> {
    /// Certify an original (number, sign, store a copy).
    Certify,
    /// Verify a PDF the caller sent.
    VerifyBytes,
    /// Verify a stored copy by its id.
    VerifyCopy(&'a str),
    /// Digitise scans into a PDF/A (back office).
    Digitize,
    /// Read a copy and its record.
    ReadCopy(&'a str),
    /// List an owner's records.
    ListRecords(&'a str),
    /// Find an owner's reusable results.
    FindReusable(&'a str),
    /// Ask whether a file is a copy issued here.
    LookupByHash,
    /// Revoke a copy.
    RevokeCopy(&'a str),
}

impl App {
    /// The single place where access rules are decided. None are enforced yet (a later
    /// issue); every decision is logged with the caller.
    pub fn authorize(&self, caller: &Caller, action: Action<'_>) -> Result<()> {
        tracing::debug!(
            caller = caller.label(),
            ?action,
            "access granted (no rules yet)"
        );
        Ok(())
    }
}
