//! Attack fixtures, named after the attack (Mladenov et al. CCS 2019: USF, ISA, SWA; Mainka
//! et al. NDSS 2021: shadow attacks) plus malformed files, all derived from one signed base.

use std::io::Write;
use std::sync::OnceLock;

use saoy::verify::SubIndication;

use super::pdfgen::{
    self, Trailer, appearance, append_update, find_from, last_byte_range, last_sig_object,
    page_dict, rfind, set_byte_range, stream, stream_with, text_field,
};
use super::pyhanko;

/// One attack file and what the verifier must say about it.
pub struct Fixture {
    /// Name of the attack.
    pub name: &'static str,
    /// The file.
    pub bytes: Vec<u8>,
    /// Acceptable sub-indications (the status is never PASSED).
    pub subs: &'static [SubIndication],
    /// When pyHanko accepts the file, why saoy is right to refuse it.
    pub pyhanko_disagrees: Option<&'static str>,
}

/// The base document signed by pyHanko as the agency in field `Signature1`.
pub fn signed_base() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| pyhanko::sign(&pdfgen::base_pdf(), "agency", &["--field", "Signature1"]))
}

const MODIFIED: &[SubIndication] = &[SubIndication::SigConstraintsFailure];
const FORMAT: &[SubIndication] = &[SubIndication::FormatFailure];
const FORMAT_OR_HASH: &[SubIndication] =
    &[SubIndication::FormatFailure, SubIndication::HashFailure];

