//! Name constraints (RFC 5280 §4.2.1.10, §6.1.3 (b)–(c), §6.1.4 (g)): each nameConstraints
//! extension met along the path is kept as it is, and every later certificate's names must
//! lie in some permitted subtree of each (for the forms it constrains) and in no excluded one.
//! Keeping the extensions rather than computing intersections gives the same answers.

use crate::x509::names::GName;

/// The subtrees of one nameConstraints extension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subtrees {
    /// permittedSubtrees (`None` when absent).
    pub permitted: Option<Vec<GName>>,
    /// excludedSubtrees.
    pub excluded: Vec<GName>,
}

/// Two names of one form (the form a constraint applies to).
fn same_form(a: &GName, b: &GName) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// The name form in words (for reasons).
fn form(n: &GName) -> &'static str {
    match n {
        GName::Email(_) => "rfc822Name",
        GName::Dns(_) => "dNSName",
        GName::Uri(_) => "uniformResourceIdentifier",
        GName::Ip(_) => "iPAddress",
        GName::Dir(_) => "directoryName",
        GName::Other(o) => o,
    }
}

/// `name` lies in the subtree `base` (both of one form).
pub fn matches(name: &GName, base: &GName) -> bool {
    match (name, base) {
        (GName::Dir(n), GName::Dir(b)) => n.within(b),
        (GName::Email(n), GName::Email(b)) => email_in(n, b),
        (GName::Dns(n), GName::Dns(b)) => dns_in(n, b),
        (GName::Uri(n), GName::Uri(b)) => uri_host(n).is_some_and(|h| host_in(h, b)),
        (GName::Ip(n), GName::Ip(b)) => ip_in(n, b),
        _ => false,
    }
}

fn ends_with_ci(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.get(s.len() - suffix.len()..)
            .is_some_and(|t| t.eq_ignore_ascii_case(suffix))
}

/// A mailbox, a host (all its mailboxes) or a domain (`.example.com`: its hosts).
fn email_in(name: &str, base: &str) -> bool {
    if base.contains('@') {
        return name.eq_ignore_ascii_case(base);
    }
    let host = name.rsplit_once('@').map_or(name, |(_, h)| h);
    host_in(host, base)
}

/// `base` starting with a dot: any host below that domain; otherwise that host exactly.
fn host_in(host: &str, base: &str) -> bool {
    if base.starts_with('.') {
        ends_with_ci(host, base)
    } else {
        host.eq_ignore_ascii_case(base)
    }
}

/// The name itself or any name with more labels on the left.
fn dns_in(name: &str, base: &str) -> bool {
    let base = base.strip_prefix('.').unwrap_or(base);
    if base.is_empty() {
        return true;
    }
    name.eq_ignore_ascii_case(base) || ends_with_ci(name, &format!(".{base}"))
}

/// The host part of a URI (`None` when it has none).
fn uri_host(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port
            .split(']')
            .next()
            .map(|h| h.trim_start_matches('['))?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

/// An address inside an address range given as address and mask.
fn ip_in(name: &[u8], base: &[u8]) -> bool {
    if base.len() != name.len() * 2 || name.is_empty() {
        return false;
    }
    let (addr, mask) = base.split_at(name.len());
    name.iter()
        .zip(addr)
        .zip(mask)
        .all(|((n, a), m)| n & m == a & m)
}

/// Checks `names` (a certificate's subject and alternative names) against one extension;
/// `Err` says which name falls outside.
pub fn check(names: &[GName], nc: &Subtrees) -> Result<(), String> {
    for n in names {
        if matches!(n, GName::Other(_)) {
            continue;
        }
        if let Some(permitted) = &nc.permitted {
            let of_form: Vec<&GName> = permitted.iter().filter(|b| same_form(n, b)).collect();
            if !of_form.is_empty() && !of_form.iter().any(|b| matches(n, b)) {
                return Err(format!(
                    "{} {} is outside the permitted subtrees",
                    form(n),
                    show(n)
                ));
            }
        }
        if let Some(b) = nc
            .excluded
            .iter()
            .find(|b| same_form(n, b) && matches(n, b))
        {
            return Err(format!(
                "{} {} is in the excluded subtree {}",
                form(n),
                show(n),
                show(b)
            ));
        }
    }
    Ok(())
}

/// A name in words.
fn show(n: &GName) -> String {
    match n {
        GName::Email(s) | GName::Dns(s) | GName::Uri(s) => format!("{s:?}"),
        GName::Ip(b) => hex::encode(b),
        GName::Dir(d) => {
            d.0.iter()
                .flatten()
                .map(|a| a.value.as_str())
                .collect::<Vec<_>>()
                .join(",")
        }
        GName::Other(o) => (*o).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_match_as_rfc_5280_says() {
        assert!(dns_in("a.example.com", "example.com"));
        assert!(!dns_in("badexample.com", "example.com"));
        assert!(email_in("x@mail.example.com", ".example.com"));
        assert!(!email_in("x@example.com", ".example.com"));
        assert!(email_in("x@example.com", "example.com"));
        assert_eq!(uri_host("http://u@h.example:80/p"), Some("h.example"));
        assert!(ip_in(&[10, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_in(&[11, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
    }

    #[test]
    fn forms_not_constrained_pass() {
        let nc = Subtrees {
            permitted: Some(vec![GName::Dns("example.com".into())]),
            excluded: vec![],
        };
        assert!(check(&[GName::Email("a@b".into())], &nc).is_ok());
        assert!(check(&[GName::Dns("x.other.org".into())], &nc).is_err());
    }
}
