//! Ink of a JPEG page measured from its DCT coefficients, without decoding it to pixels.
//!
//! The blank-page check counts luma samples darker than the ink level. A full decode (IDCT,
//! upsampling, colour conversion of every block) costs about 15 ms for a 300 dpi A4 page;
//! here only the Huffman data is read (chroma blocks are skipped over), and a luma block is
//! turned into pixels only when its coefficients allow ink at all:
//!
//! - the coefficients are orthonormal, so a block's mean is `DC / 8 + 128`, the sum of
//!   `(pixel - mean)²` over its 64 pixels is the sum of the squared AC coefficients, and no
//!   pixel is further from the mean than a quarter of the sum of their magnitudes. A pixel
//!   at most `ink` is at least `mean - ink` from the mean, so a block can hold at most
//!   `energy / (mean - ink)²` ink pixels, and none when `mean - ink` exceeds the magnitude
//!   bound; in either case (paper, scanner noise) the block is not transformed. A block
//!   without AC coefficients is flat: all or none of its pixels are ink;
//! - any other block is transformed (8×8 IDCT of the luma block only, skipping empty rows)
//!   and its ink pixels inside the image counted exactly, as a full decode would;
//! - as soon as enough ink is counted for the page not to be blank, reading stops: a text
//!   page is decided after its first lines, so only a blank page is read to its end.
//!
//! Codes and their extra bits are looked up together in one table for the common short
//! codes, and a block of paper (a DC difference, then end of block) in a single lookup;
//! the bit reader takes up to seven bytes at once when none of them is `0xFF`.
//!
//! Baseline and extended Huffman JPEGs with one (grey) or three (YCbCr) components are
//! measured this way; anything else (progressive, arithmetic, CMYK, RGB-coded) returns
//! `None` and is measured by a full decode.

use super::raster::{Colour, InkMeter};

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
            let table = Huffman::new(&counts, values, class == 0)?;
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
        let combos: Vec<Option<Combo>> = tables.iter().map(|(dc, ac)| Combo::new(dc, ac)).collect();
        let mut bits = Bits::new(data.get(self.scan_start..)?);
        let mut pred = vec![0i32; self.scan.len()];
        let mut ink = 0u64;
        let mut block = Block::default();
        let mut mcu = 0usize;
        let done = |ink: u64| {
            let mut meter = InkMeter::default();
            meter.add_counts(ink, total);
            Some(meter)
        };
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
                            bits.refill();
                            // Most blocks of paper: a DC difference, then end of block.
                            let flat = combos[k].as_ref().and_then(|c| {
                                let e = c.0[bits.peek_combo()];
                                (e != 0).then_some(e)
                            });
                            if let Some(e) = flat {
                                bits.consume((e & 0xFF) as u32)?;
                                pred[k] = pred[k].wrapping_add(e >> 16);
                                if !is_luma {
                                    continue;
                                }
                                block.flat(pred[k], q);
                            } else {
                                let diff = bits.decode_dc(dc)?;
                                pred[k] = pred[k].wrapping_add(diff);
                                if !is_luma {
                                    bits.skip_ac(ac)?;
                                    continue;
                                }
                                block.read(&mut bits, ac, pred[k], q)?;
                            }
                            let x0 = (mx * h + bx) * 8;
                            let y0 = (my * v + by) * 8;
                            if x0 < self.width && y0 < self.height {
                                ink += block.ink(x0, y0, self.width, self.height);
                                if ink >= needed {
                                    return done(ink);
                                }
                            }
                        }
                    }
                }
                if bits.damaged() {
                    return None;
                }
            }
        }
        done(ink)
    }
}

/// Zigzag position → natural (row-major) index.
const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The dequantised coefficients of one luma block, kept sparse, with the two bounds on how
/// far its pixels can be from their mean.
struct Block {
    /// Dequantised DC coefficient.
    dc: f32,
    /// Natural-order positions and values of the non-zero AC coefficients.
    at: [u8; 63],
    value: [f32; 63],
    len: usize,
    /// Sum of the squared dequantised AC coefficients (= Σ (pixel - mean)²).
    energy: f64,
    /// Sum of their magnitudes (4 × the largest possible |pixel - mean|).
    l1: f64,
}

