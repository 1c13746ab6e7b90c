//! Every input kind, checked from the outside: the embedded image data equals the input
//! (byte-equal for JPEG and CCITT G4, pixel-equal otherwise), the page size follows the
//! dpi, pages keep their order across a mix of files, and poppler renders G4 pages
//! pixel-exactly.

use std::io::Cursor;
use std::process::Command;

use bytes::Bytes;
use lopdf::{Document, Object};
use saoy::digitize::{
    self, DecodeLimits, DigitizeError, DigitizeOptions, DocumentPolicy, Page, PageImage,
    UploadedFile,
};
use saoy::pdf::{ScanContent, assemble_scan};
use tiff::encoder::{Compression, DeflateLevel, Rational, TiffEncoder, colortype};
use tiff::tags::ResolutionUnit;

fn upload(name: &str, data: Vec<u8>) -> UploadedFile {
    UploadedFile {
        name: name.into(),
        media_type: None,
        data: Bytes::from(data),
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn scan(d: &digitize::Digitized) -> Vec<u8> {
    let built = assemble_scan(
        d,
        &ScanContent {
            id: "test".into(),
            title: "Bản quét".into(),
            agency: "UBND phường Ba Đình".into(),
            facts: vec![("Loại giấy tờ".into(), "Giấy khai sinh".into())],
            pdfa: true,
            created: time::macros::datetime!(2026-11-24 09:15:30 +07:00),
        },
    )
    .unwrap();
    assert!(built.pdfa, "PDF/A-2b was refused");
    built.pdf
}

/// Image XObjects in page order (each page's resources, sorted by name).
fn page_images(pdf: &[u8]) -> Vec<Vec<lopdf::Stream>> {
    let doc = Document::load_mem(pdf).unwrap();
    doc.get_pages()
        .values()
        .map(|&id| {
            let mut found = Vec::new();
            let (res, ids) = doc.get_page_resources(id).unwrap();
            let mut dicts: Vec<lopdf::Dictionary> = res.cloned().into_iter().collect();
            for rid in ids {
                dicts.push(doc.get_dictionary(rid).unwrap().clone());
            }
            for r in dicts {
                let Ok(xobjects) = r.get(b"XObject") else {
                    continue;
                };
                let xobjects = match xobjects {
                    Object::Reference(id) => doc.get_dictionary(*id).unwrap().clone(),
                    Object::Dictionary(d) => d.clone(),
                    _ => continue,
                };
                let mut names: Vec<_> = xobjects.iter().collect();
                names.sort_by(|a, b| a.0.cmp(b.0));
                for (_, obj) in names {
                    let stream = doc
                        .get_object(obj.as_reference().unwrap())
                        .unwrap()
                        .as_stream()
                        .unwrap()
                        .clone();
                    if stream.dict.get(b"Subtype").unwrap().as_name().unwrap() == b"Image" {
                        found.push(stream);
                    }
                }
            }
            found
        })
        .collect()
}

fn media_boxes(pdf: &[u8]) -> Vec<[f32; 4]> {
    let doc = Document::load_mem(pdf).unwrap();
    doc.get_pages()
        .values()
        .map(|id| {
            let mb = doc.get_dictionary(*id).unwrap().get(b"MediaBox").unwrap();
            let n: Vec<f32> = mb
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_float().unwrap())
                .collect();
            [n[0], n[1], n[2], n[3]]
        })
        .collect()
}

fn name_of(s: &lopdf::Stream, key: &[u8]) -> String {
    String::from_utf8_lossy(s.dict.get(key).unwrap().as_name().unwrap()).into_owned()
}

fn int_of(s: &lopdf::Stream, key: &[u8]) -> i64 {
    s.dict.get(key).unwrap().as_i64().unwrap()
}

fn assert_size(mb: [f32; 4], w_px: u32, h_px: u32, dpi: f32) {
    let (w, h) = (w_px as f32 / dpi * 72.0, h_px as f32 / dpi * 72.0);
    assert!(
        (mb[2] - mb[0] - w).abs() < 0.05 && (mb[3] - mb[1] - h).abs() < 0.05,
        "{mb:?} vs {w}×{h}"
    );
}

fn pattern(w: u32, h: u32, channels: usize, seed: u32) -> Vec<u8> {
    (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            (0..channels as u32).map(move |c| ((x * (c + 3) + y * 7 + seed * 31) % 251) as u8)
        })
        .collect()
}

