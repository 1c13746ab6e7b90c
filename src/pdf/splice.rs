//! Puts the uploaded JPEG bytes into the exported PDF without krilla holding a copy.
//!
//! krilla serialises every image into its own buffer before writing the file, so a JPEG
//! page used to live three times at the end of an export: the upload, krilla's chunk and
//! the output. Instead each grey or YCbCr JPEG is drawn as a tiny tagged placeholder with
//! the same colour model (krilla gives it the colour space and PDF/A checks the JPEG would
//! get), and here the exported file is copied object by object into one buffer sized up
//! front, each placeholder replaced by a `/DCTDecode` image whose data is the upload,
//! written once. The cross-reference table is rewritten with the new offsets.

use bytes::Bytes;
use lopdf::{Document, Object, xref::XrefEntry};

use super::images::{PLACEHOLDER_WIDTH, jpeg_placeholder_index};

/// One JPEG to put in, in placeholder order.
pub struct JpegRef<'a> {
    /// The uploaded bytes.
    pub data: &'a Bytes,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Replaces the JPEG placeholders in `pdf` (a file with a classic cross-reference table,
/// as krilla writes) by `jpegs`.
pub fn fill_jpegs(pdf: &[u8], jpegs: &[JpegRef<'_>]) -> Result<Vec<u8>, String> {
    let doc = Document::load_mem(pdf).map_err(|e| format!("re-reading the copy: {e}"))?;
    let xref_at = startxref(pdf).ok_or("the copy has no cross-reference table")?;
    let trailer_at = find(pdf, b"trailer", xref_at).ok_or("the copy has no trailer")?;
    let trailer_end = find(pdf, b"startxref", trailer_at).ok_or("the copy has no trailer")?;

    // Objects by offset; each runs to the next one (the last to the xref table).
    let mut objects: Vec<(usize, u32)> = Vec::new();
    for (&id, entry) in &doc.reference_table.entries {
        match entry {
            XrefEntry::Normal {
                offset,
                generation: 0,
            } => objects.push((*offset as usize, id)),
            XrefEntry::Free | XrefEntry::UnusableFree => {}
            _ => return Err("unexpected cross-reference entry in the copy".into()),
        }
    }
    objects.sort_unstable();
    if objects.first().is_none_or(|o| o.0 == 0) || objects.iter().any(|o| o.0 >= xref_at) {
        return Err("unexpected object layout in the copy".into());
    }

    // Which object is which placeholder, and its colour space.
    let mut swaps: Vec<Option<(usize, String)>> = vec![None; objects.len()];
    let mut done = vec![false; jpegs.len()];
    for (k, &(_, id)) in objects.iter().enumerate() {
        let Ok(Object::Stream(stream)) = doc.get_object((id, 0)) else {
            continue;
        };
        let dict = &stream.dict;
        let placeholder_shape = dict
            .get(b"Subtype")
            .and_then(Object::as_name)
            .is_ok_and(|n| n == b"Image")
            && dict.get(b"Width").and_then(Object::as_i64).ok()
                == Some(i64::from(PLACEHOLDER_WIDTH))
            && dict.get(b"Height").and_then(Object::as_i64).ok() == Some(1);
        if !placeholder_shape {
            continue;
        }
        let Some(index) = stream
            .decompressed_content()
            .ok()
            .and_then(|s| jpeg_placeholder_index(&s))
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < jpegs.len() && !done[i])
        else {
            continue;
        };
        let colour_space = match dict.get(b"ColorSpace") {
            Ok(Object::Reference((n, g))) => format!("{n} {g} R"),
            Ok(Object::Name(name)) if name.iter().all(u8::is_ascii_alphanumeric) => {
                format!("/{}", String::from_utf8_lossy(name))
            }
            _ => return Err("unexpected colour space for a JPEG page".into()),
        };
        swaps[k] = Some((index, colour_space));
        done[index] = true;
    }
    if done.iter().any(|d| !d) {
        return Err("a JPEG page could not be placed".into());
    }

    let extra: usize = jpegs.iter().map(|j| j.data.len() + 256).sum();
    let mut out = Vec::with_capacity(pdf.len() + extra);
    out.extend_from_slice(&pdf[..objects[0].0]);
    let size = doc.reference_table.size.max(doc.max_id + 1) as usize;
    let mut offsets = vec![None; size];
    for (k, &(start, id)) in objects.iter().enumerate() {
        let end = objects.get(k + 1).map_or(xref_at, |o| o.0);
        *offsets
            .get_mut(id as usize)
            .ok_or("object number out of range")? = Some(out.len());
        match &swaps[k] {
            None => out.extend_from_slice(&pdf[start..end]),
            Some((index, colour_space)) => {
                let j = &jpegs[*index];
                out.extend_from_slice(
                    format!(
                        "{id} 0 obj\n<<\n  /Type /XObject\n  /Subtype /Image\n  /Width {}\n  \
                         /Height {}\n  /ColorSpace {colour_space}\n  /BitsPerComponent 8\n  \
                         /Filter /DCTDecode\n  /Length {}\n>>\nstream\n",
                        j.width,
                        j.height,
                        j.data.len()
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(j.data);
                out.extend_from_slice(b"\nendstream\nendobj\n\n");
            }
        }
    }
    let new_xref = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f\r\n").as_bytes());
    for offset in offsets.iter().skip(1) {
        match offset {
            Some(o) => out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes()),
            None => out.extend_from_slice(b"0000000000 65535 f\r\n"),
        }
    }
    out.extend_from_slice(&pdf[trailer_at..trailer_end]);
    out.extend_from_slice(format!("startxref\n{new_xref}\n%%EOF\n").as_bytes());
    Ok(out)
}

/// The offset `startxref` at the end of the file names.
fn startxref(pdf: &[u8]) -> Option<usize> {
    let tail_start = pdf.len().saturating_sub(1024);
    let tail = &pdf[tail_start..];
    let at = tail.windows(9).rposition(|w| w == b"startxref")?;
    let digits: String = tail[at + 9..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| char::from(b))
        .collect();
    let offset: usize = digits.parse().ok()?;
    pdf.get(offset..)?.starts_with(b"xref").then_some(offset)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}
