//! Incremental-update plumbing for signatures: appends a signature field, its widget and a
//! signature dictionary with fixed-width placeholders, then patches /ByteRange and
//! /Contents in place. Earlier bytes are never touched, so earlier signatures stay valid.
//!
//! This module knows nothing of CMS: [`PreparedSignature::signed_bytes`] hands out the
//! bytes to hash, [`PreparedSignature::embed`] takes the finished signature container.

use lopdf::{Dictionary, IncrementalDocument, Object, ObjectId, Stream, StringFormat, text_string};

/// Errors preparing or finishing a signature update.
#[derive(Debug, thiserror::Error)]
pub enum IncrementalError {
    /// The input could not be parsed as a PDF.
    #[error("the PDF to sign cannot be parsed: {0}")]
    Parse(String),
    /// The document structure lacks something a signature needs (catalog, page).
    #[error("the PDF to sign is missing {0}")]
    Structure(String),
    /// Writing the update failed.
    #[error("writing the signature update failed: {0}")]
    Write(String),
    /// The written update did not contain the placeholders (a writer change would cause this).
    #[error("signature placeholder not found in the written update")]
    PlaceholderMissing,
    /// The signature container is larger than the reserved space.
    #[error("signature container of {needed} bytes does not fit the {capacity} reserved")]
    PlaceholderTooSmall {
        /// Size of the container.
        needed: usize,
        /// Reserved size.
        capacity: usize,
    },
}

/// Where and how the signature field appears.
#[derive(Clone, Debug)]
pub struct SignatureField {
    /// Fully qualified field name (/T), unique in the document.
    pub name: String,
    /// Zero-based page the widget sits on.
    pub page_index: usize,
    /// Widget rectangle in user space; all zeros for an invisible signature.
    pub rect: [f32; 4],
    /// /SubFilter, e.g. `ETSI.CAdES.detached`.
    pub sub_filter: String,
    /// Claimed signing time as a PDF date (`D:YYYYMMDDHHmmSS+07'00'`), written to /M.
    pub pdf_date: String,
    /// /Name: the signer's name as displayed.
    pub signer_name: Option<String>,
    /// /Reason.
    pub reason: Option<String>,
    /// /Location.
    pub location: Option<String>,
    /// Bytes reserved for the signature container (DER).
    pub contents_capacity: usize,
}

/// A PDF with a signature update whose /Contents is still a zero placeholder.
#[derive(Debug)]
pub struct PreparedSignature {
    pdf: Vec<u8>,
    byte_range: [usize; 4],
    capacity: usize,
}

/// Placeholder for each /ByteRange number: ten digits cover files up to 9.3 GiB.
const RANGE_PLACEHOLDER: i64 = 9_999_999_999;

impl PreparedSignature {
    /// The two signed ranges: everything but the /Contents hex string.
    pub fn signed_bytes(&self) -> [&[u8]; 2] {
        let [a, b, c, d] = self.byte_range;
        [&self.pdf[a..a + b], &self.pdf[c..c + d]]
    }

    /// The /ByteRange written into the signature dictionary.
    pub fn byte_range(&self) -> [usize; 4] {
        self.byte_range
    }

    /// The PDF with its placeholder, the /ByteRange and the placeholder's capacity in bytes
    /// (to keep a prepared signature while its value is made elsewhere).
    pub fn into_parts(self) -> (Vec<u8>, [usize; 4], usize) {
        (self.pdf, self.byte_range, self.capacity)
    }

    /// A prepared signature again from [`PreparedSignature::into_parts`], checking that the
    /// ranges fit the PDF and that the gap between them is an empty `<00…>` placeholder of
    /// `capacity` bytes.
    pub fn from_parts(
        pdf: Vec<u8>,
        byte_range: [usize; 4],
        capacity: usize,
    ) -> Result<Self, IncrementalError> {
        let [a, b, c, d] = byte_range;
        let fits = a == 0
            && c.checked_add(d) == Some(pdf.len())
            && b.checked_add(2 + 2 * capacity) == Some(c)
            && pdf.get(b) == Some(&b'<')
            && pdf.get(c - 1) == Some(&b'>')
            && pdf[b + 1..c - 1].iter().all(|&x| x == b'0');
        if !fits {
            return Err(IncrementalError::Structure(
                "a prepared signature whose placeholder does not match its byte range".into(),
            ));
        }
        Ok(Self {
            pdf,
            byte_range,
            capacity,
        })
    }

