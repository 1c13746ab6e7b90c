//! Writes the final file from krilla's export: the JPEG bytes put in, the structure
//! compacted, straight to any [`Write`] sink.
//!
//! krilla serialises every image into its own buffer before writing the file, so a JPEG
//! page used to live three times at the end of an export: the upload, krilla's chunk and
//! the output. Instead each grey or YCbCr JPEG is drawn as a tiny tagged placeholder with
//! the same colour model (krilla gives it the colour space and PDF/A checks the JPEG would
//! get), and here the exported file is written object by object, each placeholder replaced
//! by a `/DCTDecode` image whose data is the upload, copied once, from memory or from its
//! file (checked against the length and CRC-32 it had when it was digitised).
//!
//! When the document embeds no uploaded PDF (every object is krilla's own), the objects are
//! also written compactly: numbered again in order, each page's resource dictionary and
//! the output intents written inside the object that uses them, pages with the same content
//! sharing one content stream, no `/ProcSet` (obsolete), and the JPEG image dictionaries
//! without their optional `/Type`. Otherwise objects are copied as they are. The
//! cross-reference table is classic either way, so that signatures can be appended as
//! incremental updates.

use std::collections::HashMap;
use std::io::{Read, Write};

use bytes::Bytes;
use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat, xref::XrefEntry};

use super::flate::FlateImage;
use super::images::{PLACEHOLDER_WIDTH, flate_placeholder_index, jpeg_placeholder_index};
use super::pages::FileJpeg;

/// Where a JPEG's bytes are.
#[derive(Clone, Copy)]
pub enum JpegBytes<'a> {
    /// In memory (the upload).
    Memory(&'a Bytes),
    /// In a file, read when the page is written.
    File(&'a FileJpeg),
}

impl JpegBytes<'_> {
    fn len(&self) -> u64 {
        match self {
            JpegBytes::Memory(b) => b.len() as u64,
            JpegBytes::File(f) => f.len,
        }
    }
}

/// One JPEG to put in, in placeholder order.
pub struct JpegRef<'a> {
    /// Its bytes.
    pub bytes: JpegBytes<'a>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Why the file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FinalWriteError {
    /// krilla's export is not shaped as expected (an internal error).
    #[error("{0}")]
    Structure(String),
    /// A JPEG file is not the one that was checked any more.
    #[error("{path} changed after it was checked: digitise it again")]
    SourceChanged {
        /// The file.
        path: String,
    },
    /// Reading a JPEG file or writing the output failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn structure(s: &str) -> FinalWriteError {
    FinalWriteError::Structure(s.to_owned())
}

/// The images put in for placeholders, by kind, in placeholder order.
#[derive(Clone, Copy)]
pub struct Images<'i, 'a> {
    /// JPEGs.
    pub jpegs: &'i [JpegRef<'a>],
    /// Images deflated with PNG predictors.
    pub flates: &'i [FlateImage],
}

impl Images<'_, '_> {
    fn len(&self) -> u64 {
        let jpegs: u64 = self.jpegs.iter().map(|j| j.bytes.len() + 160).sum();
        let flates: u64 = self.flates.iter().map(|f| f.len() + 220).sum();
        jpegs + flates
    }
}

