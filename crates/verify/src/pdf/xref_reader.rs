//! Lazy reading of a PDF through its cross-reference data: the file is never held in memory
//! as a whole. Each revision's xref sections are read from `startxref`, and each object is
//! parsed once, from its offset, and shared by every revision that points at the same
//! offset. Stream contents above [`INLINE_STREAM`] bytes are not read: the stream carries an
//! unforgeable marker (a per-process random nonce, the offset and the length) in place of its
//! contents, which [`Reader::stream_bytes`] resolves on demand.
//!
//! Anything this reader does not handle exactly like lopdf would (a damaged or hybrid xref,
//! an object whose header does not match its entry, a stream whose /Length is wrong, an
//! encrypted file, a page tree that does not load) is an [`LazyError::Fallback`]: the caller
//! then loads the document with lopdf, which repairs what it can and reports it.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::sync::OnceLock;

use lopdf::xref::{Xref, XrefEntry, XrefType};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat};

use crate::crypto::DigestAlg;
use crate::pdf::objects::MAX_STREAM;

/// Streams up to this size are read with their dictionary; larger ones are read on demand.
pub const INLINE_STREAM: usize = 16 * 1024;
/// Largest single non-stream object read.
const MAX_OBJECT: usize = 8 * 1024 * 1024;
/// Most xref sections followed through /Prev.
const MAX_SECTIONS: usize = 512;
/// Most objects in one revision.
const MAX_OBJECTS: usize = 2_000_000;
/// Deepest nesting of arrays and dictionaries.
const MAX_DEPTH: usize = 64;

/// Random bytes that start the placeholder contents of a stream not read.
fn nonce() -> &'static [u8; 16] {
    static N: OnceLock<[u8; 16]> = OnceLock::new();
    N.get_or_init(rand::random)
}

/// Random access to the bytes of a file.
pub trait Source {
    /// Length in bytes.
    fn len(&self) -> u64;
    /// True for an empty source.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Up to `len` bytes from `off` (fewer at the end of the source; `None` on I/O errors).
    fn bytes(&self, off: u64, len: usize) -> Option<Cow<'_, [u8]>>;
    /// The whole source in memory, when it already is.
    fn as_slice(&self) -> Option<&[u8]> {
        None
    }
}

/// A file already in memory.
pub struct Mem<'a>(pub &'a [u8]);

impl Source for Mem<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn bytes(&self, off: u64, len: usize) -> Option<Cow<'_, [u8]>> {
        let off = usize::try_from(off).ok()?;
        let end = off.saturating_add(len).min(self.0.len());
        self.0.get(off..end).map(Cow::Borrowed)
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self.0)
    }
}

/// A file read with positioned reads.
pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    /// Opens `path`.
    pub fn open(path: &std::path::Path) -> std::io::Result<FileSource> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let len = meta.len();
        Ok(FileSource { file, len })
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn bytes(&self, off: u64, len: usize) -> Option<Cow<'_, [u8]>> {
        if off > self.len {
            return None;
        }
        let n = usize::try_from((self.len - off).min(len as u64)).ok()?;
        let mut buf = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match self.file.read_at(buf.get_mut(got..)?, off + got as u64) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        buf.truncate(got);
        Some(Cow::Owned(buf))
    }
}

/// Why the lazy reader gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LazyError {
    /// The file is encrypted.
    Encrypted,
    /// Something lopdf should judge (see the module documentation).
    Fallback(String),
}

fn fb<T>(m: impl Into<String>) -> Result<T, LazyError> {
    Err(LazyError::Fallback(m.into()))
}

#[derive(Debug)]
enum PErr {
    /// The window ended inside the object.
    Incomplete,
    Bad(String),
}

type PResult<T> = Result<T, PErr>;

fn bad<T>(m: &str) -> PResult<T> {
    Err(PErr::Bad(m.to_string()))
}

pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, 0 | b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// A parser over one window of bytes.
struct P<'a> {
    b: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn peek(&self) -> PResult<u8> {
        self.b.get(self.i).copied().ok_or(PErr::Incomplete)
    }

    fn skip_ws(&mut self) -> PResult<()> {
        loop {
            let c = self.peek()?;
            if is_ws(c) {
                self.i += 1;
            } else if c == b'%' {
                while !matches!(self.peek()?, b'\r' | b'\n') {
                    self.i += 1;
                }
            } else {
                return Ok(());
            }
        }
    }

    /// A run of regular characters.
    fn token(&mut self) -> PResult<&[u8]> {
        let s = self.i;
        loop {
            match self.b.get(self.i) {
                Some(c) if !is_ws(*c) && !is_delim(*c) => self.i += 1,
                Some(_) => break,
                None => return Err(PErr::Incomplete),
            }
        }
        self.b.get(s..self.i).ok_or(PErr::Incomplete)
    }

    fn keyword(&mut self, k: &[u8]) -> PResult<()> {
        self.skip_ws()?;
        if self.token()? == k {
            Ok(())
        } else {
            bad("unexpected keyword")
        }
    }

    fn uint(&mut self) -> PResult<i64> {
        self.skip_ws()?;
        let t = self.token()?;
        if t.is_empty() || !t.iter().all(u8::is_ascii_digit) || t.len() > 18 {
            return bad("expected an unsigned integer");
        }
        std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(PErr::Bad("integer".into()))
    }

    fn object(&mut self, depth: usize) -> PResult<Object> {
        if depth > MAX_DEPTH {
            return bad("nesting too deep");
        }
        self.skip_ws()?;
        match self.peek()? {
            b'/' => {
                self.i += 1;
                Ok(Object::Name(self.name()?))
            }
            b'(' => {
                self.i += 1;
                Ok(Object::String(self.literal()?, StringFormat::Literal))
            }
            b'<' => {
                if self.b.get(self.i + 1).ok_or(PErr::Incomplete)? == &b'<' {
                    self.i += 2;
                    Ok(Object::Dictionary(self.dict(depth)?))
                } else {
                    self.i += 1;
                    Ok(Object::String(self.hex()?, StringFormat::Hexadecimal))
                }
            }
            b'[' => {
                self.i += 1;
                let mut a = Vec::new();
                loop {
                    self.skip_ws()?;
                    if self.peek()? == b']' {
                        self.i += 1;
                        return Ok(Object::Array(a));
                    }
                    a.push(self.object(depth + 1)?);
                }
            }
            c if c == b'+' || c == b'-' || c == b'.' || c.is_ascii_digit() => self.number(),
            _ => {
                let t = self.token()?;
                match t {
                    b"true" => Ok(Object::Boolean(true)),
                    b"false" => Ok(Object::Boolean(false)),
                    b"null" => Ok(Object::Null),
                    _ => bad("unexpected token"),
                }
            }
        }
    }

    fn number(&mut self) -> PResult<Object> {
        let t = self.token()?;
        let s = std::str::from_utf8(t).map_err(|_| PErr::Bad("number".into()))?;
        if s.contains('.') {
            return s
                .parse::<f32>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Object::Real)
                .ok_or(PErr::Bad("real".into()));
        }
        let n: i64 = s.parse().map_err(|_| PErr::Bad("integer".into()))?;
        // "n g R"
        if n >= 0 && !s.starts_with('+') {
            let save = self.i;
            self.skip_ws()?;
            if self.peek()?.is_ascii_digit() {
                let g = self.token()?;
                let g = std::str::from_utf8(g)
                    .ok()
                    .and_then(|g| g.parse::<u16>().ok());
                self.skip_ws()?;
                if let Some(g) = g
                    && self.peek()? == b'R'
                {
                    let after = self.b.get(self.i + 1).ok_or(PErr::Incomplete)?;
                    if is_ws(*after) || is_delim(*after) {
                        self.i += 1;
                        let id = u32::try_from(n).map_err(|_| PErr::Bad("object number".into()))?;
                        return Ok(Object::Reference((id, g)));
                    }
                }
            }
            self.i = save;
        }
        Ok(Object::Integer(n))
    }

    fn name(&mut self) -> PResult<Vec<u8>> {
        let t = self.token()?.to_vec();
        let mut out = Vec::with_capacity(t.len());
        let mut k = 0;
        while let Some(&c) = t.get(k) {
            if c == b'#'
                && let Some(h) = t.get(k + 1..k + 3)
                && let Ok(v) = u8::from_str_radix(std::str::from_utf8(h).unwrap_or("x"), 16)
            {
                out.push(v);
                k += 3;
            } else {
                out.push(c);
                k += 1;
            }
        }
        Ok(out)
    }

    fn literal(&mut self) -> PResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut level = 1usize;
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'(' => {
                    level += 1;
                    out.push(c);
                }
                b')' => {
                    level -= 1;
                    if level == 0 {
                        return Ok(out);
                    }
                    out.push(c);
                }
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek()? == b'\n' {
                                self.i += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                let d = self.peek()?;
                                if (b'0'..=b'7').contains(&d) {
                                    v = v * 8 + u32::from(d - b'0');
                                    self.i += 1;
                                } else {
                                    break;
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(c),
            }
        }
    }

    fn hex(&mut self) -> PResult<Vec<u8>> {
        let rest = self.b.get(self.i..).ok_or(PErr::Incomplete)?;
        let len = rest
            .iter()
            .position(|&c| c == b'>')
            .ok_or(PErr::Incomplete)?;
        let out = crate::pdf::hexdigits::decode_pdf(&rest[..len])
            .ok_or(PErr::Bad("bad hex string".into()))?;
        self.i += len + 1;
        Ok(out)
    }

    fn dict(&mut self, depth: usize) -> PResult<Dictionary> {
        let mut d = Dictionary::new();
        loop {
            self.skip_ws()?;
            match self.peek()? {
                b'>' => {
                    if self.b.get(self.i + 1).ok_or(PErr::Incomplete)? != &b'>' {
                        return bad("bad dictionary end");
                    }
                    self.i += 2;
                    return Ok(d);
                }
                b'/' => {
                    self.i += 1;
                    let k = self.name()?;
                    let v = self.object(depth + 1)?;
                    d.set(k, v);
                }
                _ => return bad("dictionary key is not a name"),
            }
        }
    }
}

