//! [`S3Store`]: objects in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, s3s-fs, …)
//! through aws-sdk-s3. No aws-sdk type leaves this module.
//!
//! - Create-only writes are `PutObject` with `If-None-Match: *`; the server answers 412 when
//!   the key exists. Stores that ignore the header (Garage 2.5) overwrite instead:
//!   [`super::probe_conditional_writes`] detects that at start.
//! - Objects larger than [`MULTIPART_THRESHOLD`] are uploaded in parts (multipart upload),
//!   so one failed part is retried alone; a failed upload is aborted.
//! - Throttling, 5xx answers and connection failures are retried with exponential backoff
//!   (the SDK's standard retry mode); what still fails becomes
//!   [`StoreError::Unavailable`] with the endpoint and the cause in the message.
//! - Checksums are computed and validated only when an operation requires them, which S3
//!   clones expect.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use bytes::Bytes;

use super::{ObjectStore, StoreError, validate_key, validate_prefix};

/// Objects above this size are uploaded with a multipart upload.
pub const MULTIPART_THRESHOLD: usize = 8 << 20;
/// Size of each part of a multipart upload (S3's minimum is 5 MiB).
const PART_SIZE: usize = 8 << 20;
/// Region used when neither the options nor the environment name one (S3 clones accept any).
const FALLBACK_REGION: &str = "us-east-1";
/// First backoff of the create-only write's own retry loop; doubles per attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest backoff between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Where the bucket is: `s3://BUCKET[/prefix]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix inside the bucket, empty or ending with `/`.
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://BUCKET[/prefix]`; the prefix follows the key rules and gets a trailing
    /// `/`.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let invalid = |reason: &str| StoreError::invalid_key(url, reason);
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| invalid("an S3 store is written s3://BUCKET[/prefix]"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        if !bucket_ok {
            return Err(invalid(
                "the bucket name must be 3 to 63 of a-z, 0-9, '-' and '.', starting and ending \
                 with a letter or digit",
            ));
        }
        let prefix = prefix.trim_end_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            validate_key(prefix)?;
            format!("{prefix}/")
        };
        Ok(Self {
            bucket: bucket.to_string(),
            prefix,
        })
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Access key pair given explicitly (tests, tools); normally credentials come from the
/// environment or the AWS config files.
#[derive(Clone)]
pub struct S3Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// How to reach the S3 service. Unset fields come from the AWS environment
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, or
/// `~/.aws/config` and `~/.aws/credentials`).
#[derive(Clone, Debug)]
pub struct S3Options {
    /// Endpoint such as `http://127.0.0.1:9000`; `None`: the environment, else AWS.
    pub endpoint_url: Option<String>,
    /// Region; `None`: the environment, else `us-east-1`.
    pub region: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), needed by most self-hosted servers.
    pub force_path_style: bool,
    /// Explicit credentials; `None`: the AWS credential chain.
    pub credentials: Option<S3Credentials>,
    /// Attempts per operation, the first included (≥ 1).
    pub max_attempts: u32,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one attempt of one operation.
    pub attempt_timeout: Duration,
}

impl Default for S3Options {
    fn default() -> Self {
        Self {
            endpoint_url: None,
            region: None,
            force_path_style: true,
            credentials: None,
            max_attempts: 4,
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(60),
        }
    }
}

/// An object store in an S3 bucket, under an optional key prefix.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    location: S3Location,
    /// The endpoint in use, for messages.
    endpoint: String,
    max_attempts: u32,
}

