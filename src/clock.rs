//! The one source of "now" and the one Vietnam offset: every module that needs the time
//! (records, assembly, the use cases, the CLI) takes a [`Clock`] instead of reading the wall
//! clock, so tests can fix it. Imports nothing of saoy, so every module may use it.

use std::sync::Arc;

use time::{OffsetDateTime, UtcOffset};

/// Vietnam's UTC offset (+07:00), used for every time saoy prints or signs.
pub const VIETNAM_OFFSET: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The source of "now", behind a trait so tests can fix it.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> OffsetDateTime;

    /// The current time in Vietnam (+07:00).
    fn now_vietnam(&self) -> OffsetDateTime {
        self.now().to_offset(VIETNAM_OFFSET)
    }
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system clock, shared.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A clock that always says the same time (tests, reproducible runs).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// RFC 3339 / ISO 8601 with the offset and whole seconds, e.g. `2026-11-24T09:15:30+07:00`:
/// the one format of every time saoy stores or prints.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnam_time_is_seven_hours_ahead() {
        let clock = FixedClock(time::macros::datetime!(2026-11-24 02:15:30.5 UTC));
        assert_eq!(rfc3339(clock.now_vietnam()), "2026-11-24T09:15:30+07:00");
    }
}
