//! The two languages of the pages (Vietnamese by default, English by `?lang=en`) and HTML
//! escaping: every text that comes from a record, a report or an upload goes through
//! [`esc`] before it is put into a page.

use crate::app::VIETNAM_OFFSET;

/// A language of the pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    /// Tiếng Việt (the default).
    #[default]
    Vi,
    /// English.
    En,
}

impl Lang {
    /// The language a query string asks for (`lang=en`), Vietnamese otherwise.
    pub fn from_query(query: Option<&str>) -> Self {
        let asked = query.into_iter().flat_map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == "lang")
                .map(|(_, v)| v.into_owned())
        });
        match asked.last().as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Vi,
        }
    }

    /// The BCP 47 code (`vi`, `en`), for `<html lang>` and the query string.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// The other language (for the switch).
    pub fn other(self) -> Self {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }

    /// `vi` or `en`, as this language.
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// `text` escaped for HTML text and attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An RFC 3339 time as a person in Vietnam reads it: `24/11/2026 09:15:30 (UTC+7)`, in
/// Vietnam's time whatever offset it was written with; anything that does not parse is
/// returned as it is.
pub fn human_time(rfc3339: &str) -> String {
    match vietnam_time(rfc3339) {
        Some(t) => format!(
            "{:02}/{:02}/{} {:02}:{:02}:{:02} (UTC+7)",
            t.day(),
            u8::from(t.month()),
            t.year(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        None => rfc3339.to_string(),
    }
}

/// The date of an RFC 3339 time in Vietnam: `24/11/2026`; anything else as it is.
pub fn human_date(rfc3339: &str) -> String {
    match vietnam_time(rfc3339) {
        Some(t) => format!("{:02}/{:02}/{}", t.day(), u8::from(t.month()), t.year()),
        None => rfc3339.to_string(),
    }
}

fn vietnam_time(rfc3339: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(
        rfc3339.trim(),
        &time::format_description::well_known::Rfc3339,
    )
    .ok()
    .map(|t| t.to_offset(VIETNAM_OFFSET))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn language_comes_from_the_query() {
        assert_eq!(Lang::from_query(Some("lang=en")), Lang::En);
        assert_eq!(Lang::from_query(Some("a=1&lang=vi")), Lang::Vi);
        assert_eq!(Lang::from_query(Some("lang=xx")), Lang::Vi);
        assert_eq!(Lang::from_query(None), Lang::Vi);
    }

    #[test]
    fn times_read_like_a_person_writes_them() {
        assert_eq!(
            human_time("2026-11-24T09:15:30+07:00"),
            "24/11/2026 09:15:30 (UTC+7)"
        );
        assert_eq!(
            human_time("2026-11-24T20:15:30.5Z"),
            "25/11/2026 03:15:30 (UTC+7)"
        );
        assert_eq!(human_time("yesterday"), "yesterday");
        assert_eq!(human_time("2026-11-24T09:1é"), "2026-11-24T09:1é");
        assert_eq!(human_date("2026-11-24T09:15:30+07:00"), "24/11/2026");
    }
}
