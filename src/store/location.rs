//! Which backend a store URL names, and opening it.

use std::path::PathBuf;
use std::sync::Arc;

use super::{LocalStore, ObjectStore, S3Location, S3Options, S3Store, StoreError};

/// Where the objects live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A local directory (the embedded default).
    Local(PathBuf),
    /// An S3 bucket and key prefix.
    S3(S3Location),
}

impl Location {
    /// `s3://BUCKET[/prefix]` names an S3 store; anything else is a local directory path.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        if text.starts_with("s3://") {
            return S3Location::parse(text).map(Self::S3);
        }
        if text.contains("://") {
            return Err(StoreError::invalid_key(
                text,
                "unknown store scheme: use s3://BUCKET[/prefix] or a directory path",
            ));
        }
        if text.is_empty() {
            return Err(StoreError::invalid_key(text, "the store location is empty"));
        }
        Ok(Self::Local(PathBuf::from(text)))
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(dir) => write!(f, "{}", dir.display()),
            Self::S3(s3) => write!(f, "{s3}"),
        }
    }
}

/// Opens the store at `location`; for S3 also checks that the bucket is reachable.
pub async fn open(location: &Location, s3: &S3Options) -> Result<Arc<dyn ObjectStore>, StoreError> {
    match location {
        Location::Local(dir) => Ok(Arc::new(LocalStore::open(dir).await?)),
        Location::S3(at) => {
            let store = S3Store::connect(at.clone(), s3).await?;
            store.check_bucket().await?;
            Ok(Arc::new(store))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_kinds() {
        assert_eq!(
            Location::parse("/var/lib/saoy").unwrap(),
            Location::Local("/var/lib/saoy".into())
        );
        assert!(matches!(
            Location::parse("s3://saoy/x").unwrap(),
            Location::S3(_)
        ));
        assert!(Location::parse("gs://saoy").is_err());
        assert!(Location::parse("").is_err());
    }
}