impl Default for Block {
    fn default() -> Self {
        Self {
            dc: 0.0,
            at: [0; 63],
            value: [0.0; 63],
            len: 0,
            energy: 0.0,
            l1: 0.0,
        }
    }
}

impl Block {
    /// A block without AC coefficients whose DC (not dequantised) is `dc`.
    #[inline]
    fn flat(&mut self, dc: i32, q: &[u16; 64]) {
        self.dc = (i64::from(dc) * i64::from(q[0])) as f32;
        self.len = 0;
        self.energy = 0.0;
        self.l1 = 0.0;
    }

    /// Reads the AC coefficients of a luma block whose DC (not dequantised) is `dc`.
    #[inline]
    fn read(&mut self, bits: &mut Bits<'_>, ac: &Huffman, dc: i32, q: &[u16; 64]) -> Option<()> {
        self.dc = (i64::from(dc) * i64::from(q[0])) as f32;
        self.len = 0;
        let (mut energy, mut l1) = (0i64, 0i64);
        let mut z = 1usize;
        while z < 64 {
            bits.refill();
            let (run, value) = match bits.decode_ac(ac)? {
                Coefficient::Value { run, value } => (run, value),
                Coefficient::Zeros16 => {
                    z += 16;
                    continue;
                }
                Coefficient::EndOfBlock => break,
            };
            z += run;
            // A coefficient past the end of the block: damaged data.
            let q = i64::from(*q.get(z)?);
            let v = i64::from(value) * q;
            energy += v * v;
            l1 += v.abs();
            self.at[self.len] = ZIGZAG[z];
            self.value[self.len] = v as f32;
            self.len += 1;
            z += 1;
        }
        self.energy = energy as f64;
        self.l1 = l1 as f64;
        Some(())
    }

    /// Ink pixels of the block whose top-left pixel is at `(x0, y0)`; pixels outside the
    /// `w`×`h` image are not counted.
    #[inline]
    fn ink(&self, x0: usize, y0: usize, w: usize, h: usize) -> u64 {
        let mean = self.dc / 8.0 + 128.0;
        if self.len == 0 {
            // A flat block: every pixel is the mean.
            return if mean < INK_BELOW - 0.5 {
                (8.min(w - x0) * 8.min(h - y0)) as u64
            } else {
                0
            };
        }
        let gap = f64::from(mean - (INK_BELOW + IDCT_SLACK));
        if gap > 0.0 && (self.energy < gap * gap || self.l1 < 4.0 * gap) {
            return 0;
        }
        self.transform(8.min(w - x0), 8.min(h - y0))
    }

    /// Counts ink pixels in the top-left `cols`×`rows` of the block by an 8×8 IDCT
    /// (orthonormal, separable: rows then columns, zero rows skipped).
    fn transform(&self, cols: usize, rows: usize) -> u64 {
        let basis = idct_basis();
        let mut f = [[0f32; 8]; 8];
        let mut used = 1u8;
        f[0][0] = self.dc;
        for k in 0..self.len {
            let p = usize::from(self.at[k]);
            f[p / 8][p % 8] = self.value[k];
            used |= 1 << (p / 8);
        }
        // tmp[v][x] = Σ_u basis[x][u] f[v][u], for the rows v that have coefficients.
        let mut tmp = [[0f32; 8]; 8];
        for (v, (row, out)) in f.iter().zip(tmp.iter_mut()).enumerate() {
            if used & (1 << v) == 0 {
                continue;
            }
            for (&c, b) in row.iter().zip(&basis.t) {
                if c != 0.0 {
                    for (o, &bx) in out.iter_mut().zip(b) {
                        *o += c * bx;
                    }
                }
            }
        }
        let mut count = 0u64;
        for y in 0..rows {
            let mut px = [0f32; 8];
            for (v, (row, b)) in tmp.iter().zip(&basis.t).enumerate() {
                if used & (1 << v) != 0 {
                    let b = b[y];
                    for (p, &t) in px.iter_mut().zip(row) {
                        *p += b * t;
                    }
                }
            }
            // Rounded to the nearest level, below the ink level: s + 128 < 127.5.
            count += px[..cols]
                .iter()
                .filter(|&&s| s < INK_BELOW - 128.5)
                .count() as u64;
        }
        count
    }
}

