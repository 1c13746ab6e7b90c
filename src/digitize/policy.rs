//! What a document type demands of its scans: resolution, colour, blank pages, OCR.
//!
//! NĐ 30/2020 asks for colour scans of at least 200 dpi; Công văn 7197/BKHCN (2025) asks
//! 300 dpi for archives, colour wherever there is a seal, signature or handwritten note,
//! and OCR of printed Vietnamese. A [`PolicyBook`] maps a document type (as the clerk
//! names it, compared without case, accents or extra spaces) to a [`DocumentPolicy`].

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

/// What to do with a page that looks blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlankPages {
    /// Do not look for blank pages (saves decoding JPEG scans, the slowest check).
    Allow,
    /// Accept it and report a warning (a blank back side may belong to the original).
    Warn,
    /// Refuse the upload.
    Refuse,
}

/// The rules one document type's scans must follow.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentPolicy {
    /// Minimum resolution in dpi (raised to the server-wide minimum if lower).
    pub min_dpi: u32,
    /// Grayscale and black-and-white scans are refused (documents with a red seal).
    pub colour_required: bool,
    /// Add a Vietnamese text layer (OCR) to the copy.
    pub ocr: bool,
    /// What to do with blank pages.
    pub blank_pages: BlankPages,
}

/// NĐ 30/2020 minimum resolution.
pub const DEFAULT_MIN_DPI: u32 = 200;
/// Công văn 7197/BKHCN minimum for archived documents.
pub const ARCHIVE_MIN_DPI: u32 = 300;

impl Default for DocumentPolicy {
    fn default() -> Self {
        Self {
            min_dpi: DEFAULT_MIN_DPI,
            colour_required: false,
            ocr: false,
            blank_pages: BlankPages::Warn,
        }
    }
}

impl DocumentPolicy {
    /// The policy for documents that carry a seal or signature: colour required.
    pub fn sealed() -> Self {
        Self {
            colour_required: true,
            ..Self::default()
        }
    }
}

/// Policies by document type, with a default for every other type.
#[derive(Debug, Clone, Default)]
pub struct PolicyBook {
    default: DocumentPolicy,
    by_type: HashMap<String, DocumentPolicy>,
}

impl PolicyBook {
    /// A book where every type gets `default`.
    pub fn new(default: DocumentPolicy) -> Self {
        Self {
            default,
            by_type: HashMap::new(),
        }
    }

    /// The built-in book: civil-status and educational papers bear a red seal, so they must
    /// be scanned in colour; everything else follows NĐ 30/2020 defaults.
    pub fn builtin() -> Self {
        let mut book = Self::default();
        for kind in [
            "Giấy khai sinh",
            "Giấy chứng nhận kết hôn",
            "Trích lục khai tử",
            "Bằng tốt nghiệp",
            "Giấy chứng nhận quyền sử dụng đất",
            "Quyết định",
        ] {
            book.insert(kind, DocumentPolicy::sealed());
        }
        book
    }

    /// Sets the policy of `document_type`.
    pub fn insert(&mut self, document_type: &str, policy: DocumentPolicy) {
        self.by_type.insert(key(document_type), policy);
    }

    /// The policy of `document_type` (the default when the type is not listed).
    pub fn lookup(&self, document_type: &str) -> &DocumentPolicy {
        self.by_type
            .get(&key(document_type))
            .unwrap_or(&self.default)
    }
}

/// Comparison key: no diacritics, lower case, single spaces ("Giấy  Khai sinh" = "giay khai sinh").
fn key(s: &str) -> String {
    let folded: String = s
        .nfd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .map(|c| if c == 'đ' || c == 'Đ' { 'd' } else { c })
        .collect::<String>()
        .to_lowercase();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_accents_and_spacing() {
        let book = PolicyBook::builtin();
        assert!(book.lookup("GIAY  khai sinh").colour_required);
        assert!(book.lookup("Giấy khai sinh").colour_required);
        assert!(!book.lookup("Sổ hộ khẩu").colour_required);
        assert_eq!(book.lookup("anything").min_dpi, 200);
        assert_eq!(key("Đơn đề nghị"), "don de nghi");
    }
}
