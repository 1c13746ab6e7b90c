//! The routes: pages for people (`/`, `/verify`, `/c/{id}`, `/c/{id}/check`), the JSON API
//! (`/api/v1/verify`, `/api/v1/copies/{id}`), the stylesheet, and the guard every request
//! passes (limits per client address, security headers).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::app::{App, Caller};

use super::config::HttpConfig;
use super::limits::{InFlight, InFlightGuard, RateLimit, client_address};
use super::listener::PeerAddr;
use super::problem::Problem;
use super::text::Lang;
use super::{json, pages, upload};

/// What every handler shares.
#[derive(Clone)]
pub struct WebState {
    app: Arc<App>,
    config: Arc<HttpConfig>,
    requests: Arc<RateLimit>,
    uploads: Arc<RateLimit>,
    uploading: Arc<Semaphore>,
    in_flight: Arc<InFlight>,
}

/// Uploads one client address may have in progress at once.
const UPLOADS_PER_CLIENT: usize = 2;

/// The client address of a request, as the guard decided it.
#[derive(Clone, Copy, Debug)]
struct Client(IpAddr);

/// The router of the HTTP listener over `app` (its `[http]` limits).
pub fn router(app: Arc<App>) -> Router {
    let config = Arc::new(app.config().http.clone());
    let state = WebState {
        requests: Arc::new(RateLimit::new(
            config.requests_per_second,
            Duration::from_secs(1),
            config.requests_per_second.saturating_mul(2),
        )),
        uploads: Arc::new(RateLimit::new(
            config.uploads_per_minute,
            Duration::from_secs(60),
            config.uploads_per_minute,
        )),
        uploading: Arc::new(Semaphore::new(config.max_concurrent_uploads as usize)),
        in_flight: Arc::new(InFlight::default()),
        config,
        app,
    };
    Router::new()
        .route("/", get(home))
        .route("/verify", post(verify_page))
        .route("/c/{id}", get(copy_page))
        .route("/c/{id}/check", post(copy_check))
        .route("/api/v1/verify", post(api_verify))
        .route("/api/v1/copies/{id}", get(api_copy))
        .route("/static/saoy.css", get(stylesheet))
        .fallback(no_route)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// A problem answered as a page (people) in a language.
struct PageProblem(Problem, Lang);

impl IntoResponse for PageProblem {
    fn into_response(self) -> Response {
        let PageProblem(problem, lang) = self;
        let page = pages::error_page(lang, &problem.message(lang));
        (problem.status(), Html(page)).into_response()
    }
}

/// A problem answered as JSON (`{"error": …, "status": …}`, in English).
struct ApiProblem(Problem);

impl IntoResponse for ApiProblem {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = serde_json::json!({
            "error": self.0.message(Lang::En),
            "status": status.as_u16(),
        });
        json_response(status, &body)
    }
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        format!("{value}\n"),
    )
        .into_response()
}

/// Limits per client address and the security headers of every answer.
async fn guard(State(state): State<WebState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<PeerAddr>>()
        .map(|c| c.0.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let client = client_address(peer, request.headers(), &state.config.trusted_proxies);
    request.extensions_mut().insert(Client(client));
    let api = request.uri().path().starts_with("/api/");
    let lang = Lang::from_query(request.uri().query());
    let mut response = if state.requests.allow(client, Instant::now()) {
        next.run(request).await
    } else {
        let problem = Problem::RateLimited {
            field: "http.requests_per_second",
        };
        let mut r = match api {
            true => ApiProblem(problem).into_response(),
            false => PageProblem(problem, lang).into_response(),
        };
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    };
    security_headers(response.headers_mut(), state.config.serves_tls());
    response
}

/// The headers that keep the pages to themselves: nothing loaded from elsewhere, no
/// script, no framing, no sniffing, no referrer; answers are not cached.
fn security_headers(headers: &mut HeaderMap, tls: bool) {
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    );
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    if tls {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000",
        );
    }
}

fn caller(client: IpAddr) -> Caller {
    Caller {
        address: Some(client),
        ..Caller::anonymous()
    }
}