/// Every attack fixture.
pub fn all() -> Vec<Fixture> {
    let base = signed_base();
    let (sig_num, sig_body) = last_sig_object(base);
    let ([_, b, c, d], _, _) = last_byte_range(base);
    let replace_sig = |f: &dyn Fn(&[u8]) -> Vec<u8>| {
        append_update(base, &[(sig_num, f(&sig_body))], Trailer::default())
    };
    let mut v = Vec::new();
    let mut add = |name, bytes, subs, note| {
        v.push(Fixture {
            name,
            bytes,
            subs,
            pyhanko_disagrees: note,
        })
    };

    // Universal Signature Forgery: the signature dictionary is redefined by a later update.
    add(
        "usf_missing_byterange",
        replace_sig(&|s| remove_entry(s, b"/ByteRange", b"]")),
        FORMAT,
        None,
    );
    add(
        "usf_empty_contents",
        replace_sig(&|s| replace_value(s, b"/Contents", b"<", b">", b"<>")),
        FORMAT,
        None,
    );
    add(
        "usf_null_contents",
        replace_sig(&|s| replace_value(s, b"/Contents", b"<", b">", b"null")),
        FORMAT,
        None,
    );
    add(
        "usf_null_signer",
        replace_sig(&|s| {
            let s = replace_value(s, b"/Contents", b"<", b">", b"null");
            replace_value(&s, b"/ByteRange", b"[", b"]", b"null")
        }),
        FORMAT,
        None,
    );
    add(
        "usf_zero_byterange",
        replace_sig(&|s| replace_value(s, b"/ByteRange", b"[", b"]", b"[0 0 0 0]")),
        FORMAT,
        None,
    );
    add(
        "usf_zero_length_contents",
        zero_contents(base),
        FORMAT,
        None,
    );
    add(
        "usf_foreign_signer",
        pyhanko::sign(
            &pdfgen::base_pdf(),
            "other-signer",
            &["--field", "Signature1"],
        ),
        &[SubIndication::NoCertificateChainFound],
        None,
    );

    // Incremental Saving Attack: content changed in a later revision.
    add(
        "isa_page_content_replaced",
        append_update(
            base,
            &[(8, stream(b"BT /F1 24 Tf 20 100 Td (Forged text) Tj ET"))],
            Trailer::default(),
        ),
        MODIFIED,
        None,
    );
    add(
        "isa_annotation_added",
        append_update(
            base,
            &[
                (3, page_dict(2, b"[4 0 R 7 0 R 8 0 R]", b"[21 0 R 22 0 R 30 0 R]")),
                (
                    30,
                    b"<< /Type /Annot /Subtype /FreeText /Rect [20 20 280 45] /Contents (Void: forged) /DA (/Helv 12 Tf 1 0 0 rg) /P 3 0 R >>".to_vec(),
                ),
            ],
            Trailer::default(),
        ),
        MODIFIED,
        None,
    );
    add(
        "isa_catalog_changed",
        append_update(
            base,
            &[(
                1,
                b"<< /Type /Catalog /Pages 2 0 R /AcroForm 20 0 R /OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >> >>".to_vec(),
            )],
            Trailer::default(),
        ),
        MODIFIED,
        None,
    );
    add(
        "isa_new_page",
        append_update(
            base,
            &[
                (
                    2,
                    b"<< /Type /Pages /Kids [3 0 R 31 0 R] /Count 2 >>".to_vec(),
                ),
                (31, page_dict(2, b"32 0 R", b"[]")),
                (32, stream(b"BT /F1 24 Tf 20 100 Td (An added page) Tj ET")),
            ],
            Trailer::default(),
        ),
        MODIFIED,
        None,
    );
    add(
        "isa_form_value_changed",
        append_update(
            base,
            &[
                (21, text_field(b"Tran Van B", 33)),
                (33, appearance(b"Tran Van B")),
            ],
            Trailer::default(),
        ),
        MODIFIED,
        Some(
            "pyHanko classes a changed text-field value after an approval signature as FORM_FILLING \
             and accepts it; saoy refuses it unless a certification signature allows form filling \
             (DocMDP P>=2): a certified copy has no fields to fill, so a changed value is a change \
             of what the reader sees. saoy is right for this use; pyHanko follows ISO 32000's \
             permissive default.",
        ),
    );

    // Signature Wrapping: the /ByteRange is rewritten (in place, same width).
    add(
        "swa_range_skips_bytes",
        set_byte_range(base, [0, b, c + 10, d - 10]),
        FORMAT_OR_HASH,
        None,
    );
    add(
        "swa_overlapping_ranges",
        set_byte_range(base, [0, c + 4, c, d]),
        FORMAT_OR_HASH,
        None,
    );
    add(
        "swa_contents_not_exact_gap",
        set_byte_range(base, [0, b - 1, c + 1, d - 1]),
        FORMAT_OR_HASH,
        None,
    );
    add(
        "swa_moved_signed_revision",
        moved_revision(base, b, c, d),
        FORMAT_OR_HASH,
        None,
    );
    add(
        "swa_second_xref_hides_objects",
        append_update(
            base,
            &[
                (
                    1,
                    b"<< /Type /Catalog /Pages 34 0 R /AcroForm 20 0 R >>".to_vec(),
                ),
                (34, b"<< /Type /Pages /Kids [35 0 R] /Count 1 >>".to_vec()),
                (35, page_dict(34, b"36 0 R", b"[]")),
                (36, stream(b"BT /F1 24 Tf 20 100 Td (Hidden switch) Tj ET")),
            ],
            Trailer {
                root: None,
                no_prev: true,
            },
        ),
        &[
            SubIndication::SigConstraintsFailure,
            SubIndication::FormatFailure,
            SubIndication::SignedDataNotFound,
        ],
        None,
    );

    // Shadow attacks: content prepared before signing, switched on by a later update.
    add(
        "shadow_hide",
        append_update(base, &[(7, stream(b""))], Trailer::default()),
        MODIFIED,
        None,
    );
    add(
        "shadow_replace",
        append_update(
            base,
            &[(
                5,
                b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>".to_vec(),
            )],
            Trailer::default(),
        ),
        MODIFIED,
        None,
    );
    add(
        "shadow_hide_and_replace",
        append_update(
            base,
            &[],
            Trailer {
                root: Some(9),
                no_prev: false,
            },
        ),
        MODIFIED,
        None,
    );

    // Malformed files: bounded time and memory, a clear verdict.
    add(
        "malformed_broken_xref",
        broken_xref(base),
        FORMAT_OR_HASH,
        None,
    );
    add(
        "malformed_cyclic_page_tree",
        append_update(
            base,
            &[(
                2,
                b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>".to_vec(),
            )],
            Trailer::default(),
        ),
        &[
            SubIndication::SigConstraintsFailure,
            SubIndication::FormatFailure,
        ],
        None,
    );
    add(
        "malformed_cyclic_references",
        append_update(
            base,
            &[
                (
                    1,
                    b"<< /Type /Catalog /Pages 2 0 R /AcroForm 20 0 R /Names 37 0 R >>".to_vec(),
                ),
                (37, b"38 0 R".to_vec()),
                (38, b"37 0 R".to_vec()),
                (39, b"<< /Parent 39 0 R /Kids [39 0 R] >>".to_vec()),
            ],
            Trailer::default(),
        ),
        MODIFIED,
        None,
    );
    add(
        "malformed_deep_nesting",
        append_update(
            base,
            &[
                (
                    1,
                    b"<< /Type /Catalog /Pages 2 0 R /AcroForm 20 0 R /Deep 40 0 R >>".to_vec(),
                ),
                (40, deep(50_000)),
            ],
            Trailer::default(),
        ),
        &[
            SubIndication::SigConstraintsFailure,
            SubIndication::FormatFailure,
        ],
        None,
    );
    add(
        "malformed_huge_numbers",
        append_update(
            base,
            &[
                (
                    2,
                    b"<< /Type /Pages /Kids [3 0 R] /Count 99999999999999999999999999 >>".to_vec(),
                ),
                (
                    41,
                    b"<< /Length -5 /W [-1 99999999999999999999 4] /Size -7 >>\nstream\nxx\nendstream".to_vec(),
                ),
                (42, b"[1e400 -1e400 -99999999999999999999999 3.4e38]".to_vec()),
            ],
            Trailer::default(),
        ),
        &[SubIndication::SigConstraintsFailure, SubIndication::FormatFailure],
        None,
    );
    add(
        "malformed_huge_byterange",
        replace_sig(&|s| {
            replace_value(
                s,
                b"/ByteRange",
                b"[",
                b"]",
                b"[0 9223372036854775807 -9223372036854775808 99999999999999999999]",
            )
        }),
        FORMAT,
        None,
    );
    add(
        "malformed_decompression_bomb",
        bomb(base),
        &[
            SubIndication::SigConstraintsFailure,
            SubIndication::FormatFailure,
        ],
        None,
    );
    v
}

