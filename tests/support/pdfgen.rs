//! Hand-written PDF bytes: the base document of the attacks and incremental updates.

/// A one-page PDF prepared for the attacks, with a classic xref table:
/// - page 3 draws hidden text (4), a white overlay over it (7) and visible text (8);
/// - a text field `Name` (21, with appearance 23) and an empty signature field `Signature1` (22);
/// - an unused shadow catalog (9) with its own page tree (10, 11, 12) sharing the AcroForm (20).
pub fn base_pdf() -> Vec<u8> {
    let mut objs: Vec<(u32, Vec<u8>)> = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm 20 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
        (3, page_dict(2, b"[4 0 R 7 0 R 8 0 R]", b"[21 0 R 22 0 R]")),
        (4, stream(b"BT /F1 18 Tf 20 50 Td (Pay 1,000,000 VND) Tj ET")),
        (5, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec()),
        (7, stream(b"1 1 1 rg 0 40 300 40 re f")),
        (8, stream(b"BT /F1 24 Tf 20 100 Td (Hello saoy) Tj ET")),
        (9, b"<< /Type /Catalog /Pages 10 0 R /AcroForm 20 0 R >>".to_vec()),
        (10, b"<< /Type /Pages /Kids [11 0 R] /Count 1 >>".to_vec()),
        (11, page_dict(10, b"12 0 R", b"[21 0 R 22 0 R]")),
        (12, stream(b"BT /F1 24 Tf 20 100 Td (Forged by a shadow) Tj ET")),
        (20, b"<< /Fields [21 0 R 22 0 R] /DA (/F1 12 Tf 0 g) /DR << /Font << /F1 5 0 R >> >> >>".to_vec()),
        (21, text_field(b"Nguyen Van A", 23)),
        (22, b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /Rect [0 0 0 0] /F 132 /P 3 0 R >>".to_vec()),
        (23, appearance(b"Nguyen Van A")),
    ];
    objs.sort_by_key(|(n, _)| *n);
    write_classic(&objs, 1)
}

/// A page dictionary with the given parent, /Contents and /Annots.
pub fn page_dict(parent: u32, contents: &[u8], annots: &[u8]) -> Vec<u8> {
    let mut d = format!("<< /Type /Page /Parent {parent} 0 R /MediaBox [0 0 300 200] /Contents ")
        .into_bytes();
    d.extend_from_slice(contents);
    d.extend_from_slice(b" /Resources << /Font << /F1 5 0 R >> >> /Annots ");
    d.extend_from_slice(annots);
    d.extend_from_slice(b" >>");
    d
}

/// The text field `Name` (merged with its widget) showing `value` through appearance `ap`.
pub fn text_field(value: &[u8], ap: u32) -> Vec<u8> {
    let mut d = b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (Name) /V (".to_vec();
    d.extend_from_slice(value);
    d.extend_from_slice(
        format!(
            ") /Rect [20 150 200 170] /F 4 /P 3 0 R /DA (/F1 12 Tf 0 g) /AP << /N {ap} 0 R >> >>"
        )
        .as_bytes(),
    );
    d
}

/// A form XObject drawing `text`.
pub fn appearance(text: &[u8]) -> Vec<u8> {
    let mut c = b"/Tx BMC BT /F1 12 Tf 2 5 Td (".to_vec();
    c.extend_from_slice(text);
    c.extend_from_slice(b") Tj ET EMC");
    let mut s = format!(
        "<< /Type /XObject /Subtype /Form /BBox [0 0 180 20] /Resources << /Font << /F1 5 0 R >> >> /Length {} >>\nstream\n",
        c.len()
    )
    .into_bytes();
    s.extend_from_slice(&c);
    s.extend_from_slice(b"\nendstream");
    s
}

/// A stream object body with `/Length`.
pub fn stream(content: &[u8]) -> Vec<u8> {
    stream_with(b"", content)
}

/// A stream object body with extra dictionary entries.
pub fn stream_with(extra: &[u8], content: &[u8]) -> Vec<u8> {
    let mut s = b"<< ".to_vec();
    s.extend_from_slice(extra);
    s.extend_from_slice(format!(" /Length {} >>\nstream\n", content.len()).as_bytes());
    s.extend_from_slice(content);
    s.extend_from_slice(b"\nendstream");
    s
}

fn write_classic(objs: &[(u32, Vec<u8>)], root: u32) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let size = objs.iter().map(|(n, _)| *n).max().unwrap_or(0) + 1;
    let mut offsets = vec![None; size as usize];
    for (n, body) in objs {
        offsets[*n as usize] = Some(out.len());
        out.extend_from_slice(format!("{n} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n").as_bytes());
    for (i, o) in offsets.iter().enumerate() {
        match o {
            Some(o) => out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes()),
            None if i == 0 => out.extend_from_slice(b"0000000000 65535 f \n"),
            None => out.extend_from_slice(b"0000000000 00000 f \n"),
        }
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n")
            .as_bytes(),
    );
    out
}

/// How an appended update's trailer is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trailer {
    /// Object number of /Root (default: the previous trailer's).
    pub root: Option<u32>,
    /// Leave out /Prev, hiding every earlier xref section.
    pub no_prev: bool,
}