fn client_of(request_extensions: &axum::http::Extensions) -> IpAddr {
    request_extensions
        .get::<Client>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0)
}

/// Admits one upload from `client`: its per-minute bucket, at most
/// [`UPLOADS_PER_CLIENT`] of its own in progress, then a place among the uploads being
/// verified.
fn admit_upload(
    state: &WebState,
    client: IpAddr,
) -> Result<(InFlightGuard, OwnedSemaphorePermit), Problem> {
    if !state.uploads.allow(client, Instant::now()) {
        return Err(Problem::RateLimited {
            field: "http.uploads_per_minute",
        });
    }
    let mine = state
        .in_flight
        .enter(client, UPLOADS_PER_CLIENT)
        .ok_or(Problem::RateLimited {
            field: "uploads in progress from one address",
        })?;
    let place = Arc::clone(&state.uploading)
        .try_acquire_owned()
        .map_err(|_| Problem::Busy)?;
    Ok((mine, place))
}

/// Receives and verifies an upload for the public.
async fn verify_upload(
    state: &WebState,
    request: Request,
) -> Result<crate::app::PublicVerification, Problem> {
    let client = client_of(request.extensions());
    let _permit = admit_upload(state, client)?;
    let (parts, body) = request.into_parts();
    let pdf = upload::receive(
        &parts.headers,
        body,
        state.config.max_upload_bytes,
        Duration::from_millis(state.config.upload_timeout_ms),
    )
    .await?;
    Ok(state.app.verify_public(&caller(client), pdf).await?)
}

async fn home(RawQuery(query): RawQuery) -> Html<String> {
    Html(pages::home(Lang::from_query(query.as_deref())))
}

async fn verify_page(
    State(state): State<WebState>,
    request: Request,
) -> Result<Html<String>, PageProblem> {
    let lang = Lang::from_query(request.uri().query());
    let verified = verify_upload(&state, request)
        .await
        .map_err(|p| PageProblem(p, lang))?;
    Ok(Html(pages::verdict_page(lang, &verified)))
}

async fn standing(
    state: &WebState,
    client: IpAddr,
    id: &str,
) -> Result<crate::app::Standing, Problem> {
    Ok(state.app.public_standing(&caller(client), id).await?)
}

async fn copy_page(
    State(state): State<WebState>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Html<String>, PageProblem> {
    let lang = Lang::from_query(request.uri().query());
    let client = client_of(request.extensions());
    let s = standing(&state, client, &id)
        .await
        .map_err(|p| PageProblem(p, lang))?;
    Ok(Html(pages::standing_page(lang, &s, None)))
}

async fn copy_check(
    State(state): State<WebState>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Html<String>, PageProblem> {
    let lang = Lang::from_query(request.uri().query());
    let client = client_of(request.extensions());
    let s = standing(&state, client, &id)
        .await
        .map_err(|p| PageProblem(p, lang))?;
    let verified = verify_upload(&state, request)
        .await
        .map_err(|p| PageProblem(p, lang))?;
    Ok(Html(pages::standing_page(lang, &s, Some(&verified))))
}

async fn api_verify(
    State(state): State<WebState>,
    request: Request,
) -> Result<Response, ApiProblem> {
    let verified = verify_upload(&state, request).await.map_err(ApiProblem)?;
    Ok(json_response(
        StatusCode::OK,
        &json::verification(&verified),
    ))
}

async fn api_copy(
    State(state): State<WebState>,
    Path(id): Path<String>,
    request: Request<Body>,
) -> Result<Response, ApiProblem> {
    let client = client_of(request.extensions());
    let s = standing(&state, client, &id).await.map_err(ApiProblem)?;
    Ok(json_response(StatusCode::OK, &json::standing(&s)))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::STYLESHEET,
    )
        .into_response()
}

async fn no_route(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        ApiProblem(Problem::NoRoute).into_response()
    } else {
        PageProblem(Problem::NoRoute, Lang::from_query(request.uri().query())).into_response()
    }
}