impl S3Store {
    /// Builds the client for `location`. Does not contact the server (see
    /// [`S3Store::check_bucket`]).
    pub async fn connect(location: S3Location, options: &S3Options) -> Result<Self, StoreError> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let max_attempts = options.max_attempts.max(1);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(max_attempts)
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(MAX_BACKOFF),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(options.connect_timeout)
                    .operation_attempt_timeout(options.attempt_timeout)
                    .build(),
            );
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(region) = options.region.clone().or_else(region_from_env) {
            loader = loader.region(Region::new(region));
        }
        if let Some(c) = &options.credentials {
            loader = loader.credentials_provider(Credentials::new(
                &c.access_key_id,
                &c.secret_access_key,
                None,
                None,
                "saoy-config",
            ));
        }
        let shared = loader.load().await;
        let mut builder = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(options.force_path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if shared.region().is_none() {
            builder = builder.region(Region::new(FALLBACK_REGION));
        }
        let endpoint = shared
            .endpoint_url()
            .map(str::to_string)
            .unwrap_or_else(|| "the AWS S3 endpoint".into());
        Ok(Self {
            client: Client::from_conf(builder.build()),
            location,
            endpoint,
            max_attempts,
        })
    }

    /// Checks that the bucket exists and the credentials may use it.
    pub async fn check_bucket(&self) -> Result<(), StoreError> {
        self.client
            .head_bucket()
            .bucket(&self.location.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failure("open", "", e))
    }

    /// Where the store lives.
    pub fn location(&self) -> &S3Location {
        &self.location
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.location.prefix)
    }

    /// Turns an SDK error into [`StoreError::Unavailable`] with a readable cause.
    fn failure<E, R>(&self, op: &'static str, key: &str, err: SdkError<E, R>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + HttpStatus,
    {
        let cause = match &err {
            SdkError::DispatchFailure(d) if d.is_timeout() => format!(
                "timed out connecting to the S3 endpoint {} ({})",
                self.endpoint,
                DisplayErrorContext(&err)
            ),
            SdkError::DispatchFailure(_) => format!(
                "cannot connect to the S3 endpoint {}: is the server running and reachable? ({})",
                self.endpoint,
                DisplayErrorContext(&err)
            ),
            SdkError::TimeoutError(_) => {
                format!("the S3 endpoint {} did not answer in time", self.endpoint)
            }
            SdkError::ServiceError(service) => format!(
                "S3 endpoint {} answered HTTP {} {} for bucket {:?}: {}",
                self.endpoint,
                service.raw().status_code(),
                service.err().code().unwrap_or("(no error code)"),
                self.location.bucket,
                service.err().message().unwrap_or("(no message)")
            ),
            _ => format!(
                "S3 endpoint {}: {}",
                self.endpoint,
                DisplayErrorContext(&err)
            ),
        };
        StoreError::unavailable(op, key, cause)
    }

    /// Uploads `data` in parts; aborts the upload if any step fails.
    async fn put_multipart(&self, key: &str, full: &str, data: Bytes) -> Result<(), StoreError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.location.bucket)
            .key(full)
            .send()
            .await
            .map_err(|e| self.failure("put", key, e))?;
        let Some(upload_id) = created.upload_id().map(str::to_string) else {
            return Err(StoreError::unavailable(
                "put",
                key,
                "the S3 server started a multipart upload without an upload id",
            ));
        };
        let result = self.upload_parts(key, full, &upload_id, data).await;
        if result.is_err() {
            let aborted = self
                .client
                .abort_multipart_upload()
                .bucket(&self.location.bucket)
                .key(full)
                .upload_id(&upload_id)
                .send()
                .await;
            if let Err(e) = aborted {
                tracing::warn!(key, error = %DisplayErrorContext(&e), "could not abort a multipart upload");
            }
        }
        result
    }

    async fn upload_parts(
        &self,
        key: &str,
        full: &str,
        upload_id: &str,
        data: Bytes,
    ) -> Result<(), StoreError> {
        let mut parts = Vec::new();
        for (index, start) in (0..data.len()).step_by(PART_SIZE).enumerate() {
            let end = (start + PART_SIZE).min(data.len());
            let number = i32::try_from(index + 1)
                .map_err(|_| StoreError::invalid_key(key, "too many parts for one object"))?;
            let uploaded = self
                .client
                .upload_part()
                .bucket(&self.location.bucket)
                .key(full)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(data.slice(start..end)))
                .send()
                .await
                .map_err(|e| self.failure("put", key, e))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(uploaded.e_tag().map(str::to_string))
                    .build(),
            );
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.location.bucket)
            .key(full)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failure("put", key, e))
    }

    /// One `PutObject` with `If-None-Match: *`, without the SDK's retries (the caller
    /// retries, so it knows whether an earlier attempt may have landed).
    async fn put_once_if_absent(&self, key: &str, full: &str, data: Bytes) -> Attempt {
        let sent = self
            .client
            .put_object()
            .bucket(&self.location.bucket)
            .key(full)
            .if_none_match("*")
            .body(ByteStream::from(data))
            .customize()
            .config_override(
                aws_sdk_s3::config::Builder::new()
                    .retry_config(RetryConfig::standard().with_max_attempts(1)),
            )
            .send()
            .await;
        match sent {
            Ok(_) => Attempt::Created,
            Err(err) => {
                let status = err.raw_response().map(HttpStatus::status_code);
                let code = err.code().map(str::to_string);
                match (status, code.as_deref()) {
                    (Some(412), _) => Attempt::Exists,
                    // AWS: a concurrent conditional write on the same key; try again.
                    (Some(409), _) | (Some(429), _) | (_, Some("SlowDown")) => Attempt::Retry {
                        landed: false,
                        err: self.failure("put_if_absent", key, err),
                    },
                    (Some(s), _) if s >= 500 => Attempt::Retry {
                        landed: true,
                        err: self.failure("put_if_absent", key, err),
                    },
                    (Some(_), _) => Attempt::Fatal(self.failure("put_if_absent", key, err)),
                    // No answer: the request may or may not have reached the server.
                    (None, _) => Attempt::Retry {
                        landed: !matches!(&err, SdkError::ConstructionFailure(_)),
                        err: self.failure("put_if_absent", key, err),
                    },
                }
            }
        }
    }
}

