//! Signing keys on PKCS#11 tokens (HSMs, SoftHSM2, p11-kit's RPC client) behind
//! [`SigningKey`], through the `cryptoki` crate.
//!
//! - **Key material stays on the token.** The private key is found by its label and/or id
//!   and used by handle; saoy never reads CKA_VALUE, CKA_PRIVATE_EXPONENT or any other
//!   secret attribute, never wraps or exports it. Only public attributes are read (modulus
//!   and exponent, or the curve and the EC point of the matching public-key object), to give
//!   [`SigningKey::public_key`] so that [`Credential::new`] can check the certificate.
//! - **One module context per process.** A module initialised twice in one process fails
//!   (`CKR_CRYPTOKI_ALREADY_INITIALIZED`), so every key opened from one module path shares
//!   one context, kept for the life of the process. It is finalised and initialised again
//!   only when no session can be opened any more (p11-kit's RPC client once its server went
//!   away answers every call with an error until `C_Initialize`).
//! - **Sessions.** Each key keeps a pool of at most `max_sessions` read-only sessions, opened
//!   when concurrent signers need them, so concurrent signatures do not queue on one session;
//!   a caller finding them all busy waits. A session that fails with a sign of a restarted
//!   token (invalid session or key handle, device removed or failing, not logged in) is
//!   closed with the other idle ones and the signature is tried once more on a fresh session,
//!   logged in again and with the key looked up again.
//! - **PIN.** Read once, when the key is opened, from `pin_file` or `pin_env`; kept only in a
//!   `secrecy` box (zeroised when dropped) for logins of new sessions; never logged, never in
//!   `Debug` output, never in an error message.
//! - **Mechanisms.** RSA PKCS#1 v1.5 as `CKM_SHA256_RSA_PKCS` (the token hashes); RSA-PSS as
//!   `CKM_RSA_PKCS_PSS` and ECDSA as `CKM_ECDSA` over the SHA-256/384 digest saoy computes
//!   (p11-kit's RPC does not carry `CKM_SHA256_RSA_PKCS_PSS`); ECDSA's raw `r || s` is
//!   re-encoded as DER for CMS.
//!
//! `sign` blocks (the service calls it from blocking threads).

mod encoding;
mod module;
mod pool;
mod spec;
mod token;

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::ObjectHandle;
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

pub use spec::{DEFAULT_MAX_SESSIONS, MAX_SESSIONS_LIMIT, Pkcs11Mechanism, Pkcs11Spec};

use crate::pki::key::{Credential, KeyAlgorithm, KeyError, SigningKey};
use module::{Context, PooledSession, ck, module_lost, session_lost};
use pool::Pool;
use token::Shape;

