//! Ink of a JPEG page measured from its DCT coefficients, without decoding it to pixels.
//!
//! The blank-page check counts luma samples darker than the ink level. A full decode (IDCT,
//! upsampling, colour conversion of every block) costs about 15 ms for a 300 dpi A4 page;
//! here only the Huffman data is read, and a luma block is turned into pixels only when its
//! coefficients allow ink at all:
//!
//! - the coefficients are orthonormal, so a block's mean is `DC / 8 + 128` and the sum of
//!   `(pixel - mean)²` over its 64 pixels is the sum of the squared AC coefficients. A
//!   pixel at most `ink` is at least `mean - ink` from the mean, so a block can hold at
//!   most `energy / (mean - ink)²` ink pixels; when that is under one (paper, scanner
//!   noise) the block has none and is not transformed;
//! - any other block is transformed (8×8 IDCT of the luma block only) and its ink pixels
//!   inside the image counted exactly, as a full decode would;
//! - as soon as enough ink is counted for the page not to be blank, reading stops: a text
//!   page is decided after its first lines.
//!
//! Baseline and extended Huffman JPEGs with one (grey) or three (YCbCr) components are
//! measured this way; anything else (progressive, arithmetic, CMYK, RGB-coded) returns
//! `None` and is measured by a full decode.

use super::raster::InkMeter;

/// Luma below this is ink (same level as [`InkMeter`]).
const INK_BELOW: f32 = 128.0;
/// Allowance for the rounding of integer IDCTs in decoders (a pixel computed here as up to
/// this much lighter than the ink level may decode as ink elsewhere).
const IDCT_SLACK: f32 = 2.0;

/// Measures the ink of a JPEG from its coefficients; `None` when the variant is not handled
/// here (the caller decodes it fully) or the data is damaged.
pub fn measure(data: &[u8]) -> Option<InkMeter> {
    let frame = Frame::parse(data)?;
    frame.measure(data)
}

#[derive(Clone, Copy, Default)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
}

struct Frame {
    width: usize,
    height: usize,
    components: Vec<Component>,
    qt: [[u16; 64]; 4],
    dc: [Option<Huffman>; 4],
    ac: [Option<Huffman>; 4],
    restart: usize,
    adobe_transform: Option<u8>,
    /// Scan: (component index, DC table, AC table), and where its data starts.
    scan: Vec<(usize, usize, usize)>,
    scan_start: usize,
}

