//! Modification detection: compares the revision a signature covers with the final document.
//! Later revisions may only add or fill signature fields (with their widgets and appearances),
//! extend the AcroForm, add /DSS validation data and touch the catalog and pages for those;
//! anything else (content, resources, other annotations, pages, catalog entries) is a change.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::pdf::objects::{self as pdf, as_dict, get, get_name};
use crate::report::ModificationLevel;

/// Most objects visited in one reachability walk.
const MAX_WALK: usize = 500_000;
/// Deepest nesting compared.
const MAX_CMP_DEPTH: usize = 64;

/// Catalog entries a later revision may change.
const CATALOG_ALLOWED: &[&[u8]] = &[
    b"AcroForm",
    b"DSS",
    b"Extensions",
    b"Version",
    b"Metadata",
    b"Perms",
];
/// AcroForm entries a later revision may change.
const ACROFORM_ALLOWED: &[&[u8]] = &[b"Fields", b"SigFlags", b"DR", b"DA", b"NeedAppearances"];

/// What changed after a signature.
#[derive(Debug, Clone, Default)]
pub struct DiffResult {
    /// Changes beyond adding signatures and validation data, each with its class.
    pub changes: Vec<(ModificationLevel, String)>,
    /// Changes that only add signatures or validation data (for the report).
    pub allowed: usize,
}

impl DiffResult {
    /// The class of the whole difference.
    pub fn level(&self) -> ModificationLevel {
        let base = if self.allowed > 0 {
            ModificationLevel::SignaturesAndValidationData
        } else {
            ModificationLevel::None
        };
        self.changes.iter().map(|(l, _)| *l).fold(base, Ord::max)
    }

    /// Descriptions of the changes above `permitted`.
    pub fn beyond(&self, permitted: ModificationLevel) -> Vec<String> {
        self.changes
            .iter()
            .filter(|(l, _)| *l > permitted)
            .map(|(_, d)| d.clone())
            .collect()
    }

    fn other(&mut self, d: String) {
        self.changes.push((ModificationLevel::Other, d));
    }
}

/// Annotation subtypes other than widgets (ISO 32000-2, 12.5.6).
const ANNOT_SUBTYPES: &[&[u8]] = &[
    b"Text",
    b"Link",
    b"FreeText",
    b"Line",
    b"Square",
    b"Circle",
    b"Polygon",
    b"PolyLine",
    b"Highlight",
    b"Underline",
    b"Squiggly",
    b"StrikeOut",
    b"Caret",
    b"Stamp",
    b"Ink",
    b"Popup",
    b"FileAttachment",
    b"Sound",
    b"Movie",
    b"Screen",
    b"PrinterMark",
    b"TrapNet",
    b"Watermark",
    b"3D",
    b"Redact",
    b"Projection",
    b"RichMedia",
];
/// Entries of a non-signature field that filling it may change.
const FILL_KEYS: &[&[u8]] = &[b"V", b"AS", b"AP"];

fn is_markup_annot(doc: &Document, d: &Dictionary) -> bool {
    get_name(doc, d, b"Subtype").is_some_and(|t| ANNOT_SUBTYPES.contains(&t))
}

