//! The house rules, read from the code: every `crate::…` path (and `saoy::…` in the binary)
//! is held against the allowed arrows between top-level modules, which this test reads from
//! the table in docs/ARCHITECTURE.md (so the document and the code cannot drift); files of
//! one folder import each other in no circle, in saoy and in the verifier crate
//! (crates/verify); no function in either is longer than 150 lines; only `clock.rs` reads the
//! wall clock (the verifier takes its validation time from its policy).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest function allowed outside the exempt folders, in lines (signature to closing brace).
const MAX_FN_LINES: usize = 150;
/// Folders whose function lengths are not held (none).
const LONG_FNS_EXEMPT: &[&str] = &[];
/// Folders not held to "no circle between files" (none).
const FILE_CYCLES_EXEMPT: &[&str] = &[];

/// One source file: its path under `src/` (e.g. `app/certify.rs`) and its text.
struct Source {
    rel: String,
    text: String,
}

/// Allowed arrows: module → the modules it may import.
type Arrows = BTreeMap<String, BTreeSet<String>>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_sources(dir: &Path, base: &Path, out: &mut Vec<Source>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_sources(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(base)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("read source");
            out.push(Source { rel, text });
        }
    }
}

/// Parses the arrows table between `<!-- arrows:begin -->` and `<!-- arrows:end -->`.
fn parse_arrows(doc: &str) -> Result<Arrows, String> {
    let start = doc
        .find("<!-- arrows:begin -->")
        .ok_or("no `<!-- arrows:begin -->` marker")?;
    let end = doc[start..]
        .find("<!-- arrows:end -->")
        .ok_or("no `<!-- arrows:end -->` marker")?
        + start;
    let mut arrows = Arrows::new();
    for line in doc[start..end].lines() {
        let line = line.trim();
        if !line.starts_with('|') || line.starts_with("|---") || line.contains("may import") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [from, to] = cells[..] else {
            return Err(format!("row {line:?} does not have two cells"));
        };
        let to = to
            .split(',')
            .map(|m| m.trim().trim_matches('`').to_string())
            .filter(|m| !m.is_empty())
            .collect();
        if arrows
            .insert(from.trim_matches('`').to_string(), to)
            .is_some()
        {
            return Err(format!("module {from} has two rows"));
        }
    }
    if arrows.is_empty() {
        return Err("the arrows table is empty".into());
    }
    Ok(arrows)
}

/// The top-level module of a file under `src/` (`app/certify.rs` → `app`, `clock.rs` →
/// `clock`); `None` for the library root.
fn top_module(rel: &str) -> Option<String> {
    let first = rel.split('/').next()?;
    if rel.contains('/') {
        return Some(first.to_string());
    }
    let stem = first.trim_end_matches(".rs");
    (stem != "lib").then(|| stem.to_string())
}

