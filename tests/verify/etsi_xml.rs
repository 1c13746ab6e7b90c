//! `saoy verify --format etsi-xml`: the ETSI TS 119 102-2 validation report of files signed
//! by the agency and the certifier (test PKI), read back with Python's xml.etree and compared
//! with the JSON report of the same file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use crate::support::pkigen::{self, Kind};
use lopdf::{Document, Object, Stream, dictionary};
use saoy::pki::key::{Credential, RingKey, read_pem_certificates};
use saoy::sign::{SignRequest, sign_pdf};
use serde_json::Value;

const VR_NS: &str = "http://uri.etsi.org/19102/v1.2.1#";

fn pki(f: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("certs-test")
        .join(f)
}

/// A one-page PDF whose content stream is stored uncompressed.
fn unsigned() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let content = doc.add_object(Stream::new(
        dictionary! {},
        b"BT /F1 24 Tf 20 100 Td (Hello saoy) Tj ET".to_vec(),
    ));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 300.into(), 200.into()],
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        "Contents" => content,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![Object::Reference(page)], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}

/// `pdf` signed by the test PKI's `who` (agency or certifier) in field `field`.
fn sign(pdf: &[u8], who: &str, field: &str) -> Vec<u8> {
    let key = RingKey::load(&pki(&format!("{who}.key.pem"))).expect("key");
    let chain = read_pem_certificates(&pki(&format!("{who}-chain.pem"))).expect("chain");
    let credential = Credential::new(Arc::new(key), chain).expect("credential");
    sign_pdf(
        pdf,
        &SignRequest {
            credential: &credential,
            field_name: field.into(),
            page_index: 0,
            rect: [0.0; 4],
            signing_time: time::OffsetDateTime::now_utc(),
            signer_name: None,
            reason: None,
            location: None,
        },
    )
    .expect("sign")
}

/// Signed by the agency, then by the certifier in a second incremental update.
fn signed_twice() -> Vec<u8> {
    let once = sign(&unsigned(), "agency", "Signature_Agency");
    sign(&once, "certifier", "Signature_Certifier")
}

/// A second from now, to the second, as RFC 3339 (the `--at` given to both runs; after any
/// time-stamp made before it).
fn now() -> String {
    let t = (time::OffsetDateTime::now_utc() + time::Duration::seconds(1))
        .replace_nanosecond(0)
        .expect("whole second");
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// Runs `saoy verify` on `pdf` at `at`, trusting the test root with its CRL.
fn verify(pdf: &[u8], format: &str, at: &str) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("input.pdf");
    std::fs::write(&path, pdf).expect("write");
    Command::new(env!("CARGO_BIN_EXE_saoy"))
        .arg("verify")
        .arg(&path)
        .arg("--trust")
        .arg(pki("root.pem"))
        .arg("--crl")
        .arg(pki("issuing-ca.crl"))
        .args(["--at", at, "--format", format])
        .output()
        .expect("run saoy")
}

/// Reads the XML report with xml.etree and summarises it as JSON.
const READ_REPORT: &str = r#"
import base64, hashlib, json, sys
import xml.etree.ElementTree as ET

VR = "http://uri.etsi.org/19102/v1.2.1#"
ns = {"vr": VR, "ds": "http://www.w3.org/2000/09/xmldsig#"}
root = ET.fromstring(sys.stdin.buffer.read())
objects = {o.get("id"): o for o in root.iterfind("vr:SignatureValidationObjects/vr:ValidationObject", ns)}

def certificate(ref):
    o = objects[ref]
    der = base64.b64decode(o.findtext("vr:ValidationObjectRepresentation/vr:base64", None, ns), validate=True)
    return {"type": o.findtext("vr:ObjectType", None, ns), "der": der.hex(), "sha256": hashlib.sha256(der).hexdigest()}

reports = []
for r in root.findall("vr:SignatureValidationReport", ns):
    status = r.find("vr:SignatureValidationStatus", ns)
    info = r.find("vr:SignerInformation", ns)
    chain = r.find("vr:SignatureValidationStatus/vr:AssociatedValidationReportData/vr:CertificateChain", ns)
    reports.append({
        "field": r.findtext("vr:SignatureIdentifier/vr:DAIdentifier", None, ns),
        "signature_value": r.findtext("vr:SignatureIdentifier/ds:SignatureValue", None, ns),
        "main": status.findtext("vr:MainIndication", None, ns),
        "subs": [e.text for e in status.findall("vr:SubIndication", ns)],
        "validation_time": r.findtext("vr:ValidationTimeInfo/vr:ValidationTime", None, ns),
        "best_signature_time": r.findtext("vr:ValidationTimeInfo/vr:BestSignatureTime/vr:POETime", None, ns),
        "process": r.findtext("vr:SignatureValidationProcess/vr:SignatureValidationProcessID", None, ns),
        "signature_timestamp": r.findtext("vr:SignatureAttributes/vr:SignatureTimeStamp/vr:TimeStampValue", None, ns),
        "signer": None if info is None else info.findtext("vr:Signer", None, ns),
        "signer_certificate": None if info is None else certificate(info.find("vr:SignerCertificate", ns).get("VOReference")),
        "chain": [] if chain is None else [certificate(e.get("VOReference")) for e in chain],
    })