/// An object parsed at an offset: the object, its id, where it ends.
#[derive(Clone)]
pub(crate) struct Parsed {
    /// Object number and generation from the `N G obj` header.
    pub(crate) id: ObjectId,
    /// The object (stream contents above [`INLINE_STREAM`] left out).
    pub(crate) obj: Object,
    /// The offset just after `endobj`.
    pub(crate) end: u64,
}

/// One xref section and its trailer.
pub(crate) struct Section {
    /// The entries, in the order written.
    pub(crate) entries: Vec<(u32, XrefEntry)>,
    /// The trailer (the stream dictionary for an xref stream).
    pub(crate) trailer: Dictionary,
    /// The /Prev offset.
    pub(crate) prev: Option<u64>,
    /// Where the section ends (after the trailer dictionary, or the xref stream's `endobj`).
    pub(crate) end: u64,
}

/// The lazy reader of one file.
pub struct Reader<'a> {
    src: &'a dyn Source,
    objects: RefCell<HashMap<u64, Rc<Parsed>>>,
    sections: RefCell<HashMap<u64, Rc<Section>>>,
    objstms: RefCell<HashMap<u64, Rc<BTreeMap<ObjectId, Object>>>>,
}

impl<'a> Reader<'a> {
    /// A reader of `src` (which must start with `%PDF-`).
    pub fn new(src: &'a dyn Source) -> Result<Reader<'a>, LazyError> {
        let head = src.bytes(0, 5).ok_or(LazyError::Fallback("I/O".into()))?;
        if head.as_ref() != b"%PDF-" {
            return fb("the header is not at offset 0");
        }
        Ok(Reader {
            src,
            objects: RefCell::default(),
            sections: RefCell::default(),
            objstms: RefCell::default(),
        })
    }

    /// Parses with `f` from `off`, growing the window until the object is complete.
    fn parse_at<T>(
        &self,
        off: u64,
        limit: u64,
        max: usize,
        mut f: impl FnMut(&mut P<'_>) -> PResult<T>,
    ) -> Result<(T, u64), LazyError> {
        let mut win = 4096usize;
        loop {
            let want = usize::try_from(limit.saturating_sub(off))
                .unwrap_or(usize::MAX)
                .min(win);
            let Some(b) = self.src.bytes(off, want) else {
                return fb("I/O error");
            };
            let at_end = (b.len() as u64) + off >= limit;
            let mut p = P { b: &b, i: 0 };
            match f(&mut p) {
                Ok(v) => return Ok((v, off + p.i as u64)),
                Err(PErr::Incomplete) if !at_end && win < max => win = win.saturating_mul(4),
                Err(PErr::Incomplete) => return fb(format!("object at {off} is truncated")),
                Err(PErr::Bad(m)) => return fb(format!("object at {off}: {m}")),
            }
        }
    }

    /// The indirect object at `off`, with bytes read only below `limit`.
    pub(crate) fn object_at(
        &self,
        off: u64,
        limit: u64,
        depth: usize,
    ) -> Result<Rc<Parsed>, LazyError> {
        if let Some(p) = self.objects.borrow().get(&off)
            && p.end <= limit
        {
            return Ok(p.clone());
        }
        if depth > 4 {
            return fb("/Length references nest too deeply");
        }
        let ((id, obj, is_stream), mut end) = self.parse_at(off, limit, MAX_OBJECT, |p| {
            let n = p.uint()?;
            let g = p.uint()?;
            p.keyword(b"obj")?;
            let o = p.object(0)?;
            p.skip_ws()?;
            let t = p.token()?;
            let is_stream = match t {
                b"endobj" => false,
                b"stream" if matches!(o, Object::Dictionary(_)) => {
                    match p.peek()? {
                        b'\r' => {
                            p.i += 1;
                            if p.peek()? == b'\n' {
                                p.i += 1;
                            }
                        }
                        b'\n' => p.i += 1,
                        _ => return bad("no end of line after stream"),
                    }
                    true
                }
                _ => return bad("no endobj"),
            };
            let id = (
                u32::try_from(n).map_err(|_| PErr::Bad("id".into()))?,
                u16::try_from(g).map_err(|_| PErr::Bad("generation".into()))?,
            );
            Ok((id, o, is_stream))
        })?;
        let obj = if is_stream {
            let Object::Dictionary(dict) = obj else {
                return fb("stream without dictionary");
            };
            let len = match dict.get(b"Length") {
                Ok(Object::Integer(n)) => *n,
                Ok(Object::Reference(r)) => self.length_of(*r, limit, depth)?,
                _ => return fb("stream without /Length"),
            };
            let len = u64::try_from(len).or_else(|_| fb("negative /Length"))?;
            let start = end;
            let stop = start.checked_add(len).filter(|s| *s <= limit);
            let Some(stop) = stop else {
                return fb("stream beyond the end of the file");
            };
            // "endstream" must follow (after optional end of line).
            let (_, after) = self.parse_at(stop, limit, 64, |p| p.keyword(b"endstream"))?;
            let ((), after) = self.parse_at(after, limit, 64, |p| p.keyword(b"endobj"))?;
            end = after;
            let n = usize::try_from(len).or_else(|_| fb("stream too long"))?;
            let content = if n <= INLINE_STREAM {
                match self.src.bytes(start, n) {
                    Some(c) if c.len() == n => c.into_owned(),
                    _ => return fb("I/O error"),
                }
            } else {
                let mut m = nonce().to_vec();
                m.extend_from_slice(&start.to_be_bytes());
                m.extend_from_slice(&len.to_be_bytes());
                m
            };
            Object::Stream(Stream {
                dict,
                content,
                allows_compression: true,
                start_position: usize::try_from(start).ok(),
            })
        } else {
            obj
        };
        let parsed = Rc::new(Parsed { id, obj, end });
        self.objects.borrow_mut().insert(off, parsed.clone());
        Ok(parsed)
    }

    /// An indirect /Length, read through the newest section that names it.
    fn length_of(&self, r: ObjectId, limit: u64, depth: usize) -> Result<i64, LazyError> {
        let start = self.startxref(limit)?;
        let mut at = Some(start);
        let mut seen = HashSet::new();
        while let Some(off) = at {
            if !seen.insert(off) || seen.len() > MAX_SECTIONS {
                return fb("xref loop");
            }
            let s = self.section(off, limit)?;
            if let Some((_, e)) = s.entries.iter().find(|(id, _)| *id == r.0) {
                return match e {
                    XrefEntry::Normal { offset, .. } => {
                        match &self.object_at(u64::from(*offset), limit, depth + 1)?.obj {
                            Object::Integer(n) => Ok(*n),
                            _ => fb("indirect /Length is not an integer"),
                        }
                    }
                    _ => fb("indirect /Length in an object stream"),
                };
            }
            at = s.prev;
        }
        fb("indirect /Length not found")
    }

    /// The offset named by the last `startxref` before `limit`.
    pub(crate) fn startxref(&self, limit: u64) -> Result<u64, LazyError> {
        let from = limit.saturating_sub(1024);
        let tail = self
            .src
            .bytes(from, usize::try_from(limit - from).unwrap_or(1024))
            .ok_or(LazyError::Fallback("I/O".into()))?;
        let Some(p) = tail.windows(9).rposition(|w| w == b"startxref") else {
            return fb("no startxref");
        };
        let mut pp = P {
            b: tail.get(p + 9..).unwrap_or_default(),
            i: 0,
        };
        match pp.uint() {
            Ok(n) => {
                let rest = tail.get(p + 9 + pp.i..).unwrap_or_default();
                let rest = rest.iter().position(|b| !is_ws(*b)).map(|k| &rest[k..]);
                if !rest.is_some_and(|r| r.starts_with(b"%%EOF")) {
                    return fb("startxref is not followed by %%EOF");
                }
                u64::try_from(n).or_else(|_| fb("startxref"))
            }
            Err(_) => fb("startxref without offset"),
        }
    }

    fn section(&self, off: u64, limit: u64) -> Result<Rc<Section>, LazyError> {
        let s = self.any_section(off, limit)?;
        if s.trailer.get(b"XRefStm").is_ok() {
            return fb("hybrid cross-reference file");
        }
        Ok(s)
    }

    /// The xref section (table or stream) at `off`, read below `limit`; hybrid files allowed.
    pub(crate) fn any_section(&self, off: u64, limit: u64) -> Result<Rc<Section>, LazyError> {
        if let Some(s) = self.sections.borrow().get(&off)
            && s.end <= limit
        {
            return Ok(s.clone());
        }
        if off >= limit {
            return fb("xref offset beyond the revision");
        }
        let head = self.src.bytes(off, 4).unwrap_or_default();
        let s = if head.as_ref() == b"xref" {
            self.table_section(off, limit)?
        } else {
            self.stream_section(off, limit)?
        };
        let s = Rc::new(s);
        self.sections.borrow_mut().insert(off, s.clone());
        Ok(s)
    }

    fn table_section(&self, off: u64, limit: u64) -> Result<Section, LazyError> {
        let ((entries, trailer), end) = self.parse_at(off, limit, 64 * 1024 * 1024, |p| {
            p.keyword(b"xref")?;
            let mut entries = Vec::new();
            loop {
                p.skip_ws()?;
                if p.peek()? == b't' {
                    p.keyword(b"trailer")?;
                    p.skip_ws()?;
                    let Object::Dictionary(t) = p.object(0)? else {
                        return bad("trailer");
                    };
                    return Ok((entries, t));
                }
                let start = u32::try_from(p.uint()?).map_err(|_| PErr::Bad("xref".into()))?;
                let count = p.uint()?;
                if count > 10_000_000 {
                    return bad("xref subsection too long");
                }
                for k in 0..count as u32 {
                    let o = p.uint()?;
                    let g = p.uint()?;
                    p.skip_ws()?;
                    let kind = p.token()?.to_vec();
                    let id = start.checked_add(k).ok_or(PErr::Bad("xref id".into()))?;
                    let e = match kind.as_slice() {
                        b"n" => XrefEntry::Normal {
                            offset: u32::try_from(o).map_err(|_| PErr::Bad("offset".into()))?,
                            generation: u16::try_from(g)
                                .map_err(|_| PErr::Bad("generation".into()))?,
                        },
                        b"f" => XrefEntry::Free,
                        _ => return bad("xref entry"),
                    };
                    entries.push((id, e));
                }
            }
        })?;
        let prev = prev_of(&trailer)?;
        Ok(Section {
            entries,
            trailer,
            prev,
            end,
        })
    }

    fn stream_section(&self, off: u64, limit: u64) -> Result<Section, LazyError> {
        let p = self.object_at(off, limit, 0)?;
        let Object::Stream(s) = &p.obj else {
            return fb("startxref does not point at a cross-reference");
        };
        if s.dict.get(b"Type").ok() != Some(&Object::Name(b"XRef".to_vec())) {
            return fb("startxref does not point at an XRef stream");
        }
        let data = self.decoded(s)?;
        let w: Vec<usize> = match s.dict.get(b"W") {
            Ok(Object::Array(a)) if a.len() == 3 => a
                .iter()
                .map(|o| match o {
                    Object::Integer(i) if (0..=8).contains(i) => Ok(*i as usize),
                    _ => fb("/W"),
                })
                .collect::<Result<_, _>>()?,
            _ => return fb("/W"),
        };
        let size = match s.dict.get(b"Size") {
            Ok(Object::Integer(n)) if *n >= 0 => *n,
            _ => return fb("/Size"),
        };
        let index: Vec<i64> = match s.dict.get(b"Index") {
            Ok(Object::Array(a)) => a
                .iter()
                .map(|o| match o {
                    Object::Integer(i) if *i >= 0 => Ok(*i),
                    _ => fb("/Index"),
                })
                .collect::<Result<_, _>>()?,
            Err(_) => vec![0, size],
            _ => return fb("/Index"),
        };
        let (w0, w1, w2) = (w[0], w[1], w[2]);
        let row = w0 + w1 + w2;
        if row == 0 || !index.len().is_multiple_of(2) {
            return fb("xref stream shape");
        }
        let field = |b: &[u8]| b.iter().fold(0u64, |a, x| a << 8 | u64::from(*x));
        let mut entries = Vec::new();
        let mut pos = 0usize;
        for pair in index.chunks(2) {
            let (start, count) = (pair[0], pair[1]);
            for k in 0..count {
                let Some(r) = data.get(pos..pos + row) else {
                    return fb("xref stream too short");
                };
                pos += row;
                let t = if w0 == 0 { 1 } else { field(&r[..w0]) };
                let a = field(&r[w0..w0 + w1]);
                let b = field(&r[w0 + w1..]);
                let id = u32::try_from(start + k).or_else(|_| fb("xref id"))?;
                let e = match t {
                    0 => XrefEntry::Free,
                    1 => XrefEntry::Normal {
                        offset: u32::try_from(a).or_else(|_| fb("offset"))?,
                        generation: u16::try_from(b).or_else(|_| fb("generation"))?,
                    },
                    2 => XrefEntry::Compressed {
                        container: u32::try_from(a).or_else(|_| fb("container"))?,
                        index: u16::try_from(b).or_else(|_| fb("index"))?,
                    },
                    _ => continue,
                };
                entries.push((id, e));
            }
        }
        let prev = prev_of(&s.dict)?;
        Ok(Section {
            entries,
            trailer: s.dict.clone(),
            prev,
            end: p.end,
        })
    }

    /// The raw contents of `s` (read now if they were left out).
    pub fn raw_content(&self, s: &Stream) -> Option<Vec<u8>> {
        match elided(s) {
            Some((start, len)) => {
                let n = usize::try_from(len).ok()?;
                let b = self.src.bytes(start, n)?;
                (b.len() == n).then(|| b.into_owned())
            }
            None => Some(s.content.clone()),
        }
    }

    /// The decoded contents of `s`, bounded by [`MAX_STREAM`].
    pub fn stream_bytes(&self, s: &Stream) -> Option<Vec<u8>> {
        if let Some((_, len)) = elided(s)
            && len > MAX_STREAM as u64
        {
            return None;
        }
        let full = Stream {
            dict: s.dict.clone(),
            content: self.raw_content(s)?,
            allows_compression: true,
            start_position: s.start_position,
        };
        crate::pdf::objects::stream_bytes(&full)
    }

    fn decoded(&self, s: &Stream) -> Result<Vec<u8>, LazyError> {
        self.stream_bytes(s)
            .ok_or(LazyError::Fallback("stream cannot be decoded".into()))
    }

    pub(crate) fn objstm(
        &self,
        off: u64,
        limit: u64,
    ) -> Result<Rc<BTreeMap<ObjectId, Object>>, LazyError> {
        if let Some(m) = self.objstms.borrow().get(&off) {
            return Ok(m.clone());
        }
        let p = self.object_at(off, limit, 0)?;
        let Object::Stream(s) = &p.obj else {
            return fb("object stream is not a stream");
        };
        let full = Stream {
            dict: s.dict.clone(),
            content: self
                .raw_content(s)
                .ok_or(LazyError::Fallback("I/O".into()))?,
            allows_compression: true,
            start_position: s.start_position,
        };
        let os = lopdf::ObjectStream::new_with_limit(&full, Some(MAX_STREAM))
            .map_err(|e| LazyError::Fallback(format!("object stream: {e}")))?;
        let m = Rc::new(os.objects);
        self.objstms.borrow_mut().insert(off, m.clone());
        Ok(m)
    }

    /// The document as it was at `limit` (the end of a revision; the file length for the
    /// current one).
    pub fn document(&self, limit: u64) -> Result<Document, LazyError> {
        let limit = limit.min(self.src.len());
        let mut at = Some(self.startxref(limit)?);
        let mut seen = HashSet::new();
        let mut merged: BTreeMap<u32, XrefEntry> = BTreeMap::new();
        let mut trailer: Option<Dictionary> = None;
        while let Some(off) = at {
            if !seen.insert(off) || seen.len() > MAX_SECTIONS {
                return fb("cross-reference sections loop");
            }
            let s = self.section(off, limit)?;
            for (id, e) in &s.entries {
                merged.entry(*id).or_insert_with(|| e.clone());
            }
            if merged.len() > MAX_OBJECTS {
                return fb("too many objects");
            }
            if trailer.is_none() {
                trailer = Some(s.trailer.clone());
            }
            at = s.prev;
        }
        let Some(trailer) = trailer else {
            return fb("no trailer");
        };
        if trailer.get(b"Encrypt").is_ok() {
            return Err(LazyError::Encrypted);
        }
        let mut objects: BTreeMap<ObjectId, Object> = BTreeMap::new();
        let mut containers: Vec<(u32, u64)> = Vec::new();
        for (id, e) in &merged {
            if let XrefEntry::Normal { offset, generation } = e {
                if *id == 0 && *offset == 0 {
                    continue;
                }
                let p = self.object_at(u64::from(*offset), limit, 0)?;
                if p.id != (*id, *generation) {
                    return fb(format!("object {id} is not where the xref says"));
                }
                if let Object::Stream(s) = &p.obj
                    && s.dict.get(b"Type").ok() == Some(&Object::Name(b"ObjStm".to_vec()))
                {
                    containers.push((*id, u64::from(*offset)));
                }
                objects.insert(p.id, p.obj.clone());
            }
        }
        for (cid, coff) in containers {
            let members = self.objstm(coff, limit)?;
            for (mid, o) in members.iter() {
                let ok = match merged.get(&mid.0) {
                    Some(XrefEntry::Compressed { container, .. }) => *container == cid,
                    Some(XrefEntry::Free | XrefEntry::UnusableFree) => false,
                    _ => true,
                };
                if ok {
                    objects.entry(*mid).or_insert_with(|| o.clone());
                }
            }
        }
        for (id, e) in &merged {
            if let XrefEntry::Compressed { .. } = e
                && !objects.keys().any(|k| k.0 == *id)
            {
                return fb(format!("object {id} is missing from its object stream"));
            }
        }
        let size = match trailer.get(b"Size") {
            Ok(Object::Integer(n)) => u32::try_from(*n).unwrap_or(0),
            _ => 0,
        };
        let mut doc = Document::new();
        doc.trailer = trailer;
        let mut xref = Xref::new(size, XrefType::CrossReferenceTable);
        for (id, e) in merged {
            xref.insert(id, e);
        }
        doc.reference_table = xref;
        doc.max_id = objects
            .keys()
            .next_back()
            .map(|k| k.0)
            .unwrap_or(0)
            .max(size.saturating_sub(1));
        doc.objects = objects;
        if !page_tree_loaded(&doc) {
            return fb("the page tree does not load");
        }
        Ok(doc)
    }
}

fn prev_of(trailer: &Dictionary) -> Result<Option<u64>, LazyError> {
    match trailer.get(b"Prev") {
        Ok(Object::Integer(n)) => u64::try_from(*n).map(Some).or_else(|_| fb("/Prev")),
        Err(_) => Ok(None),
        _ => fb("/Prev"),
    }
}

fn page_tree_loaded(doc: &Document) -> bool {
    let Ok(Object::Reference(root)) = doc.trailer.get(b"Root") else {
        return false;
    };
    let Some(Object::Dictionary(cat)) = doc.objects.get(root) else {
        return false;
    };
    let Ok(Object::Reference(pages)) = cat.get(b"Pages") else {
        return false;
    };
    let Some(Object::Dictionary(p)) = doc.objects.get(pages) else {
        return false;
    };
    match p.get(b"Kids") {
        Ok(Object::Array(_)) => true,
        Ok(Object::Reference(k)) => matches!(doc.objects.get(k), Some(Object::Array(_))),
        _ => false,
    }
}

/// Where the contents of a stream left unread are: (offset, length).
pub fn elided(s: &Stream) -> Option<(u64, u64)> {
    let rest = s.content.strip_prefix(nonce().as_slice())?;
    let (a, b) = rest.split_at_checked(8)?;
    if b.len() != 8 {
        return None;
    }
    Some((
        u64::from_be_bytes(a.try_into().ok()?),
        u64::from_be_bytes(b.try_into().ok()?),
    ))
}

/// Size of the chunks streamed through digests and scans.
const CHUNK: usize = 1 << 20;

/// Offsets of every occurrence of `needle` (at most `max`), found by streaming `src`.
pub fn find_all(src: &dyn Source, needle: &[u8], max: usize) -> Vec<u64> {
    find_each(src, &[(needle, max)]).pop().unwrap_or_default()
}

/// For each `(needle, max)`, the offsets of its occurrences (at most `max`), all found in one
/// pass over `src`: each chunk is read once, however many needles are looked for.
pub fn find_each(src: &dyn Source, needles: &[(&[u8], usize)]) -> Vec<Vec<u64>> {
    let mut out: Vec<Vec<u64>> = vec![Vec::new(); needles.len()];
    let finders: Vec<(usize, memchr::memmem::Finder<'_>, usize)> = needles
        .iter()
        .enumerate()
        .filter(|(_, (n, max))| !n.is_empty() && *max > 0)
        .map(|(i, (n, max))| (i, memchr::memmem::Finder::new(n), *max))
        .collect();
    let Some(overlap) = finders.iter().map(|(_, f, _)| f.needle().len() - 1).max() else {
        return out;
    };
    let len = src.len();
    let mut at = 0u64;
    while at < len {
        let Some(chunk) = src.bytes(at, CHUNK + overlap) else {
            break;
        };
        let mut open = false;
        for (i, finder, max) in &finders {
            let found = &mut out[*i];
            // A match starting in the overlap is found again, whole, in the next chunk.
            for idx in finder.find_iter(&chunk).take_while(|&k| k < CHUNK) {
                if found.len() >= *max {
                    break;
                }
                found.push(at + idx as u64);
            }
            open |= found.len() < *max;
        }
        if !open {
            break;
        }
        at += CHUNK as u64;
    }
    out
}

/// The byte ranges of a file that a signature covers.
pub struct Ranges<'a> {
    /// The file.
    pub src: &'a dyn Source,
    /// (offset, length) pairs.
    pub ranges: Vec<(u64, u64)>,
    /// Digest states of the file's first bytes shared with the document's other signatures.
    pub prefixes: Option<&'a Prefixes>,
}

/// Calls `f` on the bytes `[off, off + len)` of `src`, in chunks; false if they cannot be read.
fn each_in(src: &dyn Source, off: u64, len: u64, f: &mut dyn FnMut(&[u8])) -> bool {
    let Some(end) = off.checked_add(len) else {
        return false;
    };
    if let Some(all) = src.as_slice() {
        let s = usize::try_from(off).ok();
        let e = usize::try_from(end).ok();
        return match (s, e) {
            (Some(s), Some(e)) => match all.get(s..e) {
                Some(b) => {
                    f(b);
                    true
                }
                None => false,
            },
            _ => false,
        };
    }
    let mut at = off;
    while at < end {
        let n = usize::try_from((end - at).min(CHUNK as u64)).unwrap_or(CHUNK);
        match src.bytes(at, n) {
            Some(b) if b.len() == n => f(&b),
            _ => return false,
        }
        at += n as u64;
    }
    true
}

impl Ranges<'_> {
    fn each(&self, mut f: impl FnMut(&[u8])) -> bool {
        self.ranges
            .iter()
            .all(|(off, len)| each_in(self.src, *off, *len, &mut f))
    }
}

/// Most split points a [`Prefixes`] keeps states for.
const MAX_SPLITS: usize = 64;

/// Digest states of a file's first bytes, shared by the signatures of one document.
///
/// Every signature's first range starts at offset 0, so with nested signatures (an earlier
/// one's first range `[0, a)` inside a later one's `[0, b)`) the bytes `[0, a)` are hashed
/// once: the digest context is cloned at `a` and carried on for the later signature. The
/// digests are exactly those of hashing each signature's ranges separately.
#[derive(Default)]
pub struct Prefixes {
    /// Where to keep a state: the first-range lengths of the signatures, sorted, unique.
    splits: Vec<u64>,
    /// (algorithm, n, state after hashing `[0, n)`).
    states: RefCell<Vec<(DigestAlg, u64, ring::digest::Context)>>,
}

impl Prefixes {
    /// States will be kept at these first-range lengths (at most [`MAX_SPLITS`] of them).
    pub fn new(mut splits: Vec<u64>) -> Self {
        splits.sort_unstable();
        splits.dedup();
        splits.truncate(MAX_SPLITS);
        Prefixes {
            splits,
            states: Default::default(),
        }
    }

