//! The refusal notice (thông báo từ chối chứng thực, NĐ 23/2015/NĐ-CP Art. 22): one A4
//! page of Vietnamese text, PDF/A-2b, made with the same fonts, krilla configuration and
//! final write pass as the certified copy. The agency's signature goes in
//! [`AssembledNotice::signature_area`].

use std::panic::{AssertUnwindSafe, catch_unwind};

use krilla::metadata::Metadata;
use krilla::page::PageSettings;

use super::PdfError;
use super::assemble::{Area, krilla_date};
use super::final_write::{self, Images};
use super::text::{self, Face};

/// What a refusal notice says; every string is drawn as given.
#[derive(Debug, Clone)]
pub struct NoticeContent {
    /// The refusal's id (document id, printed for look-ups).
    pub id: String,
    /// The agency's name (heading, top left).
    pub agency: String,
    /// Title, e.g. "THÔNG BÁO TỪ CHỐI CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH".
    pub title: String,
    /// Labelled facts of the request (document type, name, procedure, date, …).
    pub facts: Vec<(String, String)>,
    /// The reason (the article's text) and the free text.
    pub reason: Vec<String>,
    /// The legal basis, e.g. "Khoản 1 Điều 22 Nghị định 23/2015/NĐ-CP".
    pub legal_basis: String,
    /// Place and date line, e.g. "Ngày 05 tháng 01 năm 2026".
    pub date_line: String,
    /// Signing time (metadata).
    pub signing_time: time::OffsetDateTime,
}

/// A built notice.
#[derive(Debug, Clone)]
pub struct AssembledNotice {
    /// The PDF/A-2b bytes.
    pub pdf: Vec<u8>,
    /// Where the agency's signature widget goes (page 0).
    pub signature_area: Area,
}

const A4: (f32, f32) = (595.276, 841.89);

/// Builds the notice as PDF/A-2b.
pub fn assemble_notice(c: &NoticeContent) -> Result<AssembledNotice, PdfError> {
    text::check_fonts().map_err(PdfError::Text)?;
    let built = catch_unwind(AssertUnwindSafe(|| build(c)))
        .map_err(|_| PdfError::Export("the PDF writer failed unexpectedly".into()))??;
    Ok(built)
}

