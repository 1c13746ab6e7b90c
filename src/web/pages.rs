//! The pages, built as strings: every value from a record, a report or an upload is
//! escaped ([`esc`]). No script, no external font or stylesheet: one small stylesheet
//! served by the listener itself (`/static/saoy.css`), readable on a phone, labelled
//! controls, visible focus, contrast above WCAG AA.

use std::fmt::Write as _;

use crate::app::{PublicSignature, PublicVerification, Standing, StandingStatus};

use super::text::{Lang, esc, human_time};
use super::verdict::{Verdict, etsi_name, judge};

/// The stylesheet (`GET /static/saoy.css`).
pub const STYLESHEET: &str = r#":root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;font-size:1.05rem;line-height:1.5;color:#1a1a1a;background:#f6f6f4}
header,main,footer{max-width:44rem;margin:0 auto;padding:0 1rem}
header{display:flex;justify-content:space-between;align-items:center;gap:1rem;padding-top:.75rem;padding-bottom:.75rem;border-bottom:1px solid #d0d0c8}
header a.home{font-weight:700;color:#0b3d91;text-decoration:none}
a{color:#0b3d91}
a:focus,button:focus,input:focus{outline:3px solid #b35900;outline-offset:2px}
h1{font-size:1.45rem;margin:1rem 0 .5rem}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
.verdict{border-left:.5rem solid;padding:.75rem 1rem;margin:1rem 0;background:#fff;font-size:1.15rem;font-weight:600}
.good{border-color:#1b6e2d;color:#124d1f}
.bad{border-color:#a4161a;color:#7a0f12}
.unsure{border-color:#8a5a00;color:#5c3c00}
dl{display:grid;grid-template-columns:minmax(7rem,auto) 1fr;gap:.25rem .75rem;background:#fff;padding:.75rem 1rem;margin:0}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
.hash{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85rem;overflow-wrap:anywhere}
ul.sigs{list-style:none;padding:0;margin:0}
ul.sigs li{background:#fff;padding:.75rem 1rem;margin:0 0 .5rem}
form{background:#fff;padding:1rem;margin:1rem 0}
label{display:block;font-weight:600;margin-bottom:.5rem}
input[type=file]{display:block;width:100%;padding:.5rem 0;font-size:1rem}
button{margin-top:.75rem;font-size:1.05rem;padding:.6rem 1.2rem;border:0;border-radius:.25rem;background:#0b3d91;color:#fff;cursor:pointer}
details{margin-top:.4rem}
summary{cursor:pointer;color:#0b3d91}
footer{color:#4a4a4a;font-size:.9rem;padding-top:1rem;padding-bottom:2rem}
@media (max-width:30rem){dl{grid-template-columns:1fr}dt{margin-top:.4rem}}
"#;

/// A whole page: `path` is where the language switch leads (this page, other language).
fn layout(lang: Lang, title: &str, path: &str, body: &str) -> String {
    let other = lang.other();
    let switch_label = other.pick("Tiếng Việt", "English");
    let home_label = lang.pick("Kiểm tra bản sao điện tử", "Check a certified copy");
    format!(
        r#"<!DOCTYPE html>
<html lang="{code}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="stylesheet" href="/static/saoy.css">
</head>
<body>
<header><a class="home" href="/?lang={code}">{home_label}</a><a id="lang-switch" href="{path}?lang={other_code}" hreflang="{other_code}" lang="{other_code}">{switch_label}</a></header>
<main>
{body}
</main>
<footer>{footer}</footer>
</body>
</html>
"#,
        code = lang.code(),
        title = esc(title),
        path = esc(path),
        other_code = other.code(),
        footer = lang.pick(
            "Tệp tải lên chỉ được dùng để kiểm tra và không được lưu lại.",
            "Uploaded files are used only for the check and are not kept."
        ),
    )
}

fn upload_form(lang: Lang, action: &str, legend: &str) -> String {
    format!(
        r#"<form method="post" action="{action}?lang={code}" enctype="multipart/form-data">
<label for="file">{legend}</label>
<input id="file" name="file" type="file" accept="application/pdf,.pdf" required>
<button type="submit">{button}</button>
</form>"#,
        action = esc(action),
        code = lang.code(),
        legend = esc(legend),
        button = lang.pick("Kiểm tra", "Check"),
    )
}

/// `GET /`: upload any signed PDF.
pub fn home(lang: Lang) -> String {
    let title = lang.pick(
        "Kiểm tra bản sao điện tử",
        "Check an electronic certified copy",
    );
    let intro = lang.pick(
        "Chọn một tệp PDF có chữ ký số để biết tệp còn nguyên vẹn không, ai đã ký, và có phải bản sao điện tử do cơ quan cấp hay không.",
        "Choose a digitally signed PDF to learn whether it is intact, who signed it, and whether it is a certified copy issued by the agency.",
    );
    let body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n{}",
        esc(title),
        esc(intro),
        upload_form(lang, "/verify", lang.pick("Tệp PDF", "PDF file"))
    );
    layout(lang, title, "/", &body)
}

fn signature_item(lang: Lang, s: &PublicSignature) -> String {
    let mut out = String::from("<li>");
    let who = match (s.name.is_empty(), s.title.is_empty()) {
        (true, _) => lang
            .pick(
                "(không xác định được người ký)",
                "(the signer could not be identified)",
            )
            .to_string(),
        (false, true) => esc(&s.name),
        (false, false) => format!("{} — {}", esc(&s.name), esc(&s.title)),
    };
    let kind = if s.document_timestamp {
        lang.pick("Dấu thời gian của tài liệu", "Document time-stamp")
    } else {
        lang.pick("Người ký", "Signed by")
    };
    let _ = write!(out, "<strong>{kind}:</strong> {who}<br>");
    match (&s.timestamp, &s.claimed_time) {
        (Some(t), _) => {
            let _ = write!(
                out,
                "{}: {}<br>",
                lang.pick(
                    "Thời điểm ký (có dấu thời gian)",
                    "Signed at (time-stamped)"
                ),
                esc(&human_time(t))
            );
        }
        (None, Some(t)) => {
            let _ = write!(
                out,
                "{}: {}<br>",
                lang.pick(
                    "Thời điểm ký (do người ký tự khai)",
                    "Signed at (claimed by the signer)"
                ),
                esc(&human_time(t))
            );
        }
        (None, None) => {}
    }
    if let Some(level) = &s.level {
        let _ = write!(
            out,
            "{}: PAdES {}<br>",
            lang.pick("Mức chữ ký", "Level"),
            esc(level)
        );
    }
    let sub = s.sub_indication.map(|x| etsi_name(&x));
    let _ = write!(
        out,
        "<details><summary>{}</summary>ETSI EN 319 102-1: <span class=\"hash\">{}{}</span>{}</details>",
        lang.pick("Chi tiết kỹ thuật", "Technical details"),
        esc(&etsi_name(&s.status)),
        sub.map(|x| format!(" / {}", esc(&x))).unwrap_or_default(),
        if s.modified_after_signing {
            lang.pick(" — có thay đổi sau khi ký", " — changed after signing")
        } else {
            ""
        },
    );
    out.push_str("</li>");
    out
}

fn signatures_list(lang: Lang, signatures: &[PublicSignature]) -> String {
    if signatures.is_empty() {
        return format!(
            "<p>{}</p>",
            lang.pick("Không có chữ ký số nào.", "No signature.")
        );
    }
    let items: String = signatures.iter().map(|s| signature_item(lang, s)).collect();
    format!("<ul class=\"sigs\">{items}</ul>")
}

fn verdict_box(lang: Lang, verdict: &Verdict) -> String {
    format!(
        "<p id=\"verdict\" class=\"verdict {}\" role=\"status\">{}</p>",
        verdict.tone().class(),
        esc(&verdict.sentence(lang))
    )
}

fn trust_note(lang: Lang, v: &PublicVerification) -> String {
    format!("<p class=\"hash\">SHA-256: {}</p>", esc(&v.sha256))
        + &match &v.copy {
            Some(c) => format!(
                "<p>{} <a href=\"/c/{}?lang={}\">{}</a></p>",
                lang.pick("Đây là bản sao", "This is copy"),
                esc(&c.id),
                lang.code(),
                esc(&c.reference)
            ),
            None => String::new(),
        }
}

/// `POST /verify`: the verdict on an uploaded file.
pub fn verdict_page(lang: Lang, v: &PublicVerification) -> String {
    let title = lang.pick("Kết quả kiểm tra", "Verification result");
    let verdict = judge(&v.report, v.copy.as_ref());
    let body = format!(
        "<h1>{}</h1>\n{}\n<h2>{}</h2>\n{}\n{}\n{}",
        esc(title),
        verdict_box(lang, &verdict),
        lang.pick("Chữ ký", "Signatures"),
        signatures_list(lang, &v.signatures),
        trust_note(lang, v),
        upload_form(
            lang,
            "/verify",
            lang.pick("Kiểm tra tệp khác", "Check another file")
        )
    );
    layout(lang, title, "/", &body)
}

fn status_line(lang: Lang, s: &Standing) -> String {
    match s.status {
        StandingStatus::Valid => format!(
            "<p id=\"standing\" class=\"verdict good\">{}</p>",
            lang.pick("Bản sao còn hiệu lực.", "This copy is valid.")
        ),
        StandingStatus::Expired => format!(
            "<p id=\"standing\" class=\"verdict bad\">{}</p>",
            lang.pick("Bản sao đã hết hiệu lực.", "This copy is no longer valid.")
        ),
        StandingStatus::Revoked => {
            let (decision, at) = s
                .revocation
                .as_ref()
                .map(|r| (r.decision.as_str(), r.at.as_str()))
                .unwrap_or(("", ""));
            let decided = s
                .revocation
                .as_ref()
                .filter(|r| !r.decision_number.is_empty())
                .map(|r| {
                    format!(
                        " <span id=\"decision\">{} {} {} {} ({})</span>",
                        lang.pick("Quyết định số", "Decision no."),
                        esc(&r.decision_number),
                        lang.pick("ngày", "of"),
                        esc(&r.decision_date),
                        esc(&r.decided_by)
                    )
                })
                .unwrap_or_default();
            format!(
                "<p id=\"standing\" class=\"verdict bad\">{} {} ({}){decided}</p>",
                lang.pick("Bản sao đã bị thu hồi:", "This copy has been revoked:"),
                esc(decision),
                esc(&human_time(at))
            )
        }
    }
}

fn facts(lang: Lang, s: &Standing) -> String {
    let mut rows = vec![
        (
            lang.pick("Cơ quan chứng thực", "Certified by"),
            esc(&s.agency_name),
        ),
        (
            lang.pick("Số chứng thực", "Certification number"),
            esc(&s.reference),
        ),
        (
            lang.pick("Ngày chứng thực", "Certified on"),
            esc(&human_time(&s.issued_at)),
        ),
    ];
    if let Some(until) = &s.valid_until {
        rows.push((
            lang.pick("Hiệu lực đến", "Valid until"),
            esc(&human_time(until)),
        ));
    }
    rows.push((lang.pick("Mã bản sao", "Copy id"), esc(&s.id)));
    for v in &s.versions {
        rows.push((
            lang.pick("SHA-256 của tệp đã cấp", "SHA-256 of the issued file"),
            format!("<span class=\"hash\">{}</span>", esc(&v.sha256)),
        ));
    }
    let items: String = rows
        .iter()
        .map(|(k, v)| format!("<dt>{k}</dt><dd>{v}</dd>"))
        .collect();
    format!("<dl>{items}</dl>")
}

fn check_result(lang: Lang, s: &Standing, v: &PublicVerification) -> String {
    let same = s.has_version(&v.sha256);
    let bytes = if same {
        lang.pick(
            "Tệp này đúng là tệp đã cấp (cùng SHA-256).",
            "This file is the issued file (same SHA-256).",
        )
    } else {
        lang.pick(
            "Tệp này KHÁC tệp đã cấp (SHA-256 khác).",
            "This file is NOT the issued file (different SHA-256).",
        )
    };
    let verdict = judge(&v.report, v.copy.as_ref());
    format!(
        "<section aria-labelledby=\"check\"><h2 id=\"check\">{}</h2>\n{}\n<p id=\"same-bytes\">{}</p>\n{}\n{}</section>",
        lang.pick("Kết quả kiểm tra tệp", "Result of the check"),
        verdict_box(lang, &verdict),
        esc(bytes),
        signatures_list(lang, &v.signatures),
        format_args!("<p class=\"hash\">SHA-256: {}</p>", esc(&v.sha256)),
    )
}

/// `GET /c/{id}` (and `POST /c/{id}/check` with the check's result): the copy's standing.
pub fn standing_page(lang: Lang, s: &Standing, check: Option<&PublicVerification>) -> String {
    let title = lang.pick("Bản sao điện tử chứng thực", "Electronic certified copy");
    let path = format!("/c/{}", s.id);
    let body = format!(
        "<h1>{}</h1>\n{}\n{}\n{}\n<h2>{}</h2>\n{}\n{}",
        esc(title),
        status_line(lang, s),
        check.map(|v| check_result(lang, s, v)).unwrap_or_default(),
        facts(lang, s),
        lang.pick("Chữ ký và dấu thời gian", "Signatures and time-stamps"),
        signatures_list(lang, &s.signatures),
        upload_form(
            lang,
            &format!("{path}/check"),
            lang.pick(
                "Kiểm tra một tệp với bản sao này (cùng nội dung? chữ ký hợp lệ?)",
                "Check a file against this copy (same bytes? signatures valid?)"
            )
        ),
    );
    layout(lang, title, &path, &body)
}

/// A page saying why a request was not answered.
pub fn error_page(lang: Lang, message: &str) -> String {
    let title = lang.pick("Không thực hiện được", "Cannot do that");
    let body = format!(
        "<h1>{}</h1>\n<p id=\"verdict\" class=\"verdict unsure\" role=\"alert\">{}</p>\n<p><a href=\"/?lang={}\">{}</a></p>",
        esc(title),
        esc(message),
        lang.code(),
        lang.pick("Về trang kiểm tra", "Back to the check page")
    );
    layout(lang, title, "/", &body)
}