/// Compares `signed` (the revision covered by the signature) with `current`.
pub fn compare(signed: &Document, current: &Document) -> DiffResult {
    let mut res = DiffResult::default();
    let (allowed, new_widgets) = allowed_additions(signed, current);

    // Objects still in use.
    let mut roots = Vec::new();
    if let Ok(r) = current.trailer.get(b"Root") {
        roots.push(r.clone());
    }
    let live = reachable(current, roots.into_iter(), &[]);
    let old_root = match signed.trailer.get(b"Root") {
        Ok(Object::Reference(id)) => Some(*id),
        _ => None,
    };
    let new_root = match current.trailer.get(b"Root") {
        Ok(Object::Reference(id)) => Some(*id),
        _ => None,
    };
    let old_acro = pdf::catalog(signed).and_then(|c| match c.get(b"AcroForm") {
        Ok(Object::Reference(id)) => Some(*id),
        _ => None,
    });
    let old_pages: BTreeMap<ObjectId, u32> = signed
        .get_pages()
        .into_iter()
        .map(|(n, id)| (id, n))
        .collect();
    let new_pages: BTreeMap<ObjectId, u32> = current
        .get_pages()
        .into_iter()
        .map(|(n, id)| (id, n))
        .collect();
    if old_pages.len() != new_pages.len() || old_pages.keys().ne(new_pages.keys()) {
        res.other(format!(
            "the pages changed ({} pages signed, {} now)",
            old_pages.len(),
            new_pages.len()
        ));
    }

    // Catalog (by value, even if renumbered).
    match (pdf::catalog(signed), pdf::catalog(current)) {
        (Some(o), Some(n)) => {
            for k in changed_keys(signed, o, current, n) {
                if !CATALOG_ALLOWED.contains(&k.as_slice()) {
                    res.other(format!(
                        "catalog entry /{} changed",
                        String::from_utf8_lossy(&k)
                    ));
                }
            }
            // An inline or renumbered AcroForm is compared by value too.
            if let (Some(oa), Some(na)) = (
                o.get(b"AcroForm").ok().and_then(|x| as_dict(signed, x)),
                n.get(b"AcroForm").ok().and_then(|x| as_dict(current, x)),
            ) {
                check_acroform(signed, oa, current, na, &new_widgets, &mut res);
            }
        }
        _ => res.other("the catalog cannot be read".into()),
    }

    let (fill_aps, annot_aps) = changed_appearances(signed, current);

    for (id, obj) in &current.objects {
        let old = signed.objects.get(id);
        if let Some(o) = old
            && obj_eq(signed, o, current, obj, 0)
        {
            continue;
        }
        if Some(*id) == new_root || Some(*id) == old_root || Some(*id) == old_acro {
            res.allowed += 1;
            continue; // judged above
        }
        if let Some(d) = as_dict(current, obj)
            && matches!(get_name(current, d, b"Type"), Some(b"XRef" | b"ObjStm"))
        {
            continue;
        }
        if allowed.contains(id) {
            res.allowed += 1;
            continue;
        }
        if old.is_none() && !live.contains(id) {
            continue; // unused new object
        }
        if let (Some(o), true) = (old, new_pages.contains_key(id)) {
            if check_page(signed, o, current, obj, &new_widgets, &mut res) {
                res.allowed += 1;
                continue;
            }
            continue;
        }
        if old.is_some() && !live.contains(id) {
            continue; // changed but no longer used
        }
        // An /Annots array object of a page that only gained signature widgets.
        if let (Some(Object::Array(oa)), Object::Array(na)) = (old, obj)
            && na.starts_with(oa)
            && na.len() > oa.len()
            && na
                .get(oa.len()..)
                .unwrap_or_default()
                .iter()
                .all(|a| matches!(a, Object::Reference(r) if new_widgets.contains(r)))
        {
            res.allowed += 1;
            continue;
        }
        let level = classify(signed, old, current, (*id, obj), &fill_aps, &annot_aps);
        res.changes
            .push((level, describe(current, *id, obj, old.is_none())));
        if res.changes.len() > 20 {
            break;
        }
    }
    // Objects in use when signed that disappeared.
    let mut old_roots = Vec::new();
    if let Ok(r) = signed.trailer.get(b"Root") {
        old_roots.push(r.clone());
    }
    for id in reachable(signed, old_roots.into_iter(), &[]) {
        if !current.objects.contains_key(&id) {
            res.other(format!("object {} {} was removed", id.0, id.1));
            break;
        }
    }
    res
}