/// A three-page TIFF: RGB uncompressed, 16-bit grey LZW, RGBA Deflate, at 300 dpi.
fn multipage_tiff() -> (Vec<u8>, Vec<Vec<u8>>) {
    let (w, h) = (60u32, 40u32);
    let rgb = pattern(w, h, 3, 1);
    let gray16: Vec<u16> = (0..w * h).map(|i| (i * 977 % 65_536) as u16).collect();
    let rgba = pattern(w, h, 4, 2);
    let mut out = Cursor::new(Vec::new());
    let res = Rational { n: 300, d: 1 };
    {
        let mut enc = TiffEncoder::new(&mut out).unwrap();
        let mut img = enc.new_image::<colortype::RGB8>(w, h).unwrap();
        img.resolution(ResolutionUnit::Inch, res.clone());
        img.write_data(&rgb).unwrap();
        let mut enc = enc.with_compression(Compression::Lzw);
        let mut img = enc.new_image::<colortype::Gray16>(w, h).unwrap();
        img.resolution(ResolutionUnit::Inch, res.clone());
        img.write_data(&gray16).unwrap();
        let mut enc = enc.with_compression(Compression::Deflate(DeflateLevel::Balanced));
        let mut img = enc.new_image::<colortype::RGBA8>(w, h).unwrap();
        img.resolution(ResolutionUnit::Inch, res);
        img.write_data(&rgba).unwrap();
    }
    let gray16_be: Vec<u8> = gray16.iter().flat_map(|s| s.to_be_bytes()).collect();
    let rgba_colour: Vec<u8> = rgba.chunks(4).flat_map(|p| p[..3].to_vec()).collect();
    let rgba_alpha: Vec<u8> = rgba.chunks(4).map(|p| p[3]).collect();
    (
        out.into_inner(),
        vec![rgb, gray16_be, rgba_colour, rgba_alpha],
    )
}

#[test]
fn tiff_pages_keep_their_pixels_through_flate() {
    let (tif, want) = multipage_tiff();
    let d = digitize::digitize(&[upload("three.tif", tif)], &DigitizeOptions::default()).unwrap();
    assert_eq!(d.pages.len(), 3);
    let pdf = scan(&d);
    let images = page_images(&pdf);
    let mb = media_boxes(&pdf);
    for (i, expected) in want[..3].iter().enumerate() {
        assert_size(mb[i], 60, 40, 300.0);
        let colour = images[i]
            .iter()
            .find(|s| int_of(s, b"Width") == 60 && s.dict.get(b"SMask").is_ok() == (i == 2))
            .unwrap();
        assert_eq!(name_of(colour, b"Filter"), "FlateDecode");
        assert_eq!(
            &colour.decompressed_content().unwrap(),
            expected,
            "page {}",
            i + 1
        );
    }
    assert_eq!(int_of(&images[1][0], b"BitsPerComponent"), 16);
    // The RGBA page's alpha went to a soft mask, unchanged.
    let doc = Document::load_mem(&pdf).unwrap();
    let smask = images[2][0]
        .dict
        .get(b"SMask")
        .unwrap()
        .as_reference()
        .unwrap();
    let smask = doc.get_object(smask).unwrap().as_stream().unwrap();
    assert_eq!(smask.decompressed_content().unwrap(), want[3]);
}