/// Removes `key value` up to and including `end`.
fn remove_entry(s: &[u8], key: &[u8], end: &[u8]) -> Vec<u8> {
    let k = find_from(s, key, 0).expect("key present");
    let e = find_from(s, end, k).expect("value end") + end.len();
    [&s[..k], &s[e..]].concat()
}

/// Replaces the value of `key` (from `open` to `close`, inclusive) with `new`.
fn replace_value(s: &[u8], key: &[u8], open: &[u8], close: &[u8], new: &[u8]) -> Vec<u8> {
    let k = find_from(s, key, 0).expect("key present") + key.len();
    let o = find_from(s, open, k).expect("value start");
    let c = find_from(s, close, o).expect("value end") + close.len();
    [&s[..k], b" ", new, &s[c..]].concat()
}

/// The /Contents hex overwritten with zeros (same length): no CMS at all.
fn zero_contents(base: &[u8]) -> Vec<u8> {
    let ([_, b, c, _], _, _) = last_byte_range(base);
    let mut out = base.to_vec();
    for x in &mut out[b as usize + 1..c as usize - 1] {
        *x = b'0';
    }
    out
}

/// Forged objects inserted after the gap: the second signed range moves further down and
/// the /ByteRange is rewritten to follow it.
fn moved_revision(base: &[u8], b: i64, c: i64, d: i64) -> Vec<u8> {
    let insert = b"\n8 0 obj\n<< /Length 43 >>\nstream\nBT /F1 24 Tf 20 100 Td (Moved!) Tj ET\nendstream\nendobj\n";
    let c = c as usize;
    let mut out = base[..c].to_vec();
    out.extend_from_slice(insert);
    out.extend_from_slice(&base[c..]);
    set_byte_range(&out, [0, b, (c + insert.len()) as i64, d])
}

/// The last `startxref` points into the middle of the file.
fn broken_xref(base: &[u8]) -> Vec<u8> {
    let pos = rfind(base, b"startxref").expect("startxref") + 10;
    let end = find_from(base, b"\n", pos).expect("eol");
    let mut out = base[..pos].to_vec();
    let wrong = format!("{:0width$}", 17, width = end - pos);
    out.extend_from_slice(wrong.as_bytes());
    out.extend_from_slice(&base[end..]);
    out
}

fn deep(n: usize) -> Vec<u8> {
    let mut s = vec![b'['; n];
    s.extend(std::iter::repeat_n(b']', n));
    s
}

/// A /DSS certificate stream and an object stream that inflate to 1 GiB of zeros.
fn bomb(base: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        enc.write_all(&chunk).expect("deflate");
    }
    let z = enc.finish().expect("deflate");
    append_update(
        base,
        &[
            (
                1,
                b"<< /Type /Catalog /Pages 2 0 R /AcroForm 20 0 R /DSS << /Certs [43 0 R] >> >>"
                    .to_vec(),
            ),
            (43, stream_with(b"/Filter /FlateDecode", &z)),
            (
                44,
                stream_with(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", &z),
            ),
        ],
        Trailer::default(),
    )
}