impl Frame {
    fn parse(data: &[u8]) -> Option<Self> {
        if !data.starts_with(&[0xFF, 0xD8]) {
            return None;
        }
        let mut f = Frame {
            width: 0,
            height: 0,
            components: Vec::new(),
            qt: [[0; 64]; 4],
            dc: [None, None, None, None],
            ac: [None, None, None, None],
            restart: 0,
            adobe_transform: None,
            scan: Vec::new(),
            scan_start: 0,
        };
        let mut pos = 2;
        let mut seen_sof = false;
        loop {
            // Next marker (fill bytes allowed).
            while *data.get(pos)? != 0xFF {
                pos += 1;
            }
            while *data.get(pos)? == 0xFF {
                pos += 1;
            }
            let marker = *data.get(pos)?;
            pos += 1;
            if matches!(marker, 0x01 | 0xD0..=0xD7) {
                continue;
            }
            let len = usize::from(u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]));
            let seg = data.get(pos + 2..pos.checked_add(len)?)?;
            pos += len;
            match marker {
                0xC0 | 0xC1 => {
                    if seen_sof || seg.len() < 6 || seg[0] != 8 {
                        return None;
                    }
                    seen_sof = true;
                    f.height = usize::from(u16::from_be_bytes([seg[1], seg[2]]));
                    f.width = usize::from(u16::from_be_bytes([seg[3], seg[4]]));
                    let n = usize::from(seg[5]);
                    if !(n == 1 || n == 3) || seg.len() < 6 + 3 * n || f.width == 0 || f.height == 0
                    {
                        return None;
                    }
                    for c in seg[6..6 + 3 * n].chunks_exact(3) {
                        let (h, v) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
                        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || c[2] > 3 {
                            return None;
                        }
                        f.components.push(Component {
                            id: c[0],
                            h,
                            v,
                            tq: usize::from(c[2]),
                        });
                    }
                }
                // Progressive, lossless, hierarchical, arithmetic: not handled here.
                0xC2..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
                0xDB => f.read_dqt(seg)?,
                0xC4 => f.read_dht(seg)?,
                0xDD => f.restart = usize::from(u16::from_be_bytes([*seg.first()?, *seg.get(1)?])),
                0xEE if seg.starts_with(b"Adobe") && seg.len() >= 12 => {
                    f.adobe_transform = Some(seg[11]);
                }
                0xDA => {
                    if !seen_sof {
                        return None;
                    }
                    let ns = usize::from(*seg.first()?);
                    if ns == 0 || seg.len() < 1 + 2 * ns + 3 {
                        return None;
                    }
                    for s in seg[1..1 + 2 * ns].chunks_exact(2) {
                        let index = f.components.iter().position(|c| c.id == s[0])?;
                        let (td, ta) = (usize::from(s[1] >> 4), usize::from(s[1] & 15));
                        if td > 3 || ta > 3 {
                            return None;
                        }
                        f.scan.push((index, td, ta));
                    }
                    f.scan_start = pos;
                    return f.usable().then_some(f);
                }
                0xD8 | 0xD9 => return None,
                _ => {}
            }
        }
    }

    /// Luma is the first component, at full resolution, in the first scan; three
    /// components must be YCbCr (not RGB-coded).
    fn usable(&self) -> bool {
        let hmax = self.components.iter().map(|c| c.h).max().unwrap_or(1);
        let vmax = self.components.iter().map(|c| c.v).max().unwrap_or(1);
        let luma = self.components[0];
        let rgb_ids = self.components.len() == 3
            && self.components.iter().map(|c| c.id).eq(*b"RGB")
            && self.adobe_transform != Some(1);
        (self.components.len() == 1 || (luma.h == hmax && luma.v == vmax))
            && self.adobe_transform != Some(0)
            && !rgb_ids
            && self.scan.iter().any(|s| s.0 == 0)
            && (self.scan.len() == 1 || self.scan.len() == self.components.len())
            && self
                .scan
                .iter()
                .all(|&(_, td, ta)| self.dc[td].is_some() && self.ac[ta].is_some())
    }

    fn read_dqt(&mut self, mut seg: &[u8]) -> Option<()> {
        while let Some((&pq_tq, rest)) = seg.split_first() {
            let (wide, tq) = (pq_tq >> 4 == 1, usize::from(pq_tq & 15));
            if tq > 3 {
                return None;
            }
            let n = if wide { 128 } else { 64 };
            let values = rest.get(..n)?;
            for k in 0..64 {
                self.qt[tq][k] = if wide {
                    u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
                } else {
                    u16::from(values[k])
                };
            }
            seg = &rest[n..];
        }
        Some(())
    }

    fn read_dht(&mut self, mut seg: &[u8]) -> Option<()> {
        while let Some((&tc_th, rest)) = seg.split_first() {
            let (class, th) = (tc_th >> 4, usize::from(tc_th & 15));
            if class > 1 || th > 3 {
                return None;
            }
            let counts: [u8; 16] = rest.get(..16)?.try_into().ok()?;
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let values = rest.get(16..16 + total)?;
            let table = Huffman::new(&counts, values)?;
            if class == 0 {
                self.dc[th] = Some(table);
            } else {
                self.ac[th] = Some(table);
            }
            seg = &rest[16 + total..];
        }
        Some(())
    }

    fn measure(&self, data: &[u8]) -> Option<InkMeter> {
        let total = (self.width as u64) * (self.height as u64);
        let needed = InkMeter::ink_needed(total);
        let hmax = self.components.iter().map(|c| c.h).max()?;
        let vmax = self.components.iter().map(|c| c.v).max()?;
        let interleaved = self.scan.len() > 1;
        // Blocks of one MCU, per scan component: (scan index, h, v).
        let (mcus_x, mcus_y, layout): (usize, usize, Vec<(usize, usize, usize)>) = if interleaved {
            (
                self.width.div_ceil(8 * hmax),
                self.height.div_ceil(8 * vmax),
                self.scan
                    .iter()
                    .enumerate()
                    .map(|(k, &(c, _, _))| (k, self.components[c].h, self.components[c].v))
                    .collect(),
            )
        } else {
            // One component alone (grey image, or a first scan of luma only).
            let c = self.components[self.scan[0].0];
            (
                (self.width * c.h).div_ceil(hmax).div_ceil(8),
                (self.height * c.v).div_ceil(vmax).div_ceil(8),
                vec![(0, 1, 1)],
            )
        };
        let q = &self.qt[self.components[0].tq];
        let tables: Vec<(&Huffman, &Huffman)> = self
            .scan
            .iter()
            .map(|&(_, td, ta)| Some((self.dc[td].as_ref()?, self.ac[ta].as_ref()?)))
            .collect::<Option<_>>()?;
        let mut bits = Bits::new(data.get(self.scan_start..)?);
        let mut pred = vec![0i32; self.scan.len()];
        let mut ink = 0u64;
        let mut coef = [0i32; 64];
        let mut mcu = 0usize;
        for my in 0..mcus_y {
            for mx in 0..mcus_x {
                if self.restart > 0 && mcu > 0 && mcu.is_multiple_of(self.restart) {
                    bits.restart();
                    pred.fill(0);
                }
                mcu += 1;
                for &(k, h, v) in &layout {
                    let is_luma = self.scan[k].0 == 0;
                    let (dc, ac) = tables[k];
                    for by in 0..v {
                        for bx in 0..h {
                            coef.fill(0);
                            let t = bits.decode(dc)?;
                            let diff = bits.receive_extend(t)?;
                            pred[k] = pred[k].wrapping_add(diff);
                            coef[0] = pred[k];
                            let mut z = 1;
                            while z < 64 {
                                let rs = bits.decode(ac)?;
                                let (r, s) = (usize::from(rs >> 4), rs & 15);
                                if s == 0 {
                                    if r == 15 {
                                        z += 16;
                                        continue;
                                    }
                                    break;
                                }
                                z += r;
                                let value = bits.receive_extend(s)?;
                                if is_luma && z < 64 {
                                    coef[z] = value;
                                }
                                z += 1;
                            }
                            if is_luma {
                                let x0 = (mx * h + bx) * 8;
                                let y0 = (my * v + by) * 8;
                                if x0 < self.width && y0 < self.height {
                                    ink += block_ink(&coef, q, x0, y0, self.width, self.height);
                                }
                            }
                        }
                    }
                }
                if ink >= needed {
                    let mut meter = InkMeter::default();
                    meter.add_counts(ink, total);
                    return Some(meter);
                }
            }
        }
        let mut meter = InkMeter::default();
        meter.add_counts(ink, total);
        Some(meter)
    }
}