/// The text without comments and without the contents of string and char literals, so
/// that only code is looked at (line breaks kept, for line numbers).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                if b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else if c == b'r' && matches!(b.get(i + 1), Some(b'"' | b'#')) && !ident_before(b, i) {
            // Raw string r"…" / r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c as char);
                i += 1;
                continue;
            }
            j += 1;
            let closing: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&closing) {
                if b[j] == b'\n' {
                    out.push('\n');
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j + closing.len();
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                if b.get(i) == Some(&b'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let rest = &text[i + 1..];
            let len = match rest.chars().next() {
                Some('\\') => rest[1..].find('\'').map(|p| p + 2),
                Some(ch) if rest[ch.len_utf8()..].starts_with('\'') => Some(ch.len_utf8() + 1),
                _ => None,
            };
            match len {
                Some(n) => {
                    out.push_str("' '");
                    i += n + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            // Copy a whole UTF-8 character.
            let ch = text[i..].chars().next().expect("char");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn ident_before(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// Every top-level module named through `prefix::` (`crate` or `saoy`) in `code`, with the
/// line it is on: `crate::a::b`, `crate::{a, b::c}`.
fn imported_modules(code: &str, prefix: &str) -> Vec<(usize, String)> {
    let needle = format!("{prefix}::");
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find(&needle) {
            let before_ok = !ident_before(rest.as_bytes(), at);
            let after = &rest[at + needle.len()..];
            if before_ok {
                if let Some(group) = after.strip_prefix('{') {
                    let inner = group.split('}').next().unwrap_or("");
                    for item in inner.split(',') {
                        let name: String = item
                            .trim()
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if !name.is_empty() {
                            found.push((n + 1, name));
                        }
                    }
                } else {
                    let name: String = after
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        found.push((n + 1, name));
                    }
                }
            }
            rest = after;
        }
    }
    found
}

/// Imports that break the arrows, and modules missing from the table.
fn arrow_violations(sources: &[Source], arrows: &Arrows) -> Vec<String> {
    let mut bad = Vec::new();
    for s in sources {
        let Some(module) = top_module(&s.rel) else {
            continue;
        };
        let Some(allowed) = arrows.get(&module) else {
            bad.push(format!(
                "src/{}: module `{module}` has no row in the arrows table of docs/ARCHITECTURE.md",
                s.rel
            ));
            continue;
        };
        let prefix = if module == "main" { "saoy" } else { "crate" };
        for (line, target) in imported_modules(&code_only(&s.text), prefix) {
            if target == module || target == "self" || target == "super" {
                continue;
            }
            if !allowed.contains(&target) {
                bad.push(format!(
                    "src/{}:{line}: `{module}` imports `{target}`, which its row does not allow",
                    s.rel
                ));
            }
        }
    }
    bad
}

/// Circles between files of one folder, through `super::NAME` or `crate::…::NAME` paths.
fn file_cycles(sources: &[Source]) -> Vec<String> {
    // Module path of each file: app/certify.rs → ["app", "certify"]; app/mod.rs → ["app"].
    let module_path = |rel: &str| -> Vec<String> {
        let mut parts: Vec<String> = rel
            .trim_end_matches(".rs")
            .split('/')
            .map(String::from)
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        parts
    };
    let known: BTreeSet<Vec<String>> = sources.iter().map(|s| module_path(&s.rel)).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for s in sources {
        if s.rel.ends_with("mod.rs") || !s.rel.contains('/') {
            continue;
        }
        let me = module_path(&s.rel);
        if FILE_CYCLES_EXEMPT.contains(&me[0].as_str()) {
            continue;
        }
        let parent = me[..me.len() - 1].to_vec();
        let code = code_only(&s.text);
        let mut targets = BTreeSet::new();
        for (_, name) in imported_modules(&code, "super") {
            targets.insert([parent.clone(), vec![name]].concat());
        }
        // crate::a::b::name where a::b is the parent folder.
        let prefix = format!("crate::{}::", parent.join("::"));
        for line in code.lines() {
            let mut rest = line;
            while let Some(at) = rest.find(&prefix) {
                let after = &rest[at + prefix.len()..];
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                targets.insert([parent.clone(), vec![name]].concat());
                rest = after;
            }
        }
        targets.retain(|t| t != &me && t != &parent && known.contains(t));
        edges.insert(me, targets);
    }
    let mut cycles = Vec::new();
    for (a, outs) in &edges {
        for b in outs {
            if a < b && edges.get(b).is_some_and(|o| o.contains(a)) {
                cycles.push(format!("{} ⇄ {}", a.join("/"), b.join("/")));
            }
        }
    }
    // Longer circles: a node that reaches itself again.
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&Vec<String>> = edges[start].iter().collect();
        while let Some(n) = stack.pop() {
            if n == start {
                let name = format!("{} (circle through other files)", start.join("/"));
                if !cycles.iter().any(|c| c.contains(&start.join("/"))) {
                    cycles.push(name);
                }
                break;
            }
            if seen.insert(n.clone()) {
                stack.extend(edges.get(n).into_iter().flatten());
            }
        }
    }
    cycles
}

/// Functions longer than [`MAX_FN_LINES`], outside the exempt folders.
fn long_functions(sources: &[Source]) -> Vec<String> {
    let mut long = Vec::new();
    for s in sources {
        if top_module(&s.rel).is_some_and(|m| LONG_FNS_EXEMPT.contains(&m.as_str())) {
            continue;
        }
        let code = code_only(&s.text);
        let lines: Vec<&str> = code.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(name) = fn_name(line) else {
                continue;
            };
            // From the signature to the brace that closes the body.
            let mut depth = 0i32;
            let mut nest = 0i32;
            let mut opened = false;
            let mut end = None;
            'scan: for (j, l) in lines.iter().enumerate().skip(i) {
                for ch in l.chars() {
                    match ch {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth -= 1,
                        '(' | '[' => nest += 1,
                        ')' | ']' => nest -= 1,
                        ';' if !opened && depth == 0 && nest == 0 => break 'scan, // a declaration
                        _ => {}
                    }
                    if opened && depth == 0 {
                        end = Some(j);
                        break 'scan;
                    }
                }
            }
            if let Some(end) = end {
                let n = end - i + 1;
                if n > MAX_FN_LINES {
                    long.push(format!("src/{}:{}: fn {name} is {n} lines", s.rel, i + 1));
                }
            }
        }
    }
    long
}

/// The name of the function a line declares, if it does.
fn fn_name(line: &str) -> Option<String> {
    let mut words = line.split_whitespace().peekable();
    while let Some(w) = words.peek() {
        if w.starts_with("pub") || ["async", "const", "unsafe", "extern", "default"].contains(w) {
            words.next();
        } else {
            break;
        }
    }
    if words.next()? != "fn" {
        return None;
    }
    let name: String = words
        .next()?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn project() -> (Vec<Source>, Arrows) {
    let mut sources = Vec::new();
    read_sources(&root().join("src"), &root().join("src"), &mut sources);
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).expect("read docs");
    let arrows = parse_arrows(&doc).unwrap_or_else(|e| panic!("docs/ARCHITECTURE.md: {e}"));
    (sources, arrows)
}

#[test]
fn every_import_follows_the_arrows_of_the_architecture_document() {
    let (sources, arrows) = project();
    assert!(
        sources.len() > 50,
        "found only {} source files",
        sources.len()
    );
    let bad = arrow_violations(&sources, &arrows);
    assert!(bad.is_empty(), "wrong-way imports:\n{}", bad.join("\n"));
}

/// The verifier crate's sources, named `verify/…` (its `crate::` is the verifier's root).
fn verifier_sources() -> Vec<Source> {
    let base = root().join("crates/verify/src");
    let mut out = Vec::new();
    read_sources(&base, &base, &mut out);
    assert!(
        out.len() > 10,
        "found only {} verifier source files",
        out.len()
    );
    for s in &mut out {
        // lib.rs is the crate's face, like a folder's mod.rs.
        let rel = if s.rel == "lib.rs" {
            "mod.rs"
        } else {
            s.rel.as_str()
        };
        s.rel = format!("verify/{rel}");
        // The verifier's `crate::x` is `verify::x` seen from here.
        s.text = s.text.replace("crate::", "crate::verify::");
    }
    out
}

#[test]
fn no_two_files_of_a_folder_import_each_other() {
    let (mut sources, _) = project();
    sources.extend(verifier_sources());
    let cycles = file_cycles(&sources);
    assert!(
        cycles.is_empty(),
        "files in a circle:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn no_function_is_longer_than_the_limit() {
    let (mut sources, _) = project();
    sources.extend(verifier_sources());
    let long = long_functions(&sources);
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// Places that read the wall clock themselves, outside `clock.rs` and the exempt folders.
fn wall_clock_reads(sources: &[Source]) -> Vec<String> {
    let mut found = Vec::new();
    for s in sources {
        if s.rel == "clock.rs" || s.rel.starts_with("verify/") {
            continue;
        }
        for (n, line) in code_only(&s.text).lines().enumerate() {
            if ["now_utc()", "now_local()", "SystemTime::now()"]
                .iter()
                .any(|call| line.contains(call))
            {
                found.push(format!("src/{}:{}: {}", s.rel, n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn only_the_clock_reads_the_wall_clock() {
    let (sources, _) = project();
    let reads = wall_clock_reads(&sources);
    assert!(
        reads.is_empty(),
        "read the time through crate::clock::Clock instead:\n{}",
        reads.join("\n")
    );
    let bad = [Source {
        rel: "records/book.rs".into(),
        text: "fn f() { let t = time::OffsetDateTime::now_utc(); }\n".into(),
    }];
    assert_eq!(wall_clock_reads(&bad).len(), 1);
}

#[test]
fn the_checker_refuses_a_wrong_way_import() {
    let (_, arrows) = project();
    let wrong = [
        ("pdf/assemble.rs", "use crate::digitize::Page;\n"),
        (
            "pdf/pages.rs",
            "use crate::{clock::Clock, digitize::files};\n",
        ),
        (
            "verify/mod.rs",
            "fn f() { let _ = crate::sign::sign_pdf; }\n",
        ),
        ("records/book.rs", "pub use crate::app::App;\n"),
        ("newroom/mod.rs", "use crate::store::ObjectStore;\n"),
    ];
    for (rel, text) in wrong {
        let src = [Source {
            rel: rel.into(),
            text: text.into(),
        }];
        let bad = arrow_violations(&src, &arrows);
        assert_eq!(
            bad.len(),
            1,
            "{rel}: {text:?} should be refused once: {bad:?}"
        );
    }
    // Comments, doc links and strings are not imports; allowed arrows pass.
    let fine = [Source {
        rel: "pdf/assemble.rs".into(),
        text: "//! see [`crate::digitize::Page`]\nuse crate::clock::Clock;\nconst S: &str = \"crate::app\";\n"
            .into(),
    }];
    assert_eq!(arrow_violations(&fine, &arrows), Vec::<String>::new());
}

#[test]
fn the_checker_finds_files_in_a_circle_and_long_functions() {
    let two = |a: &str, b: &str| {
        [
            Source {
                rel: "digitize/driver.rs".into(),
                text: a.into(),
            },
            Source {
                rel: "digitize/files.rs".into(),
                text: b.into(),
            },
        ]
    };
    let circle = two(
        "use super::files::FileJpeg;\n",
        "use crate::digitize::driver;\n",
    );
    assert_eq!(file_cycles(&circle).len(), 1, "{:?}", file_cycles(&circle));
    let one_way = two("use super::files::FileJpeg;\n", "use super::checks;\n");
    assert!(file_cycles(&one_way).is_empty());

    let body = "    let x = '{';\n".repeat(MAX_FN_LINES);
    let long = [Source {
        rel: "pki/testca.rs".into(),
        text: format!("pub fn generate() {{\n{body}}}\nfn short() {{}}\n"),
    }];
    let found = long_functions(&long);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("fn generate"), "{found:?}");
}

#[test]
fn the_arrows_table_is_read_strictly() {
    assert!(parse_arrows("no table here").is_err());
    let doc = "<!-- arrows:begin -->\n| module | may import |\n|---|---|\n| a | b, c |\n| b | |\n<!-- arrows:end -->";
    let arrows = parse_arrows(doc).expect("parses");
    assert_eq!(
        arrows["a"],
        BTreeSet::from(["b".to_string(), "c".to_string()])
    );
    assert!(arrows["b"].is_empty());
}
