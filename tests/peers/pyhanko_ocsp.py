#!/usr/bin/env python3
"""OCSP responses for saoy's verifier tests: made with `cryptography`, embedded with pyHanko.

usage:
  pyhanko_ocsp.py make OUT.der --cert CERT --issuer ISSUER --key RESPONDER_KEY
                  [--responder-cert CERT] [--status good|revoked|unknown]
                  [--revoked-at ISO8601] [--reason NAME] [--this-update ISO8601]
                  [--next-update ISO8601] [--cert-id-hash sha1|sha256|sha384|sha512]
                  [--sig-hash sha256|sha384|sha512] [--by-key] [--include-cert]
                  [--flip-signature]
      Builds an OCSPResponse for CERT (issued by ISSUER), signed with RESPONDER_KEY. The
      responder is ISSUER itself unless --responder-cert names a delegated one.
  pyhanko_ocsp.py delegate OUT_KEY OUT_CERT --issuer ISSUER --issuer-key KEY [--no-eku]
      Issues a P-256 delegated OCSP responder certificate (id-kp-OCSPSigning unless --no-eku).
  pyhanko_ocsp.py embed-dss IN OUT --ocsp FILE [--ocsp FILE ...]
      Adds the responses to the document's /DSS (and the last signature's /VRI entry) in an
      incremental update, as pyHanko's DocumentSecurityStore does. Nothing is validated.
  pyhanko_ocsp.py embed-cms IN OUT --ocsp FILE [--ocsp FILE ...]
      Puts the responses into the last signature's CMS `crls` field as
      OtherRevocationInfoFormat (id-ri-ocsp-response); that field is not signed, so the
      signature stays valid. The /Contents placeholder keeps its size.
  pyhanko_ocsp.py sign-adobe IN OUT KEY CERT CHAIN --trust ROOT --ocsp FILE [--ocsp FILE ...]
      Signs with /SubFilter adbe.pkcs7.detached and embed_validation_info: pyHanko writes the
      responses into the adbe-revocationInfoArchival signed attribute.
Times default to now; ISO 8601 values may be relative: "+3600" / "-86400" seconds from now.
"""
import argparse
import io
import re
import sys
from datetime import datetime, timedelta, timezone

try:
    from asn1crypto import cms as asn1_cms, ocsp as asn1_ocsp
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509 import ocsp
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko_certvalidator import ValidationContext
except ImportError as e:  # the test turns this into a failure, never a skip
    print(f"pyHanko is not importable: {e}", file=sys.stderr)
    sys.exit(3)

HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


def when(text):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    if text is None:
        return now
    if re.fullmatch(r"[+-]\d+", text):
        return now + timedelta(seconds=int(text))
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def load_cert(path):
    data = open(path, "rb").read()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def load_key(path):
    return serialization.load_pem_private_key(open(path, "rb").read(), password=None)