/// Zigzag position → natural (row-major) index.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Ink pixels of one luma block (coefficients in zigzag order) whose top-left pixel is at
/// `(x0, y0)`; pixels outside the image are not counted.
fn block_ink(coef: &[i32; 64], q: &[u16; 64], x0: usize, y0: usize, w: usize, h: usize) -> u64 {
    let mut f = [0f32; 64];
    let mut energy = 0f32;
    for z in 0..64 {
        let value = coef[z] as f32 * f32::from(q[z]);
        if z > 0 {
            energy += value * value;
        }
        f[ZIGZAG[z]] = value;
    }
    let mean = f[0] / 8.0 + 128.0;
    let gap = mean - (INK_BELOW + IDCT_SLACK);
    if gap > 0.0 && energy < gap * gap {
        return 0;
    }
    // Separable IDCT: rows then columns, orthonormal basis.
    let basis = idct_basis();
    let mut tmp = [0f32; 64];
    for y in 0..8 {
        // Rows without coefficients stay zero (most high-frequency rows).
        if f[y * 8..y * 8 + 8].iter().all(|&c| c == 0.0) {
            continue;
        }
        for x in 0..8 {
            let mut s = 0.0;
            for u in 0..8 {
                s += basis[x][u] * f[y * 8 + u];
            }
            tmp[y * 8 + x] = s;
        }
    }
    let mut count = 0u64;
    for row in basis.iter().take(h - y0) {
        for x in 0..8usize.min(w - x0) {
            let mut s = 0.0;
            for (v, b) in row.iter().enumerate() {
                s += b * tmp[v * 8 + x];
            }
            let pixel = (s + 128.0).round().clamp(0.0, 255.0);
            count += u64::from(pixel < INK_BELOW);
        }
    }
    count
}

