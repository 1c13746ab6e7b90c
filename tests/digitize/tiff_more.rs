//! Palette (indexed colour) and tiled TIFF pages, checked from the outside: the TIFFs are
//! written here byte by byte (strips or tiles, none/LZW/Deflate/PackBits, little- or
//! big-endian), digitised and assembled; the embedded image must hold exactly the input's
//! pixels (palette pages expanded through their colour map), the page size must follow the
//! dpi, and the decode limits must hold before any pixel is decoded.

use std::io::Cursor;

use bytes::Bytes;
use lopdf::{Document, Object};
use saoy::digitize::{
    self, DecodeLimits, DigitizeError, DigitizeOptions, DocumentPolicy, UploadedFile,
};
use saoy::pdf::{ScanContent, assemble_scan};
use tiff::encoder::compression::{
    CompressionAlgorithm, Deflate, DeflateLevel, Lzw, Packbits, Uncompressed,
};

// ---------------------------------------------------------------------------------------
// A small TIFF writer: enough to make the layouts the `tiff` encoder cannot (palette, tiles).

#[derive(Clone, Copy, Debug)]
enum Comp {
    None,
    Lzw,
    Deflate,
    PackBits,
}

impl Comp {
    fn code(self) -> u16 {
        match self {
            Comp::None => 1,
            Comp::Lzw => 5,
            Comp::Deflate => 8,
            Comp::PackBits => 32773,
        }
    }

    fn compress(self, raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Comp::None => Uncompressed.write_to(&mut out, raw),
            Comp::Lzw => Lzw.write_to(&mut out, raw),
            Comp::Deflate => Deflate::with_level(DeflateLevel::Balanced).write_to(&mut out, raw),
            Comp::PackBits => Packbits.write_to(&mut out, raw),
        }
        .expect("compress");
        out
    }
}

#[derive(Clone, Copy, Debug)]
enum Layout {
    /// Rows per strip.
    Strips(u32),
    /// Tile width and length.
    Tiles(u32, u32),
}

/// One page: samples unpacked (one value per sample, interleaved), row by row.
#[derive(Clone, Debug)]
struct Page {
    width: u32,
    height: u32,
    bits: u16,
    samples: u16,
    photometric: u16,
    alpha: bool,
    colormap: Option<Vec<u16>>,
    layout: Layout,
    comp: Comp,
    dpi: u32,
    pixels: Vec<u16>,
}

impl Page {
    fn new(width: u32, height: u32, bits: u16, samples: u16, photometric: u16) -> Self {
        Page {
            width,
            height,
            bits,
            samples,
            photometric,
            alpha: false,
            colormap: None,
            layout: Layout::Strips(height),
            comp: Comp::None,
            dpi: 300,
            pixels: Vec::new(),
        }
    }

    fn palette(width: u32, height: u32, bits: u16, colormap: Vec<u16>) -> Self {
        let entries = 1u32 << bits;
        let mut p = Page::new(width, height, bits, 1, 3);
        p.pixels = (0..width * height)
            .map(|i| ((i % width) * 7 + (i / width) * 3 + i / 5) % entries)
            .map(|v| v as u16)
            .collect();
        p.colormap = Some(colormap);
        p
    }

    fn layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    fn comp(mut self, comp: Comp) -> Self {
        self.comp = comp;
        self
    }

    fn dpi(mut self, dpi: u32) -> Self {
        self.dpi = dpi;
        self
    }

    /// Samples of the pixel at (x, y), or the padding value outside the image.
    fn pixel(&self, x: u32, y: u32) -> Vec<u16> {
        let n = usize::from(self.samples);
        if x >= self.width || y >= self.height {
            // Padding a reader must crop away: the largest value, never a pixel's.
            let max = if self.bits == 16 {
                0xFFFF
            } else {
                (1u32 << self.bits) as u16 - 1
            };
            return vec![max; n];
        }
        let i = (y * self.width + x) as usize * n;
        self.pixels[i..i + n].to_vec()
    }

