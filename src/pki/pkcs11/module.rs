//! The PKCS#11 modules of this process: one context per module path (a module initialised a
//! second time in one process fails with `CKR_CRYPTOKI_ALREADY_INITIALIZED`), kept for the
//! life of the process, and initialised again when it lost its token for good (p11-kit's
//! RPC client after its server went away: every call then fails until `C_Initialize`).
//!
//! Each context has a generation, counted up by every re-initialisation. Sessions carry the
//! generation they were opened in: a session of an older generation is forgotten, never
//! closed, since its handle may now name a session of the new generation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::Session;
use cryptoki::slot::Slot;

use crate::pki::key::KeyError;

/// One loaded module.
struct Module {
    ctx: Pkcs11,
    generation: Arc<AtomicU64>,
}

/// The modules of this process, by canonical path.
static MODULES: Mutex<BTreeMap<PathBuf, Module>> = Mutex::new(BTreeMap::new());

/// A module context as a key holds it.
#[derive(Clone)]
pub(super) struct Context {
    /// The cryptoki context (shared by every key of the module).
    pub(super) ctx: Pkcs11,
    /// The canonical module path.
    pub(super) path: PathBuf,
    /// The module's current generation.
    pub(super) generation: Arc<AtomicU64>,
}

fn initialize(ctx: &Pkcs11) -> Result<(), CkError> {
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Initialised by someone else in this process: usable as it is.
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The context of `module`, loaded and initialised on first use.
pub(super) fn context(module: &Path) -> Result<Context, KeyError> {
    let module_error = |reason: String| KeyError::Pkcs11Module {
        module: module.display().to_string(),
        reason,
    };
    let path = std::fs::canonicalize(module).map_err(|e| module_error(e.to_string()))?;
    let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(m) = modules.get(&path) {
        return Ok(Context {
            ctx: m.ctx.clone(),
            path,
            generation: Arc::clone(&m.generation),
        });
    }
    let ctx = Pkcs11::new(&path).map_err(|e| module_error(format!("cannot load: {e}")))?;
    initialize(&ctx).map_err(|e| module_error(format!("C_Initialize: {}", ck(&e))))?;
    let generation = Arc::new(AtomicU64::new(0));
    modules.insert(
        path.clone(),
        Module {
            ctx: ctx.clone(),
            generation: Arc::clone(&generation),
        },
    );
    Ok(Context {
        ctx,
        path,
        generation,
    })
}

impl Context {
    /// Finalises and initialises the module again, unless another key already did since it
    /// saw generation `seen`. Every session of the module (of every key) is gone afterwards.
    pub(super) fn reinitialize(&self, seen: u64) -> Result<(), KeyError> {
        let modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::SeqCst) != seen {
            return Ok(());
        }
        // Sessions of the old generation are forgotten from now on, not closed.
        self.generation.fetch_add(1, Ordering::SeqCst);
        // Finalising a module that lost its server may itself fail; initialising is what counts.
        let _ = self.ctx.clone().finalize();
        let result = initialize(&self.ctx);
        drop(modules);
        result.map_err(|e| KeyError::Pkcs11Module {
            module: self.path.display().to_string(),
            reason: format!("C_Initialize again after the token was lost: {}", ck(&e)),
        })
    }

    /// Opens a read-only session that this code closes itself (see [`PooledSession`]).
    pub(super) fn open_session(&self, slot: Slot) -> Result<PooledSession, CkError> {
        let generation = self.generation.load(Ordering::SeqCst);
        let session = self.ctx.open_ro_session_no_drop(slot)?;
        Ok(PooledSession {
            session: Some(session),
            generation,
            current: Arc::clone(&self.generation),
        })
    }
}

/// A session that is closed when dropped if its module was not re-initialised since it was
/// opened, and forgotten otherwise.
pub(super) struct PooledSession {
    session: Option<Session>,
    generation: u64,
    current: Arc<AtomicU64>,
}

impl PooledSession {
    /// The session.
    pub(super) fn get(&self) -> Result<&Session, KeyError> {
        self.session
            .as_ref()
            .ok_or_else(|| KeyError::Pkcs11("session already closed".into()))
    }

    /// The module generation the session was opened in.
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// False once the module was initialised again: the handle means nothing any more (or
    /// another session).
    pub(super) fn is_current(&self) -> bool {
        self.current.load(Ordering::SeqCst) == self.generation
    }
}

impl PooledSession {
    fn is_current_generation(&self) -> bool {
        self.current.load(Ordering::SeqCst) == self.generation
    }
}

impl Drop for PooledSession {
    fn drop(&mut self) {
        if let Some(session) = self.session.take()
            && self.is_current_generation()
        {
            // A close that fails leaves nothing to do (the token forgot it already).
            let _ = session.close();
        }
    }
}

/// A cryptoki error as `C_Function: CKR_CODE` (the crate's Display adds a paragraph of the
/// standard's prose).
pub(super) fn ck(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, function) => format!("C_{function:?}: {}", rv_name(rv)),
        other => other.to_string(),
    }
}

/// The standard's name of a return code: `PinIncorrect` → `CKR_PIN_INCORRECT`.
pub(super) fn rv_name(rv: &RvError) -> String {
    let mut out = String::from("CKR");
    for c in format!("{rv:?}").chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// True for errors after which a session (or the key handle) is no longer usable but a new
/// session may work: the token restarted, was removed, or forgot the login.
pub(super) fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid
                | RvError::CryptokiNotInitialized,
            _
        )
    )
}

/// True when no new session can be opened until the module is initialised again (what
/// p11-kit's RPC client answers once its connection is gone).
pub(super) fn module_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::SlotIdInvalid
                | RvError::TokenNotPresent
                | RvError::CryptokiNotInitialized,
            _
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_codes_read_as_the_standard_names_them() {
        assert_eq!(rv_name(&RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        let e = CkError::Pkcs11(
            RvError::SessionHandleInvalid,
            cryptoki::context::Function::Sign,
        );
        assert_eq!(ck(&e), "C_Sign: CKR_SESSION_HANDLE_INVALID");
        assert!(session_lost(&e) && !module_lost(&e));
    }
}
