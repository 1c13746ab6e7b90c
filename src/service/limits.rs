//! Limits per caller and on the whole: requests per second and calls at once per caller
//! (its client certificate, else its address), the memory all uploads in flight may hold,
//! and how long an upload stream may stay silent. A refusal is RESOURCE_EXHAUSTED naming
//! the limit (its config field).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_stream::StreamExt;
use tonic::{Status, Streaming};

use crate::app::Presented;
use crate::config::ServerConfig;
use crate::hash::sha256_hex;

/// Callers remembered at most; beyond, idle ones are forgotten.
const MAX_TRACKED_CALLERS: usize = 10_000;

/// Upload memory is counted in units of this many bytes.
const MEMORY_UNIT: u64 = 1024;

#[derive(Debug)]
struct CallerState {
    tokens: f64,
    refilled: Instant,
    running: u32,
}

/// The limits in force, shared by every service.
#[derive(Debug)]
pub struct Gate {
    rate: f64,
    max_calls: u32,
    callers: Mutex<HashMap<String, CallerState>>,
    memory: Arc<Semaphore>,
    memory_units: u64,
    idle: Duration,
}

/// One admitted call: counts against the caller's calls at once until dropped.
#[derive(Debug)]
pub struct CallPermit {
    gate: Arc<Gate>,
    key: String,
}

impl Drop for CallPermit {
    fn drop(&mut self) {
        if let Some(s) = self.gate.lock().get_mut(&self.key) {
            s.running = s.running.saturating_sub(1);
        }
    }
}

/// Upload bytes held by one call, counted against `server.max_upload_memory_bytes`.
#[derive(Debug, Default)]
pub struct MemoryHold {
    permits: Option<OwnedSemaphorePermit>,
    bytes: u64,
    gate: Option<Arc<Gate>>,
}

fn exhausted(field: &str, what: String) -> Status {
    Status::resource_exhausted(format!("{field}: {what}"))
}

