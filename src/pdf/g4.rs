//! Puts CCITT G4 strips into the exported PDF: krilla has no CCITT pass-through, so each
//! strip was drawn as a tagged placeholder image; here every placeholder XObject gets the
//! strip's bytes with `/Filter /CCITTFaxDecode` and `/DecodeParms << /K -1 ... >>`.
//! The placeholder's colour space (the one krilla validated) is kept.

use lopdf::{Dictionary, Document, Object, Stream};

use super::images::{PLACEHOLDER_WIDTH, placeholder_index};
use super::pages::{Bilevel, G4Strip};

/// One strip to put in, with its page's facts.
pub struct StripRef<'a> {
    /// The strip.
    pub strip: &'a G4Strip,
    /// Its page.
    pub page: &'a Bilevel,
}

/// Replaces the placeholders in `pdf` by `strips` (indexed as the placeholders were).
pub fn fill_placeholders(pdf: &[u8], strips: &[StripRef<'_>]) -> Result<Vec<u8>, String> {
    let mut doc = Document::load_mem(pdf).map_err(|e| format!("re-reading the copy: {e}"))?;
    let mut done = vec![false; strips.len()];
    for object in doc.objects.values_mut() {
        let Object::Stream(stream) = object else {
            continue;
        };
        let is_placeholder = stream
            .dict
            .get(b"Subtype")
            .and_then(Object::as_name)
            .is_ok_and(|n| n == b"Image")
            && stream.dict.get(b"Width").and_then(Object::as_i64).ok()
                == Some(i64::from(PLACEHOLDER_WIDTH))
            && stream.dict.get(b"Height").and_then(Object::as_i64).ok() == Some(1);
        if !is_placeholder {
            continue;
        }
        let Some(index) = stream
            .decompressed_content()
            .ok()
            .and_then(|s| placeholder_index(&s))
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < strips.len())
        else {
            continue;
        };
        let colour_space = stream
            .dict
            .get(b"ColorSpace")
            .cloned()
            .unwrap_or(Object::Name(b"DeviceGray".to_vec()));
        *stream = g4_stream(&strips[index], colour_space);
        done[index] = true;
    }
    if done.iter().any(|d| !d) {
        return Err("a black-and-white strip could not be placed".into());
    }
    let mut out = Vec::with_capacity(pdf.len());
    doc.save_to(&mut out)
        .map_err(|e| format!("writing the copy: {e}"))?;
    Ok(out)
}

fn g4_stream(s: &StripRef<'_>, colour_space: Object) -> Stream {
    let mut parms = Dictionary::new();
    parms.set("K", Object::Integer(-1));
    parms.set("Columns", Object::Integer(i64::from(s.page.width)));
    parms.set("Rows", Object::Integer(i64::from(s.strip.rows)));
    parms.set("BlackIs1", Object::Boolean(false));
    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"XObject".to_vec()));
    dict.set("Subtype", Object::Name(b"Image".to_vec()));
    dict.set("Width", Object::Integer(i64::from(s.page.width)));
    dict.set("Height", Object::Integer(i64::from(s.strip.rows)));
    dict.set("BitsPerComponent", Object::Integer(1));
    dict.set("ColorSpace", colour_space);
    dict.set("Filter", Object::Name(b"CCITTFaxDecode".to_vec()));
    dict.set("DecodeParms", Object::Dictionary(parms));
    if s.page.inverted {
        dict.set(
            "Decode",
            Object::Array(vec![Object::Integer(1), Object::Integer(0)]),
        );
    }
    let mut stream = Stream::new(dict, s.strip.data.to_vec());
    stream.allows_compression = false;
    stream
}
