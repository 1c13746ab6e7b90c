#!/usr/bin/env python3
"""Validates every signature of many PDFs with pyHanko in one process and prints one JSON object.

usage: pyhanko_validate_many.py --trust ROOTS.pem [--trust ...] [--crl FILE ...] FILE.pdf [FILE.pdf ...]

The object maps each file to {"signatures": [...]} (each: field, intact, valid, error) or to
{"error": "..."} when pyHanko refuses the file as a whole. One process for hundreds of files:
starting pyHanko costs more than validating a small file. Used by the mutation tests as a peer.
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


def one(path, vc):
    sigs = []
    try:
        with open(path, "rb") as fh:
            reader = PdfFileReader(fh, strict=False)
            for sig in reader.embedded_signatures:
                try:
                    st = validate_pdf_signature(sig, vc)
                    sigs.append({"field": sig.field_name, "intact": bool(st.intact),
                                 "valid": bool(st.valid), "error": None})
                except Exception as e:  # a peer's failure is a result
                    sigs.append({"field": sig.field_name, "intact": False, "valid": False,
                                 "error": repr(e)[:300]})
    except Exception as e:
        return {"error": repr(e)[:300]}
    return {"signatures": sigs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*")
    ap.add_argument("--trust", action="append", default=[])
    ap.add_argument("--crl", action="append", default=[])
    args = ap.parse_args()
    roots = []
    for t in args.trust:
        roots.extend(load_certs_from_pemder([t]))
    vc = ValidationContext(trust_roots=roots, crls=[load_crl(c) for c in args.crl],
                           allow_fetching=False, revocation_mode="soft-fail")
    json.dump({f: one(f, vc) for f in args.files}, sys.stdout)


if __name__ == "__main__":
    main()