/// The IDCT basis, transposed: `t[u][x] = C(u)/2 · cos((2x+1)uπ/16)`.
struct Basis {
    t: [[f32; 8]; 8],
}

fn idct_basis() -> &'static Basis {
    static BASIS: std::sync::OnceLock<Basis> = std::sync::OnceLock::new();
    BASIS.get_or_init(|| {
        let mut t = [[0f32; 8]; 8];
        for (u, row) in t.iter_mut().enumerate() {
            for (x, cell) in row.iter_mut().enumerate() {
                let c = if u == 0 {
                    std::f32::consts::FRAC_1_SQRT_2
                } else {
                    1.0
                };
                *cell = c / 2.0 * (((2 * x + 1) * u) as f32 * std::f32::consts::PI / 16.0).cos();
            }
        }
        Basis { t }
    })
}

/// Bits looked up at once in a Huffman table.
const FAST_BITS: u32 = 10;
/// Entries of the lookup tables.
const FAST_SIZE: usize = 1 << FAST_BITS;

/// A Huffman table: lookups of the next [`FAST_BITS`] bits for short codes (for AC tables
/// also with their value when it fits), canonical limits for the rest.
struct Huffman {
    /// `length << 8 | symbol` by the next bits; 0 when the code is longer.
    fast: Box<[u16; FAST_SIZE]>,
    /// `value << 16 | run << 8 | bits used` when code and extra bits fit (run 0 for DC),
    /// [`END_OF_BLOCK`] or [`ZEROS16`] with the bits used for those AC codes, else 0.
    fast_value: Box<[i32; FAST_SIZE]>,
    /// Largest code of each length (1..=16), -1 when none.
    maxcode: [i32; 17],
    /// Index into `values` of the first code of each length, minus that code.
    offset: [i32; 17],
    values: Vec<u8>,
    /// Every code: (code, length, symbol).
    codes: Vec<(u32, u32, u8)>,
}

impl Huffman {
    /// Every code with its length and symbol.
    fn codes(&self) -> impl Iterator<Item = (u32, u32, u8)> + '_ {
        self.codes.iter().copied()
    }

    /// The code and length of `symbol`, if the table has it.
    fn code_of(&self, symbol: u8) -> Option<(u32, u32)> {
        self.codes
            .iter()
            .find(|c| c.2 == symbol)
            .map(|&(code, len, _)| (code, len))
    }

    fn new(counts: &[u8; 16], values: &[u8], dc: bool) -> Option<Self> {
        let mut t = Huffman {
            fast: Box::new([0; FAST_SIZE]),
            fast_value: Box::new([0; FAST_SIZE]),
            maxcode: [-1; 17],
            offset: [0; 17],
            values: values.to_vec(),
            codes: Vec::with_capacity(values.len()),
        };
        let mut code = 0i32;
        let mut k = 0usize;
        for len in 1..=16usize {
            let n = usize::from(counts[len - 1]);
            if n > 0 {
                t.offset[len] = k as i32 - code;
                for _ in 0..n {
                    if code >= 1 << len {
                        return None;
                    }
                    if len as u32 <= FAST_BITS {
                        let shift = FAST_BITS - len as u32;
                        let first = (code as usize) << shift;
                        let symbol = *values.get(k)?;
                        for (i, e) in t
                            .fast
                            .get_mut(first..first + (1 << shift))?
                            .iter_mut()
                            .enumerate()
                        {
                            *e = (len as u16) << 8 | u16::from(symbol);
                            let (run, s) = if dc {
                                (0, u32::from(symbol))
                            } else {
                                (u32::from(symbol >> 4), u32::from(symbol & 15))
                            };
                            let used = len as u32 + s;
                            let index = first + i;
                            if !dc && s == 0 {
                                // End of block, or sixteen zeros (run 15).
                                let flag = if run == 15 { ZEROS16 } else { END_OF_BLOCK };
                                t.fast_value[index] = flag | len as i32;
                            } else if s <= 15 && used <= FAST_BITS {
                                let value = if s == 0 {
                                    0
                                } else {
                                    let extra =
                                        (index >> (FAST_BITS - used)) as u32 & ((1 << s) - 1);
                                    extend(extra, s)
                                };
                                t.fast_value[index] = value << 16 | (run << 8 | used) as i32;
                            }
                        }
                    }
                    t.codes.push((code as u32, len as u32, *values.get(k)?));
                    code += 1;
                    k += 1;
                }
                t.maxcode[len] = code - 1;
            }
            code <<= 1;
        }
        Some(t)
    }
}