def make(a):
    cert = load_cert(a.cert)
    issuer = load_cert(a.issuer)
    responder = load_cert(a.responder_cert) if a.responder_cert else issuer
    status = {
        "good": ocsp.OCSPCertStatus.GOOD,
        "revoked": ocsp.OCSPCertStatus.REVOKED,
        "unknown": ocsp.OCSPCertStatus.UNKNOWN,
    }[a.status]
    revoked = a.status == "revoked"
    this_update = when(a.this_update)
    next_update = when(a.next_update) if a.next_update else this_update + timedelta(days=7)
    b = ocsp.OCSPResponseBuilder().add_response(
        cert=cert,
        issuer=issuer,
        algorithm=HASHES[a.cert_id_hash](),
        cert_status=status,
        this_update=this_update,
        next_update=next_update,
        revocation_time=when(a.revoked_at) if revoked else None,
        revocation_reason=x509.ReasonFlags[a.reason] if revoked and a.reason else None,
    )
    enc = ocsp.OCSPResponderEncoding.HASH if a.by_key else ocsp.OCSPResponderEncoding.NAME
    b = b.responder_id(enc, responder)
    if a.include_cert:
        b = b.certificates([responder])
    resp = b.sign(load_key(a.key), HASHES[a.sig_hash]())
    der = bytearray(resp.public_bytes(serialization.Encoding.DER))
    if a.flip_signature:
        sig = resp.signature
        at = bytes(der).rfind(sig)
        if at < 0:
            print("signature not found in the response", file=sys.stderr)
            return 2
        der[at + len(sig) // 2] ^= 0x01
    open(a.out, "wb").write(bytes(der))
    return 0


def delegate(a):
    issuer = load_cert(a.issuer)
    issuer_key = load_key(a.issuer_key)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, "OCSP responder (TEST)"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        ]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )
    if not a.no_eku:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
    cert = b.sign(issuer_key, hashes.SHA256())
    open(a.out_key, "wb").write(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    open(a.out_cert, "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    return 0


def load_responses(paths):
    return [asn1_ocsp.OCSPResponse.load(open(p, "rb").read()) for p in paths]


def last_signature(reader):
    sigs = reader.embedded_signatures
    if not sigs:
        raise SystemExit("the input has no signature")
    return sigs[-1]


def embed_dss(a):
    data = open(a.input, "rb").read()
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    contents = last_signature(reader).pkcs7_content
    out = io.BytesIO(data)
    out.seek(0, io.SEEK_END)
    DocumentSecurityStore.add_dss(
        out, contents, ocsps=load_responses(a.ocsp), force_write=True, strict=False
    )
    open(a.output, "wb").write(out.getvalue())
    return 0


def embed_cms(a):
    data = bytearray(open(a.input, "rb").read())
    # The last /Contents <hex> of the file is the last signature's.
    m = None
    for m in re.finditer(rb"/Contents\s*<([0-9A-Fa-f]+)>", data):
        pass
    if m is None:
        raise SystemExit("no /Contents found")
    hex_start, hex_end = m.span(1)
    ci = asn1_cms.ContentInfo.load(bytes.fromhex(m.group(1).decode()), strict=False)
    sd = ci["content"]
    choices = [c for c in sd["crls"]] if sd["crls"].native is not None else []
    for r in load_responses(a.ocsp):
        choices.append(asn1_cms.RevocationInfoChoice(
            name="other",
            value=asn1_cms.OtherRevocationInfoFormat({
                "other_rev_info_format": "ocsp_response",
                "other_rev_info": r,
            }),
        ))
    sd["crls"] = asn1_cms.RevocationInfoChoices(choices)
    new_hex = ci.dump(force=True).hex().encode()
    room = hex_end - hex_start
    if len(new_hex) > room:
        raise SystemExit(f"the CMS grows to {len(new_hex)} hex digits, /Contents has {room}")
    data[hex_start:hex_end] = new_hex + b"0" * (room - len(new_hex))
    open(a.output, "wb").write(bytes(data))
    return 0


def sign_adobe(a):
    signer = signers.SimpleSigner.load(a.key, a.cert, ca_chain_files=tuple(a.chain), key_passphrase=None)
    if signer is None:
        print("could not load the key or certificate", file=sys.stderr)
        return 2
    roots = list(load_certs_from_pemder([a.trust]))
    vc = ValidationContext(
        trust_roots=roots,
        other_certs=[load_cert_from_pemder(c) for c in a.chain],
        ocsps=load_responses(a.ocsp),
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    meta = signers.PdfSignatureMetadata(
        field_name=a.field,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED,
        embed_validation_info=True,
        validation_context=vc,
    )
    with open(a.input, "rb") as inf:
        writer = IncrementalPdfFileWriter(inf, strict=False)
        with open(a.output, "wb") as out:
            signers.PdfSigner(meta, signer=signer).sign_pdf(writer, output=out)
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("out")
    m.add_argument("--cert", required=True)
    m.add_argument("--issuer", required=True)
    m.add_argument("--key", required=True)
    m.add_argument("--responder-cert")
    m.add_argument("--status", default="good", choices=["good", "revoked", "unknown"])
    m.add_argument("--revoked-at")
    m.add_argument("--reason")
    m.add_argument("--this-update", default="-600")
    m.add_argument("--next-update")
    m.add_argument("--cert-id-hash", default="sha1", choices=sorted(HASHES))
    m.add_argument("--sig-hash", default="sha256", choices=sorted(HASHES))
    m.add_argument("--by-key", action="store_true")
    m.add_argument("--include-cert", action="store_true")
    m.add_argument("--flip-signature", action="store_true")
    d = sub.add_parser("delegate")
    d.add_argument("out_key")
    d.add_argument("out_cert")
    d.add_argument("--issuer", required=True)
    d.add_argument("--issuer-key", required=True)
    d.add_argument("--no-eku", action="store_true")
    for name in ["embed-dss", "embed-cms"]:
        e = sub.add_parser(name)
        e.add_argument("input")
        e.add_argument("output")
        e.add_argument("--ocsp", action="append", required=True)
    s = sub.add_parser("sign-adobe")
    s.add_argument("input")
    s.add_argument("output")
    s.add_argument("key")
    s.add_argument("cert")
    s.add_argument("chain", nargs="*")
    s.add_argument("--trust", required=True)
    s.add_argument("--ocsp", action="append", required=True)
    s.add_argument("--field", default="Signature1")
    a = p.parse_args()
    return {
        "make": make,
        "delegate": delegate,
        "embed-dss": embed_dss,
        "embed-cms": embed_cms,
        "sign-adobe": sign_adobe,
    }[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