/// Replaces the placeholders in `pdf` (a file with a classic cross-reference table, as
/// krilla writes) by `images`, in memory.
pub fn fill_images(pdf: &[u8], images: Images<'_, '_>, compact: bool) -> Result<Vec<u8>, String> {
    let extra = usize::try_from(images.len()).unwrap_or(0);
    let mut out = Vec::with_capacity(pdf.len() + extra);
    write_pdf(pdf, images, compact, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Writes `pdf` with its placeholders replaced by `images` to `out`; compacts the
/// structure when `compact` (see the module documentation). Returns the bytes written.
pub fn write_pdf(
    pdf: &[u8],
    images: Images<'_, '_>,
    compact: bool,
    out: &mut dyn Write,
) -> Result<u64, FinalWriteError> {
    let doc =
        Document::load_mem(pdf).map_err(|e| structure(&format!("re-reading the copy: {e}")))?;
    let xref_at =
        startxref(pdf).ok_or_else(|| structure("the copy has no cross-reference table"))?;

    // Objects in file order.
    let mut order: Vec<(usize, u32)> = Vec::new();
    for (&id, entry) in &doc.reference_table.entries {
        match entry {
            XrefEntry::Normal {
                offset,
                generation: 0,
            } => order.push((*offset as usize, id)),
            XrefEntry::Free | XrefEntry::UnusableFree => {}
            _ => return Err(structure("unexpected cross-reference entry in the copy")),
        }
    }
    order.sort_unstable();
    if order.first().is_none_or(|o| o.0 == 0) || order.iter().any(|o| o.0 >= xref_at) {
        return Err(structure("unexpected object layout in the copy"));
    }
    let swaps = find_placeholders(&doc, &order, images)?;
    let mut w = Counting { out, written: 0 };
    w.put(&pdf[..order[0].0])?;
    if compact {
        write_compact(&doc, &order, &swaps, images, &mut w)?;
    } else {
        write_as_is(pdf, &doc, &order, xref_at, &swaps, images, &mut w)?;
    }
    Ok(w.written)
}

/// Which image a placeholder stands for.
#[derive(Clone, Copy)]
enum Kind {
    Jpeg(usize),
    Flate(usize),
}

/// Placeholder object number → (the image, the colour space krilla gave it).
type Swaps = HashMap<u32, (Kind, Object)>;

fn find_placeholders(
    doc: &Document,
    order: &[(usize, u32)],
    images: Images<'_, '_>,
) -> Result<Swaps, FinalWriteError> {
    let mut swaps = Swaps::new();
    let mut jpegs_done = vec![false; images.jpegs.len()];
    let mut flates_done = vec![false; images.flates.len()];
    for &(_, id) in order {
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
        let kind = match dict.get(b"Filter").and_then(Object::as_name) {
            Ok(b"DCTDecode") => jpeg_placeholder_index(&stream.content)
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&i| i < jpegs_done.len() && !jpegs_done[i])
                .map(Kind::Jpeg),
            Ok(b"FlateDecode") if !flates_done.is_empty() => stream
                .decompressed_content()
                .ok()
                .and_then(|s| flate_placeholder_index(&s))
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&i| i < flates_done.len() && !flates_done[i])
                .map(Kind::Flate),
            _ => None,
        };
        let Some(kind) = kind else {
            continue;
        };
        let colour_space = match dict.get(b"ColorSpace") {
            Ok(cs @ (Object::Reference(_) | Object::Name(_))) => cs.clone(),
            _ => return Err(structure("unexpected colour space for a page image")),
        };
        match kind {
            Kind::Jpeg(i) => jpegs_done[i] = true,
            Kind::Flate(i) => flates_done[i] = true,
        }
        swaps.insert(id, (kind, colour_space));
    }
    if jpegs_done.iter().chain(&flates_done).any(|d| !d) {
        return Err(structure("a page image could not be placed"));
    }
    Ok(swaps)
}

/// Copies every object as krilla wrote it, except the placeholders; same numbers.
fn write_as_is(
    pdf: &[u8],
    doc: &Document,
    order: &[(usize, u32)],
    xref_at: usize,
    swaps: &Swaps,
    images: Images<'_, '_>,
    w: &mut Counting<'_>,
) -> Result<(), FinalWriteError> {
    let trailer_at =
        find(pdf, b"trailer", xref_at).ok_or_else(|| structure("the copy has no trailer"))?;
    let trailer_end =
        find(pdf, b"startxref", trailer_at).ok_or_else(|| structure("the copy has no trailer"))?;
    let size = doc.reference_table.size.max(doc.max_id + 1) as usize;
    let mut offsets = vec![None; size];
    let identity = |id: ObjectId| Some(id.0);
    for (k, &(start, id)) in order.iter().enumerate() {
        let end = order.get(k + 1).map_or(xref_at, |o| o.0);
        *offsets
            .get_mut(id as usize)
            .ok_or_else(|| structure("object number out of range"))? = Some(w.written);
        match swaps.get(&id) {
            None => w.put(&pdf[start..end])?,
            Some((kind, colour_space)) => {
                write_image(w, id, *kind, images, colour_space, &identity)?;
                w.put(b"\n")?;
            }
        }
    }
    let new_xref = w.written;
    write_xref(w, &offsets)?;
    w.put(&pdf[trailer_at..trailer_end])?;
    w.put(format!("startxref\n{new_xref}\n%%EOF\n").as_bytes())?;
    Ok(())
}

