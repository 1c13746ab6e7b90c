//! A listener serving in the background (the public HTTP page, the metrics): where it
//! listens, and stopping it. Leaf: imports nothing of saoy.

use std::net::SocketAddr;

use tokio::sync::oneshot;

/// A running listener; [`Listening::stop`] (or dropping it) ends it.
#[derive(Debug)]
pub struct Listening {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Listening {
    /// The listener at `addr` served by `task`, which ends when `stop` fires.
    pub fn new(
        addr: SocketAddr,
        stop: oneshot::Sender<()>,
        task: tokio::task::JoinHandle<()>,
    ) -> Self {
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets answers in progress finish, and waits.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
