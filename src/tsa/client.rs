//! The RFC 3161 client: asks each TSA in turn until one gives a token that checks.

use std::time::Duration;

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use const_oid::db::{rfc5911, rfc5912};
use der::Decode;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;

use super::asn1::{MessageImprint, OID_TST_INFO, TimeStampResp, TstInfo, request_der, strip_zeros};
use super::config::TsaConfig;
use super::http;
use crate::sign::{SignatureTimeStamper, TimeStampFailure};

/// An RFC 3161 client over an ordered list of TSAs.
#[derive(Clone, Debug)]
pub struct TsaClient {
    urls: Vec<String>,
    timeout: Duration,
    max_response: usize,
    max_token: usize,
    anchors: Vec<Vec<u8>>,
}

impl TsaClient {
    /// A client asking `urls` in order, each within the configured time, accepting only
    /// tokens whose TSA certificate chains to `anchors` (DER).
    pub fn new(config: &TsaConfig, urls: Vec<String>, anchors: Vec<Vec<u8>>) -> Self {
        Self {
            urls,
            timeout: Duration::from_millis(config.timeout_ms),
            max_response: config.max_response_bytes,
            max_token: config.max_token_bytes,
            anchors,
        }
    }

    /// The URLs tried, in order.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// A checked token over `data` from the first TSA that gives one; the error lists
    /// every TSA tried with its reason.
    pub async fn time_stamp_async(&self, data: &[u8]) -> Result<Vec<u8>, TimeStampFailure> {
        let mut reasons = Vec::new();
        for url in &self.urls {
            match self.ask(url, data).await {
                Ok(token) => return Ok(token),
                Err(reason) => {
                    tracing::warn!(tsa = %url, %reason, "time-stamping authority not used");
                    reasons.push(format!("{url}: {reason}"));
                }
            }
        }
        if reasons.is_empty() {
            reasons.push("no TSA is configured".into());
        }
        Err(TimeStampFailure(format!(
            "no time-stamping authority gave a usable time-stamp ({})",
            reasons.join("; ")
        )))
    }

    /// One TSA: request, answer, and every check of the answer.
    async fn ask(&self, url: &str, data: &[u8]) -> Result<Vec<u8>, String> {
        let hash = ring::digest::digest(&ring::digest::SHA256, data);
        let imprint = MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: rfc5912::ID_SHA_256,
                parameters: None,
            },
            hashed_message: OctetString::new(hash.as_ref()).map_err(|e| e.to_string())?,
        };
        let nonce = (rand::random::<u64>() >> 1 | 1 << 62).to_be_bytes();
        let body = request_der(imprint.clone(), &nonce).map_err(|e| e.to_string())?;
        let answer = http::post(
            url,
            "application/timestamp-query",
            body,
            self.timeout,
            self.max_response,
        )
        .await
        .map_err(|e| e.to_string())?;
        let token = self.check(&answer, &imprint, &nonce, data)?;
        Ok(token)
    }

    /// The token of `answer` if it grants a time-stamp over `imprint` with `nonce`, signed
    /// by a TSA certificate chaining to the anchors with a critical timeStamping EKU.
    fn check(
        &self,
        answer: &[u8],
        imprint: &MessageImprint,
        nonce: &[u8],
        data: &[u8],
    ) -> Result<Vec<u8>, String> {
        let resp = TimeStampResp::from_der(answer)
            .map_err(|e| format!("the answer is not an RFC 3161 TimeStampResp ({e})"))?;
        if resp.status > 1 {
            return Err(format!(
                "the TSA refused (PKIStatus {}{})",
                resp.status,
                match resp.text.is_empty() {
                    true => String::new(),
                    false => format!(": {}", resp.text),
                }
            ));
        }
        let token = resp.token.ok_or("granted without a token")?;
        if token.len() > self.max_token {
            return Err(format!(
                "the token of {} bytes exceeds tsa.max_token_bytes {}",
                token.len(),
                self.max_token
            ));
        }
        let tst = tst_info(&token)?;
        if tst.version != 1 {
            return Err(format!("TSTInfo version {}", tst.version));
        }
        if tst.message_imprint.hash_algorithm.oid != imprint.hash_algorithm.oid
            || tst.message_imprint.hashed_message != imprint.hashed_message
        {
            return Err("the token time-stamps other data (message imprint)".into());
        }
        if tst.nonce.as_deref().map(strip_zeros) != Some(strip_zeros(nonce)) {
            return Err("the token's nonce is not the request's".into());
        }
        let checked = saoy_verify::check_timestamp_token(&token, data, &self.anchors);
        if !checked.is_good() {
            return Err(format!(
                "the token does not check: {}",
                checked.notes.join("; ")
            ));
        }
        let tsa = checked
            .tsa_certificate
            .ok_or("the token names no TSA certificate")?;
        critical_time_stamping_only(&tsa)?;
        Ok(token)
    }
}

/// The TSTInfo inside a token.
fn tst_info(token: &[u8]) -> Result<TstInfo, String> {
    let bad = |e: der::Error| format!("the token is not a SignedData over a TSTInfo ({e})");
    let content = ContentInfo::from_der(token).map_err(bad)?;
    if content.content_type != rfc5911::ID_SIGNED_DATA {
        return Err("the token is not a SignedData".into());
    }
    let sd: SignedData = content.content.decode_as().map_err(bad)?;
    if sd.encap_content_info.econtent_type != OID_TST_INFO {
        return Err("the token does not hold a TSTInfo".into());
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .ok_or("the token holds no TSTInfo")?;
    let octets: OctetString = econtent.decode_as().map_err(bad)?;
    TstInfo::from_der(octets.as_bytes()).map_err(|e| format!("TSTInfo: {e}"))
}

/// RFC 3161 §2.3: the TSA certificate has one extKeyUsage, critical, with only
/// id-kp-timeStamping.
fn critical_time_stamping_only(der: &[u8]) -> Result<(), String> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| format!("TSA certificate: {e}"))?;
    let eku = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == "2.5.29.37")
        .ok_or(
            "the TSA certificate has no extKeyUsage (RFC 3161 needs a critical id-kp-timeStamping)",
        )?;
    if !eku.critical {
        return Err("the TSA certificate's extKeyUsage is not critical (RFC 3161 §2.3)".into());
    }
    match eku.parsed_extension() {
        x509_parser::extensions::ParsedExtension::ExtendedKeyUsage(k)
            if k.time_stamping
                && !k.any
                && !k.server_auth
                && !k.client_auth
                && !k.code_signing
                && !k.email_protection
                && !k.ocsp_signing
                && k.other.is_empty() =>
        {
            Ok(())
        }
        _ => Err("the TSA certificate's extKeyUsage is not id-kp-timeStamping alone".into()),
    }
}

impl SignatureTimeStamper for TsaClient {
    fn time_stamp(&self, signature_value: &[u8]) -> Result<Vec<u8>, TimeStampFailure> {
        http::block_on(self.time_stamp_async(signature_value))
            .map_err(|e| TimeStampFailure(e.to_string()))?
    }

    fn max_token_len(&self) -> usize {
        self.max_token
    }
}