#[test]
fn g4_strips_are_embedded_byte_for_byte_and_render_exactly() {
    let tif = fixture("bilevel-g4.tif");
    let d = digitize::digitize(
        &[upload("g4.tif", tif.clone())],
        &DigitizeOptions::default(),
    )
    .unwrap();
    assert_eq!(d.pages.len(), 2);
    let Page::Image {
        image: PageImage::Bilevel(b),
        ..
    } = &d.pages[0]
    else {
        panic!("page 1 is not bilevel: {:?}", d.pages[0]);
    };
    assert!(b.passthrough && b.inverted);
    assert_eq!(b.strips.len(), 2);
    let pdf = scan(&d);
    let images = page_images(&pdf);
    let mb = media_boxes(&pdf);
    // The strips, as sliced from the file by offset and length.
    let mut dec = tiff::decoder::Decoder::new(Cursor::new(&tif)).unwrap();
    for page in 0..2 {
        assert_size(mb[page], 400, 300, 200.0);
        let offsets = dec.get_tag_u64_vec(tiff::tags::Tag::StripOffsets).unwrap();
        let counts = dec
            .get_tag_u64_vec(tiff::tags::Tag::StripByteCounts)
            .unwrap();
        let embedded: Vec<&lopdf::Stream> = images[page]
            .iter()
            .filter(|s| name_of(s, b"Filter") == "CCITTFaxDecode")
            .collect();
        assert_eq!(embedded.len(), offsets.len());
        let mut by_content: Vec<Vec<u8>> = embedded.iter().map(|s| s.content.clone()).collect();
        let mut from_file: Vec<Vec<u8>> = offsets
            .iter()
            .zip(&counts)
            .map(|(&o, &c)| tif[o as usize..(o + c) as usize].to_vec())
            .collect();
        by_content.sort();
        from_file.sort();
        assert_eq!(by_content, from_file, "page {}", page + 1);
        for s in &embedded {
            let parms = s.dict.get(b"DecodeParms").unwrap().as_dict().unwrap();
            assert_eq!(parms.get(b"K").unwrap().as_i64().unwrap(), -1);
            assert_eq!(parms.get(b"Columns").unwrap().as_i64().unwrap(), 400);
            assert_eq!(int_of(s, b"BitsPerComponent"), 1);
        }
        if page == 0 {
            dec.next_image().unwrap();
        }
    }
    // Rendered by poppler, every pixel matches the TIFF (right colours,
    // strips in place).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g4.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let prefix = dir.path().join("p");
    let out = Command::new("pdftoppm")
        .args(["-r", "400", "-gray", "-png", "-aa", "no", "-aaVector", "no"])
        .arg(&path)
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut dec = tiff::decoder::Decoder::new(Cursor::new(&tif)).unwrap();
    for page in 1..=2 {
        let rendered = image::open(dir.path().join(format!("p-{page}.png")))
            .unwrap()
            .to_luma8();
        assert_eq!(rendered.dimensions(), (800, 600));
        let tiff::decoder::DecodingResult::U8(packed) = dec.read_image().unwrap() else {
            panic!("not 8-bit packed")
        };
        let mismatches = (0..300usize)
            .flat_map(|y| (0..400usize).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let bit = (packed[y * 50 + x / 8] >> (7 - x % 8)) & 1;
                // Rendered at twice the resolution, sampled at each pixel's centre.
                let shown = rendered.get_pixel(2 * x as u32 + 1, 2 * y as u32 + 1)[0];
                (shown >= 128) != (bit == 1)
            })
            .collect::<Vec<_>>();
        assert_eq!(
            mismatches.len(),
            0,
            "page {page}: {:?}",
            &mismatches[..mismatches.len().min(10)]
        );
        if page == 1 {
            dec.next_image().unwrap();
        }
    }
}

#[test]
fn one_bit_lzw_is_recoded_as_g4_pixel_exactly() {
    let tif = fixture("bilevel-lzw.tif");
    let d = digitize::digitize(
        &[upload("lzw.tif", tif.clone())],
        &DigitizeOptions::default(),
    )
    .unwrap();
    let pdf = scan(&d);
    let images = page_images(&pdf);
    let g4 = images[0]
        .iter()
        .find(|s| name_of(s, b"Filter") == "CCITTFaxDecode")
        .expect("a G4 image");
    let mut decoded = Vec::new();
    let done = fax::decoder::decode_g4(g4.content.iter().copied(), 400, Some(300), |t| {
        decoded.extend(fax::decoder::pels(t, 400).map(|c| u8::from(c == fax::Color::White)));
    });
    assert!(done.is_some());
    let mut dec = tiff::decoder::Decoder::new(Cursor::new(&tif)).unwrap();
    let tiff::decoder::DecodingResult::U8(packed) = dec.read_image().unwrap() else {
        panic!()
    };
    let want: Vec<u8> = (0..300usize)
        .flat_map(|y| (0..400usize).map(move |x| (y, x)))
        .map(|(y, x)| (packed[y * 50 + x / 8] >> (7 - x % 8)) & 1)
        .collect();
    assert_eq!(decoded, want);
}

#[test]
fn jpeg_in_tiff_keeps_its_coded_data() {
    let tif = fixture("colour-jpeg.tif");
    let d =
        digitize::digitize(&[upload("j.tif", tif.clone())], &DigitizeOptions::default()).unwrap();
    let pdf = scan(&d);
    let images = page_images(&pdf);
    let dct = images[0]
        .iter()
        .find(|s| name_of(s, b"Filter") == "DCTDecode")
        .expect("a DCT image");
    let mut dec = tiff::decoder::Decoder::new(Cursor::new(&tif)).unwrap();
    let offset = dec.get_tag_u64_vec(tiff::tags::Tag::StripOffsets).unwrap()[0] as usize;
    let count = dec
        .get_tag_u64_vec(tiff::tags::Tag::StripByteCounts)
        .unwrap()[0] as usize;
    let strip = &tif[offset..offset + count];
    // Tables moved in front; the strip's own segments and coded data follow unchanged.
    assert!(dct.content.ends_with(&strip[2..]));
    assert_size(media_boxes(&pdf)[0], 400, 300, 300.0);
}