    /// The state after hashing `[0, n)` of `src` with `alg`, from the longest kept state
    /// that fits, keeping new states at the split points passed on the way.
    fn state(&self, src: &dyn Source, alg: DigestAlg, n: u64) -> Option<ring::digest::Context> {
        let Ok(mut states) = self.states.try_borrow_mut() else {
            let mut ctx = alg.context();
            return each_in(src, 0, n, &mut |b| ctx.update(b)).then_some(ctx);
        };
        let (mut ctx, mut at) = states
            .iter()
            .filter(|(a, len, _)| *a == alg && *len <= n)
            .max_by_key(|(_, len, _)| *len)
            .map(|(_, len, c)| (c.clone(), *len))
            .unwrap_or_else(|| (alg.context(), 0));
        let from = at;
        for &p in self.splits.iter().filter(|p| **p > from && **p <= n) {
            if !each_in(src, at, p - at, &mut |b| ctx.update(b)) {
                return None;
            }
            at = p;
            states.push((alg, p, ctx.clone()));
        }
        if !each_in(src, at, n - at, &mut |b| ctx.update(b)) {
            return None;
        }
        Some(ctx)
    }
}

impl crate::crypto::Signed for Ranges<'_> {
    fn digest(&self, alg: DigestAlg) -> Vec<u8> {
        let (mut ctx, rest) = match (self.prefixes, self.ranges.split_first()) {
            (Some(p), Some((&(0, n), rest))) => match p.state(self.src, alg, n) {
                Some(ctx) => (ctx, rest),
                None => return Vec::new(),
            },
            _ => (alg.context(), self.ranges.as_slice()),
        };
        if rest
            .iter()
            .all(|(off, len)| each_in(self.src, *off, *len, &mut |b| ctx.update(b)))
        {
            ctx.finish().as_ref().to_vec()
        } else {
            Vec::new()
        }
    }
    fn concat(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.each(|b| v.extend_from_slice(b));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_objects() {
        let b = b"<< /A [1 0 R 2 -3.5 (a\\(b\\)) <414> /N#20x] /B << /C true >> >> ";
        let mut p = P { b, i: 0 };
        let Ok(Object::Dictionary(d)) = p.object(0) else {
            panic!("dict")
        };
        let Ok(Object::Array(a)) = d.get(b"A") else {
            panic!("array")
        };
        assert_eq!(a[0], Object::Reference((1, 0)));
        assert_eq!(a[1], Object::Integer(2));
        assert_eq!(
            a[3],
            Object::String(b"a(b)".to_vec(), StringFormat::Literal)
        );
        assert_eq!(
            a[4],
            Object::String(vec![0x41, 0x40], StringFormat::Hexadecimal)
        );
        assert_eq!(a[5], Object::Name(b"N x".to_vec()));
    }

    /// A source read in pieces, like a file.
    struct Pieces<'a>(&'a [u8]);