timestamps = []
for o in objects.values():
    if o.findtext("vr:ObjectType", None, ns) != "urn:etsi:019102:validationObject:timestamp":
        continue
    token = base64.b64decode(o.findtext("vr:ValidationObjectRepresentation/vr:base64", None, ns), validate=True)
    timestamps.append({
        "token_is_der_sequence": token[:1] == b"\x30",
        "poe_time": o.findtext("vr:POEProvisioning/vr:POETime", None, ns),
        "field": o.findtext("vr:ValidationReport/vr:SignatureIdentifier/vr:DAIdentifier", None, ns),
        "main": o.findtext("vr:ValidationReport/vr:SignatureValidationStatus/vr:MainIndication", None, ns),
    })
print(json.dumps({"root": root.tag, "reports": reports, "timestamps": timestamps}))
"#;

fn read_xml(xml: &[u8]) -> Value {
    let mut child = Command::new("python3")
        .args(["-c", READ_REPORT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(xml).expect("write XML");
    }
    let out = child.wait_with_output().expect("python3");
    assert!(
        out.status.success(),
        "xml.etree could not read the report: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(xml)
    );
    serde_json::from_slice(&out.stdout).expect("summary JSON")
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}

/// SHA-256 of the DER of the first certificate in a test PKI file.
fn pki_sha256(f: &str) -> String {
    let pem = std::fs::read(pki(f)).expect("read certificate");
    sha256_hex(pem::parse(&pem).expect("PEM").contents())
}

/// The serial of a DER certificate as the JSON report writes it (upper hex, no leading zeros).
fn serial_of(der_hex: &str) -> String {
    let der = hex::decode(der_hex).expect("hex");
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("certificate");
    let raw = cert.tbs_certificate.raw_serial();
    let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    match raw.get(start..) {
        Some(s) if !s.is_empty() => hex::encode_upper(s),
        _ => "00".into(),
    }
}

/// Both runs of one file: the JSON report and the summary of the XML one.
fn both(pdf: &[u8]) -> (Output, Value, Value, String) {
    let at = now();
    let json_out = verify(pdf, "json", &at);
    let json: Value = serde_json::from_slice(&json_out.stdout).expect("JSON report");
    let xml_out = verify(pdf, "etsi-xml", &at);
    assert_eq!(
        xml_out.status.code(),
        json_out.status.code(),
        "same exit code whatever the format"
    );
    assert!(
        xml_out
            .stdout
            .starts_with(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "an XML document on stdout"
    );
    let xml = read_xml(&xml_out.stdout);
    assert_eq!(xml["root"], format!("{{{VR_NS}}}ValidationReport"));
    (xml_out, json, xml, at)
}

#[test]
fn a_passed_file_is_reported_with_its_signers_certificates() {
    let (out, json, xml, at) = both(&signed_twice());
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json["status"], "PASSED", "{json}");
    let sigs = json["signatures"].as_array().expect("signatures");
    let reports = xml["reports"].as_array().expect("reports");
    assert_eq!(sigs.len(), 2);
    assert_eq!(reports.len(), sigs.len(), "one report per signature");
    let leaves = ["agency.pem", "certifier.pem"];
    for ((sig, rep), leaf) in sigs.iter().zip(reports).zip(leaves) {
        assert_eq!(rep["field"], sig["field"]);
        assert_eq!(rep["main"], "urn:etsi:019102:mainindication:total-passed");
        assert_eq!(rep["subs"], serde_json::json!([]));
        assert_eq!(rep["process"], "urn:etsi:019102:validationprocess:Basic");
        assert_eq!(rep["validation_time"], at.as_str());
        // No time-stamp: the best signature time is the validation time.
        assert_eq!(rep["best_signature_time"], at.as_str());
        assert!(
            rep["signature_value"]
                .as_str()
                .is_some_and(|v| !v.is_empty())
        );
        // The signer: the certificate the JSON names, its subject with its Vietnamese intact.
        let cert = &rep["signer_certificate"];
        assert_eq!(cert["type"], "urn:etsi:019102:validationObject:certificate");
        assert_eq!(cert["sha256"], pki_sha256(leaf).as_str(), "{leaf}");
        let der = cert["der"].as_str().expect("DER");
        assert_eq!(
            serial_of(der),
            sig["signer"]["serial"].as_str().expect("serial")
        );
        assert_eq!(rep["signer"], sig["signer"]["subject"]);
        assert!(
            rep["signer"]
                .as_str()
                .is_some_and(|s| s.contains("Tân Lập")),
            "{}",
            rep["signer"]
        );
        // The path: signer, issuing CA, and the root the JSON names as trust anchor.
        let chain = rep["chain"].as_array().expect("chain");
        let hashes: Vec<&str> = chain.iter().filter_map(|c| c["sha256"].as_str()).collect();
        assert_eq!(
            hashes,
            [
                pki_sha256(leaf).as_str(),
                pki_sha256("issuing-ca.pem").as_str(),
                pki_sha256("root.pem").as_str()
            ]
        );
        assert_eq!(
            sig["trust_anchor"]["sha256"]
                .as_str()
                .map(str::to_ascii_lowercase),
            Some(pki_sha256("root.pem"))
        );
    }
    assert!(
        reports[1]["signer"]
            .as_str()
            .is_some_and(|s| s.contains("Nguyễn Thị Hồng Nhung")),
        "{}",
        reports[1]["signer"]
    );
}

#[test]
fn a_flipped_byte_is_total_failed_with_hash_failure() {
    let mut pdf = signed_twice();
    let at = pdf
        .windows(10)
        .position(|w| w == b"Hello saoy")
        .expect("content stream");
    if let Some(b) = pdf.get_mut(at) {
        *b = b'J';
    }
    let (out, json, xml, at) = both(&pdf);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["status"], "FAILED", "{json}");
    assert_eq!(json["sub_indication"], "HASH_FAILURE", "{json}");
    let sigs = json["signatures"].as_array().expect("signatures");
    let reports = xml["reports"].as_array().expect("reports");
    assert_eq!(reports.len(), sigs.len(), "one report per signature");
    for (sig, rep) in sigs.iter().zip(reports) {
        assert_eq!(sig["sub_indication"], "HASH_FAILURE", "{json}");
        assert_eq!(rep["field"], sig["field"]);
        assert_eq!(rep["main"], "urn:etsi:019102:mainindication:total-failed");
        assert_eq!(
            rep["subs"],
            serde_json::json!(["urn:etsi:019102:subindication:HASH_FAILURE"])
        );
        assert_eq!(rep["validation_time"], at.as_str());
        // The JSON names no signer when the digest fails (the signature is not checked
        // further), and neither does the XML.
        assert!(sig["signer"].is_null(), "{json}");
        assert!(rep["signer_certificate"].is_null(), "{xml}");
    }
}

