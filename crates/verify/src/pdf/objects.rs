//! The PDF object graph seen by the verifier (through lopdf, guarded against panics), and
//! discovery of signature fields: AcroForm fields and kids, and widgets on the pages.

use std::collections::{BTreeSet, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use lopdf::{Dictionary, Document, Object, ObjectId};
use thiserror::Error;

/// Most fields/annotations visited while looking for signatures.
const MAX_NODES: usize = 20_000;
/// Deepest field tree followed.
const MAX_FIELD_DEPTH: usize = 32;

/// Errors loading the document.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PdfError {
    /// lopdf could not read the file.
    #[error("cannot parse the PDF: {0}")]
    Parse(String),
    /// The parser panicked on this input.
    #[error("the PDF parser failed on this input")]
    Panic,
    /// The document is encrypted; signatures are validated on plain files only.
    #[error("the PDF is encrypted")]
    Encrypted,
}

/// Largest size one stream may inflate to while loading (object and xref streams) or when
/// the verifier reads a stream (validation data): keeps decompression bombs bounded.
pub const MAX_STREAM: usize = 32 * 1024 * 1024;

/// Loads `bytes` with lopdf (streams bounded by [`MAX_STREAM`]), converting panics into errors.
pub fn load(bytes: &[u8]) -> Result<Document, PdfError> {
    let opts = lopdf::LoadOptions {
        max_decompressed_size: Some(MAX_STREAM),
        ..Default::default()
    };
    let res = catch_unwind(AssertUnwindSafe(|| {
        Document::load_mem_with_options(bytes, opts)
    }));
    match res {
        Ok(Ok(doc)) => {
            if doc.trailer.get(b"Encrypt").is_ok() {
                return Err(PdfError::Encrypted);
            }
            Ok(doc)
        }
        Ok(Err(e)) => Err(PdfError::Parse(e.to_string())),
        Err(_) => Err(PdfError::Panic),
    }
}

/// Follows references (a bounded number of times).
pub fn resolve<'a>(doc: &'a Document, mut obj: &'a Object) -> Option<&'a Object> {
    for _ in 0..16 {
        match obj {
            Object::Reference(id) => obj = doc.objects.get(id)?,
            other => return Some(other),
        }
    }
    None
}

/// The dictionary behind `obj` (stream dictionaries included).
pub fn as_dict<'a>(doc: &'a Document, obj: &'a Object) -> Option<&'a Dictionary> {
    match resolve(doc, obj)? {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

/// `dict[key]`, resolved.
pub fn get<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    resolve(doc, dict.get(key).ok()?)
}

/// `dict[key]` as a name.
pub fn get_name<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    match get(doc, dict, key)? {
        Object::Name(n) => Some(n),
        _ => None,
    }
}

/// The catalog.
pub fn catalog(doc: &Document) -> Option<&Dictionary> {
    as_dict(doc, doc.trailer.get(b"Root").ok()?)
}

/// Decodes a PDF text string (UTF-16BE with BOM, UTF-8 with BOM, else PDFDocEncoding ≈ Latin-1).
pub fn text_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| {
                (u16::from(c.first().copied().unwrap_or(0)) << 8)
                    | u16::from(c.get(1).copied().unwrap_or(0))
            })
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    bytes.iter().map(|b| char::from(*b)).collect()
}

/// The decoded bytes of a stream, bounded by [`MAX_STREAM`]; unfiltered streams as stored.
pub fn stream_bytes(s: &lopdf::Stream) -> Option<Vec<u8>> {
    if s.dict.get(b"Filter").is_ok() {
        s.decompressed_content_with_limit(MAX_STREAM).ok()
    } else {
        Some(s.content.clone())
    }
}