    /// Writes `container` (DER) into the /Contents placeholder and returns the signed PDF.
    pub fn embed(mut self, container: &[u8]) -> Result<Vec<u8>, IncrementalError> {
        if container.len() > self.capacity {
            return Err(IncrementalError::PlaceholderTooSmall {
                needed: container.len(),
                capacity: self.capacity,
            });
        }
        let start = self.byte_range[1] + 1; // just after '<'
        let hex = hex::encode_upper(container);
        self.pdf[start..start + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.pdf)
    }
}

fn parse_err(e: lopdf::Error) -> IncrementalError {
    IncrementalError::Parse(e.to_string())
}

/// Appends a signature field to `pdf` as an incremental update and returns it with its
/// placeholders located.
pub fn prepare(pdf: &[u8], field: &SignatureField) -> Result<PreparedSignature, IncrementalError> {
    let mut doc: IncrementalDocument = pdf.try_into().map_err(parse_err)?;
    let prev = doc.get_prev_documents();
    let catalog_id = prev
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| IncrementalError::Structure("the document catalog (/Root)".into()))?;
    let page_id = *prev
        .get_pages()
        .get(&(field.page_index as u32 + 1))
        .ok_or_else(|| IncrementalError::Structure(format!("page {}", field.page_index + 1)))?;

    let sig_id = doc.new_document.add_object(signature_dictionary(field));
    let appearance_id = doc.new_document.add_object(empty_appearance(field.rect));
    let widget_id = doc
        .new_document
        .add_object(widget(field, sig_id, page_id, appearance_id));

    add_to_fields(&mut doc, catalog_id, widget_id)?;
    add_to_page_annots(&mut doc, page_id, widget_id)?;

    let mut out = Vec::with_capacity(pdf.len() + field.contents_capacity * 2 + 4096);
    doc.save_to(&mut out)
        .map_err(|e| IncrementalError::Write(e.to_string()))?;
    locate_and_patch(out, pdf.len(), field.contents_capacity)
}

fn signature_dictionary(field: &SignatureField) -> Dictionary {
    let mut sig = Dictionary::new();
    sig.set("Type", Object::Name(b"Sig".to_vec()));
    sig.set("Filter", Object::Name(b"Adobe.PPKLite".to_vec()));
    sig.set(
        "SubFilter",
        Object::Name(field.sub_filter.as_bytes().to_vec()),
    );
    sig.set(
        "ByteRange",
        Object::Array(vec![
            Object::Integer(0),
            Object::Integer(RANGE_PLACEHOLDER),
            Object::Integer(RANGE_PLACEHOLDER),
            Object::Integer(RANGE_PLACEHOLDER),
        ]),
    );
    sig.set(
        "Contents",
        Object::String(
            vec![0u8; field.contents_capacity],
            StringFormat::Hexadecimal,
        ),
    );
    sig.set(
        "M",
        Object::String(field.pdf_date.as_bytes().to_vec(), StringFormat::Literal),
    );
    for (key, value) in [
        ("Name", &field.signer_name),
        ("Reason", &field.reason),
        ("Location", &field.location),
    ] {
        if let Some(v) = value {
            sig.set(key, text_string(v));
        }
    }
    sig
}

fn empty_appearance(rect: [f32; 4]) -> Stream {
    let width = (rect[2] - rect[0]).abs();
    let height = (rect[3] - rect[1]).abs();
    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"XObject".to_vec()));
    dict.set("Subtype", Object::Name(b"Form".to_vec()));
    dict.set(
        "BBox",
        Object::Array(vec![0.into(), 0.into(), width.into(), height.into()]),
    );
    dict.set("Resources", Object::Dictionary(Dictionary::new()));
    Stream::new(dict, Vec::new())
}

fn widget(
    field: &SignatureField,
    sig_id: ObjectId,
    page_id: ObjectId,
    appearance_id: ObjectId,
) -> Dictionary {
    let mut w = Dictionary::new();
    w.set("Type", Object::Name(b"Annot".to_vec()));
    w.set("Subtype", Object::Name(b"Widget".to_vec()));
    w.set("FT", Object::Name(b"Sig".to_vec()));
    w.set("T", text_string(&field.name));
    w.set("V", Object::Reference(sig_id));
    w.set(
        "Rect",
        Object::Array(field.rect.iter().map(|v| Object::Real(*v)).collect()),
    );
    // Print (4) + Locked (128).
    w.set("F", Object::Integer(132));
    w.set("P", Object::Reference(page_id));
    let mut ap = Dictionary::new();
    ap.set("N", Object::Reference(appearance_id));
    w.set("AP", Object::Dictionary(ap));
    w
}