/// Writes every object again, compactly and numbered anew (see the module documentation).
fn write_compact(
    doc: &Document,
    order: &[(usize, u32)],
    swaps: &Swaps,
    images: Images<'_, '_>,
    w: &mut Counting<'_>,
) -> Result<(), FinalWriteError> {
    let get = |id: u32| doc.objects.get(&(id, 0));
    // Objects written inside the one object that refers to them.
    let mut inlined: HashMap<u32, Object> = HashMap::new();
    // Content streams equal to an earlier one: object number → the earlier one's.
    let mut same_as: HashMap<u32, u32> = HashMap::new();
    let mut seen_contents: HashMap<(Vec<u8>, &[u8]), u32> = HashMap::new();
    let mut references: HashMap<u32, usize> = HashMap::new();
    for object in doc.objects.values() {
        count_references(object, &mut references);
    }
    for (k, v) in doc.trailer.iter() {
        if k.as_slice() != b"Size" {
            count_references(v, &mut references);
        }
    }
    let once = |id: u32| references.get(&id) == Some(&1);
    for &(_, id) in order {
        let Some(Object::Dictionary(dict)) = get(id) else {
            continue;
        };
        match dict.get(b"Type").and_then(Object::as_name) {
            Ok(b"Page") => {
                if let Ok(Object::Reference((r, 0))) = dict.get(b"Resources")
                    && once(*r)
                    && let Some(Object::Dictionary(resources)) = get(*r)
                {
                    let mut resources = resources.clone();
                    resources.remove(b"ProcSet");
                    inlined.insert(*r, Object::Dictionary(resources));
                }
                if let Ok(Object::Reference((c, 0))) = dict.get(b"Contents")
                    && once(*c)
                    && let Some(Object::Stream(s)) = get(*c)
                {
                    let mut key = Vec::new();
                    let mut d = s.dict.clone();
                    d.remove(b"Length");
                    write_value(&mut key, &Object::Dictionary(d), &|id: ObjectId| Some(id.0));
                    match seen_contents.get(&(key.clone(), s.content.as_slice())) {
                        Some(&first) => {
                            same_as.insert(*c, first);
                        }
                        None => {
                            seen_contents.insert((key, s.content.as_slice()), *c);
                        }
                    }
                }
            }
            Ok(b"Catalog") => {
                if let Ok(Object::Reference((r, 0))) = dict.get(b"OutputIntents")
                    && once(*r)
                    && let Some(Object::Array(intents)) = get(*r)
                {
                    for intent in intents {
                        if let Object::Reference((i, 0)) = intent
                            && once(*i)
                            && let Some(o @ Object::Dictionary(_)) = get(*i)
                        {
                            inlined.insert(*i, o.clone());
                        }
                    }
                    inlined.insert(*r, Object::Array(intents.clone()));
                }
            }
            _ => {}
        }
    }
    // New numbers, in file order, for the objects still written on their own.
    let mut renumber: HashMap<u32, u32> = HashMap::new();
    let mut next = 1u32;
    for &(_, id) in order {
        if !inlined.contains_key(&id) && !same_as.contains_key(&id) {
            renumber.insert(id, next);
            next += 1;
        }
    }
    for (dup, first) in &same_as {
        if let Some(&n) = renumber.get(first) {
            renumber.insert(*dup, n);
        }
    }
    let resolve = |r: ObjectId| -> Option<u32> { renumber.get(&r.0).copied() };
    let mut offsets = vec![None; next as usize];
    let mut buf = Vec::new();
    for &(_, id) in order {
        let Some(&new_id) = renumber.get(&id) else {
            continue;
        };
        if same_as.contains_key(&id) {
            continue;
        }
        offsets[new_id as usize] = Some(w.written);
        if let Some((kind, colour_space)) = swaps.get(&id) {
            write_image(w, new_id, *kind, images, colour_space, &resolve)?;
            continue;
        }
        let object = get(id).ok_or_else(|| structure("object missing from the copy"))?;
        buf.clear();
        buf.extend_from_slice(format!("{new_id} 0 obj\n").as_bytes());
        let inline = |r: ObjectId| inlined.get(&r.0);
        write_inlined(&mut buf, object, &resolve, &inline);
        buf.extend_from_slice(b"\nendobj\n");
        w.put(&buf)?;
    }
    let xref_at = w.written;
    write_xref(w, &offsets)?;
    let mut trailer = Dictionary::new();
    trailer.set("Size", Object::Integer(i64::from(next)));
    for key in [b"Root".as_slice(), b"Info", b"ID"] {
        if let Ok(v) = doc.trailer.get(key) {
            trailer.set(key.to_vec(), v.clone());
        }
    }
    buf.clear();
    buf.extend_from_slice(b"trailer\n");
    write_value(&mut buf, &Object::Dictionary(trailer), &resolve);
    buf.extend_from_slice(format!("\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    w.put(&buf)?;
    Ok(())
}

fn count_references(o: &Object, counts: &mut HashMap<u32, usize>) {
    match o {
        Object::Reference((id, _)) => *counts.entry(*id).or_default() += 1,
        Object::Array(items) => items.iter().for_each(|i| count_references(i, counts)),
        Object::Dictionary(d) => d.iter().for_each(|(_, v)| count_references(v, counts)),
        Object::Stream(s) => s.dict.iter().for_each(|(_, v)| count_references(v, counts)),
        _ => {}
    }
}

/// The classic cross-reference table of objects `0..offsets.len()`.
fn write_xref(w: &mut Counting<'_>, offsets: &[Option<u64>]) -> Result<(), FinalWriteError> {
    let mut table = Vec::with_capacity(32 + 20 * offsets.len());
    table
        .extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f\r\n", offsets.len()).as_bytes());
    for offset in offsets.iter().skip(1) {
        match offset {
            Some(o) => table.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes()),
            None => table.extend_from_slice(b"0000000000 65535 f\r\n"),
        }
    }
    w.put(&table)
}

/// Writes the image `kind` stands for as object `id` with `colour_space`.
fn write_image(
    w: &mut Counting<'_>,
    id: u32,
    kind: Kind,
    images: Images<'_, '_>,
    colour_space: &Object,
    resolve: &dyn Fn(ObjectId) -> Option<u32>,
) -> Result<(), FinalWriteError> {
    let (width, height) = match kind {
        Kind::Jpeg(i) => (images.jpegs[i].width, images.jpegs[i].height),
        Kind::Flate(i) => (images.flates[i].width, images.flates[i].height),
    };
    let mut head = format!("{id} 0 obj\n<</Subtype/Image/Width {width}/Height {height}/ColorSpace")
        .into_bytes();
    if !matches!(colour_space, Object::Name(_)) {
        head.push(b' ');
    }
    write_value(&mut head, colour_space, resolve);
    match kind {
        Kind::Jpeg(i) => {
            let j = &images.jpegs[i];
            head.extend_from_slice(
                format!(
                    "/BitsPerComponent 8/Filter/DCTDecode/Length {}>>\nstream\n",
                    j.bytes.len()
                )
                .as_bytes(),
            );
            w.put(&head)?;
            match j.bytes {
                JpegBytes::Memory(data) => w.put(data)?,
                JpegBytes::File(f) => copy_checked(f, w)?,
            }
        }
        Kind::Flate(i) => {
            let f = &images.flates[i];
            head.extend_from_slice(
                format!(
                    "/BitsPerComponent {b}/Filter/FlateDecode/DecodeParms<</Predictor 15/Colors {}\
                     /BitsPerComponent {b}/Columns {width}>>/Length {}>>\nstream\n",
                    f.colours,
                    f.len(),
                    b = f.bits,
                )
                .as_bytes(),
            );
            w.put(&head)?;
            for chunk in &f.chunks {
                w.put(chunk)?;
            }
        }
    }
    w.put(b"\nendstream\nendobj\n")
}

/// Copies a checked JPEG file into the output; refuses it if it is not the file checked.
fn copy_checked(f: &FileJpeg, w: &mut Counting<'_>) -> Result<(), FinalWriteError> {
    let changed = || FinalWriteError::SourceChanged {
        path: f.path.display().to_string(),
    };
    let mut file = std::fs::File::open(&f.path)?;
    if file.metadata()?.len() != f.len {
        return Err(changed());
    }
    let mut crc = flate2::Crc::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut left = f.len;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(changed());
        }
        crc.update(&buf[..n]);
        w.put(&buf[..n])?;
        left -= n as u64;
    }
    if crc.sum() != f.crc || file.read(&mut [0u8; 1])? != 0 {
        return Err(changed());
    }
    Ok(())
}

