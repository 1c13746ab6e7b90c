//! The two languages of the pages (Vietnamese by default, English by `?lang=en`) and HTML
//! escaping: every text that comes from a record, a report or an upload goes through
//! [`esc`] before it is put into a page.

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

/// An RFC 3339 time as a person reads it: `24/11/2026 09:15:30 (+07:00)`; anything that
/// does not look like one is returned as it is.
pub fn human_time(rfc3339: &str) -> String {
    let b = rfc3339.as_bytes();
    let looks_right = b.len() >= 19
        && rfc3339.is_char_boundary(19)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ');
    if !looks_right {
        return rfc3339.to_string();
    }
    let (date, rest) = (&rfc3339[..10], &rfc3339[11..]);
    let time = &rest[..8];
    let zone = rest[8..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let zone = match zone {
        "Z" | "" => "UTC".to_string(),
        z => z.to_string(),
    };
    format!("{} {time} ({zone})", human_date(date))
}

/// `2026-11-24…` as `24/11/2026`; anything else as it is.
pub fn human_date(rfc3339: &str) -> String {
    match (rfc3339.get(0..4), rfc3339.get(5..7), rfc3339.get(8..10)) {
        (Some(y), Some(m), Some(d)) => format!("{d}/{m}/{y}"),
        _ => rfc3339.to_string(),
    }
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
            "24/11/2026 09:15:30 (+07:00)"
        );
        assert_eq!(human_time("2026-11-24T02:15:30.5Z"), "24/11/2026 02:15:30 (UTC)");
        assert_eq!(human_time("yesterday"), "yesterday");
        assert_eq!(human_date("2026-11-24T09:15:30+07:00"), "24/11/2026");
    }
}
