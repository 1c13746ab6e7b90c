#!/usr/bin/env python3
"""Validates every signature of a PDF with pyHanko and prints one JSON array.

usage: pyhanko_validate.py FILE.pdf --trust ROOTS.pem [--trust ...] [--crl FILE ...]

Each element: field, intact, valid, trusted, bottom_line, coverage, modification_level,
docmdp_ok, summary, signer (subject), timestamp_time and timestamp_trusted (the signature
time-stamp, null without one). Used by saoy's tests as an independent peer validator.
"""
import argparse
import json
import sys

from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from asn1crypto import crl as asn1_crl, pem


def load_crl(path):
    data = open(path, "rb").read()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_crl.CertificateList.load(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pdf")
    ap.add_argument("--trust", action="append", default=[])
    ap.add_argument("--crl", action="append", default=[])
    args = ap.parse_args()
    roots = []
    for t in args.trust:
        roots.extend(load_certs_from_pemder([t]))
    vc = ValidationContext(
        trust_roots=roots,
        crls=[load_crl(c) for c in args.crl],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    out = []
    with open(args.pdf, "rb") as fh:
        reader = PdfFileReader(fh, strict=False)
        for sig in reader.embedded_signatures:
            try:
                st = validate_pdf_signature(sig, vc)
            except Exception as e:  # a peer's crash is a result, not a test error
                out.append({"field": sig.field_name, "error": repr(e)})
                continue
            out.append({
                "field": sig.field_name,
                "intact": bool(st.intact),
                "valid": bool(st.valid),
                "trusted": bool(st.trusted),
                "bottom_line": bool(st.bottom_line),
                "coverage": st.coverage.name if st.coverage else None,
                "modification_level": st.modification_level.name if st.modification_level else None,
                "docmdp_ok": st.docmdp_ok,
                "summary": st.summary(),
                "signer": st.signing_cert.subject.human_friendly if st.signing_cert else None,
                # The signature time-stamp pyHanko found and judged (None without one).
                "timestamp_time": st.timestamp_validity.timestamp.isoformat() if st.timestamp_validity else None,
                "timestamp_trusted": bool(st.timestamp_validity.trusted) if st.timestamp_validity else None,
            })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
