//! File type detection from magic bytes, and the check of the declared media type.

/// What the content of an uploaded file is, judged from its first bytes only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// JPEG (JFIF/EXIF) image.
    Jpeg,
    /// PNG image.
    Png,
    /// TIFF image (one or more pages).
    Tiff,
    /// PDF document.
    Pdf,
    /// A format we recognise but do not accept; the text names it.
    Other(&'static str),
}

impl Kind {
    /// Human wording used in error messages.
    pub fn describe(self) -> String {
        match self {
            Kind::Jpeg => "a JPEG image".to_owned(),
            Kind::Png => "a PNG image".to_owned(),
            Kind::Tiff => "a TIFF image".to_owned(),
            Kind::Pdf => "a PDF document".to_owned(),
            Kind::Other(what) => what.to_owned(),
        }
    }
}

/// How far into the file the `%PDF-` header may start (readers accept leading junk up to 1 KiB).
const PDF_HEADER_WINDOW: usize = 1024;

/// Detects the content type from magic bytes.
pub fn sniff(data: &[u8]) -> Kind {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Kind::Jpeg
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Kind::Png
    } else if find(&data[..data.len().min(PDF_HEADER_WINDOW)], b"%PDF-").is_some() {
        Kind::Pdf
    } else if [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"]
        .iter()
        .any(|m| data.starts_with(*m))
    {
        // Classic and BigTIFF, both byte orders.
        Kind::Tiff
    } else if data.starts_with(b"GIF8") {
        Kind::Other("a GIF image")
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Kind::Other("a WebP image")
    } else if data.len() >= 12 && &data[4..8] == b"ftyp" {
        Kind::Other("a HEIC/MP4 file")
    } else if data.starts_with(b"BM") {
        Kind::Other("a BMP image")
    } else if data.starts_with(b"PK\x03\x04") {
        Kind::Other("a ZIP or Office document")
    } else if is_mostly_text(data) {
        Kind::Other("text")
    } else {
        Kind::Other("unknown content")
    }
}

/// What a declared media type claims, if it claims anything specific.
///
/// `None` means "no claim" (absent, empty, or a generic binary type).
pub fn declared_kind(media_type: Option<&str>) -> Option<Result<Kind, String>> {
    let raw = media_type?;
    let essence = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let kind = match essence.as_str() {
        "" | "application/octet-stream" | "binary/octet-stream" | "application/binary" => {
            return None;
        }
        "image/jpeg" | "image/jpg" | "image/pjpeg" => Kind::Jpeg,
        "image/png" | "image/x-png" => Kind::Png,
        "image/tiff" | "image/tif" | "image/x-tiff" => Kind::Tiff,
        "application/pdf" | "application/x-pdf" => Kind::Pdf,
        _ => return Some(Err(essence)),
    };
    Some(Ok(kind))
}

/// Wording of a declared type for messages ("a PDF document", or the raw media type).
pub fn describe_declared(declared: &Result<Kind, String>) -> String {
    match declared {
        Ok(kind) => kind.describe(),
        Err(raw) => raw.clone(),
    }
}

fn is_mostly_text(data: &[u8]) -> bool {
    let head = &data[..data.len().min(512)];
    !head.is_empty()
        && head
            .iter()
            .all(|&b| b == b'\n' || b == b'\r' || b == b'\t' || b >= 0x20)
        && std::str::from_utf8(head).is_ok()
}

/// Position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Kind::Jpeg);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Kind::Png);
        assert_eq!(sniff(b"%PDF-1.7\n"), Kind::Pdf);
        assert_eq!(sniff(b"junk\n%PDF-1.4\n"), Kind::Pdf);
        assert_eq!(sniff(b"hello world\n"), Kind::Other("text"));
        assert_eq!(sniff(b"II*\0abcd"), Kind::Tiff);
        assert_eq!(sniff(b"MM\0*abcd"), Kind::Tiff);
    }

    #[test]
    fn declared_types() {
        assert_eq!(declared_kind(None), None);
        assert_eq!(declared_kind(Some("application/octet-stream")), None);
        assert_eq!(
            declared_kind(Some("Application/PDF; charset=binary")),
            Some(Ok(Kind::Pdf))
        );
        assert_eq!(
            declared_kind(Some("text/plain")),
            Some(Err("text/plain".to_owned()))
        );
    }
}