    /// One row of `w` pixels from (x0, y), packed as the TIFF stores it.
    fn packed_row(&self, x0: u32, y: u32, w: u32, be: bool) -> Vec<u8> {
        let values: Vec<u16> = (x0..x0 + w).flat_map(|x| self.pixel(x, y)).collect();
        match self.bits {
            16 => values
                .iter()
                .flat_map(|v| if be { v.to_be_bytes() } else { v.to_le_bytes() })
                .collect(),
            8 => values.iter().map(|&v| v as u8).collect(),
            b => {
                let per = 8 / b as usize;
                values
                    .chunks(per)
                    .map(|c| {
                        c.iter().enumerate().fold(0u8, |acc, (k, &v)| {
                            acc | ((v as u8) << (8 - b as usize * (k + 1)))
                        })
                    })
                    .collect()
            }
        }
    }

    /// The chunks (strips or tiles), uncompressed.
    fn chunks(&self, be: bool) -> Vec<Vec<u8>> {
        match self.layout {
            Layout::Strips(rows) => (0..self.height)
                .step_by(rows as usize)
                .map(|y0| {
                    (y0..(y0 + rows).min(self.height))
                        .flat_map(|y| self.packed_row(0, y, self.width, be))
                        .collect()
                })
                .collect(),
            Layout::Tiles(tw, th) => {
                let mut out = Vec::new();
                for ty in 0..self.height.div_ceil(th) {
                    for tx in 0..self.width.div_ceil(tw) {
                        out.push(
                            (0..th)
                                .flat_map(|r| self.packed_row(tx * tw, ty * th + r, tw, be))
                                .collect(),
                        );
                    }
                }
                out
            }
        }
    }
}

/// Field types.
const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;

struct Writer {
    be: bool,
    out: Vec<u8>,
}

impl Writer {
    fn u16(&mut self, v: u16) {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.out.extend_from_slice(&b);
    }

    fn u32(&mut self, v: u32) {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.out.extend_from_slice(&b);
    }

    fn set_u32(&mut self, at: usize, v: u32) {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.out[at..at + 4].copy_from_slice(&b);
    }
}

/// A classic TIFF with `pages`, one IFD each, in order.
fn write_tiff(pages: &[Page], be: bool) -> Vec<u8> {
    let mut w = Writer {
        be,
        out: if be { b"MM".to_vec() } else { b"II".to_vec() },
    };
    w.u16(42);
    let mut link = w.out.len();
    w.u32(0);
    for p in pages {
        // Chunk data first.
        let mut offsets = Vec::new();
        let mut counts = Vec::new();
        for chunk in p.chunks(be) {
            let coded = p.comp.compress(&chunk);
            offsets.push(w.out.len() as u32);
            counts.push(coded.len() as u32);
            w.out.extend_from_slice(&coded);
        }
        // Entries: (tag, type, values).
        let mut entries: Vec<(u16, u16, Vec<u32>)> = vec![
            (256, LONG, vec![p.width]),
            (257, LONG, vec![p.height]),
            (258, SHORT, vec![u32::from(p.bits); usize::from(p.samples)]),
            (259, SHORT, vec![u32::from(p.comp.code())]),
            (262, SHORT, vec![u32::from(p.photometric)]),
            (277, SHORT, vec![u32::from(p.samples)]),
            (282, RATIONAL, vec![p.dpi, 1]),
            (283, RATIONAL, vec![p.dpi, 1]),
            (284, SHORT, vec![1]),
            (296, SHORT, vec![2]),
        ];
        match p.layout {
            Layout::Strips(rows) => {
                entries.push((273, LONG, offsets));
                entries.push((278, LONG, vec![rows]));
                entries.push((279, LONG, counts));
            }
            Layout::Tiles(tw, th) => {
                entries.push((322, LONG, vec![tw]));
                entries.push((323, LONG, vec![th]));
                entries.push((324, LONG, offsets));
                entries.push((325, LONG, counts));
            }
        }
        if let Some(map) = &p.colormap {
            entries.push((320, SHORT, map.iter().map(|&v| u32::from(v)).collect()));
        }
        if p.alpha {
            entries.push((338, SHORT, vec![2]));
        }
        entries.sort_by_key(|e| e.0);
        if w.out.len() % 2 == 1 {
            w.out.push(0);
        }
        let ifd = w.out.len() as u32;
        w.set_u32(link, ifd);
        w.u16(entries.len() as u16);
        let mut deferred = Vec::new();
        for (tag, ty, values) in &entries {
            w.u16(*tag);
            w.u16(*ty);
            let count = if *ty == RATIONAL {
                values.len() / 2
            } else {
                values.len()
            };
            w.u32(count as u32);
            let size = match *ty {
                SHORT => 2 * values.len(),
                _ => 4 * values.len(),
            };
            if size <= 4 {
                let start = w.out.len();
                for v in values {
                    if *ty == SHORT {
                        w.u16(*v as u16);
                    } else {
                        w.u32(*v);
                    }
                }
                w.out.resize(start + 4, 0);
            } else {
                deferred.push((w.out.len(), *ty, values.clone()));
                w.u32(0);
            }
        }
        link = w.out.len();
        w.u32(0);
        for (at, ty, values) in deferred {
            if w.out.len() % 2 == 1 {
                w.out.push(0);
            }
            let here = w.out.len() as u32;
            w.set_u32(at, here);
            for v in values {
                if ty == SHORT {
                    w.u16(v as u16);
                } else {
                    w.u32(v);
                }
            }
        }
    }
    w.out
}