/// Outcome of one create-only attempt.
enum Attempt {
    /// The object was created.
    Created,
    /// The key exists (HTTP 412).
    Exists,
    /// Transient failure; `landed`: the write may have taken effect anyway.
    Retry { landed: bool, err: StoreError },
    /// A failure that retrying will not fix.
    Fatal(StoreError),
}

/// The HTTP status of a raw response, whatever its type.
pub(crate) trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

fn region_from_env() -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// Exponential backoff with full jitter for attempt `n` (from 1).
fn backoff(n: u32) -> Duration {
    let ceiling = FIRST_BACKOFF
        .saturating_mul(1u32 << n.min(16))
        .min(MAX_BACKOFF);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::random::<u64>() % millis.max(1) + 1)
}

#[async_trait::async_trait]
impl ObjectStore for S3Store {
    async fn put(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        validate_key(key)?;
        let full = self.full_key(key);
        if data.len() > MULTIPART_THRESHOLD {
            return self.put_multipart(key, &full, data).await;
        }
        self.client
            .put_object()
            .bucket(&self.location.bucket)
            .key(&full)
            .body(ByteStream::from(data))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failure("put", key, e))
    }

    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool, StoreError> {
        validate_key(key)?;
        let full = self.full_key(key);
        let mut maybe_landed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.put_once_if_absent(key, &full, data.clone()).await {
                Attempt::Created => return Ok(true),
                Attempt::Exists if !maybe_landed => return Ok(false),
                // An earlier attempt may have created the object before its answer was
                // lost: the object is ours if it holds exactly our bytes (callers make
                // create-only contents unique).
                Attempt::Exists => return Ok(self.get(key).await?.as_ref() == Some(&data)),
                Attempt::Fatal(err) => return Err(err),
                Attempt::Retry { landed, err } => {
                    maybe_landed |= landed;
                    if attempt >= self.max_attempts {
                        return Err(err);
                    }
                    tracing::debug!(key, attempt, error = %err, "retrying a create-only write");
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        validate_key(key)?;
        let got = self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(self.full_key(key))
            .send()
            .await;
        let output = match got {
            Ok(output) => output,
            Err(err) if err.raw_response().map(HttpStatus::status_code) == Some(404) => {
                return Ok(None);
            }
            Err(err) => return Err(self.failure("get", key, err)),
        };
        let body = output.body.collect().await.map_err(|e| {
            StoreError::unavailable(
                "get",
                key,
                format!(
                    "the S3 endpoint {} broke off while sending the object: {e}",
                    self.endpoint
                ),
            )
        })?;
        Ok(Some(body.into_bytes()))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        validate_prefix(prefix)?;
        let base = &self.location.prefix;
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.location.bucket)
            .prefix(format!("{base}{prefix}"))
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.failure("list", prefix, e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key()?.strip_prefix(base.as_str()))
                    .filter(|k| validate_key(k).is_ok())
                    .map(str::to_string),
            );
        }
        keys.sort_unstable();
        Ok(keys)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.location.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failure("delete", key, e))
    }

    fn describe(&self) -> String {
        format!("S3 bucket {} at {}", self.location, self.endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        let l = S3Location::parse("s3://saoy-copies").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("saoy-copies", ""));
        let l = S3Location::parse("s3://saoy/prod/h56/").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("saoy", "prod/h56/")
        );
        assert_eq!(l.to_string(), "s3://saoy/prod/h56/");
        for bad in [
            "saoy",
            "s3://",
            "s3://ab",
            "s3://Upper",
            "s3://-bad",
            "s3://b_u",
            "s3://bucket/../x",
            "s3://bucket/a//b",
        ] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_is_bounded() {
        for n in 1..40 {
            let b = backoff(n);
            assert!(b > Duration::ZERO && b <= MAX_BACKOFF + Duration::from_millis(1));
        }
    }
}
