//! Lossless pages as Flate with PNG predictors: a plain PNG upload goes in byte for byte
//! (its IDAT data), decoded TIFF samples are filtered and deflated; either way the pixels
//! come back exactly (decoded here, and extracted by poppler's `pdfimages`).

use std::io::{Cursor, Read};
use std::process::Command;

use bytes::Bytes;
use saoy::digitize::{self, DigitizeOptions, UploadedFile};
use saoy::pdf::{ScanContent, assemble_scan};
use tiff::encoder::{Rational, TiffEncoder, colortype};
use tiff::tags::ResolutionUnit;

fn upload(name: &str, data: Vec<u8>) -> UploadedFile {
    UploadedFile {
        name: name.into(),
        media_type: None,
        data: Bytes::from(data),
    }
}

fn scan(files: &[UploadedFile]) -> Vec<u8> {
    let d = digitize::digitize(files, &DigitizeOptions::default()).unwrap();
    let built = assemble_scan(
        &d,
        &ScanContent {
            id: "flate".into(),
            title: "flate".into(),
            agency: "UBND".into(),
            facts: vec![],
            pdfa: true,
            created: time::macros::datetime!(2026-11-24 09:15:30 +07:00),
        },
    )
    .unwrap();
    assert!(built.pdfa);
    built.pdf
}

/// A smooth scan-like picture with some detail, `channels` 8-bit samples per pixel.
fn picture(w: u32, h: u32, channels: u32) -> Vec<u8> {
    (0..h)
        .flat_map(|y| {
            (0..w).flat_map(move |x| {
                (0..channels).map(move |c| {
                    let ring = ((x as i32 - 90).pow(2) + (y as i32 - 60).pow(2)) % 97;
                    (x * 2 + y + c * 40 + ring as u32 / 8) as u8
                })
            })
        })
        .collect()
}

fn png_rgb(w: u32, h: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: 11811,
            yppu: 11811,
            unit: png::Unit::Meter,
        }));
        enc.write_header()
            .unwrap()
            .write_image_data(pixels)
            .unwrap();
    }
    out
}

/// The concatenated IDAT data of a PNG.
fn idat(png: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = &png[8..];
    while rest.len() >= 12 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        if &rest[4..8] == b"IDAT" {
            out.extend_from_slice(&rest[8..8 + len]);
        }
        rest = &rest[12 + len..];
    }
    out
}

/// The image XObjects of `pdf` in page order.
fn images(pdf: &[u8]) -> Vec<lopdf::Stream> {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let mut out = Vec::new();
    for (_, page) in doc.get_pages() {
        let page = doc.get_dictionary(page).unwrap();
        let resources = match page.get(b"Resources").unwrap() {
            lopdf::Object::Reference(r) => doc.get_dictionary(*r).unwrap(),
            o => o.as_dict().unwrap(),
        };
        for (_, x) in resources.get(b"XObject").unwrap().as_dict().unwrap() {
            let s = doc.get_object(x.as_reference().unwrap()).unwrap();
            out.push(s.as_stream().unwrap().clone());
        }
    }
    out
}

fn int(d: &lopdf::Dictionary, key: &[u8]) -> i64 {
    d.get(key).unwrap().as_i64().unwrap()
}

/// Inflates a stream and undoes its PNG predictors (every row starts with its filter).
fn unpredict(stream: &lopdf::Stream, row: usize, pixel: usize) -> Vec<u8> {
    let mut data = Vec::new();
    flate2::read::ZlibDecoder::new(&stream.content[..])
        .read_to_end(&mut data)
        .unwrap();
    let mut out: Vec<u8> = Vec::new();
    for (y, line) in data.chunks_exact(row + 1).enumerate() {
        let start = out.len();
        for i in 0..row {
            let a = if i >= pixel {
                out[start + i - pixel]
            } else {
                0
            };
            let b = if y > 0 { out[start - row + i] } else { 0 };
            let c = if y > 0 && i >= pixel {
                out[start - row + i - pixel]
            } else {
                0
            };
            let p = match line[0] {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("row filter {f}"),
            };
            out.push(line[i + 1].wrapping_add(p));
        }
    }
    out
}