// ---------------------------------------------------------------------------------------
// Digitise, assemble, look inside the PDF.

fn upload(name: &str, data: Vec<u8>) -> UploadedFile {
    UploadedFile {
        name: name.into(),
        media_type: None,
        data: Bytes::from(data),
    }
}

fn scan(d: &digitize::Digitized) -> Vec<u8> {
    assemble_scan(
        d,
        &ScanContent {
            id: "test".into(),
            title: "Bản quét".into(),
            agency: "UBND phường Ba Đình".into(),
            facts: vec![("Loại giấy tờ".into(), "Giấy khai sinh".into())],
            pdfa: false,
            created: time::macros::datetime!(2026-11-24 09:15:30 +07:00),
        },
    )
    .expect("assemble")
    .pdf
}

/// The embedded images of a page: one per image XObject, sorted by resource name.
fn page_images(doc: &Document) -> Vec<Vec<lopdf::Stream>> {
    doc.get_pages()
        .values()
        .map(|&id| {
            let mut found = Vec::new();
            let (res, ids) = doc.get_page_resources(id).expect("resources");
            let mut dicts: Vec<lopdf::Dictionary> = res.cloned().into_iter().collect();
            for rid in ids {
                dicts.push(doc.get_dictionary(rid).expect("dict").clone());
            }
            for r in dicts {
                let Ok(xobjects) = r.get(b"XObject") else {
                    continue;
                };
                let xobjects = match xobjects {
                    Object::Reference(id) => doc.get_dictionary(*id).expect("xobjects").clone(),
                    Object::Dictionary(d) => d.clone(),
                    _ => continue,
                };
                let mut names: Vec<_> = xobjects.iter().collect();
                names.sort_by(|a, b| a.0.cmp(b.0));
                for (_, obj) in names {
                    let stream = doc
                        .get_object(obj.as_reference().expect("ref"))
                        .expect("object")
                        .as_stream()
                        .expect("stream")
                        .clone();
                    if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image")
                    {
                        found.push(stream);
                    }
                }
            }
            found
        })
        .collect()
}

fn media_boxes(doc: &Document) -> Vec<[f32; 4]> {
    doc.get_pages()
        .values()
        .map(|id| {
            let mb = doc
                .get_dictionary(*id)
                .expect("page")
                .get(b"MediaBox")
                .expect("MediaBox");
            let n: Vec<f32> = mb
                .as_array()
                .expect("array")
                .iter()
                .map(|o| o.as_float().expect("number"))
                .collect();
            [n[0], n[1], n[2], n[3]]
        })
        .collect()
}