/// Writes `o`, with the objects `inline` gives written in place of references to them.
fn write_inlined<'o>(
    out: &mut Vec<u8>,
    o: &'o Object,
    resolve: &dyn Fn(ObjectId) -> Option<u32>,
    inline: &dyn Fn(ObjectId) -> Option<&'o Object>,
) {
    match o {
        Object::Reference(r) => match inline(*r) {
            Some(inner) => write_inlined(out, inner, resolve, inline),
            None => write_scalar(out, o, resolve),
        },
        Object::Array(items) => {
            out.push(b'[');
            for (k, item) in items.iter().enumerate() {
                let item = match item {
                    Object::Reference(r) => inline(*r).unwrap_or(item),
                    _ => item,
                };
                if k > 0 && needs_space(item) {
                    out.push(b' ');
                }
                write_inlined(out, item, resolve, inline);
            }
            out.push(b']');
        }
        Object::Dictionary(d) => {
            out.extend_from_slice(b"<<");
            write_entries(out, d, false, resolve, inline);
            out.extend_from_slice(b">>");
        }
        Object::Stream(s) => {
            out.extend_from_slice(b"<<");
            write_entries(out, &s.dict, true, resolve, inline);
            out.extend_from_slice(format!("/Length {}>>", s.content.len()).as_bytes());
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(&s.content);
            out.extend_from_slice(b"\nendstream");
        }
        _ => write_scalar(out, o, resolve),
    }
}

