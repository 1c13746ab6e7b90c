#!/usr/bin/env python3
"""Sign a PDF with pyHanko (a peer implementation) for saoy's verifier tests.

usage: pyhanko_sign.py INPUT OUTPUT KEY CERT [CHAIN ...] [--field NAME] [--md sha256|sha384|sha512]
                       [--subfilter pades|pkcs7] [--pss] [--certify 1|2|3]
                       [--tsa-key KEY --tsa-cert CERT [--tsa-time ISO8601]] [--timestamp-url URL]
                       [--doc-timestamp]
Each signature goes into its own incremental update, like any real signer. With --tsa-key and
--tsa-cert the signature gets a time-stamp token from pyHanko's local DummyTimeStamper (no
network); with --timestamp-url from an RFC 3161 TSA over HTTP (pyHanko's HTTPTimeStamper, e.g.
saoy's test TSA); --doc-timestamp then adds a document time-stamp from the same TSA.
pyHanko always writes signed attributes in PDF signatures (no option to leave them out).
"""
import argparse
import sys
from datetime import datetime

try:
    from pyhanko.sign import signers, fields
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
    from pyhanko_certvalidator.registry import SimpleCertificateStore
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
    p.add_argument("--pss", action="store_true")
    p.add_argument("--certify", type=int, choices=[1, 2, 3])
    p.add_argument("--tsa-key")
    p.add_argument("--tsa-cert")
    p.add_argument("--tsa-time")
    p.add_argument("--timestamp-url")
    p.add_argument("--doc-timestamp", action="store_true")
    # Test-only: sign even where a certification signature forbids it (to build DocMDP attacks).
    p.add_argument("--ignore-docmdp", action="store_true")
    a = p.parse_args()
    signer = signers.SimpleSigner.load(
        a.key, a.cert, ca_chain_files=tuple(a.chain), key_passphrase=None, prefer_pss=a.pss
    )
    if signer is None:
        print("could not load the key or certificate", file=sys.stderr)
        return 2
    timestamper = None
    if a.tsa_key and a.tsa_cert:
        fixed = datetime.fromisoformat(a.tsa_time) if a.tsa_time else None
        timestamper = DummyTimeStamper(
            tsa_cert=load_cert_from_pemder(a.tsa_cert),
            tsa_key=load_private_key_from_pemder(a.tsa_key, passphrase=None),
            fixed_dt=fixed,
            # The TSA is issued by the signer's CA in the tests: embed that chain.
            certs_to_embed=SimpleCertificateStore.from_certs([load_cert_from_pemder(c) for c in a.chain]),
        )
    if a.timestamp_url:
        from pyhanko.sign.timestamps import HTTPTimeStamper
        timestamper = HTTPTimeStamper(a.timestamp_url)
    subfilter = fields.SigSeedSubFilter.PADES if a.subfilter == "pades" else fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED
    extra = {}
    if a.certify:
        extra = dict(certify=True, docmdp_permissions=fields.MDPPerm(a.certify))
    meta = signers.PdfSignatureMetadata(field_name=a.field, md_algorithm=a.md, subfilter=subfilter, **extra)
    with open(a.input, "rb") as inf:
        writer = IncrementalPdfFileWriter(inf, strict=False)
        pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=timestamper)
        if a.ignore_docmdp:
            pdf_signer._enforce_certification_constraints = lambda reader: None
        with open(a.output, "wb") as out:
            pdf_signer.sign_pdf(writer, output=out)
    if a.doc_timestamp:
        if timestamper is None:
            print("--doc-timestamp needs --tsa-key and --tsa-cert", file=sys.stderr)
            return 2
        with open(a.output, "rb") as inf:
            data = inf.read()
        import io
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        out = signers.PdfTimeStamper(timestamper).timestamp_pdf(writer, md_algorithm=a.md)
        with open(a.output, "wb") as f:
            f.write(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