fn assert_size(mb: [f32; 4], w_px: u32, h_px: u32, dpi: u32) {
    let (w, h) = (
        w_px as f32 / dpi as f32 * 72.0,
        h_px as f32 / dpi as f32 * 72.0,
    );
    assert!(
        (mb[2] - mb[0] - w).abs() < 0.05 && (mb[3] - mb[1] - h).abs() < 0.05,
        "{mb:?} vs {w}×{h} at {dpi} dpi"
    );
}

fn int_of(s: &lopdf::Stream, key: &[u8]) -> i64 {
    s.dict.get(key).and_then(Object::as_i64).unwrap_or(-1)
}

fn colour_space(s: &lopdf::Stream) -> String {
    match s.dict.get(b"ColorSpace") {
        Ok(Object::Name(n)) => String::from_utf8_lossy(n).into_owned(),
        Ok(other) => format!("{other:?}"),
        Err(_) => String::new(),
    }
}

/// What a page must show: its size, and the image's bits, channels and samples.
struct Want {
    width: u32,
    height: u32,
    dpi: u32,
    bits: i64,
    channels: usize,
    samples: Vec<u8>,
    alpha: Option<Vec<u8>>,
}

/// Expected samples of a palette page: each index through the map, as 8 bits when every
/// entry is an exact 8-bit value (v × 257), else 16 bits; grey when every entry is.
fn expand(p: &Page) -> Want {
    let map = p.colormap.as_ref().expect("palette");
    let n = map.len() / 3;
    let exact8 = map.iter().all(|v| v % 257 == 0);
    let grey = (0..n).all(|i| map[i] == map[n + i] && map[i] == map[2 * n + i]);
    let channels = if grey { 1 } else { 3 };
    let mut samples = Vec::new();
    for &ix in &p.pixels {
        let i = usize::from(ix);
        let rgb = [map[i], map[n + i], map[2 * n + i]];
        for v in &rgb[..channels] {
            if exact8 {
                samples.push((v / 257) as u8);
            } else {
                samples.extend_from_slice(&v.to_be_bytes());
            }
        }
    }
    Want {
        width: p.width,
        height: p.height,
        dpi: p.dpi,
        bits: if exact8 { 8 } else { 16 },
        channels,
        samples,
        alpha: None,
    }
}

/// Expected samples of a grey/RGB(A) page: as stored, 16-bit big-endian, alpha apart.
fn direct(p: &Page) -> Want {
    let n = usize::from(p.samples);
    let colour_n = if p.alpha { n - 1 } else { n };
    let mut samples = Vec::new();
    let mut alpha = Vec::new();
    for px in p.pixels.chunks(n) {
        for (k, &v) in px.iter().enumerate() {
            let target = if k < colour_n {
                &mut samples
            } else {
                &mut alpha
            };
            if p.bits == 16 {
                target.extend_from_slice(&v.to_be_bytes());
            } else {
                target.push(v as u8);
            }
        }
    }
    Want {
        width: p.width,
        height: p.height,
        dpi: p.dpi,
        bits: i64::from(p.bits),
        channels: colour_n,
        samples,
        alpha: p.alpha.then_some(alpha),
    }
}

