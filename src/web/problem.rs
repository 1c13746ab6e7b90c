//! Why a request was not answered as asked, and the one place where failures become HTTP
//! statuses: each [`Problem`] says its status (an app error through its
//! [`ErrorKind`]), and both faces — JSON for `/api/`, a page for people — use it.

use axum::http::StatusCode;

use crate::error::Error;
use crate::error_kind::ErrorKind;

use super::text::Lang;

/// A request the listener refuses or cannot answer.
#[derive(Debug)]
pub enum Problem {
    /// An error of the app (its kind decides the status).
    App(Error),
    /// The upload is larger than `http.max_upload_bytes`.
    TooLarge {
        /// The limit, bytes.
        limit: u64,
    },
    /// The client address made too many requests (`http.requests_per_second`,
    /// `http.uploads_per_minute`).
    RateLimited {
        /// Which limit.
        field: &'static str,
    },
    /// Too many uploads are being verified at once (`http.max_concurrent_uploads`).
    Busy,
    /// The upload did not arrive within `http.upload_timeout_ms`.
    Timeout,
    /// Nothing was uploaded, or the form did not carry a file.
    EmptyUpload,
    /// The body could not be read (the connection broke, a malformed form).
    BadUpload(String),
    /// No such page.
    NoRoute,
}

/// The HTTP status of an app error kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists => StatusCode::CONFLICT,
        ErrorKind::NotReady => StatusCode::CONFLICT,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl Problem {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Problem::App(e) => status_of(e.kind()),
            Problem::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Problem::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Problem::Timeout => StatusCode::REQUEST_TIMEOUT,
            Problem::EmptyUpload | Problem::BadUpload(_) => StatusCode::BAD_REQUEST,
            Problem::NoRoute => StatusCode::NOT_FOUND,
        }
    }

    /// What to tell the client; internal details are logged, never sent.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            Problem::App(e) if e.kind() == ErrorKind::Internal => {
                tracing::error!(error = %e, "internal error on the HTTP listener");
                lang.pick(
                    "Lỗi nội bộ; sự cố đã được ghi lại.",
                    "Internal error; the incident was logged.",
                )
                .into()
            }
            Problem::App(e) if e.kind() == ErrorKind::NotFound => lang
                .pick(
                    "Không có bản sao chứng thực nào với mã này để hiển thị.",
                    "No certified copy with this id can be shown.",
                )
                .into(),
            Problem::App(e) => e.to_string(),
            Problem::TooLarge { limit } => match lang {
                Lang::Vi => format!("Tệp lớn hơn giới hạn {limit} byte (http.max_upload_bytes)."),
                Lang::En => {
                    format!("The file is larger than the limit of {limit} bytes (http.max_upload_bytes).")
                }
            },
            Problem::RateLimited { field } => match lang {
                Lang::Vi => format!("Quá nhiều yêu cầu từ địa chỉ này ({field}); hãy thử lại sau."),
                Lang::En => format!("Too many requests from this address ({field}); try again later."),
            },
            Problem::Busy => lang
                .pick(
                    "Máy chủ đang kiểm tra nhiều tệp khác (http.max_concurrent_uploads); hãy thử lại sau giây lát.",
                    "The server is verifying many other files (http.max_concurrent_uploads); try again in a moment.",
                )
                .into(),
            Problem::Timeout => lang
                .pick(
                    "Tệp không được gửi xong trong thời gian cho phép (http.upload_timeout_ms).",
                    "The file did not arrive in time (http.upload_timeout_ms).",
                )
                .into(),
            Problem::EmptyUpload => lang
                .pick(
                    "Không nhận được tệp nào: hãy chọn một tệp PDF.",
                    "No file was received: choose a PDF file.",
                )
                .into(),
            Problem::BadUpload(why) => match lang {
                Lang::Vi => format!("Không đọc được tệp gửi lên: {why}"),
                Lang::En => format!("The upload could not be read: {why}"),
            },
            Problem::NoRoute => lang
                .pick("Không có trang này.", "There is no such page.")
                .into(),
        }
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Problem::App(e)
    }
}
