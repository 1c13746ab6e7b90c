//! Accepted connections: TCP with `TCP_NODELAY`, then TLS (unless plaintext was chosen),
//! handshakes run off the accept loop with a timeout; each connection carries what it
//! proved ([`PeerInfo`]) into every request's extensions.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

/// TLS handshakes in progress at most; further connections wait to be accepted.
const MAX_HANDSHAKES: usize = 256;

/// What a connection proved: the peer's address and its client certificate chain (DER,
/// the client's own first; empty without one or over plaintext). Judged by the app.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    /// The peer's address.
    pub remote: SocketAddr,
    /// The client certificates presented in the TLS handshake.
    pub certificates: Arc<[Vec<u8>]>,
}

enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// One accepted connection.
pub struct Conn {
    io: Io,
    peer: PeerInfo,
}

impl Conn {
    /// Whether `TCP_NODELAY` is set on the connection's socket, read back from it.
    pub fn nodelay(&self) -> io::Result<bool> {
        match &self.io {
            Io::Plain(s) => s.nodelay(),
            Io::Tls(s) => s.get_ref().0.nodelay(),
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.peer.clone()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// The connections accepted on `listener`: `TCP_NODELAY` set on each (small gRPC frames
/// must not wait for delayed ACKs), then a TLS handshake with `tls` within
/// `handshake_timeout` (`None`: plaintext). Failed handshakes are logged and dropped; the
/// stream ends when its receiver is dropped.
pub fn incoming(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handshake_timeout: Duration,
) -> ReceiverStream<io::Result<Conn>> {
    let (tx, rx) = mpsc::channel(64);
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = tx.closed() => break,
                a = listener.accept() => a,
            };
            let (tcp, remote) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, %remote, "TCP_NODELAY could not be set");
            }
            let Some(acceptor) = tls.clone() else {
                let conn = Conn {
                    io: Io::Plain(tcp),
                    peer: PeerInfo {
                        remote,
                        certificates: Arc::from(Vec::new()),
                    },
                };
                if tx.send(Ok(conn)).await.is_err() {
                    break;
                }
                continue;
            };
            let Ok(slot) = Arc::clone(&handshakes).acquire_owned().await else {
                break;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let _slot = slot;
                match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let certificates: Vec<Vec<u8>> = stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .map(|c| c.iter().map(|d| d.to_vec()).collect())
                            .unwrap_or_default();
                        let conn = Conn {
                            io: Io::Tls(Box::new(stream)),
                            peer: PeerInfo {
                                remote,
                                certificates: Arc::from(certificates),
                            },
                        };
                        let _ = tx.send(Ok(conn)).await;
                    }
                    Ok(Err(e)) => tracing::debug!(error = %e, %remote, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_stream::StreamExt;

    #[tokio::test]
    async fn accepted_sockets_have_tcp_nodelay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut conns = incoming(listener, None, Duration::from_secs(5));
        let client = TcpStream::connect(addr).await.unwrap();
        let conn = conns.next().await.expect("a connection").expect("accepted");
        assert!(
            conn.nodelay().unwrap(),
            "TCP_NODELAY read back from the socket"
        );
        assert_eq!(conn.connect_info().remote, client.local_addr().unwrap());
        assert!(conn.connect_info().certificates.is_empty());
    }
}