/// Digitises `tif`, assembles it, and checks every page against `want`.
fn check_pages(tif: Vec<u8>, want: &[Want]) {
    let d = digitize::digitize(&[upload("pages.tif", tif)], &DigitizeOptions::default())
        .expect("digitize");
    assert_eq!(d.pages.len(), want.len());
    let pdf = scan(&d);
    let doc = Document::load_mem(&pdf).expect("PDF");
    let images = page_images(&doc);
    let boxes = media_boxes(&doc);
    for (i, w) in want.iter().enumerate() {
        assert_size(boxes[i], w.width, w.height, w.dpi);
        let image = images[i]
            .iter()
            .find(|s| {
                int_of(s, b"Width") == i64::from(w.width)
                    && s.dict.get(b"SMask").is_ok() == w.alpha.is_some()
            })
            .unwrap_or_else(|| panic!("page {}: no {}-wide image", i + 1, w.width));
        assert_eq!(
            int_of(image, b"Height"),
            i64::from(w.height),
            "page {}",
            i + 1
        );
        assert_eq!(int_of(image, b"BitsPerComponent"), w.bits, "page {}", i + 1);
        let space = colour_space(image);
        match w.channels {
            1 => assert!(
                space.contains("Gray") || space.contains("CalGray") || space.contains("ICC"),
                "page {}: {space}",
                i + 1
            ),
            _ => assert!(
                space.contains("RGB") || space.contains("ICC"),
                "page {}: {space}",
                i + 1
            ),
        }
        let got = image.decompressed_content().expect("image data");
        assert_eq!(got.len(), w.samples.len(), "page {}", i + 1);
        assert!(got == w.samples, "page {}: pixels differ", i + 1);
        if let Some(alpha) = &w.alpha {
            let smask = image
                .dict
                .get(b"SMask")
                .and_then(Object::as_reference)
                .expect("SMask");
            let smask = doc
                .get_object(smask)
                .expect("mask")
                .as_stream()
                .expect("stream");
            assert_eq!(&smask.decompressed_content().expect("mask data"), alpha);
        }
    }
}

/// A colour map of `entries` colours, each an exact 8-bit value (× 257).
fn colours(entries: usize) -> Vec<u16> {
    let mut map = vec![0u16; 3 * entries];
    for i in 0..entries {
        map[i] = ((i * 37 + 11) % 256) as u16 * 257;
        map[entries + i] = ((i * 91 + 3) % 256) as u16 * 257;
        map[2 * entries + i] = ((255 - i * 13 % 256) % 256) as u16 * 257;
    }
    map
}

// ---------------------------------------------------------------------------------------

#[test]
fn palette_pages_expand_through_their_colour_map_pixel_exactly() {
    // 16-bit colour map values that are not 8-bit ones: kept as 16 bits.
    let mut fine = colours(256);
    for (k, v) in fine.iter_mut().enumerate() {
        *v = v.wrapping_add(k as u16 % 200);
    }
    let grey: Vec<u16> = {
        let g: Vec<u16> = (0..16u16).map(|i| i * 17 * 257).collect();
        [g.clone(), g.clone(), g].concat()
    };
    let pages = vec![
        Page::palette(61, 37, 8, colours(256)).comp(Comp::Lzw),
        Page::palette(45, 30, 4, colours(16))
            .comp(Comp::PackBits)
            .layout(Layout::Strips(7))
            .dpi(200),
        Page::palette(33, 21, 2, colours(4))
            .comp(Comp::Deflate)
            .dpi(400),
        Page::palette(50, 20, 1, colours(2)).layout(Layout::Strips(3)),
        Page::palette(40, 25, 8, fine).comp(Comp::Deflate),
        Page::palette(30, 30, 4, grey).comp(Comp::Lzw).dpi(600),
    ];
    let want: Vec<Want> = pages.iter().map(expand).collect();
    assert_eq!(want[4].bits, 16);
    assert_eq!(want[5].channels, 1);
    check_pages(write_tiff(&pages, false), &want);
    // The same pages, big-endian.
    check_pages(write_tiff(&pages, true), &want);
}

