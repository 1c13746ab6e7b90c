//! Limits per client address: a token bucket for every request (`http.requests_per_second`,
//! burst twice that) and one for uploads (`http.uploads_per_minute`). The client address is
//! the peer's, or — only when the peer is one of `http.trusted_proxies` — the last address
//! in `X-Forwarded-For` that is not itself a trusted proxy.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

/// Buckets kept before idle ones are dropped.
const MAX_TRACKED: usize = 50_000;

/// One token bucket.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets per client address for one limit.
#[derive(Debug)]
pub struct RateLimit {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimit {
    /// `count` per `period`, with a burst of `burst` requests.
    pub fn new(count: u32, period: Duration, burst: u32) -> Self {
        let secs = period.as_secs_f64().max(0.001);
        Self {
            per_second: f64::from(count.max(1)) / secs,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client` at `now`; false when its bucket is empty.
    pub fn allow(&self, client: IpAddr, now: Instant) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned map (a panic while it was held): let the request through.
            return true;
        };
        if buckets.len() >= MAX_TRACKED {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Uploads in progress per client address, so that one address cannot hold every place
/// among the uploads being verified (a slow sender holds one until `http.upload_timeout_ms`).
#[derive(Debug, Default)]
pub struct InFlight {
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One upload in progress; dropping it frees its place.
#[derive(Debug)]
pub struct InFlightGuard {
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
    client: IpAddr,
}

impl InFlight {
    /// Takes a place for `client` unless it already has `max` uploads in progress.
    pub fn enter(&self, client: IpAddr, max: usize) -> Option<InFlightGuard> {
        let mut map = self.per_client.lock().ok()?;
        let n = map.entry(client).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(InFlightGuard {
            per_client: Arc::clone(&self.per_client),
            client,
        })
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Ok(mut map) = self.per_client.lock()
            && let Some(n) = map.get_mut(&self.client)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.client);
            }
        }
    }
}

/// The client's address: `peer`, or from `X-Forwarded-For` when `peer` is a trusted proxy.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        for part in text.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(ip),
                // A hop we cannot read: believe nothing before it.
                Err(_) => hops.clear(),
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_only_from_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.0.0.2".parse().unwrap());
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &proxies),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("198.51.100.7"), &h, &proxies),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), &HeaderMap::new(), &proxies),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn one_address_holds_at_most_its_share_of_uploads() {
        let in_flight = InFlight::default();
        let a = ip("127.0.0.1");
        let first = in_flight.enter(a, 2).expect("first");
        let _second = in_flight.enter(a, 2).expect("second");
        assert!(in_flight.enter(a, 2).is_none());
        assert!(in_flight.enter(ip("127.0.0.2"), 2).is_some());
        drop(first);
        assert!(in_flight.enter(a, 2).is_some());
    }

    #[test]
    fn bucket_refuses_past_the_burst_and_refills() {
        let limit = RateLimit::new(1, Duration::from_secs(1), 2);
        let t0 = Instant::now();
        let a = ip("127.0.0.1");
        assert!(limit.allow(a, t0));
        assert!(limit.allow(a, t0));
        assert!(!limit.allow(a, t0));
        assert!(
            limit.allow(ip("127.0.0.2"), t0),
            "another address has its own bucket"
        );
        assert!(limit.allow(a, t0 + Duration::from_millis(1100)));
    }
}
