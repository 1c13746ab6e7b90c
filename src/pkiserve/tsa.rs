//! The test TSA (RFC 3161): answers a TimeStampReq with a token signed by `tsa.key.pem`,
//! with a unique serial, genTime in whole seconds (UTC), an accuracy of one second and the
//! test policy; a request it cannot read is rejected (PKIStatus 2), never a panic.

use std::sync::atomic::{AtomicU64, Ordering};

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::{Any, GeneralizedTime, Uint};
use der::{Decode, Encode};
use time::OffsetDateTime;

use crate::pki::key::Credential;
use crate::sign::cms::encapsulated_signed_data;
use crate::tsa::asn1::{
    Accuracy, OID_TST_INFO, PkiStatusInfoOut, TimeStampReq, TimeStampRespOut, TstInfoOut,
};

/// The test TSA's policy: an OID under a private arc that says TEST (never a real policy).
pub const TEST_TSA_POLICY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59881.3161.1");

/// The test TSA: its key and chain (TSA certificate first), and its serial counter.
#[derive(Debug)]
pub struct TestTsa {
    credential: Credential,
    /// Serials are `prefix ‖ counter`: the prefix (the start time in nanoseconds) keeps
    /// them unique across processes and restarts, the counter within one.
    prefix: u64,
    counter: AtomicU64,
}

impl TestTsa {
    /// A TSA signing with `credential`; `started` seeds the serials.
    pub fn new(credential: Credential, started: OffsetDateTime) -> Self {
        Self {
            credential,
            prefix: u64::try_from(started.unix_timestamp_nanos()).unwrap_or(1),
            counter: AtomicU64::new(0),
        }
    }

    /// The DER TimeStampResp to `request` (DER TimeStampReq) at `now`.
    pub fn respond(&self, request: &[u8], now: OffsetDateTime) -> Vec<u8> {
        let outcome = TimeStampReq::from_der(request)
            .map_err(|e| format!("the request is not a TimeStampReq: {e}"))
            .and_then(|req| self.token(&req, now));
        let resp = match outcome {
            Ok(token) => TimeStampRespOut {
                status: PkiStatusInfoOut {
                    status: 0,
                    status_string: None,
                },
                time_stamp_token: Some(token),
            },
            Err(why) => TimeStampRespOut {
                status: PkiStatusInfoOut {
                    status: 2,
                    status_string: Some(vec![why]),
                },
                time_stamp_token: None,
            },
        };
        // A response of a status and a short string always encodes; empty is a broken answer.
        resp.to_der().unwrap_or_default()
    }

    fn token(&self, req: &TimeStampReq, now: OffsetDateTime) -> Result<Any, String> {
        let alg = &req.message_imprint.hash_algorithm.oid;
        let len = match *alg {
            rfc5912::ID_SHA_256 => 32,
            rfc5912::ID_SHA_384 => 48,
            rfc5912::ID_SHA_512 => 64,
            _ => return Err(format!("hash algorithm {alg} is not accepted (badAlg)")),
        };
        if req.version != 1 || req.message_imprint.hashed_message.as_bytes().len() != len {
            return Err("version or imprint length is wrong (badDataFormat)".into());
        }
        if let Some(p) = req.req_policy
            && p != TEST_TSA_POLICY
        {
            return Err(format!("policy {p} is not this TSA's (unacceptedPolicy)"));
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut serial = self.prefix.to_be_bytes().to_vec();
        serial.extend_from_slice(&n.to_be_bytes());
        let e = |e: der::Error| e.to_string();
        let secs =
            u64::try_from(now.unix_timestamp()).map_err(|_| "time before 1970".to_string())?;
        let tst = TstInfoOut {
            version: 1,
            policy: TEST_TSA_POLICY,
            message_imprint: req.message_imprint.clone(),
            serial_number: Uint::new(&serial).map_err(e)?,
            gen_time: GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
                .map_err(e)?,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: req.nonce.clone(),
        };
        let tst_der = tst.to_der().map_err(e)?;
        let token = encapsulated_signed_data(
            OID_TST_INFO,
            &tst_der,
            self.credential.key.as_ref(),
            &self.credential.chain,
            req.cert_req,
        )
        .map_err(|e| e.to_string())?;
        Any::from_der(&token).map_err(e)
    }
}