fn build(c: &NoticeContent) -> Result<AssembledNotice, PdfError> {
    let mut doc = super::document::pdfa_document()?;
    doc.set_metadata(
        Metadata::new()
            .title(c.title.clone())
            .description(format!("{} — {}", c.title, c.legal_basis))
            .authors(vec![c.agency.clone()])
            .language("vi".into())
            .creator("saoy".into())
            .creation_date(krilla_date(c.signing_time))
            .document_id(c.id.clone()),
    );
    let (page_w, page_h) = A4;
    let mut page = doc.start_page_with(
        PageSettings::from_wh(page_w, page_h)
            .ok_or_else(|| PdfError::Export("A4 page size rejected".into()))?,
    );
    let mut surface = page.surface();
    let left = 70.0;
    let right = page_w - 56.0;
    let width = right - left;
    let err = PdfError::Text;
    let mut y = 64.0;
    // Heading: the agency (left) and the national motto (right).
    let col = 240.0;
    let mut yl = y;
    for line in text::wrap(&c.agency, Face::Bold, 11.0, col).map_err(err)? {
        line.draw(&mut surface, left + (col - line.width) / 2.0, yl)
            .map_err(err)?;
        yl += 14.0;
    }
    let motto_x = left + col + 10.0;
    let motto_w = right - motto_x;
    let mut yr = y;
    for (t, face) in [
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", Face::Bold),
        ("Độc lập - Tự do - Hạnh phúc", Face::Bold),
    ] {
        for line in text::wrap(t, face, 10.5, motto_w).map_err(err)? {
            line.draw(&mut surface, motto_x + (motto_w - line.width) / 2.0, yr)
                .map_err(err)?;
            yr += 14.0;
        }
    }
    y = yl.max(yr) + 10.0;
    for line in text::wrap(&c.date_line, Face::Regular, 11.0, motto_w).map_err(err)? {
        line.draw(&mut surface, motto_x + (motto_w - line.width) / 2.0, y)
            .map_err(err)?;
        y += 14.0;
    }
    y += 24.0;
    for line in text::wrap(&c.title, Face::Bold, 14.0, width).map_err(err)? {
        line.draw(&mut surface, left + (width - line.width) / 2.0, y)
            .map_err(err)?;
        y += 19.0;
    }
    y += 14.0;
    for (label, value) in &c.facts {
        for line in
            text::wrap(&format!("{label}: {value}"), Face::Regular, 12.0, width).map_err(err)?
        {
            line.draw(&mut surface, left, y).map_err(err)?;
            y += 16.0;
        }
    }
    y += 10.0;
    let heading = text::shape("Lý do từ chối:", Face::Bold, 12.0).map_err(err)?;
    heading.draw(&mut surface, left, y).map_err(err)?;
    y += 16.0;
    for paragraph in &c.reason {
        for line in text::wrap(paragraph, Face::Regular, 12.0, width).map_err(err)? {
            line.draw(&mut surface, left, y).map_err(err)?;
            y += 16.0;
        }
    }
    y += 6.0;
    for line in text::wrap(
        &format!("Căn cứ pháp lý: {}.", c.legal_basis),
        Face::Regular,
        12.0,
        width,
    )
    .map_err(err)?
    {
        line.draw(&mut surface, left, y).map_err(err)?;
        y += 16.0;
    }
    y += 24.0;
    // The agency's signature block, right half.
    let sig_col = (page_w / 2.0 - 10.0, right);
    let mid = (sig_col.0 + sig_col.1) / 2.0;
    for line in text::wrap(&c.agency, Face::Bold, 12.0, sig_col.1 - sig_col.0).map_err(err)? {
        line.draw(&mut surface, mid - line.width / 2.0, y)
            .map_err(err)?;
        y += 16.0;
    }
    let (sig_w, sig_h) = (220.0_f32, 80.0_f32);
    let top = (y + 4.0).min(page_h - sig_h - 40.0);
    let rect = [
        mid - sig_w / 2.0,
        page_h - (top + sig_h),
        mid + sig_w / 2.0,
        page_h - top,
    ];
    let id_line = text::shape(&format!("Mã văn bản: {}", c.id), Face::Regular, 9.0).map_err(err)?;
    id_line
        .draw(&mut surface, left, page_h - 40.0)
        .map_err(err)?;
    surface.finish();
    page.finish();
    let pdf = doc
        .finish()
        .map_err(|e| PdfError::Export(format!("the refusal notice is not PDF/A-2b: {e:?}")))?;
    let pdf = final_write::fill_images(
        &pdf,
        Images {
            jpegs: &[],
            flates: &[],
        },
        true,
    )
    .map_err(PdfError::Export)?;
    Ok(AssembledNotice {
        pdf,
        signature_area: Area {
            page_index: 0,
            rect,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_one_pdfa_page() {
        let n = assemble_notice(&NoticeContent {
            id: "0190e1c2-7a3b-7c4d-8e5f-000000000000".into(),
            agency: "UBND xã Đông Sơn".into(),
            title: "THÔNG BÁO TỪ CHỐI CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH".into(),
            facts: vec![("Loại giấy tờ".into(), "Giấy khai sinh".into())],
            reason: vec!["Bản chính bị tẩy xóa.".into()],
            legal_basis: "Khoản 1 Điều 22 Nghị định 23/2015/NĐ-CP".into(),
            date_line: "Ngày 05 tháng 01 năm 2026".into(),
            signing_time: time::macros::datetime!(2026-01-05 09:00:00 +07:00),
        })
        .unwrap();
        assert!(n.pdf.starts_with(b"%PDF-"));
        assert!(n.signature_area.rect[2] > n.signature_area.rect[0]);
        assert!(String::from_utf8_lossy(&n.pdf).contains("pdfaid"));
    }
}