impl Gate {
    /// The gate of a server configuration.
    pub fn new(config: &ServerConfig) -> Arc<Self> {
        let units =
            (config.max_upload_memory_bytes / MEMORY_UNIT).clamp(1, Semaphore::MAX_PERMITS as u64);
        Arc::new(Self {
            rate: f64::from(config.requests_per_second),
            max_calls: config.max_concurrent_calls,
            callers: Mutex::new(HashMap::new()),
            memory: Arc::new(Semaphore::new(units as usize)),
            memory_units: units,
            idle: Duration::from_millis(config.stream_idle_timeout_ms),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, CallerState>> {
        self.callers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits one call of the caller that presented `presented`, or RESOURCE_EXHAUSTED
    /// when it is over its rate or its calls at once.
    pub fn admit(self: &Arc<Self>, presented: &Presented) -> Result<CallPermit, Status> {
        let key = match (presented.certificates.first(), presented.address) {
            (Some(cert), _) => format!("cert:{}", sha256_hex(cert)),
            (None, Some(ip)) => format!("addr:{ip}"),
            (None, None) => "addr:unknown".into(),
        };
        let now = Instant::now();
        let mut callers = self.lock();
        if callers.len() >= MAX_TRACKED_CALLERS && !callers.contains_key(&key) {
            let burst = self.rate;
            callers.retain(|_, s| s.running > 0 || s.tokens < burst - 1.0);
        }
        let state = callers.entry(key.clone()).or_insert(CallerState {
            tokens: self.rate,
            refilled: now,
            running: 0,
        });
        let elapsed = now.duration_since(state.refilled).as_secs_f64();
        state.tokens = (state.tokens + elapsed * self.rate).min(self.rate);
        state.refilled = now;
        if state.running >= self.max_calls {
            return Err(exhausted(
                "server.max_concurrent_calls",
                format!(
                    "this caller already has {} calls running; wait for one to end",
                    state.running
                ),
            ));
        }
        if state.tokens < 1.0 {
            return Err(exhausted(
                "server.requests_per_second",
                format!(
                    "this caller is over {} requests per second; slow down",
                    self.rate
                ),
            ));
        }
        state.tokens -= 1.0;
        state.running += 1;
        drop(callers);
        Ok(CallPermit {
            gate: Arc::clone(self),
            key,
        })
    }

    /// A hold on upload memory for one call, empty at first.
    pub fn memory_hold(self: &Arc<Self>) -> MemoryHold {
        MemoryHold {
            permits: None,
            bytes: 0,
            gate: Some(Arc::clone(self)),
        }
    }

    /// The next message of an upload stream, or RESOURCE_EXHAUSTED when the client sends
    /// nothing for `server.stream_idle_timeout_ms`.
    pub async fn next<M>(&self, stream: &mut Streaming<M>) -> Result<Option<M>, Status> {
        match tokio::time::timeout(self.idle, stream.next()).await {
            Ok(Some(m)) => m.map(Some),
            Ok(None) => Ok(None),
            Err(_) => Err(exhausted(
                "server.stream_idle_timeout_ms",
                format!(
                    "the stream sent nothing for {} ms and was cut off; send the data without pausing",
                    self.idle.as_millis()
                ),
            )),
        }
    }
}

impl MemoryHold {
    /// Counts `bytes` more, or RESOURCE_EXHAUSTED when all uploads in flight would hold more
    /// than `server.max_upload_memory_bytes`.
    pub fn grow(&mut self, bytes: usize) -> Result<(), Status> {
        let Some(gate) = &self.gate else {
            return Ok(());
        };
        let before = self.bytes.div_ceil(MEMORY_UNIT);
        self.bytes += bytes as u64;
        let after = self.bytes.div_ceil(MEMORY_UNIT);
        let more = after - before;
        if more == 0 {
            return Ok(());
        }
        let refuse = || {
            exhausted(
                "server.max_upload_memory_bytes",
                format!(
                    "the uploads in flight already hold about {} MiB; try again shortly",
                    (gate.memory_units * MEMORY_UNIT) >> 20
                ),
            )
        };
        let more = u32::try_from(more).map_err(|_| refuse())?;
        let permit = Arc::clone(&gate.memory)
            .try_acquire_many_owned(more)
            .map_err(|_| refuse())?;
        match &mut self.permits {
            Some(held) => held.merge(permit),
            None => self.permits = Some(permit),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(rate: u32, calls: u32, memory: u64) -> Arc<Gate> {
        Gate::new(&ServerConfig {
            requests_per_second: rate,
            max_concurrent_calls: calls,
            max_upload_memory_bytes: memory,
            ..ServerConfig::default()
        })
    }

    fn from(ip: [u8; 4]) -> Presented {
        Presented {
            address: Some(std::net::IpAddr::from(ip)),
            ..Presented::default()
        }
    }

    #[tokio::test]
    async fn calls_at_once_are_counted_per_caller_and_released() {
        let g = gate(1000, 2, 1 << 20);
        let a = from([10, 0, 0, 1]);
        let first = g.admit(&a).unwrap();
        let _second = g.admit(&a).unwrap();
        let third = g.admit(&a).unwrap_err();
        assert!(
            third.message().contains("server.max_concurrent_calls"),
            "{third:?}"
        );
        // Another caller is not held back by the first one.
        assert!(g.admit(&from([10, 0, 0, 2])).is_ok());
        drop(first);
        assert!(g.admit(&a).is_ok());
    }

    #[tokio::test]
    async fn the_rate_allows_a_burst_then_refuses() {
        let g = gate(3, 100, 1 << 20);
        let a = from([10, 0, 0, 3]);
        for _ in 0..3 {
            drop(g.admit(&a).unwrap());
        }
        let over = g.admit(&a).unwrap_err();
        assert!(
            over.message().contains("server.requests_per_second"),
            "{over:?}"
        );
    }

    #[tokio::test]
    async fn upload_memory_is_shared_and_given_back() {
        let g = gate(1000, 100, 64 * 1024);
        let mut one = g.memory_hold();
        one.grow(40 * 1024).unwrap();
        let mut two = g.memory_hold();
        let refused = two.grow(40 * 1024).unwrap_err();
        assert!(
            refused.message().contains("server.max_upload_memory_bytes"),
            "{refused:?}"
        );
        drop(one);
        two.grow(40 * 1024).unwrap();
    }
}