#[test]
fn any_mix_of_files_keeps_upload_order() {
    let jpeg = std::fs::read(format!(
        "{}/tests/data/sample-scan.jpg",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let png = fixture("sample-scan.png");
    let (tif, _) = multipage_tiff();
    let files = vec![
        upload("a.tif", fixture("bilevel-g4.tif")),
        upload("b.jpg", jpeg),
        upload("c.tif", tif),
        upload("d.png", png),
        upload("e.tif", fixture("colour-jpeg.tif")),
    ];
    let d = digitize::digitize(&files, &DigitizeOptions::default()).unwrap();
    let kinds: Vec<(usize, &str)> = d
        .pages
        .iter()
        .map(|p| match p {
            Page::Image {
                image, source_file, ..
            } => (
                *source_file,
                match image {
                    PageImage::Jpeg { .. } => "jpeg",
                    PageImage::Png { .. } => "png",
                    PageImage::Bilevel(_) => "g4",
                    PageImage::Raster(_) => "raster",
                },
            ),
            Page::PdfPage { source_file, .. } => (*source_file, "pdf"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (0, "g4"),
            (0, "g4"),
            (1, "jpeg"),
            (2, "raster"),
            (2, "raster"),
            (2, "raster"),
            (3, "png"),
            (4, "jpeg")
        ]
    );
    let pdf = scan(&d);
    assert_eq!(media_boxes(&pdf).len(), 8);
    let (ok, out) = {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.pdf");
        std::fs::write(&p, &pdf).unwrap();
        let o = Command::new("qpdf")
            .arg("--check")
            .arg(&p)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    assert!(ok, "{out}");
}

#[test]
fn tiff_bombs_are_stopped_before_decoding() {
    // Header claims 100000 × 100000 pixels.
    let mut out = Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut out).unwrap();
        let img = enc.new_image::<colortype::Gray8>(1, 1).unwrap();
        img.write_data(&[0]).unwrap();
    }
    let mut data = out.into_inner();
    // Patch ImageWidth/ImageLength (first IFD entries are 256, 257) to 100000.
    let ifd = u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes(data[ifd..ifd + 2].try_into().unwrap()) as usize;
    for k in 0..n {
        let e = ifd + 2 + k * 12;
        let tag = u16::from_le_bytes(data[e..e + 2].try_into().unwrap());
        if tag == 256 || tag == 257 {
            data[e + 2..e + 4].copy_from_slice(&4u16.to_le_bytes());
            data[e + 4..e + 8].copy_from_slice(&1u32.to_le_bytes());
            data[e + 8..e + 12].copy_from_slice(&100_000u32.to_le_bytes());
        }
    }
    let err =
        digitize::digitize(&[upload("bomb.tif", data)], &DigitizeOptions::default()).unwrap_err();
    assert!(matches!(err, DigitizeError::TooManyPixels { .. }), "{err}");
    assert!(err.is_resource_limit());

    // Memory: a page within the pixel limit but over the decode budget.
    let (tif, _) = multipage_tiff();
    let tight = DecodeLimits {
        max_decoded_bytes: 1_000,
        ..DecodeLimits::default()
    };
    let err = digitize::digitize_with(
        &[upload("big.tif", tif.clone())],
        &DigitizeOptions::default(),
        &DocumentPolicy::default(),
        &tight,
    )
    .unwrap_err();
    assert!(matches!(err, DigitizeError::TooMuchMemory { .. }), "{err}");
    assert!(err.is_resource_limit());

    // Time: no time at all.
    let none = DecodeLimits {
        max_time: std::time::Duration::ZERO,
        ..DecodeLimits::default()
    };
    let err = digitize::digitize_with(
        &[upload("slow.tif", tif)],
        &DigitizeOptions::default(),
        &DocumentPolicy::default(),
        &none,
    )
    .unwrap_err();
    assert!(matches!(err, DigitizeError::TookTooLong { .. }), "{err}");
    assert!(err.to_string().contains("took more than"));
}

#[test]
fn truncated_tiff_is_damaged() {
    let tif = fixture("colour-jpeg.tif");
    let err = digitize::digitize(
        &[upload("cut.tif", tif[..tif.len() / 2].to_vec())],
        &DigitizeOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DigitizeError::Corrupt { .. }), "{err:?}");
}