/// Objects that may be new or changed after signing whatever the permissions: /DSS, new
/// signature fields with their widgets and appearances, /DR resources, /Info and XMP
/// metadata; and the new signature widgets among them.
fn allowed_additions(
    signed: &Document,
    current: &Document,
) -> (BTreeSet<ObjectId>, BTreeSet<ObjectId>) {
    let mut allowed: BTreeSet<ObjectId> = BTreeSet::new();
    let is_new = |id: &ObjectId| !signed.objects.contains_key(id);
    // /DSS: new objects, or objects already in the signed revision's /DSS.
    let old_dss = pdf::catalog(signed)
        .and_then(|c| c.get(b"DSS").ok())
        .map(|d| reachable(signed, std::iter::once(d.clone()), &[]))
        .unwrap_or_default();
    if let Some(d) = pdf::catalog(current).and_then(|c| c.get(b"DSS").ok()) {
        for id in reachable(current, std::iter::once(d.clone()), &[b"P", b"Parent"]) {
            if is_new(&id) || old_dss.contains(&id) {
                allowed.insert(id);
            }
        }
    }
    // Signature fields that were absent or empty in the signed revision.
    let old_sig_fields: BTreeSet<ObjectId> = pdf::find_signatures(signed)
        .into_iter()
        .filter_map(|s| s.field_id)
        .collect();
    let mut new_widgets: BTreeSet<ObjectId> = BTreeSet::new();
    for (id, obj) in &current.objects {
        let Some(d) = as_dict(current, obj) else {
            continue;
        };
        let is_sig_field = field_type(current, d).as_deref() == Some(b"Sig".as_slice());
        if !is_sig_field {
            continue;
        }
        if old_sig_fields.contains(id) {
            continue;
        }
        // The field was not signed before: it, its widgets, /V and appearances may be new.
        allowed.insert(*id);
        new_widgets.insert(*id);
        let mut roots = Vec::new();
        for k in [b"V".as_slice(), b"AP", b"MK", b"Lock", b"SV"] {
            if let Ok(o) = d.get(k) {
                roots.push(o.clone());
            }
        }
        if let Some(Object::Array(kids)) = get(current, d, b"Kids") {
            for k in kids {
                if let Object::Reference(kid) = k {
                    allowed.insert(*kid);
                    new_widgets.insert(*kid);
                }
                if let Some(kd) = as_dict(current, k)
                    && let Ok(ap) = kd.get(b"AP")
                {
                    roots.push(ap.clone());
                }
            }
        }
        for r in reachable(current, roots.into_iter(), &[b"P", b"Parent"]) {
            if is_new(&r) {
                allowed.insert(r);
            }
        }
    }
    // /DR fonts for appearances, the /Info dictionary and XMP metadata.
    let mut extra_roots = Vec::new();
    if let Some(acro) = pdf::catalog(current).and_then(|c| c.get(b"AcroForm").ok())
        && let Some(ad) = as_dict(current, acro)
        && let Ok(dr) = ad.get(b"DR")
    {
        extra_roots.push(dr.clone());
    }
    for r in reachable(current, extra_roots.into_iter(), &[b"P", b"Parent"]) {
        if is_new(&r) {
            allowed.insert(r);
        }
    }
    if let Ok(Object::Reference(info)) = current.trailer.get(b"Info") {
        allowed.insert(*info);
    }
    if let Some(Ok(Object::Reference(m))) = pdf::catalog(current).map(|c| c.get(b"Metadata")) {
        allowed.insert(*m);
    }
    (allowed, new_widgets)
}

/// What the appearances (and values) of changed form fields and markup annotations reach:
/// (form filling, annotations).
fn changed_appearances(
    signed: &Document,
    current: &Document,
) -> (BTreeSet<ObjectId>, BTreeSet<ObjectId>) {
    // Appearances (and values) of filled form fields and of markup annotations.
    let mut fill_roots = Vec::new();
    let mut annot_roots = Vec::new();
    for (id, obj) in &current.objects {
        let Some(d) = as_dict(current, obj) else {
            continue;
        };
        if signed
            .objects
            .get(id)
            .is_some_and(|o| obj_eq(signed, o, current, obj, 0))
        {
            continue;
        }
        if is_markup_annot(current, d) {
            annot_roots.extend(d.get(b"AP").ok().cloned());
        } else if field_type(current, d).is_some_and(|t| t != b"Sig") {
            for k in FILL_KEYS {
                fill_roots.extend(d.get(k).ok().cloned());
            }
        }
    }
    let fill_aps = reachable(current, fill_roots.into_iter(), &[b"P", b"Parent"]);
    let annot_aps = reachable(current, annot_roots.into_iter(), &[b"P", b"Parent"]);
    (fill_aps, annot_aps)
}

