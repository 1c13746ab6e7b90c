//! Who is calling: what the connection and the metadata presented (the TLS client
//! certificate, the citizen assertion, the peer address), judged by [`App::identify`];
//! and the one way an RPC answers, so that every refusal is audited.

use std::net::SocketAddr;
use std::sync::Arc;

use tonic::{Request, Status};

use super::connection::PeerInfo;
use super::limits::{CallPermit, Gate};
use super::status::to_status;
use crate::app::{Action, App, Caller, Presented};
use crate::error::{Error, ErrorKind};

/// Metadata key carrying the citizen assertion (a compact JWS) of the citizen portal.
pub const CITIZEN_HEADER: &str = "x-saoy-citizen";

/// Longest citizen assertion accepted, bytes.
const MAX_ASSERTION_BYTES: usize = 4096;

/// What `request` presented: the connection's client certificates and address, and the
/// `x-saoy-citizen` assertion.
pub fn presented<T>(request: &Request<T>) -> Presented {
    let peer = request.extensions().get::<PeerInfo>();
    Presented {
        certificates: peer.map(|p| p.certificates.to_vec()).unwrap_or_default(),
        citizen_assertion: request
            .metadata()
            .get(CITIZEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().chars().take(MAX_ASSERTION_BYTES + 1).collect()),
        address: peer
            .map(|p| p.remote.ip())
            .or_else(|| request.remote_addr().as_ref().map(SocketAddr::ip)),
    }
}

/// The proven caller behind what a request `presented`, or UNAUTHENTICATED (audited) for
/// `action`.
pub async fn caller_of(
    app: &Arc<App>,
    presented: &Presented,
    action: Action,
) -> Result<Caller, Status> {
    if presented
        .citizen_assertion
        .as_ref()
        .is_some_and(|a| a.len() > MAX_ASSERTION_BYTES)
    {
        let e = Error::Unauthenticated(format!(
            "the citizen assertion is longer than {MAX_ASSERTION_BYTES} bytes"
        ));
        return Err(refused(app, &Caller::anonymous(), action, e).await);
    }
    match app.identify(presented) {
        Ok(caller) => Ok(caller),
        Err(e) => {
            let someone = Caller {
                address: presented.address,
                ..Caller::anonymous()
            };
            Err(refused(app, &someone, action, e).await)
        }
    }
}

/// The status of a failed call; refusals are written to the audit log first.
pub async fn refused(app: &App, caller: &Caller, action: Action, e: Error) -> Status {
    if matches!(
        e.kind(),
        ErrorKind::Unauthenticated | ErrorKind::PermissionDenied
    ) {
        app.audit_refusal(caller, action, &e).await;
    }
    to_status(e)
}

/// The answer of a use case: its value, or its error as a status (refusals audited).
pub async fn answer<T>(
    app: &App,
    caller: &Caller,
    action: Action,
    result: crate::error::Result<T>,
) -> Result<T, Status> {
    match result {
        Ok(v) => Ok(v),
        Err(e) => Err(refused(app, caller, action, e).await),
    }
}

/// The way into every RPC: the app, and the limits in force.
#[derive(Debug, Clone)]
pub struct Door {
    /// The use cases.
    pub app: Arc<App>,
    /// Per-caller and upload limits.
    pub gate: Arc<Gate>,
}

impl Door {
    /// A door on `app` with its configured limits.
    pub fn new(app: Arc<App>) -> Self {
        let gate = Gate::new(&app.config().server);
        Self { app, gate }
    }

    /// Admits one call of `action`: within the caller's limits, with a proven identity.
    /// The permit counts the call as running until dropped.
    pub async fn enter<T>(
        &self,
        request: &Request<T>,
        action: Action,
    ) -> Result<(Caller, CallPermit), Status> {
        let presented = presented(request);
        let permit = self.gate.admit(&presented)?;
        let caller = caller_of(&self.app, &presented, action).await?;
        Ok((caller, permit))
    }

    /// The answer of a use case (see [`answer`]).
    pub async fn answer<T>(
        &self,
        caller: &Caller,
        action: Action,
        result: crate::error::Result<T>,
    ) -> Result<T, Status> {
        answer(&self.app, caller, action, result).await
    }
}