    impl Source for Pieces<'_> {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn bytes(&self, off: u64, len: usize) -> Option<Cow<'_, [u8]>> {
            let off = usize::try_from(off).ok()?;
            let end = off.saturating_add(len).min(self.0.len());
            self.0.get(off..end).map(Cow::Borrowed)
        }
    }

    #[test]
    fn shared_prefix_digests_equal_separate_ones() {
        use crate::crypto::Signed;
        let data: Vec<u8> = (0..CHUNK * 2 + 777)
            .map(|i| (i * 7 + i / 13) as u8)
            .collect();
        let n = data.len() as u64;
        // Three nested signatures, one overlapping oddly, one range out of the file.
        let layouts: Vec<Vec<(u64, u64)>> = vec![
            vec![(0, 1000), (1500, 200)],
            vec![(0, CHUNK as u64 + 5), (CHUNK as u64 + 90, 100)],
            vec![(0, n - 300), (n - 100, 100)],
            vec![(0, 1200), (900, 50)],
            vec![(0, 10), (n - 5, 10)],
            vec![(5, 10)],
        ];
        let splits = layouts
            .iter()
            .filter_map(|l| l.first().filter(|r| r.0 == 0).map(|r| r.1))
            .collect::<Vec<_>>();
        for src in [&Mem(&data) as &dyn Source, &Pieces(&data)] {
            for order in [[0, 1, 2, 3, 4, 5], [5, 4, 2, 3, 1, 0], [2, 0, 4, 1, 5, 3]] {
                let prefixes = Prefixes::new(splits.clone());
                for i in order {
                    for alg in [DigestAlg::Sha256, DigestAlg::Sha384] {
                        let ranges = layouts[i].clone();
                        let plain = Ranges {
                            src,
                            ranges: ranges.clone(),
                            prefixes: None,
                        };
                        let shared = Ranges {
                            src,
                            ranges,
                            prefixes: Some(&prefixes),
                        };
                        assert_eq!(plain.digest(alg), shared.digest(alg), "layout {i}");
                        let joined = plain.concat();
                        if i < 4 {
                            assert_eq!(plain.digest(alg), alg.digest(&joined), "layout {i}");
                        } else if i == 4 {
                            assert!(plain.digest(alg).is_empty());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn finds_needles() {
        let mut v = vec![b'x'; CHUNK * 2 + 10];
        v[3..8].copy_from_slice(b"%%EOF");
        v[CHUNK - 2..CHUNK + 3].copy_from_slice(b"%%EOF");
        let n = v.len();
        v[n - 5..].copy_from_slice(b"%%EOF");
        assert_eq!(
            find_all(&Mem(&v), b"%%EOF", 10),
            vec![3, CHUNK as u64 - 2, n as u64 - 5]
        );
    }

    #[test]
    fn one_pass_finds_what_separate_passes_find() {
        let mut v = vec![b'x'; CHUNK * 2 + 10];
        v[CHUNK - 2..CHUNK + 3].copy_from_slice(b"%%EOF");
        v[CHUNK - 6..CHUNK + 4].copy_from_slice(b"/ByteRange");
        v[20..30].copy_from_slice(b"/ByteRange");
        let n = v.len();
        v[n - 5..].copy_from_slice(b"%%EOF");
        let src = Mem(&v);
        let both = find_each(&src, &[(b"%%EOF", 10), (b"/ByteRange", 1)]);
        assert_eq!(both[0], find_all(&src, b"%%EOF", 10));
        assert_eq!(both[1], find_all(&src, b"/ByteRange", 1));
        assert_eq!(both[1], vec![20]);
    }
}