/// `basis[x][u] = C(u)/2 · cos((2x+1)uπ/16)`.
fn idct_basis() -> &'static [[f32; 8]; 8] {
    static BASIS: std::sync::OnceLock<[[f32; 8]; 8]> = std::sync::OnceLock::new();
    BASIS.get_or_init(|| {
        let mut b = [[0f32; 8]; 8];
        for (x, row) in b.iter_mut().enumerate() {
            for (u, cell) in row.iter_mut().enumerate() {
                let c = if u == 0 {
                    std::f32::consts::FRAC_1_SQRT_2
                } else {
                    1.0
                };
                *cell = c / 2.0 * (((2 * x + 1) * u) as f32 * std::f32::consts::PI / 16.0).cos();
            }
        }
        b
    })
}

/// A Huffman table: a 9-bit lookup for short codes, canonical limits for the rest.
struct Huffman {
    /// (symbol, code length) by the next 9 bits; length 0 when the code is longer.
    fast: Vec<(u8, u8)>,
    /// Largest code of each length (1..=16), -1 when none.
    maxcode: [i32; 17],
    /// Index into `values` of the first code of each length, minus that code.
    offset: [i32; 17],
    values: Vec<u8>,
}

const FAST_BITS: u32 = 9;

impl Huffman {
    fn new(counts: &[u8; 16], values: &[u8]) -> Option<Self> {
        let mut t = Huffman {
            fast: vec![(0, 0); 1 << FAST_BITS],
            maxcode: [-1; 17],
            offset: [0; 17],
            values: values.to_vec(),
        };
        let mut code = 0i32;
        let mut k = 0usize;
        for len in 1..=16usize {
            let n = usize::from(counts[len - 1]);
            if n > 0 {
                t.offset[len] = k as i32 - code;
                for _ in 0..n {
                    if len as u32 <= FAST_BITS {
                        let shift = FAST_BITS - len as u32;
                        let first = (code as usize) << shift;
                        for e in t.fast.get_mut(first..first + (1 << shift))? {
                            *e = (values[k], len as u8);
                        }
                    }
                    code += 1;
                    k += 1;
                }
                t.maxcode[len] = code - 1;
                if code > 1 << len {
                    return None;
                }
            }
            code <<= 1;
        }
        Some(t)
    }
}

