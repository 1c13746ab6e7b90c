//! Settings of the audit log (`[audit]` in the config file once the service reads it).

use serde::Deserialize;

/// Default of [`AuditConfig::checkpoint_every_entries`].
pub const DEFAULT_CHECKPOINT_EVERY_ENTRIES: u64 = 1000;
/// Default of [`AuditConfig::checkpoint_every_secs`].
pub const DEFAULT_CHECKPOINT_EVERY_SECS: u64 = 300;
/// Default of [`AuditConfig::max_batch`].
pub const DEFAULT_MAX_BATCH: usize = 256;

/// How often the log seals checkpoints and how many entries one block may hold.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// A signed checkpoint is written once this many entries are not yet sealed (0 = never
    /// by count). Default 1000.
    pub checkpoint_every_entries: u64,
    /// A signed checkpoint is written when entries have waited this many seconds since the
    /// last one (checked when a block is written and by [`super::AuditLog::spawn_sealer`];
    /// 0 = never by time). Default 300.
    pub checkpoint_every_secs: u64,
    /// Most entries written as one block (group commit); at least 1. Default 256.
    pub max_batch: usize,
    /// A second store every checkpoint is also written to (`s3://BUCKET[/prefix]` or a
    /// directory), kept where whoever can write the main store cannot; empty = none.
    pub checkpoint_copy: String,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_every_entries: DEFAULT_CHECKPOINT_EVERY_ENTRIES,
            checkpoint_every_secs: DEFAULT_CHECKPOINT_EVERY_SECS,
            max_batch: DEFAULT_MAX_BATCH,
            checkpoint_copy: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_fields() {
        let c: AuditConfig = toml::from_str("max_batch = 8").unwrap();
        assert_eq!(c.max_batch, 8);
        assert_eq!(c.checkpoint_every_entries, 1000);
        assert_eq!(c.checkpoint_every_secs, 300);
        assert!(toml::from_str::<AuditConfig>("max_bach = 8").is_err());
    }
}