/// Appends an incremental update (classic xref section) holding `objs`.
pub fn append_update(pdf: &[u8], objs: &[(u32, Vec<u8>)], t: Trailer) -> Vec<u8> {
    let prev = last_startxref(pdf);
    let tr = last_trailer(pdf);
    let root = t
        .root
        .or_else(|| ref_after(&tr, b"/Root"))
        .expect("previous trailer has /Root");
    let info = ref_after(&tr, b"/Info");
    let old_size = int_after(&tr, b"/Size").unwrap_or(0);
    let max = objs.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let size = old_size.max(i64::from(max) + 1);
    let mut out = pdf.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut entries = Vec::new();
    for (n, body) in objs {
        entries.push((*n, out.len()));
        out.extend_from_slice(format!("{n} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n");
    if entries.is_empty() {
        out.extend_from_slice(b"0 1\n0000000000 65535 f \n");
    }
    for (n, off) in entries {
        out.extend_from_slice(format!("{n} 1\n{off:010} 00000 n \n").as_bytes());
    }
    let mut trailer = format!("trailer\n<< /Size {size} /Root {root} 0 R");
    if let Some(i) = info {
        trailer.push_str(&format!(" /Info {i} 0 R"));
    }
    if !t.no_prev {
        trailer.push_str(&format!(" /Prev {prev}"));
    }
    trailer.push_str(&format!(" >>\nstartxref\n{xref}\n%%EOF\n"));
    out.extend_from_slice(trailer.as_bytes());
    out
}

/// The offset named by the last `startxref`.
pub fn last_startxref(pdf: &[u8]) -> usize {
    let pos = rfind(pdf, b"startxref").expect("startxref");
    let s = String::from_utf8_lossy(&pdf[pos + 9..(pos + 40).min(pdf.len())]).into_owned();
    s.split_whitespace()
        .next()
        .and_then(|x| x.parse().ok())
        .expect("startxref offset")
}

fn last_trailer(pdf: &[u8]) -> Vec<u8> {
    let pos = rfind(pdf, b"trailer").expect("a classic trailer");
    let end = find_from(pdf, b"startxref", pos).unwrap_or(pdf.len());
    pdf[pos..end].to_vec()
}

fn ref_after(hay: &[u8], key: &[u8]) -> Option<u32> {
    let p = rfind(hay, key)? + key.len();
    let s = String::from_utf8_lossy(&hay[p..(p + 24).min(hay.len())]).into_owned();
    s.split_whitespace().next()?.parse().ok()
}

fn int_after(hay: &[u8], key: &[u8]) -> Option<i64> {
    let p = rfind(hay, key)? + key.len();
    let s = String::from_utf8_lossy(&hay[p..(p + 24).min(hay.len())]).into_owned();
    s.split(|c: char| !c.is_ascii_digit())
        .find(|x| !x.is_empty())?
        .parse()
        .ok()
}

/// Last position of `needle` in `hay`.
pub fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// First position of `needle` in `hay` at or after `from`.
pub fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The last signature dictionary: (object number, body between `obj` and `endobj`).
pub fn last_sig_object(pdf: &[u8]) -> (u32, Vec<u8>) {
    let br = rfind(pdf, b"/ByteRange").expect("a signature");
    let head = rfind(&pdf[..br], b" obj").expect("obj header");
    let line_start = rfind(&pdf[..head], b"\n").map_or(0, |p| p + 1);
    let num: u32 = String::from_utf8_lossy(&pdf[line_start..head])
        .split_whitespace()
        .next()
        .and_then(|x| x.parse().ok())
        .expect("object number");
    let end = find_from(pdf, b"endobj", br).expect("endobj");
    (num, pdf[head + 4..end].to_vec())
}

/// The /ByteRange numbers of the last signature and where its `[...]` text sits.
pub fn last_byte_range(pdf: &[u8]) -> ([i64; 4], usize, usize) {
    let br = rfind(pdf, b"/ByteRange").expect("a signature");
    let open = find_from(pdf, b"[", br).expect("[");
    let close = find_from(pdf, b"]", open).expect("]");
    let nums: Vec<i64> = String::from_utf8_lossy(&pdf[open + 1..close])
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect();
    ([nums[0], nums[1], nums[2], nums[3]], open, close + 1)
}

/// Rewrites the last /ByteRange in place with `v` (padded to the same width).
pub fn set_byte_range(pdf: &[u8], v: [i64; 4]) -> Vec<u8> {
    let (_, open, mut end) = last_byte_range(pdf);
    // Signers pad after the array; that room may be used too.
    while pdf.get(end) == Some(&b' ') {
        end += 1;
    }
    let mut text = format!("[{} {} {} {}", v[0], v[1], v[2], v[3]).into_bytes();
    assert!(text.len() < end - open, "new /ByteRange does not fit");
    text.push(b']');
    while text.len() < end - open {
        text.push(b' ');
    }
    let mut out = pdf.to_vec();
    out[open..end].copy_from_slice(&text);
    out
}

/// A one-page PDF 1.7 (lopdf) whose page shows `text` in Helvetica: a document to sign.
pub fn one_page_pdf(text: &str) -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};

    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let content = format!("BT /F1 24 Tf 72 700 Td ({text}) Tj ET").into_bytes();
    let content_id = doc.add_object(Stream::new(dictionary! {}, content));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => content_id,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}
