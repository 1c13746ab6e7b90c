//! One HTTP/1.1 POST over plain TCP (hyper, the HTTP stack tonic and axum already bring),
//! with a time limit on the whole exchange and a size limit on the answer. RFC 3161 answers
//! are signed, so plain `http://` is what TSAs offer; `https://` is not supported here.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;

/// Why an exchange failed, for the failover's message.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not `http://host[:port]/path`.
    #[error("URL {0:?} is not http://host[:port]/path")]
    Url(String),
    /// No connection, or the connection broke.
    #[error("{0}")]
    Io(String),
    /// The whole exchange took longer than allowed.
    #[error("no answer within {0} ms")]
    Timeout(u128),
    /// The server answered with another status than 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The body is longer than allowed.
    #[error("the answer exceeds {0} bytes")]
    TooLarge(usize),
}

/// `(authority host, port, path-and-query)` of an `http://` URL.
fn parts(url: &str) -> Result<(String, u16, String), HttpError> {
    let uri: http::Uri = url.parse().map_err(|_| HttpError::Url(url.into()))?;
    if uri.scheme_str() != Some("http") {
        return Err(HttpError::Url(url.into()));
    }
    let host = uri.host().ok_or_else(|| HttpError::Url(url.into()))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let path = uri
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    Ok((host, uri.port_u16().unwrap_or(80), path))
}

/// POSTs `body` as `content_type` to `url`; the answer's body, at most `limit` bytes, within
/// `timeout` for the whole exchange (connect, send, receive).
pub async fn post(
    url: &str,
    content_type: &str,
    body: Vec<u8>,
    timeout: Duration,
    limit: usize,
) -> Result<Vec<u8>, HttpError> {
    match tokio::time::timeout(timeout, exchange(url, content_type, body, limit)).await {
        Ok(r) => r,
        Err(_) => Err(HttpError::Timeout(timeout.as_millis())),
    }
}

async fn exchange(
    url: &str,
    content_type: &str,
    body: Vec<u8>,
    limit: usize,
) -> Result<Vec<u8>, HttpError> {
    let (host, port, path) = parts(url)?;
    let io = |e: &dyn std::fmt::Display| HttpError::Io(e.to_string());
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| io(&e))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| io(&e))?;
    let driver = tokio::spawn(conn);
    let host_header = match port {
        80 => host.clone(),
        p => format!("{host}:{p}"),
    };
    let request = http::Request::post(path)
        .header(http::header::HOST, host_header)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CONNECTION, "close")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| io(&e))?;
    let response = sender.send_request(request).await.map_err(|e| io(&e))?;
    if response.status() != http::StatusCode::OK {
        driver.abort();
        return Err(HttpError::Status(response.status().as_u16()));
    }
    let collected = Limited::new(response.into_body(), limit)
        .collect()
        .await
        .map_err(
            |e| match e.downcast_ref::<http_body_util::LengthLimitError>() {
                Some(_) => HttpError::TooLarge(limit),
                None => HttpError::Io(e.to_string()),
            },
        );
    driver.abort();
    Ok(collected?.to_bytes().to_vec())
}

/// Runs `fut` to its end on a runtime of its own, on a thread of its own: callable from
/// any thread, inside a runtime or not (the signing path is synchronous).
pub fn block_on<T: Send>(fut: impl std::future::Future<Output = T> + Send) -> Result<T, HttpError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| HttpError::Io(format!("runtime: {e}")))?;
            Ok(rt.block_on(fut))
        })
        .join()
        .unwrap_or_else(|_| Err(HttpError::Io("the HTTP thread failed".into())))
    })
}
