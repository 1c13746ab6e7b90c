#!/usr/bin/env python3
"""Sign a PDF with pyHanko (a peer implementation) for saoy's verifier tests.

usage: pyhanko_sign.py INPUT OUTPUT KEY CERT [CHAIN ...] [--field NAME] [--md sha256|sha384|sha512]
                       [--subfilter pades|pkcs7]
Each signature goes into its own incremental update, like any real signer.
"""
import argparse
import sys

try:
    from pyhanko.sign import signers, fields
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
except ImportError as e:  # the test turns this into a failure, never a skip
    print(f"pyHanko is not importable: {e}", file=sys.stderr)
    sys.exit(3)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("key")
    p.add_argument("cert")
    p.add_argument("chain", nargs="*")
    p.add_argument("--field", default="Signature1")
    p.add_argument("--md", default="sha256")
    p.add_argument("--subfilter", default="pades", choices=["pades", "pkcs7"])
    a = p.parse_args()
    signer = signers.SimpleSigner.load(a.key, a.cert, ca_chain_files=tuple(a.chain), key_passphrase=None)
    if signer is None:
        print("could not load the key or certificate", file=sys.stderr)
        return 2
    subfilter = fields.SigSeedSubFilter.PADES if a.subfilter == "pades" else fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED
    meta = signers.PdfSignatureMetadata(field_name=a.field, md_algorithm=a.md, subfilter=subfilter)
    with open(a.input, "rb") as inf:
        writer = IncrementalPdfFileWriter(inf)
        with open(a.output, "wb") as out:
            signers.sign_pdf(writer, meta, signer=signer, output=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