fn field_type<'a>(doc: &'a Document, mut d: &'a Dictionary) -> Option<Vec<u8>> {
    for _ in 0..32 {
        if let Some(n) = get_name(doc, d, b"FT") {
            return Some(n.to_vec());
        }
        d = as_dict(doc, d.get(b"Parent").ok()?)?;
    }
    None
}

fn check_acroform(
    od: &Document,
    o: &Dictionary,
    nd: &Document,
    n: &Dictionary,
    new_widgets: &BTreeSet<ObjectId>,
    res: &mut DiffResult,
) {
    for k in changed_keys(od, o, nd, n) {
        if !ACROFORM_ALLOWED.contains(&k.as_slice()) {
            res.other(format!(
                "AcroForm entry /{} changed",
                String::from_utf8_lossy(&k)
            ));
        }
    }
    let of = match get(od, o, b"Fields") {
        Some(Object::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    let nf = match get(nd, n, b"Fields") {
        Some(Object::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    for f in &of {
        if !nf.contains(f) {
            res.other("a form field was removed".into());
            return;
        }
    }
    for f in &nf {
        if of.contains(f) {
            continue;
        }
        let ok = matches!(f, Object::Reference(r) if new_widgets.contains(r));
        if !ok {
            res.other("a form field other than a signature field was added".into());
            return;
        }
    }
}

/// A page may change only by gaining signature widgets in /Annots.
fn check_page(
    od: &Document,
    o: &Object,
    nd: &Document,
    n: &Object,
    new_widgets: &BTreeSet<ObjectId>,
    res: &mut DiffResult,
) -> bool {
    let (Some(o), Some(n)) = (as_dict(od, o), as_dict(nd, n)) else {
        res.other("a page object changed type".into());
        return false;
    };
    for k in changed_keys(od, o, nd, n) {
        if k != b"Annots" {
            res.other(format!(
                "page entry /{} changed",
                String::from_utf8_lossy(&k)
            ));
            return false;
        }
    }
    let oa = match get(od, o, b"Annots") {
        Some(Object::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    let na = match get(nd, n, b"Annots") {
        Some(Object::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    for a in &oa {
        if !na.contains(a) {
            res.changes.push((
                ModificationLevel::Annotations,
                "an annotation was removed from a page".into(),
            ));
            return false;
        }
    }
    for a in &na {
        if oa.contains(a) {
            continue;
        }
        let markup = matches!(a, Object::Reference(r)
            if nd.objects.get(r).and_then(|o| as_dict(nd, o)).is_some_and(|d| is_markup_annot(nd, d)));
        if !matches!(a, Object::Reference(r) if new_widgets.contains(r)) {
            let level = if markup {
                ModificationLevel::Annotations
            } else {
                ModificationLevel::Other
            };
            res.changes.push((
                level,
                "an annotation other than a signature widget was added to a page".into(),
            ));
            return false;
        }
    }
    true
}

/// Keys whose values differ between two dictionaries.
fn changed_keys(od: &Document, o: &Dictionary, nd: &Document, n: &Dictionary) -> Vec<Vec<u8>> {
    let mut keys: BTreeSet<Vec<u8>> = o.iter().map(|(k, _)| k.clone()).collect();
    keys.extend(n.iter().map(|(k, _)| k.clone()));
    keys.into_iter()
        .filter(|k| match (o.get(k), n.get(k)) {
            (Ok(a), Ok(b)) => !obj_eq(od, a, nd, b, 0),
            (Err(_), Err(_)) => false,
            _ => true,
        })
        .collect()
}

/// Structural equality; references are equal when they name the same object and that object
/// is unchanged, or (for direct comparison) simply the same id.
fn obj_eq(od: &Document, a: &Object, nd: &Document, b: &Object, depth: usize) -> bool {
    if depth > MAX_CMP_DEPTH {
        return false;
    }
    match (a, b) {
        (Object::Reference(x), Object::Reference(y)) => x == y,
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| obj_eq(od, p, nd, q, depth + 1))
        }
        (Object::Dictionary(x), Object::Dictionary(y)) => dict_eq(od, x, nd, y, depth),
        (Object::Stream(x), Object::Stream(y)) => {
            x.content == y.content && dict_eq(od, &x.dict, nd, &y.dict, depth)
        }
        (Object::String(x, _), Object::String(y, _)) => x == y,
        (Object::Integer(x), Object::Real(y)) | (Object::Real(y), Object::Integer(x)) => {
            (*x as f64 - f64::from(*y)).abs() < 1e-9
        }
        _ => a == b,
    }
}

fn dict_eq(od: &Document, x: &Dictionary, nd: &Document, y: &Dictionary, depth: usize) -> bool {
    x.len() == y.len()
        && x.iter().all(|(k, v)| match y.get(k) {
            Ok(w) => obj_eq(od, v, nd, w, depth + 1),
            Err(_) => false,
        })
}

/// Object ids reachable from `roots`, not following the keys in `skip`.
fn reachable(
    doc: &Document,
    roots: impl Iterator<Item = Object>,
    skip: &[&[u8]],
) -> BTreeSet<ObjectId> {
    let mut seen = BTreeSet::new();
    let roots: Vec<Object> = roots.collect();
    // Borrowed, never cloned: a stream reached by reference is walked through its dictionary.
    let mut queue: VecDeque<&Object> = roots.iter().collect();
    let mut steps = 0usize;
    while let Some(o) = queue.pop_front() {
        steps += 1;
        if steps > MAX_WALK {
            break;
        }
        match o {
            Object::Reference(id) if seen.insert(*id) => {
                if let Some(t) = doc.objects.get(id) {
                    queue.push_back(t);
                }
            }
            Object::Array(a) => queue.extend(a.iter()),
            Object::Dictionary(d) => {
                for (k, v) in d.iter() {
                    if !skip.contains(&k.as_slice()) {
                        queue.push_back(v);
                    }
                }
            }
            Object::Stream(s) => {
                for (k, v) in s.dict.iter() {
                    if !skip.contains(&k.as_slice()) {
                        queue.push_back(v);
                    }
                }
            }
            _ => {}
        }
    }
    seen
}

fn describe(doc: &Document, id: ObjectId, obj: &Object, new: bool) -> String {
    let what = as_dict(doc, obj)
        .map(|d| {
            let t = get_name(doc, d, b"Type").or_else(|| get_name(doc, d, b"Subtype"));
            match (t, obj) {
                (Some(t), _) => format!("/{}", String::from_utf8_lossy(t)),
                (None, Object::Stream(_)) => "stream".into(),
                _ => "dictionary".into(),
            }
        })
        .unwrap_or_else(|| "object".into());
    format!(
        "{} {what} object {} {} after signing",
        if new { "added" } else { "changed" },
        id.0,
        id.1
    )
}

/// The class of one changed or added object that is not a signature or validation data.
fn classify(
    od: &Document,
    old: Option<&Object>,
    nd: &Document,
    (id, obj): (ObjectId, &Object),
    fill_aps: &BTreeSet<ObjectId>,
    annot_aps: &BTreeSet<ObjectId>,
) -> ModificationLevel {
    let Some(d) = as_dict(nd, obj) else {
        return ModificationLevel::Other;
    };
    if is_markup_annot(nd, d) {
        return ModificationLevel::Annotations;
    }
    if let Some(o) = old.and_then(|o| as_dict(od, o))
        && field_type(nd, d).is_some_and(|t| t != b"Sig")
        && changed_keys(od, o, nd, d)
            .iter()
            .all(|k| FILL_KEYS.contains(&k.as_slice()))
    {
        return ModificationLevel::FormFilling;
    }
    // Only new objects can be appearances of a filled field or an annotation: an old object
    // changed (a font, say) changes what existing content shows.
    let new = !od.objects.contains_key(&id);
    if new && fill_aps.contains(&id) {
        ModificationLevel::FormFilling
    } else if new && annot_aps.contains(&id) {
        ModificationLevel::Annotations
    } else {
        ModificationLevel::Other
    }
}
