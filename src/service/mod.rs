//! gRPC services (package `saoy.v1`): thin adapters that turn protobuf messages into
//! [`crate::app`] calls. The only place that knows tonic.

pub mod caller;
pub mod certification;
pub mod connection;
pub mod convert;
pub mod digitization;
pub mod limits;
pub mod observe;
pub mod records;
pub mod server;
pub mod status;
pub mod tls;
mod upload;
pub mod verification;

pub use server::{router, serve};

/// Largest chunk the server sends in a stream (well under gRPC's 4 MiB message limit).
pub const CHUNK_SIZE: usize = 1 << 20;