/// Adds the field to /AcroForm /Fields (creating the form if needed) and sets /SigFlags 3.
fn add_to_fields(
    doc: &mut IncrementalDocument,
    catalog_id: ObjectId,
    widget_id: ObjectId,
) -> Result<(), IncrementalError> {
    doc.opt_clone_object_to_new_document(catalog_id)
        .map_err(parse_err)?;
    let acroform_ref = doc
        .new_document
        .get_dictionary(catalog_id)
        .map_err(parse_err)?
        .get(b"AcroForm")
        .ok()
        .and_then(|o| o.as_reference().ok());
    if let Some(form_id) = acroform_ref {
        doc.opt_clone_object_to_new_document(form_id)
            .map_err(parse_err)?;
        let form = doc
            .new_document
            .get_dictionary_mut(form_id)
            .map_err(parse_err)?;
        push_field(form, widget_id);
        return Ok(());
    }
    let catalog = doc
        .new_document
        .get_dictionary_mut(catalog_id)
        .map_err(parse_err)?;
    let mut form = match catalog.get(b"AcroForm") {
        Ok(Object::Dictionary(d)) => d.clone(),
        _ => Dictionary::new(),
    };
    push_field(&mut form, widget_id);
    catalog.set("AcroForm", Object::Dictionary(form));
    Ok(())
}

fn push_field(form: &mut Dictionary, widget_id: ObjectId) {
    match form.get_mut(b"Fields") {
        Ok(Object::Array(fields)) => fields.push(Object::Reference(widget_id)),
        _ => form.set("Fields", Object::Array(vec![Object::Reference(widget_id)])),
    }
    form.set("SigFlags", Object::Integer(3));
}

/// Appends the widget to the page's /Annots (inline array or referenced array).
fn add_to_page_annots(
    doc: &mut IncrementalDocument,
    page_id: ObjectId,
    widget_id: ObjectId,
) -> Result<(), IncrementalError> {
    doc.opt_clone_object_to_new_document(page_id)
        .map_err(parse_err)?;
    let annots_ref = doc
        .new_document
        .get_dictionary(page_id)
        .map_err(parse_err)?
        .get(b"Annots")
        .ok()
        .and_then(|o| o.as_reference().ok());
    if let Some(array_id) = annots_ref {
        doc.opt_clone_object_to_new_document(array_id)
            .map_err(parse_err)?;
        if let Ok(Object::Array(items)) = doc.new_document.get_object_mut(array_id) {
            items.push(Object::Reference(widget_id));
            return Ok(());
        }
    }
    let page = doc
        .new_document
        .get_dictionary_mut(page_id)
        .map_err(parse_err)?;
    match page.get_mut(b"Annots") {
        Ok(Object::Array(items)) => items.push(Object::Reference(widget_id)),
        _ => page.set("Annots", Object::Array(vec![Object::Reference(widget_id)])),
    }
    Ok(())
}

/// Finds the placeholders in the appended update (after `prev_len`) and patches /ByteRange.
fn locate_and_patch(
    mut pdf: Vec<u8>,
    prev_len: usize,
    capacity: usize,
) -> Result<PreparedSignature, IncrementalError> {
    let tail = pdf
        .get(prev_len..)
        .ok_or(IncrementalError::PlaceholderMissing)?;
    let mut hole = Vec::with_capacity(capacity * 2 + 2);
    hole.push(b'<');
    hole.resize(capacity * 2 + 1, b'0');
    hole.push(b'>');
    let lt = prev_len + find(tail, &hole).ok_or(IncrementalError::PlaceholderMissing)?;
    let gt = lt + hole.len() - 1;

    let placeholder = format!("[0 {RANGE_PLACEHOLDER} {RANGE_PLACEHOLDER} {RANGE_PLACEHOLDER}]");
    let range_at = prev_len
        + find(tail, placeholder.as_bytes()).ok_or(IncrementalError::PlaceholderMissing)?;
    let after = gt + 1;
    let byte_range = [0, lt, after, pdf.len() - after];
    let mut text = format!("[0 {} {} {}]", byte_range[1], byte_range[2], byte_range[3]);
    // Pad inside the brackets so the object keeps its length and every offset stays valid.
    while text.len() < placeholder.len() {
        text.insert(text.len() - 1, ' ');
    }
    pdf[range_at..range_at + placeholder.len()].copy_from_slice(text.as_bytes());
    Ok(PreparedSignature {
        pdf,
        byte_range,
        capacity,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