/// The DocMDP permission (1, 2 or 3) of a certification signature dictionary, if it is one.
pub fn docmdp_permission(doc: &Document, sig: &Dictionary) -> Option<u8> {
    let Some(Object::Array(refs)) = get(doc, sig, b"Reference") else {
        return None;
    };
    for r in refs.iter().take(16) {
        let Some(rd) = as_dict(doc, r) else { continue };
        if get_name(doc, rd, b"TransformMethod") != Some(b"DocMDP") {
            continue;
        }
        let p = get(doc, rd, b"TransformParams")
            .and_then(|tp| match tp {
                Object::Dictionary(d) => get(doc, d, b"P"),
                _ => None,
            })
            .and_then(|p| match p {
                Object::Integer(i) => Some(*i),
                _ => None,
            })
            .unwrap_or(2);
        // An invalid /P is read as the strictest permission.
        return Some(if (1..=3).contains(&p) { p as u8 } else { 1 });
    }
    None
}

/// A signature found in the document.
#[derive(Debug, Clone)]
pub struct FoundSignature {
    /// Fully qualified field name.
    pub field: String,
    /// The field's object, when indirect.
    pub field_id: Option<ObjectId>,
    /// The signature dictionary (empty when `broken`).
    pub dict: Dictionary,
    /// Why the field's value is not a signature dictionary that can be read, if it is not.
    pub broken: Option<String>,
}

/// Every signed signature field (with /V), from the AcroForm and from page widgets.
pub fn find_signatures(doc: &Document) -> Vec<FoundSignature> {
    let mut out = Vec::new();
    let mut seen_fields: HashSet<ObjectId> = HashSet::new();
    let mut budget = MAX_NODES;
    if let Some(cat) = catalog(doc)
        && let Some(acro) = cat.get(b"AcroForm").ok().and_then(|o| as_dict(doc, o))
        && let Some(Object::Array(fields)) = get(doc, acro, b"Fields")
    {
        let mut visiting = BTreeSet::new();
        for f in fields {
            walk_field(
                doc,
                f,
                "",
                None,
                0,
                &mut visiting,
                &mut seen_fields,
                &mut out,
                &mut budget,
            );
        }
    }
    // Widgets reachable from pages whose field was not in the AcroForm tree.
    for (_, page_id) in doc.get_pages() {
        if budget == 0 {
            break;
        }
        let Some(page) = doc.objects.get(&page_id).and_then(|o| as_dict(doc, o)) else {
            continue;
        };
        let Some(Object::Array(annots)) = get(doc, page, b"Annots") else {
            continue;
        };
        for a in annots {
            if budget == 0 {
                break;
            }
            budget -= 1;
            let Object::Reference(aid) = a else { continue };
            let Some(ad) = as_dict(doc, a) else { continue };
            if get_name(doc, ad, b"Subtype") != Some(b"Widget") {
                continue;
            }
            // The field is the widget itself, or its parent.
            let (field_id, field_dict) = match ad.get(b"Parent") {
                Ok(Object::Reference(pid)) if ad.get(b"V").is_err() && ad.get(b"T").is_err() => {
                    match doc.objects.get(pid).and_then(|o| as_dict(doc, o)) {
                        Some(pd) => (*pid, pd),
                        None => continue,
                    }
                }
                _ => (*aid, ad),
            };
            if seen_fields.contains(&field_id) {
                continue;
            }
            if inherited_ft(doc, field_dict) != Some(b"Sig".to_vec()) {
                continue;
            }
            let name = full_name(doc, field_dict);
            push_signature(
                doc,
                field_dict,
                name,
                Some(field_id),
                &mut seen_fields,
                &mut out,
            );
        }
    }
    out
}

fn inherited_ft<'a>(doc: &'a Document, mut d: &'a Dictionary) -> Option<Vec<u8>> {
    for _ in 0..MAX_FIELD_DEPTH {
        if let Some(n) = get_name(doc, d, b"FT") {
            return Some(n.to_vec());
        }
        d = as_dict(doc, d.get(b"Parent").ok()?)?;
    }
    None
}

fn full_name<'a>(doc: &'a Document, mut d: &'a Dictionary) -> String {
    let mut parts = Vec::new();
    for _ in 0..MAX_FIELD_DEPTH {
        if let Some(Object::String(t, _)) = get(doc, d, b"T") {
            parts.push(text_string(t));
        }
        match d.get(b"Parent").ok().and_then(|p| as_dict(doc, p)) {
            Some(p) => d = p,
            None => break,
        }
    }
    parts.reverse();
    parts.join(".")
}

