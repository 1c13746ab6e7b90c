//! Runs the `tesseract` command on one page image and reads its word boxes (TSV output).
//! The image goes to Tesseract as uploaded (JPEG, PNG) or as a lossless PNG of the
//! decoded pixels (TIFF pages); boxes come back in the stored image's pixel space.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use unicode_normalization::UnicodeNormalization;

use super::{OcrError, PageText, Word};
use crate::digitize::ccitt;
use crate::digitize::{Bilevel, Colour, PageImage, Raster};

/// How to run Tesseract.
#[derive(Debug, Clone)]
pub struct Tesseract {
    /// The program (default `tesseract`, found on PATH).
    pub program: PathBuf,
    /// Languages, e.g. `vie` (Vietnamese).
    pub languages: String,
    /// Longest time for one page.
    pub page_timeout: Duration,
}

impl Default for Tesseract {
    fn default() -> Self {
        Self {
            program: PathBuf::from("tesseract"),
            languages: "vie".into(),
            page_timeout: Duration::from_secs(120),
        }
    }
}

impl Tesseract {
    /// Recognises the text of `image`, scanned at `dpi`.
    pub fn recognize(&self, image: &PageImage, dpi: f32) -> Result<PageText, OcrError> {
        let dir = ScratchDir::new()?;
        let (width, height) = image.pixel_size();
        let input = write_input(dir.path(), image)?;
        let tsv = self.run(&input, dpi)?;
        Ok(PageText {
            width,
            height,
            words: parse_tsv(&tsv),
        })
    }

    fn run(&self, input: &Path, dpi: f32) -> Result<String, OcrError> {
        let mut child = Command::new(&self.program)
            .arg(input)
            .arg("stdout")
            .args(["-l", &self.languages, "--psm", "3"])
            .args([
                "--dpi",
                &format!("{}", dpi.round().clamp(70.0, 2400.0) as u32),
            ])
            .arg("tsv")
            .env("OMP_THREAD_LIMIT", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| OcrError::NotInstalled(format!("{}: {e}", self.program.display())))?;
        let mut stdout = child
            .stdout
            .take()
            .ok_or(OcrError::Io("no stdout".into()))?;
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).map(|_| s)
        });
        let deadline = Instant::now() + self.page_timeout;
        let status = loop {
            match child.try_wait().map_err(|e| OcrError::Io(e.to_string()))? {
                Some(status) => break status,
                None if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(OcrError::TimedOut(self.page_timeout.as_secs()));
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let out = reader
            .join()
            .map_err(|_| OcrError::Io("reading tesseract output".into()))?
            .map_err(|e| OcrError::Io(e.to_string()))?;
        if !status.success() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return Err(OcrError::Failed(
                err.lines().last().unwrap_or("").to_owned(),
            ));
        }
        Ok(out)
    }
}

/// A private directory for one page's files, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Result<Self, OcrError> {
        let path = std::env::temp_dir().join(format!("saoy-ocr-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&path).map_err(|e| OcrError::Io(e.to_string()))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the page image as a file Tesseract reads.
fn write_input(dir: &Path, image: &PageImage) -> Result<PathBuf, OcrError> {
    let io = |e: std::io::Error| OcrError::Io(e.to_string());
    match image {
        PageImage::Jpeg { data, .. } => {
            let p = dir.join("page.jpg");
            std::fs::write(&p, data).map_err(io)?;
            Ok(p)
        }
        PageImage::Png { data, .. } => {
            let p = dir.join("page.png");
            std::fs::write(&p, data).map_err(io)?;
            Ok(p)
        }
        PageImage::Raster(r) => write_png(dir, r.width, r.height, &raster_to_png(r)?),
        PageImage::Bilevel(b) => write_png(dir, b.width, b.height, &(bilevel_to_grey(b)?, 1)),
    }
}

/// Samples and channel count (1 grey, 3 RGB) for a PNG; 16-bit and CMYK become 8-bit.
fn raster_to_png(r: &Raster) -> Result<(Vec<u8>, u8), OcrError> {
    let step = usize::from(r.bits / 8).max(1);
    let eight: Vec<u8> = r.samples.iter().step_by(step).copied().collect();
    Ok(match r.colour {
        Colour::Gray => (eight, 1),
        Colour::Rgb => (eight, 3),
        Colour::Cmyk => (
            eight
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - u32::from(p[3]);
                    [0, 1, 2].map(|i| ((255 - u32::from(p[i])) * k / 255) as u8)
                })
                .collect(),
            3,
        ),
    })
}

fn bilevel_to_grey(b: &Bilevel) -> Result<Vec<u8>, OcrError> {
    let mut out = Vec::with_capacity(b.width as usize * b.height as usize);
    for strip in &b.strips {
        ccitt::decode_strip(&strip.data, b.width, strip.rows, |row| {
            out.extend(
                row.iter()
                    .map(|&p| if (p == 1) != b.inverted { 255 } else { 0 }),
            );
        })
        .map_err(OcrError::Failed)?;
    }
    Ok(out)
}

fn write_png(
    dir: &Path,
    w: u32,
    h: u32,
    (data, channels): &(Vec<u8>, u8),
) -> Result<PathBuf, OcrError> {
    let p = dir.join("page.png");
    let file = std::fs::File::create(&p).map_err(|e| OcrError::Io(e.to_string()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(if *channels == 3 {
        png::ColorType::Rgb
    } else {
        png::ColorType::Grayscale
    });
    enc.set_compression(png::Compression::Fast);
    enc.write_header()
        .and_then(|mut w| w.write_image_data(data))
        .map_err(|e| OcrError::Io(e.to_string()))?;
    Ok(p)
}

/// Words (level 5 rows with text) from Tesseract's TSV output.
pub fn parse_tsv(tsv: &str) -> Vec<Word> {
    tsv.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.splitn(12, '\t').collect();
            if cols.len() < 12 || cols[0] != "5" {
                return None;
            }
            let num = |i: usize| cols[i].trim().parse::<u32>().ok();
            let text: String = cols[11].trim().nfc().collect();
            if text.is_empty() || cols[10].trim().parse::<f32>().is_ok_and(|c| c < 0.0) {
                return None;
            }
            let (left, top, w, h) = (num(6)?, num(7)?, num(8)?, num(9)?);
            Some(Word {
                text,
                x0: left,
                y0: top,
                x1: left.saturating_add(w),
                y1: top.saturating_add(h),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_word_rows_only() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t100\t50\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t30\t12\t96.5\tChứng\n\
                   5\t1\t1\t1\t1\t2\t45\t20\t25\t12\t91\tthực\n\
                   5\t1\t1\t1\t1\t3\t75\t20\t5\t12\t95\t \n";
        let words = parse_tsv(tsv);
        assert_eq!(words.len(), 2);
        assert_eq!(words[0].text, "Chứng");
        assert_eq!(
            (words[1].x0, words[1].y0, words[1].x1, words[1].y1),
            (45, 20, 70, 32)
        );
    }
}