#[test]
fn tiled_pages_are_reassembled_with_edge_tiles_cropped() {
    let rgb = {
        let mut p = Page::new(70, 50, 8, 3, 2).layout(Layout::Tiles(16, 16));
        p.pixels = (0..70 * 50 * 3).map(|i| (i * 7 % 251) as u16).collect();
        p
    };
    let grey16 = {
        let mut p = Page::new(40, 35, 16, 1, 1)
            .layout(Layout::Tiles(32, 16))
            .comp(Comp::Lzw)
            .dpi(200);
        p.pixels = (0..40 * 35).map(|i| (i * 977 % 65_000) as u16).collect();
        p
    };
    let rgba = {
        let mut p = Page::new(20, 17, 8, 4, 2)
            .layout(Layout::Tiles(16, 16))
            .comp(Comp::Deflate);
        p.alpha = true;
        p.pixels = (0..20 * 17 * 4).map(|i| (i * 13 % 253) as u16).collect();
        p
    };
    let grey8 = {
        let mut p = Page::new(100, 9, 8, 1, 1)
            .layout(Layout::Tiles(48, 16))
            .comp(Comp::PackBits)
            .dpi(400);
        p.pixels = (0..100 * 9).map(|i| (i % 97) as u16).collect();
        p
    };
    let palette8 = Page::palette(50, 40, 8, colours(256))
        .layout(Layout::Tiles(32, 32))
        .comp(Comp::Lzw);
    let palette4 = Page::palette(45, 19, 4, colours(16))
        .layout(Layout::Tiles(32, 16))
        .comp(Comp::Deflate);
    let want = vec![
        direct(&rgb),
        direct(&grey16),
        direct(&rgba),
        direct(&grey8),
        expand(&palette8),
        expand(&palette4),
    ];
    let pages = [rgb, grey16, rgba, grey8, palette8, palette4];
    check_pages(write_tiff(&pages, false), &want);
    check_pages(write_tiff(&pages, true), &want);
}

#[test]
fn tiled_black_and_white_is_recoded_as_g4_pixel_exactly() {
    let mut p = Page::new(40, 30, 1, 1, 1)
        .layout(Layout::Tiles(16, 16))
        .comp(Comp::PackBits);
    p.pixels = (0..40 * 30)
        .map(|i| u16::from((i % 40 + i / 40) % 5 != 0))
        .collect();
    let d = digitize::digitize(
        &[upload(
            "bw.tif",
            write_tiff(std::slice::from_ref(&p), false),
        )],
        &DigitizeOptions::default(),
    )
    .expect("digitize");
    let pdf = scan(&d);
    let doc = Document::load_mem(&pdf).expect("PDF");
    let images = page_images(&doc);
    let g4 = images[0]
        .iter()
        .find(|s| s.dict.get(b"Filter").and_then(Object::as_name).ok() == Some(b"CCITTFaxDecode"))
        .expect("a G4 image");
    let mut decoded = Vec::new();
    let done = fax::decoder::decode_g4(g4.content.iter().copied(), 40, Some(30), |t| {
        decoded.extend(fax::decoder::pels(t, 40).map(|c| u16::from(c == fax::Color::White)));
    });
    assert!(done.is_some());
    // BlackIsZero: 1 is white.
    assert_eq!(decoded, p.pixels);
    assert_size(media_boxes(&doc)[0], 40, 30, 300);
}