#[allow(clippy::too_many_arguments)]
fn walk_field(
    doc: &Document,
    obj: &Object,
    prefix: &str,
    inherited: Option<&[u8]>,
    depth: usize,
    visiting: &mut BTreeSet<ObjectId>,
    seen: &mut HashSet<ObjectId>,
    out: &mut Vec<FoundSignature>,
    budget: &mut usize,
) {
    if depth > MAX_FIELD_DEPTH || *budget == 0 {
        return;
    }
    *budget -= 1;
    let id = match obj {
        Object::Reference(id) => {
            if !visiting.insert(*id) {
                return; // cycle
            }
            Some(*id)
        }
        _ => None,
    };
    let Some(d) = as_dict(doc, obj) else { return };
    let name = match get(doc, d, b"T") {
        Some(Object::String(t, _)) => {
            let t = text_string(t);
            if prefix.is_empty() {
                t
            } else {
                format!("{prefix}.{t}")
            }
        }
        _ => prefix.to_string(),
    };
    let ft = get_name(doc, d, b"FT").or(inherited);
    let kids = match get(doc, d, b"Kids") {
        Some(Object::Array(k)) => Some(k),
        _ => None,
    };
    // A field has /V or terminal widgets; kids that are pure widgets have no /T.
    if ft == Some(b"Sig") && d.get(b"V").is_ok() {
        if let Some(id) = id
            && seen.contains(&id)
        {
            return;
        }
        push_signature(doc, d, name.clone(), id, seen, out);
    }
    if let Some(kids) = kids {
        for k in kids {
            let is_field = as_dict(doc, k).is_some_and(|kd| {
                kd.get(b"T").is_ok() || kd.get(b"V").is_ok() || kd.get(b"Kids").is_ok()
            });
            if is_field {
                walk_field(doc, k, &name, ft, depth + 1, visiting, seen, out, budget);
            } else if let Object::Reference(kid) = k {
                // Widget kid of this field: mark it seen so the page pass skips it.
                seen.insert(*kid);
            }
        }
    }
}

fn push_signature(
    doc: &Document,
    field: &Dictionary,
    name: String,
    field_id: Option<ObjectId>,
    seen: &mut HashSet<ObjectId>,
    out: &mut Vec<FoundSignature>,
) {
    if let Some(id) = field_id {
        seen.insert(id);
    }
    let v = match field.get(b"V") {
        Ok(Object::Null) | Err(_) => return,
        Ok(v) => v,
    };
    let (dict, broken) = match as_dict(doc, v) {
        Some(d) => (d.clone(), None),
        None => (
            Dictionary::new(),
            Some(match v {
                Object::Reference(r) if !doc.objects.contains_key(r) => format!(
                    "the field's value {} {} R is not an object of the document (missing or unreadable)",
                    r.0, r.1
                ),
                _ => "the field's value is not a dictionary".to_string(),
            }),
        ),
    };
    let field = if name.is_empty() {
        format!("Signature{}", out.len() + 1)
    } else {
        name
    };
    out.push(FoundSignature {
        field,
        field_id,
        dict,
        broken,
    });
}

/// Every live object of `doc` that is a signature dictionary (`/Type /Sig` or
/// `/DocTimeStamp` with a `/ByteRange`), attached to a field or not.
pub fn live_signature_dicts(doc: &Document) -> Vec<(ObjectId, &Dictionary)> {
    doc.objects
        .iter()
        .filter_map(|(id, o)| match o {
            Object::Dictionary(d)
                if d.get(b"ByteRange").is_ok()
                    && matches!(
                        d.get(b"Type"),
                        Ok(Object::Name(n)) if n == b"Sig" || n == b"DocTimeStamp"
                    ) =>
            {
                Some((*id, d))
            }
            _ => None,
        })
        .take(MAX_NODES)
        .collect()
}

/// The /ByteRange of a signature dictionary, when every element is an integer.
pub fn byte_range_values(doc: &Document, d: &Dictionary) -> Option<Vec<i64>> {
    match get(doc, d, b"ByteRange") {
        Some(Object::Array(a)) => a
            .iter()
            .map(|o| match resolve(doc, o) {
                Some(Object::Integer(i)) => Some(*i),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}