/// In [`Huffman::fast_value`] of an AC table: the code is an end of block.
const END_OF_BLOCK: i32 = 1 << 12;
/// In [`Huffman::fast_value`] of an AC table: the code stands for sixteen zeros.
const ZEROS16: i32 = 1 << 13;

/// Bits looked up at once for a DC difference followed by an end of block.
const COMBO_BITS: u32 = 14;

/// `value << 16 | bits used` by the next [`COMBO_BITS`] bits when they start with a DC
/// code, its extra bits and the AC end-of-block code; else 0.
struct Combo(Box<[i32; 1 << COMBO_BITS]>);

impl Combo {
    fn new(dc: &Huffman, ac: &Huffman) -> Option<Self> {
        let (eob, eob_len) = ac.code_of(0x00)?;
        let mut table = Box::new([0i32; 1 << COMBO_BITS]);
        for (code, len, symbol) in dc.codes() {
            let s = u32::from(symbol);
            let used = len + s + eob_len;
            if s > 15 || used > COMBO_BITS {
                continue;
            }
            for extra in 0..1u32 << s {
                let value = if s == 0 { 0 } else { extend(extra, s) };
                let prefix = ((code << s | extra) << eob_len) | eob;
                let free = COMBO_BITS - used;
                let first = (prefix << free) as usize;
                for e in table.get_mut(first..first + (1 << free))? {
                    *e = value << 16 | used as i32;
                }
            }
        }
        Some(Combo(table))
    }
}

/// JPEG's EXTEND: `s` extra bits `v` as a signed value.
#[inline]
fn extend(v: u32, s: u32) -> i32 {
    let v = v as i32;
    if v < 1 << (s - 1) {
        v - (1 << s) + 1
    } else {
        v
    }
}

/// One decoded AC symbol.
enum Coefficient {
    /// `run` zeros, then `value`.
    Value { run: usize, value: i32 },
    /// Sixteen zeros (ZRL).
    Zeros16,
    /// The rest of the block is zero.
    EndOfBlock,
}

/// Reads the entropy-coded data: byte stuffing undone, markers end the data (zeros follow).
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    /// Bits not yet used, from the most significant end.
    acc: u64,
    count: u32,
    /// A marker or the end was reached; only zero bits remain.
    ended: bool,
    /// Zero bits given past the end (a little is normal padding, much is damage).
    overrun: u32,
}