#[test]
fn limits_and_damage_are_judged_before_decoding() {
    let tight = |bytes: u64| DecodeLimits {
        max_decoded_bytes: bytes,
        ..DecodeLimits::default()
    };
    let run = |tif: Vec<u8>, limits: &DecodeLimits| {
        digitize::digitize_with(
            &[upload("x.tif", tif)],
            &DigitizeOptions::default(),
            &DocumentPolicy::default(),
            limits,
        )
    };

    // A palette page over the decode budget (its RGB expansion counts).
    let palette = Page::palette(100, 100, 8, colours(256));
    let err = run(
        write_tiff(std::slice::from_ref(&palette), false),
        &tight(30_000),
    )
    .unwrap_err();
    assert!(matches!(err, DigitizeError::TooMuchMemory { .. }), "{err}");
    assert!(run(write_tiff(&[palette], false), &tight(100_000)).is_ok());

    // A small image in one huge tile: the tile's buffer counts.
    let mut huge = Page::new(8, 8, 8, 1, 1).layout(Layout::Tiles(16, 16));
    huge.pixels = vec![7; 64];
    let mut tif = write_tiff(&[huge], false);
    patch_long(&mut tif, 322, 1 << 20);
    patch_long(&mut tif, 323, 1 << 20);
    let err = run(tif, &DecodeLimits::default()).unwrap_err();
    assert!(err.is_resource_limit(), "{err}");

    // A palette page without its colour map, with a short map, or with two samples.
    let mut no_map = Page::palette(10, 10, 8, colours(256));
    no_map.colormap = None;
    let err = run(write_tiff(&[no_map], false), &DecodeLimits::default()).unwrap_err();
    assert!(matches!(err, DigitizeError::Corrupt { .. }), "{err}");
    let short = Page::palette(10, 10, 8, colours(4));
    let err = run(write_tiff(&[short], false), &DecodeLimits::default()).unwrap_err();
    assert!(matches!(err, DigitizeError::Corrupt { .. }), "{err}");
    let mut two = Page::palette(10, 10, 8, colours(256));
    two.samples = 2;
    two.pixels = two.pixels.iter().flat_map(|&v| [v, 255]).collect();
    let err = run(write_tiff(&[two], false), &DecodeLimits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DigitizeError::UnsupportedImage { .. } | DigitizeError::Corrupt { .. }
        ),
        "{err}"
    );

    // A damaged tile (its Deflate stream zeroed), and a tile said to lie past the end.
    for tiled in [
        Page::palette(64, 64, 8, colours(256)),
        Page::new(64, 64, 8, 1, 1),
    ] {
        let mut tiled = tiled.layout(Layout::Tiles(32, 32)).comp(Comp::Deflate);
        if tiled.pixels.is_empty() {
            tiled.pixels = vec![9; 64 * 64];
        }
        let mut tif = write_tiff(&[tiled], false);
        let first = tile_offsets(&tif)[0] as usize;
        tif[first..first + 8].fill(0);
        let err = run(tif.clone(), &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, DigitizeError::Corrupt { .. }), "{err}");
        let last = *tile_offsets(&tif).last().expect("tiles");
        patch_tile_offset(&mut tif, 3, u32::try_from(last).expect("small") + 1_000_000);
        let err = run(tif, &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, DigitizeError::Corrupt { .. }), "{err}");
    }
}

/// Sets the (single, inline) LONG value of `tag` in the first IFD of a little-endian TIFF.
fn patch_long(tif: &mut [u8], tag: u16, value: u32) {
    let ifd = u32::from_le_bytes(tif[4..8].try_into().expect("4 bytes")) as usize;
    let n = u16::from_le_bytes(tif[ifd..ifd + 2].try_into().expect("2 bytes")) as usize;
    for k in 0..n {
        let e = ifd + 2 + k * 12;
        if u16::from_le_bytes(tif[e..e + 2].try_into().expect("2 bytes")) == tag {
            tif[e + 8..e + 12].copy_from_slice(&value.to_le_bytes());
            return;
        }
    }
    panic!("tag {tag} not found");
}

fn tile_offsets(tif: &[u8]) -> Vec<u64> {
    let mut dec = tiff::decoder::Decoder::new(Cursor::new(tif)).expect("TIFF");
    dec.get_tag_u64_vec(tiff::tags::Tag::TileOffsets)
        .expect("tile offsets")
}

/// Sets entry `index` of the TileOffsets array of a little-endian TIFF.
fn patch_tile_offset(tif: &mut [u8], index: usize, value: u32) {
    let ifd = u32::from_le_bytes(tif[4..8].try_into().expect("4 bytes")) as usize;
    let n = u16::from_le_bytes(tif[ifd..ifd + 2].try_into().expect("2 bytes")) as usize;
    for k in 0..n {
        let e = ifd + 2 + k * 12;
        if u16::from_le_bytes(tif[e..e + 2].try_into().expect("2 bytes")) == 324 {
            let at = u32::from_le_bytes(tif[e + 8..e + 12].try_into().expect("4 bytes")) as usize
                + 4 * index;
            tif[at..at + 4].copy_from_slice(&value.to_le_bytes());
            return;
        }
    }
    panic!("no TileOffsets");
}