/// Reads the entropy-coded data: byte stuffing undone, markers end the data (zeros follow).
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    count: u32,
    /// A marker was reached; only zero bits remain.
    ended: bool,
    /// Zero bits given past the end (a little is normal padding, much is damage).
    overrun: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            acc: 0,
            count: 0,
            ended: false,
            overrun: 0,
        }
    }

    fn fill(&mut self) {
        while self.count <= 56 {
            let mut byte = 0u8;
            if !self.ended {
                match self.data.get(self.pos) {
                    Some(&0xFF) => match self.data.get(self.pos + 1) {
                        Some(0x00) => {
                            byte = 0xFF;
                            self.pos += 2;
                        }
                        _ => self.ended = true,
                    },
                    Some(&b) => {
                        byte = b;
                        self.pos += 1;
                    }
                    None => self.ended = true,
                }
            }
            if self.ended {
                self.overrun += 8;
            }
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    fn peek(&mut self, n: u32) -> u32 {
        if self.count < n {
            self.fill();
        }
        (self.acc >> (64 - n)) as u32
    }

    fn consume(&mut self, n: u32) -> Option<()> {
        self.acc <<= n;
        self.count -= n;
        // Far past the end of the data: damaged, give up (the full decoder judges it).
        (self.overrun < 64 + 8 * 64).then_some(())
    }

    fn decode(&mut self, t: &Huffman) -> Option<u8> {
        let (symbol, len) = t.fast[self.peek(FAST_BITS) as usize];
        if len > 0 {
            self.consume(u32::from(len))?;
            return Some(symbol);
        }
        let bits = self.peek(16) as i32;
        for len in FAST_BITS as usize + 1..=16 {
            let code = bits >> (16 - len);
            if code <= t.maxcode[len] {
                self.consume(len as u32)?;
                return t.values.get((t.offset[len] + code) as usize).copied();
            }
        }
        None
    }

    /// Reads `s` extra bits and extends them to a signed value (JPEG's EXTEND).
    fn receive_extend(&mut self, s: u8) -> Option<i32> {
        if s == 0 {
            return Some(0);
        }
        if s > 16 {
            return None;
        }
        let s = u32::from(s);
        let v = self.peek(s) as i32;
        self.consume(s)?;
        Some(if v < 1 << (s - 1) {
            v - (1 << s) + 1
        } else {
            v
        })
    }

    /// At a restart interval: drop the partial byte, skip the RSTn marker.
    fn restart(&mut self) {
        self.acc = 0;
        self.count = 0;
        self.overrun = 0;
        self.ended = false;
        // Skip to the marker and past it.
        while let Some(&b) = self.data.get(self.pos) {
            if b == 0xFF
                && self
                    .data
                    .get(self.pos + 1)
                    .is_some_and(|&m| (0xD0..=0xD7).contains(&m))
            {
                self.pos += 2;
                return;
            }
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::jpeg::JpegEncoder;

    fn jpeg(img: &image::RgbImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(img)
            .unwrap();
        out
    }

    fn noise(x: u32, y: u32) -> u8 {
        let mut h = x.wrapping_mul(0x9E37_79B9) ^ y.wrapping_mul(0x85EB_CA6B);
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        (h >> 24) as u8 % 13
    }

    /// The coefficient measure agrees with a full decode, on pages near the threshold.
    #[test]
    fn agrees_with_a_full_decode() {
        for (specks, quality) in [(0, 90), (40, 75), (400, 90), (4000, 60)] {
            let mut img = image::RgbImage::from_fn(1200, 900, |x, y| {
                let n = noise(x, y);
                image::Rgb([236 + n, 234 + n, 230 + n])
            });
            // Dust: 2×2 dark specks spread over the page (1.08 M pixels; blank under 324).
            for i in 0..specks {
                let (x, y) = ((i * 7919) % 1190, (i * 104_729) % 890);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    img.put_pixel(x + dx, y + dy, image::Rgb([20, 20, 25]));
                }
            }
            let data = jpeg(&img, quality);
            let fast = measure(&data).expect("baseline JPEG is measured");
            let full = crate::digitize::checks::jpeg_ink(&data).expect("decodes");
            assert_eq!(
                fast.is_blank(),
                full.is_blank(),
                "{specks} specks, q{quality}"
            );
            if full.is_blank() {
                let (a, b) = (fast.counts().0 as i64, full.counts().0 as i64);
                assert!((a - b).abs() <= 2 + b / 50, "{a} vs {b} ink pixels");
            }
        }
    }

    #[test]
    fn damaged_or_unhandled_data_is_left_to_the_full_decoder() {
        let img = image::RgbImage::from_fn(64, 64, |x, _| image::Rgb([x as u8 * 4, 0, 0]));
        let data = jpeg(&img, 80);
        assert!(measure(&data).is_some());
        for cut in [10, 100, 300, data.len() - 2] {
            let _ = measure(&data[..cut]);
        }
        let mut bad = data.clone();
        let n = bad.len();
        bad[n / 2..n - 2].fill(0xAA);
        let _ = measure(&bad);
        assert!(measure(b"\xFF\xD8\xFF\xC2\x00\x02").is_none());
    }
}