#[test]
fn time_stamps_give_the_best_signature_time_and_a_timestamp_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tsa = pkigen::issue(dir.path(), Kind::Tsa);
    let tsa_key = tsa.key.to_str().expect("utf-8 path");
    let tsa_cert = tsa.cert.to_str().expect("utf-8 path");
    let pdf = crate::support::pyhanko::sign(
        &unsigned(),
        "agency",
        &[
            "--field",
            "Signature_Agency",
            "--tsa-key",
            tsa_key,
            "--tsa-cert",
            tsa_cert,
            "--doc-timestamp",
        ],
    );
    let (out, json, xml, _) = both(&pdf);
    assert_eq!(out.status.code(), Some(0), "{json}");
    let sigs = json["signatures"].as_array().expect("signatures");
    assert_eq!(
        sigs.len(),
        2,
        "a signature and a document time-stamp: {json}"
    );
    let (sig, doc_ts) = (&sigs[0], &sigs[1]);
    // The document time-stamp is a validation object, not a signature report.
    let reports = xml["reports"].as_array().expect("reports");
    assert_eq!(reports.len(), 1, "{xml}");
    let rep = &reports[0];
    assert_eq!(rep["field"], sig["field"]);
    assert_eq!(rep["main"], "urn:etsi:019102:mainindication:total-passed");
    // The trusted signature time-stamp is the proof of existence.
    assert!(sig["timestamp"].is_string(), "{json}");
    assert_eq!(rep["best_signature_time"], sig["timestamp"]);
    assert_eq!(rep["signature_timestamp"], sig["timestamp"]);
    assert_eq!(rep["process"], "urn:etsi:019102:validationprocess:LTVM");
    let timestamps = xml["timestamps"].as_array().expect("timestamps");
    assert_eq!(timestamps.len(), 1, "{xml}");
    let ts = &timestamps[0];
    assert_eq!(ts["field"], doc_ts["field"]);
    assert_eq!(ts["main"], "urn:etsi:019102:mainindication:total-passed");
    assert_eq!(ts["poe_time"], doc_ts["timestamp"]);
    assert_eq!(ts["token_is_der_sequence"], true);
}