/// Zero bits past the end of the data after which it is taken as damaged.
const MAX_OVERRUN: u32 = 64 + 8 * 64;

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

    /// Makes at least 32 bits available (enough for a code and its extra bits).
    #[inline(always)]
    fn refill(&mut self) {
        if self.count < 32 {
            self.refill_now();
        }
    }

    /// Fills the accumulator up to at least 56 bits.
    #[inline(never)]
    fn refill_now(&mut self) {
        // Fast path: the next bytes hold no 0xFF, take them at once.
        let take = (63 - self.count) / 8;
        if !self.ended
            && let Some(chunk) = self.data.get(self.pos..self.pos + 8)
        {
            let word = u64::from_be_bytes(chunk.try_into().unwrap_or([0xFF; 8]));
            // 0x80 in each byte of `word` that is 0xFF (and perhaps some above a 0xFF).
            let inverted = !word;
            let ff =
                inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080;
            let wanted = !0u64 << (64 - 8 * take);
            if ff & wanted == 0 {
                self.acc |= (word & wanted) >> self.count;
                self.count += 8 * take;
                self.pos += take as usize;
                return;
            }
        }
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
                self.overrun = self.overrun.saturating_add(8);
            }
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    /// True when far more bits were read than the data holds.
    fn damaged(&self) -> bool {
        self.overrun >= MAX_OVERRUN
    }

    #[inline]
    fn peek(&self, n: u32) -> u32 {
        (self.acc >> (64 - n)) as u32
    }

    /// Drops `n` bits; `None` when more bits are used than were made available.
    #[inline]
    fn consume(&mut self, n: u32) -> Option<()> {
        self.count = self.count.checked_sub(n)?;
        self.acc <<= n;
        Some(())
    }

    /// The next [`COMBO_BITS`] bits, as an index into a [`Combo`] table.
    #[inline]
    fn peek_combo(&self) -> usize {
        (self.acc >> (64 - COMBO_BITS)) as usize & ((1 << COMBO_BITS) - 1)
    }

    /// The next [`FAST_BITS`] bits, as an index into the lookup tables.
    #[inline]
    fn peek_fast(&self) -> usize {
        (self.acc >> (64 - FAST_BITS)) as usize & (FAST_SIZE - 1)
    }

    /// Decodes one symbol (at least 16 bits must be available).
    #[inline]
    fn decode(&mut self, t: &Huffman) -> Option<u8> {
        let e = t.fast[self.peek_fast()];
        if e != 0 {
            self.consume(u32::from(e >> 8))?;
            return Some(e as u8);
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

    /// Decodes a DC difference (after [`Bits::refill`]).
    #[inline]
    fn decode_dc(&mut self, t: &Huffman) -> Option<i32> {
        let e = t.fast_value[self.peek_fast()];
        if e != 0 {
            self.consume((e & 0xFF) as u32)?;
            return Some(e >> 16);
        }
        let s = self.decode(t)?;
        self.receive_extend(s)
    }

    /// Decodes one AC symbol with its value (after [`Bits::refill`]).
    #[inline]
    fn decode_ac(&mut self, t: &Huffman) -> Option<Coefficient> {
        let e = t.fast_value[self.peek_fast()];
        if e != 0 {
            self.consume((e & 0xFF) as u32)?;
            return Some(if e & END_OF_BLOCK != 0 {
                Coefficient::EndOfBlock
            } else if e & ZEROS16 != 0 {
                Coefficient::Zeros16
            } else {
                Coefficient::Value {
                    run: ((e >> 8) & 15) as usize,
                    value: e >> 16,
                }
            });
        }
        let rs = self.decode(t)?;
        let (run, s) = (usize::from(rs >> 4), rs & 15);
        if s == 0 {
            return Some(if run == 15 {
                Coefficient::Zeros16
            } else {
                Coefficient::EndOfBlock
            });
        }
        Some(Coefficient::Value {
            run,
            value: self.receive_extend(s)?,
        })
    }

    /// Reads and drops the AC coefficients of a block that is not measured (chroma).
    #[inline]
    fn skip_ac(&mut self, t: &Huffman) -> Option<()> {
        let mut z = 1usize;
        while z < 64 {
            self.refill();
            match self.decode_ac(t)? {
                Coefficient::Value { run, .. } => z += run + 1,
                Coefficient::Zeros16 => z += 16,
                Coefficient::EndOfBlock => break,
            }
        }
        Some(())
    }

    /// Reads `s` extra bits and extends them to a signed value (JPEG's EXTEND).
    #[inline]
    fn receive_extend(&mut self, s: u8) -> Option<i32> {
        if s == 0 {
            return Some(0);
        }
        if s > 16 {
            return None;
        }
        let s = u32::from(s);
        let v = self.peek(s);
        self.consume(s)?;
        Some(extend(v, s))
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

/// Decodes a JPEG fully to grey and measures its ink (for JPEGs [`measure`] cannot read); `None` if it cannot be decoded.
pub(crate) fn measure_decoded(data: &[u8]) -> Option<InkMeter> {
    use zune_jpeg::JpegDecoder;
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::Luma);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(data), options);
    let luma = decoder.decode().ok()?;
    let (w, _) = decoder.dimensions()?;
    let mut ink = InkMeter::default();
    for row in luma.chunks_exact(w.max(1)) {
        ink.add_row8(row, Colour::Gray);
    }
    Some(ink)
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
            let full = measure_decoded(&data).expect("decodes");
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

    fn paper_page(w: u32, h: u32) -> image::RgbImage {
        image::RgbImage::from_fn(w, h, |x, y| {
            let n = noise(x, y);
            image::Rgb([236 + n, 234 + n, 230 + n])
        })
    }

    fn full_decode_ink(data: &[u8]) -> InkMeter {
        measure_decoded(data).expect("decodes")
    }

    /// Reading stops early only on ink: a page blank but for a mark at its very bottom is
    /// read to the end and found written; without the mark it is blank.
    #[test]
    fn a_mark_at_the_bottom_is_found() {
        let (w, h) = (1200u32, 900u32);
        let mut img = paper_page(w, h);
        let data = jpeg(&img, 85);
        assert!(measure(&data).unwrap().is_blank());
        // 40 × 10 dark pixels (blank is under 324) in the last rows, bottom right.
        for y in h - 12..h - 2 {
            for x in w - 60..w - 20 {
                img.put_pixel(x, y, image::Rgb([30, 30, 30]));
            }
        }
        let data = jpeg(&img, 85);
        let fast = measure(&data).unwrap();
        assert!(!fast.is_blank(), "{:?}", fast.counts());
        assert!(!full_decode_ink(&data).is_blank());
    }

    /// Flat dark blocks (no AC coefficient), grey JPEGs and partial edge blocks are counted
    /// as a full decode counts them.
    #[test]
    fn flat_blocks_grey_images_and_edges_agree() {
        // A page with a solid dark band: exact count well over the threshold.
        let (w, h) = (333u32, 250u32);
        let mut img = image::RgbImage::from_pixel(w, h, image::Rgb([250, 250, 250]));
        for y in 0..h {
            for x in 0..w {
                if (100..116).contains(&y) || x >= w - 3 {
                    img.put_pixel(x, y, image::Rgb([0, 0, 0]));
                }
            }
        }
        let data = jpeg(&img, 90);
        assert!(!measure(&data).unwrap().is_blank());
        // Grey, odd size, a few specks under the threshold (25 of 83 250 px allowed).
        let mut grey = image::GrayImage::from_fn(w, h, |x, y| image::Luma([238 + noise(x, y)]));
        for (x, y) in [(5, 5), (200, 120), (w - 1, h - 1)] {
            grey.put_pixel(x, y, image::Luma([0]));
        }
        let mut data = Vec::new();
        JpegEncoder::new_with_quality(&mut data, 92)
            .encode_image(&grey)
            .unwrap();
        let fast = measure(&data).expect("grey baseline JPEG is measured");
        let full = full_decode_ink(&data);
        assert!(fast.is_blank() && full.is_blank());
        let (a, b) = (fast.counts().0 as i64, full.counts().0 as i64);
        assert!((a - b).abs() <= 2, "{a} vs {b} ink pixels");
        assert_eq!(fast.counts().1, u64::from(w * h));
    }
}