/// Writes the entries of `d`; a stream's `/Length` (`stream` set) is left to the caller.
fn write_entries<'o>(
    out: &mut Vec<u8>,
    d: &'o Dictionary,
    stream: bool,
    resolve: &dyn Fn(ObjectId) -> Option<u32>,
    inline: &dyn Fn(ObjectId) -> Option<&'o Object>,
) {
    for (key, value) in d {
        if stream && key.as_slice() == b"Length" {
            continue;
        }
        write_name(out, key);
        let value = match value {
            Object::Reference(r) => inline(*r).unwrap_or(value),
            _ => value,
        };
        if needs_space(value) {
            out.push(b' ');
        }
        write_inlined(out, value, resolve, inline);
    }
}

/// True when `o` starts with a regular character (a space must separate it from a name or
/// number before it).
fn needs_space(o: &Object) -> bool {
    match o {
        Object::Null | Object::Boolean(_) | Object::Integer(_) | Object::Real(_) => true,
        Object::Reference(_) => true,
        Object::Name(_) | Object::String(..) | Object::Array(_) | Object::Dictionary(_) => false,
        Object::Stream(_) => false,
    }
}

/// Writes one value compactly; references are renumbered by `resolve` (a reference to an
/// object that is not written becomes `null`, as a reader would take it).
fn write_value(out: &mut Vec<u8>, o: &Object, resolve: &dyn Fn(ObjectId) -> Option<u32>) {
    write_inlined(out, o, resolve, &|_| None);
}

fn write_scalar(out: &mut Vec<u8>, o: &Object, resolve: &dyn Fn(ObjectId) -> Option<u32>) {
    match o {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => write_real(out, *r),
        Object::Name(n) => write_name(out, n),
        Object::String(s, StringFormat::Hexadecimal) => {
            out.push(b'<');
            out.extend_from_slice(hex::encode(s).as_bytes());
            out.push(b'>');
        }
        Object::String(s, StringFormat::Literal) => {
            out.push(b'(');
            for &b in s {
                match b {
                    b'(' | b')' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
            out.push(b')');
        }
        Object::Reference(r) => match resolve(*r) {
            Some(n) => out.extend_from_slice(format!("{n} 0 R").as_bytes()),
            None => out.extend_from_slice(b"null"),
        },
        Object::Array(_) | Object::Dictionary(_) | Object::Stream(_) => {}
    }
}

/// A real number as the shortest decimal that reads back as the same `f32` (never with
/// an exponent, which PDF does not have).
fn write_real(out: &mut Vec<u8>, r: f32) {
    if !r.is_finite() {
        out.push(b'0');
        return;
    }
    let s = format!("{r}");
    let s = s.strip_suffix(".0").unwrap_or(&s);
    out.extend_from_slice(s.as_bytes());
}

/// A name, with `#xx` for bytes that are not regular characters.
fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    out.push(b'/');
    for &b in name {
        let delimiter = matches!(
            b,
            b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%' | b'#'
        );
        if (0x21..=0x7E).contains(&b) && !delimiter {
            out.push(b);
        } else {
            out.extend_from_slice(format!("#{b:02X}").as_bytes());
        }
    }
}

/// Counts what goes through to the sink (for the cross-reference offsets).
struct Counting<'a> {
    out: &'a mut dyn Write,
    written: u64,
}

impl Counting<'_> {
    fn put(&mut self, data: &[u8]) -> Result<(), FinalWriteError> {
        self.out.write_all(data)?;
        self.written += data.len() as u64;
        Ok(())
    }
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
