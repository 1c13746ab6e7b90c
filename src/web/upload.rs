//! Receiving an upload: the PDF as the raw body (`application/pdf`, the API) or as the
//! `file` field of a `multipart/form-data` form (the pages, without JavaScript). A body
//! declared larger than the limit is refused before it is read, one that grows past it as
//! soon as it does; the whole upload must arrive within the timeout. Uploads are held in
//! memory while they are verified (at most `http.max_concurrent_uploads` ×
//! `http.max_upload_bytes`) and dropped afterwards: nothing uploaded is ever written.

use std::time::Duration;

use axum::body::Body;
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::BodyExt;

use super::problem::Problem;

/// Room for the multipart envelope (boundaries, part headers) beyond the file itself.
const FORM_OVERHEAD: u64 = 64 << 10;

/// The uploaded PDF's bytes (the raw body, or the form's file field).
pub async fn receive(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
    timeout: Duration,
) -> Result<Vec<u8>, Problem> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let boundary = multipart_boundary(&content_type);
    if content_type
        .trim()
        .to_ascii_lowercase()
        .starts_with("multipart/")
        && boundary.is_none()
    {
        return Err(Problem::BadUpload(
            "a multipart body without a boundary".into(),
        ));
    }
    let body_limit = match boundary {
        Some(_) => limit.saturating_add(FORM_OVERHEAD),
        None => limit,
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > body_limit) {
        return Err(Problem::TooLarge { limit });
    }
    let bytes = tokio::time::timeout(timeout, read_limited(body, body_limit, limit))
        .await
        .map_err(|_| Problem::Timeout)??;
    let file = match boundary {
        Some(b) => form_file(&bytes, &b)?,
        None => bytes,
    };
    if file.is_empty() {
        return Err(Problem::EmptyUpload);
    }
    if file.len() as u64 > limit {
        return Err(Problem::TooLarge { limit });
    }
    Ok(file)
}

async fn read_limited(mut body: Body, body_limit: u64, limit: u64) -> Result<Vec<u8>, Problem> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Problem::BadUpload(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if out.len() as u64 + data.len() as u64 > body_limit {
                return Err(Problem::TooLarge { limit });
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// The boundary of a `multipart/form-data` content type, unquoted.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    let kind = parts.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary"))
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty() && b.len() <= 200)
    })
}

/// The content of the form's file: the part named `file`, else the first part with a
/// file name.
fn form_file(body: &[u8], boundary: &str) -> Result<Vec<u8>, Problem> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut fallback = None;
    let mut at = memchr::memmem::find(body, &delimiter)
        .ok_or_else(|| Problem::BadUpload("the form has no part".into()))?;
    loop {
        let after = at + delimiter.len();
        if body[after..].starts_with(b"--") {
            break;
        }
        let part_start = match body[after..].strip_prefix(b"\r\n") {
            Some(_) => after + 2,
            None => return Err(Problem::BadUpload("a malformed form boundary".into())),
        };
        let headers_end = memchr::memmem::find(&body[part_start..], b"\r\n\r\n")
            .map(|p| part_start + p)
            .ok_or_else(|| Problem::BadUpload("a form part without headers".into()))?;
        let content_start = headers_end + 4;
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let content_end = memchr::memmem::find(&body[content_start..], &closing)
            .map(|p| content_start + p)
            .ok_or_else(|| Problem::BadUpload("the form ends in the middle of a part".into()))?;
        let headers = String::from_utf8_lossy(&body[part_start..headers_end]).to_ascii_lowercase();
        let disposition = headers
            .lines()
            .find(|l| l.starts_with("content-disposition:"))
            .unwrap_or("");
        let content = &body[content_start..content_end];
        if disposition.contains("name=\"file\"") {
            return Ok(content.to_vec());
        }
        if fallback.is_none() && disposition.contains("filename=") {
            fallback = Some(content.to_vec());
        }
        at = content_end + 2;
    }
    fallback.ok_or(Problem::EmptyUpload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_field_is_taken_from_a_form() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"lang\"\r\n\r\nen\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\r\n\r\nbinary\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        assert_eq!(form_file(body, "XyZ").unwrap(), b"%PDF-1.7\r\n\r\nbinary");
        assert!(matches!(
            form_file(b"--XyZ\r\nno headers end", "XyZ"),
            Err(Problem::BadUpload(_))
        ));
        assert!(matches!(
            form_file(b"--XyZ--\r\n", "XyZ"),
            Err(Problem::EmptyUpload)
        ));
        assert_eq!(multipart_boundary("application/pdf"), None);
    }
}