fn assert_predictors(s: &lopdf::Stream, colours: i64, bits: i64, columns: i64) {
    assert_eq!(
        s.dict.get(b"Filter").unwrap().as_name().unwrap(),
        b"FlateDecode"
    );
    let parms = s.dict.get(b"DecodeParms").unwrap().as_dict().unwrap();
    assert_eq!(int(parms, b"Predictor"), 15);
    assert_eq!(int(parms, b"Colors"), colours);
    assert_eq!(int(parms, b"BitsPerComponent"), bits);
    assert_eq!(int(parms, b"Columns"), columns);
    assert_eq!(int(&s.dict, b"BitsPerComponent"), bits);
}

/// Extracts the images with poppler's `pdfimages -png`, decoded to 8-bit samples.
fn pdfimages(pdf: &[u8]) -> Vec<(u32, u32, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.pdf");
    std::fs::write(&path, pdf).unwrap();
    let status = Command::new("pdfimages")
        .arg("-png")
        .arg(&path)
        .arg(dir.path().join("img"))
        .status()
        .expect("pdfimages (poppler-utils) is installed");
    assert!(status.success());
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let decoder = png::Decoder::new(Cursor::new(std::fs::read(p).unwrap()));
            let mut reader = decoder.read_info().unwrap();
            let mut buf = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut buf).unwrap();
            buf.truncate(info.buffer_size());
            (info.width, info.height, buf)
        })
        .collect()
}

#[test]
fn a_plain_png_goes_in_byte_for_byte_and_comes_out_exactly() {
    let (w, h) = (181u32, 127u32);
    let pixels = picture(w, h, 3);
    let png = png_rgb(w, h, &pixels);
    let pdf = scan(&[upload("page.png", png.clone())]);
    let images = images(&pdf);
    assert_eq!(images.len(), 1);
    assert_predictors(&images[0], 3, 8, i64::from(w));
    assert_eq!(images[0].content, idat(&png), "not the PNG's own data");
    assert_eq!(unpredict(&images[0], w as usize * 3, 3), pixels);
    let extracted = pdfimages(&pdf);
    assert_eq!(extracted, vec![(w, h, pixels)]);
}

#[test]
fn tiff_samples_get_predictors_and_come_out_exactly() {
    let (w, h) = (90u32, 70u32);
    let rgb = picture(w, h, 3);
    let grey16: Vec<u16> = picture(w, h, 2)
        .chunks(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    let mut tif = Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut tif).unwrap();
        let res = Rational { n: 300, d: 1 };
        let mut img = enc.new_image::<colortype::RGB8>(w, h).unwrap();
        img.resolution(ResolutionUnit::Inch, res.clone());
        img.write_data(&rgb).unwrap();
        let mut img = enc.new_image::<colortype::Gray16>(w, h).unwrap();
        img.resolution(ResolutionUnit::Inch, res);
        img.write_data(&grey16).unwrap();
    }
    let pdf = scan(&[upload("pages.tif", tif.into_inner())]);
    let images = images(&pdf);
    assert_eq!(images.len(), 2);
    assert_predictors(&images[0], 3, 8, i64::from(w));
    assert_eq!(unpredict(&images[0], w as usize * 3, 3), rgb);
    assert_predictors(&images[1], 1, 16, i64::from(w));
    let grey16_be: Vec<u8> = grey16.iter().flat_map(|s| s.to_be_bytes()).collect();
    assert_eq!(unpredict(&images[1], w as usize * 2, 2), grey16_be);
    // poppler reads them back the same (the 16-bit page as its high bytes).
    let extracted = pdfimages(&pdf);
    assert_eq!(extracted[0], (w, h, rgb.clone()));
    assert_eq!(extracted[1].0, w);
    // Smaller than the samples deflated without predictors.
    let mut plain = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut plain, &rgb).unwrap();
    let plain = plain.finish().unwrap();
    assert!(
        images[0].content.len() < plain.len(),
        "{} ≥ {}",
        images[0].content.len(),
        plain.len()
    );
}