/// A private key on a PKCS#11 token. `Debug` shows where the key is, never the PIN.
pub struct Pkcs11Key {
    ctx: Context,
    slot: Mutex<Slot>,
    module: PathBuf,
    token_label: String,
    key_label: Option<String>,
    key_id: Option<Vec<u8>>,
    pin: AuthPin,
    algorithm: KeyAlgorithm,
    shape: Shape,
    public_key: Vec<u8>,
    extractable: bool,
    /// The private key's handle and the module generation it belongs to.
    handle: Mutex<(ObjectHandle, u64)>,
    sessions: Pool<PooledSession>,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("key_label", &self.key_label)
            .field("key_id", &self.key_id.as_deref().map(hex::encode))
            .field("algorithm", &self.algorithm)
            .field("sessions_open", &self.sessions.open())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Key {
    /// Opens the key `spec` names: loads the module (once per process), finds the token by
    /// label, logs in as the user with the PIN read now, finds the one private key with the
    /// label and/or id, and reads its public half. The session used stays in the pool.
    pub fn open(spec: &Pkcs11Spec) -> Result<Self, KeyError> {
        spec.validate()?;
        let pin = spec.read_pin()?;
        let ctx = module::context(&spec.module)?;
        let slot = token::find_slot(&ctx.ctx, &spec.module, &spec.token_label)?;
        let pooled = ctx
            .open_session(slot)
            .map_err(|e| KeyError::Pkcs11(ck(&e)))?;
        let session = pooled.get()?;
        token::login(session, &pin, &spec.token_label)?;
        let key_id = spec.key_id_bytes()?;
        let label = spec.key_label.as_deref();
        let handle = token::find_private_key(session, label, key_id.as_deref(), &spec.token_label)?;
        let found = token::read_public_half(session, handle)?;
        let (algorithm, mechanism) = choose_algorithm(found.shape, spec.mechanism)?;
        let offered = ctx
            .ctx
            .get_mechanism_list(slot)
            .map_err(|e| KeyError::Pkcs11(ck(&e)))?;
        if !offered.contains(&mechanism) {
            return Err(KeyError::Pkcs11Unsupported(format!(
                "token {:?} does not offer {mechanism} for {algorithm:?}",
                spec.token_label
            )));
        }
        if found.extractable {
            tracing::warn!(
                token = %spec.token_label,
                "the PKCS#11 signing key is extractable or not sensitive: the token would let it be exported"
            );
        }
        let key = Self {
            ctx,
            slot: Mutex::new(slot),
            module: spec.module.clone(),
            token_label: spec.token_label.clone(),
            key_label: spec.key_label.clone(),
            key_id,
            pin,
            algorithm,
            shape: found.shape,
            public_key: found.public_key,
            extractable: found.extractable,
            handle: Mutex::new((handle, pooled.generation())),
            sessions: Pool::new(spec.max_sessions),
        };
        key.sessions.put(pooled);
        Ok(key)
    }

    /// Sessions this key has open now (idle or signing); never more than `max_sessions`.
    pub fn sessions_open(&self) -> usize {
        self.sessions.open()
    }

    /// The most sessions this key ever had open at once.
    pub fn sessions_peak(&self) -> usize {
        self.sessions.peak()
    }

    /// Sessions the token reports open for this whole process (all keys on it), if the token
    /// says (CK_TOKEN_INFO.ulSessionCount).
    pub fn token_session_count(&self) -> Option<u64> {
        self.ctx
            .ctx
            .get_token_info(self.slot())
            .ok()
            .and_then(|info| info.session_count())
    }

    /// How often this key's module was initialised again in this process after it lost
    /// its token (p11-kit's client after a server restart); 0 normally.
    pub fn module_reinitialisations(&self) -> u64 {
        self.ctx.generation.load(Ordering::SeqCst)
    }

    /// True when the token would let the private key be exported (CKA_EXTRACTABLE set or
    /// CKA_SENSITIVE clear). saoy never exports it either way; a warning is logged at open.
    pub fn extractable(&self) -> bool {
        self.extractable
    }

    fn slot(&self) -> Slot {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn mechanism(&self) -> Mechanism<'static> {
        match self.algorithm {
            KeyAlgorithm::RsaPkcs1Sha256 => Mechanism::Sha256RsaPkcs,
            KeyAlgorithm::RsaPssSha256 => Mechanism::RsaPkcsPss(PkcsPssParams {
                hash_alg: MechanismType::SHA256,
                mgf: PkcsMgfType::MGF1_SHA256,
                s_len: 32.into(),
            }),
            KeyAlgorithm::EcdsaP256Sha256 | KeyAlgorithm::EcdsaP384Sha384 => Mechanism::Ecdsa,
        }
    }

    /// What the mechanism is given: the message itself (the token hashes), or its digest.
    fn input(&self, message: &[u8]) -> Vec<u8> {
        let alg = match self.algorithm {
            KeyAlgorithm::RsaPkcs1Sha256 => return message.to_vec(),
            KeyAlgorithm::RsaPssSha256 | KeyAlgorithm::EcdsaP256Sha256 => &ring::digest::SHA256,
            KeyAlgorithm::EcdsaP384Sha384 => &ring::digest::SHA384,
        };
        ring::digest::digest(alg, message).as_ref().to_vec()
    }

    /// A new logged-in session for the pool. When the module cannot open one at all (its
    /// token is gone for good, as p11-kit's client after its server restarted), the module
    /// is initialised again, once, and the token found again.
    fn new_session(&self) -> Result<PooledSession, KeyError> {
        let seen = self.ctx.generation.load(Ordering::SeqCst);
        let pooled = match self.ctx.open_session(self.slot()) {
            Ok(pooled) => pooled,
            Err(e) if module_lost(&e) => {
                tracing::warn!(module = %self.module.display(), error = %ck(&e), "PKCS#11 module lost its token; initialising it again");
                self.ctx.reinitialize(seen)?;
                let slot = token::find_slot(&self.ctx.ctx, &self.module, &self.token_label)?;
                *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = slot;
                self.ctx
                    .open_session(slot)
                    .map_err(|e| KeyError::Pkcs11(ck(&e)))?
            }
            Err(e) => return Err(KeyError::Pkcs11(ck(&e))),
        };
        token::login(pooled.get()?, &self.pin, &self.token_label)?;
        Ok(pooled)
    }

    /// A session of the module's current generation (older ones are dropped unclosed).
    fn lease(&self) -> Result<pool::Lease<'_, PooledSession>, KeyError> {
        for _ in 0..3 {
            let lease = self.sessions.get(|| self.new_session())?;
            if lease.is_current() {
                return Ok(lease);
            }
            lease.discard();
            self.sessions.clear_idle();
        }
        Err(KeyError::Pkcs11(
            "the module keeps being initialised again; no usable session".into(),
        ))
    }

