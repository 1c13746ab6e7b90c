//! The layer every gRPC call passes through before its service: the call's request id
//! (taken from `x-request-id` or made, see [`crate::metrics::request_id`]) in a tracing
//! span around the call and in its answer's `x-request-id`; and its metrics — the call
//! counted by method and gRPC code, its latency until the answer's end (trailers
//! included, so a stream's time is the whole stream), and the calls in flight.
//!
//! The code is read from the answer's headers (a trailers-only answer: an error) or its
//! trailers; an answer dropped before its end (the caller went away) counts as
//! `CANCELLED`. Calls answered UNIMPLEMENTED are counted under method `unknown`, since
//! their path is whatever the caller sent.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body, Frame, SizeHint};
use tracing::Instrument;

use crate::metrics::{Metrics, request_id};

/// The layer: wraps the routes in [`Observed`].
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    metrics: Arc<Metrics>,
}

impl ObserveLayer {
    /// Records into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> tower_layer::Layer<S> for ObserveLayer {
    type Service = Observed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observed {
            inner,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

/// The routes, observed.
#[derive(Debug, Clone)]
pub struct Observed<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for Observed<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Unpin + Send + 'static,
{
    type Response = Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone that was made ready serves this call; a fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let metrics = Arc::clone(&self.metrics);
        let method = request.uri().path().trim_start_matches('/').to_string();
        let sent = request
            .headers()
            .get(request_id::HEADER)
            .and_then(|v| v.to_str().ok());
        let id = request_id::take_or_make(sent);
        let span = tracing::info_span!("rpc", request_id = %id, method = %method);
        let call = Call::start(metrics, method);
        let header = HeaderValue::from_str(&id).ok();
        let answer = request_id::scope(id, inner.call(request)).instrument(span);
        Box::pin(async move {
            let mut response = answer.await?;
            if let Some(value) = header {
                response.headers_mut().insert(request_id::HEADER, value);
            }
            let mut call = call;
            call.code = code_in(response.headers());
            Ok(response.map(|inner| ObservedBody {
                inner,
                call: Some(call),
            }))
        })
    }
}

/// One call being answered; recorded when dropped (at the answer's end, or when the
/// answer is dropped unfinished).
struct Call {
    metrics: Arc<Metrics>,
    method: String,
    started: Instant,
    code: Option<&'static str>,
}

impl Call {
    fn start(metrics: Arc<Metrics>, method: String) -> Self {
        metrics.rpc_in_flight(1);
        Self {
            metrics,
            method,
            started: Instant::now(),
            code: None,
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let code = self.code.unwrap_or("CANCELLED");
        let method = match code {
            "UNIMPLEMENTED" => "unknown",
            _ => self.method.as_str(),
        };
        self.metrics.rpc_done(method, code, self.started.elapsed());
        self.metrics.rpc_in_flight(-1);
    }
}

/// An answer's body, watched for its trailers and its end.
pub struct ObservedBody<B> {
    inner: B,
    call: Option<Call>,
}

impl<B: Body + Unpin> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(trailers), Some(call)) = (frame.trailers_ref(), this.call.as_mut()) {
                    call.code = call.code.or(code_in(trailers)).or(Some("UNKNOWN"));
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(call) = this.call.as_mut() {
                    call.code = call.code.or(Some("INTERNAL"));
                }
            }
            Poll::Ready(None) => {
                if let Some(mut call) = this.call.take() {
                    call.code = call.code.or(Some("UNKNOWN"));
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The gRPC code named by `grpc-status` in `headers`, if there is one.
fn code_in(headers: &HeaderMap) -> Option<&'static str> {
    let value = headers.get("grpc-status")?.to_str().ok()?;
    let code = value.trim().parse::<i32>().ok()?;
    Some(code_name(tonic::Code::from_i32(code)))
}

/// The canonical name of a gRPC code, as the `code` label.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