    /// The private key's handle in `lease`'s generation, looked up again when it is from
    /// another generation or `refresh` asks.
    fn key_handle(
        &self,
        lease: &pool::Lease<'_, PooledSession>,
        refresh: bool,
    ) -> Result<ObjectHandle, KeyError> {
        let mut held = self.handle.lock().unwrap_or_else(PoisonError::into_inner);
        if !refresh && held.1 == lease.generation() {
            return Ok(held.0);
        }
        let label = self.key_label.as_deref();
        let id = self.key_id.as_deref();
        let handle = token::find_private_key(lease.get()?, label, id, &self.token_label)?;
        *held = (handle, lease.generation());
        Ok(handle)
    }

    fn finish(&self, raw: Vec<u8>) -> Result<Vec<u8>, KeyError> {
        match self.shape {
            Shape::Rsa { modulus_len } => encoding::rsa_signature(raw, modulus_len),
            Shape::Ec { coordinate_len, .. } => encoding::ecdsa_der(&raw, coordinate_len),
        }
    }
}

impl SigningKey for Pkcs11Key {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mechanism = self.mechanism();
        let input = self.input(message);
        let mut lost = String::new();
        for attempt in 0..2 {
            let lease = self.lease()?;
            let handle = self.key_handle(&lease, attempt > 0)?;
            let result = lease.get()?.sign(&mechanism, handle, &input);
            if lease.is_current() {
                match result {
                    Ok(raw) => return self.finish(raw),
                    Err(e) if session_lost(&e) => lost = ck(&e),
                    Err(e) => return Err(KeyError::Pkcs11(ck(&e))),
                }
            } else {
                lost = "the module was initialised again meanwhile".into();
            }
            // The token forgot this session (a restart?): drop it and the idle ones, then
            // try once more on a fresh, logged-in session, with the key looked up again.
            lease.discard();
            self.sessions.clear_idle();
            tracing::warn!(token = %self.token_label, error = %lost, "PKCS#11 session lost");
        }
        Err(KeyError::Pkcs11(format!("{lost} (also on a new session)")))
    }

    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn max_signature_len(&self) -> usize {
        let modulus_len = match self.shape {
            Shape::Rsa { modulus_len } => modulus_len,
            Shape::Ec { .. } => 0,
        };
        self.algorithm.max_signature_len(modulus_len)
    }

    fn public_key(&self) -> &[u8] {
        &self.public_key
    }
}

impl Credential {
    /// A credential whose key is on a PKCS#11 token ([`Pkcs11Key::open`]) with its chain
    /// (DER, signer first); fails with [`KeyError::Mismatch`] when the token's key is not
    /// the first certificate's.
    pub fn from_pkcs11(spec: &Pkcs11Spec, chain: Vec<Vec<u8>>) -> Result<Self, KeyError> {
        let key = Pkcs11Key::open(spec)?;
        Self::new(Arc::new(key), chain)
    }
}

/// The algorithm for a key of `shape` and the mechanism asked for, and the PKCS#11
/// mechanism that makes it.
fn choose_algorithm(
    shape: Shape,
    asked: Option<Pkcs11Mechanism>,
) -> Result<(KeyAlgorithm, MechanismType), KeyError> {
    let misfit = |m: Pkcs11Mechanism, kind: &str| {
        Err(KeyError::Pkcs11Unsupported(format!(
            "mechanism {} does not fit the token's {kind} key",
            m.name()
        )))
    };
    match (shape, asked) {
        (Shape::Rsa { .. }, None | Some(Pkcs11Mechanism::RsaPkcs1)) => {
            Ok((KeyAlgorithm::RsaPkcs1Sha256, MechanismType::SHA256_RSA_PKCS))
        }
        (Shape::Rsa { .. }, Some(Pkcs11Mechanism::RsaPss)) => {
            Ok((KeyAlgorithm::RsaPssSha256, MechanismType::RSA_PKCS_PSS))
        }
        (Shape::Rsa { .. }, Some(m @ Pkcs11Mechanism::Ecdsa)) => misfit(m, "RSA"),
        (Shape::Ec { curve, .. }, None | Some(Pkcs11Mechanism::Ecdsa)) => {
            Ok((curve, MechanismType::ECDSA))
        }
        (Shape::Ec { .. }, Some(m)) => misfit(m, "EC"),
    }
}
