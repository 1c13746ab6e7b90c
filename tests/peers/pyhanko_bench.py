#!/usr/bin/env python3
"""pyHanko's side of saoy's sign/verify benchmark: signs UNSIGNED and validates SIGNED in a loop,
in-process (interpreter start-up is not counted), and prints JSON rates. Validation is timed twice:
with one ValidationContext reused across iterations (verify_per_s) and with a fresh one per
signature (verify_fresh_context_per_s).

usage: pyhanko_bench.py UNSIGNED SIGNED KEY CERT CHAIN ROOT --seconds S
"""
import argparse
import io
import json
import time

from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def rate(fn, seconds):
    fn()  # warm-up
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 3:
            return n / elapsed, n


def main():
    ap = argparse.ArgumentParser()
    for a in ("unsigned", "signed", "key", "cert", "chain", "root"):
        ap.add_argument(a)
    ap.add_argument("--seconds", type=float, default=2.0)
    a = ap.parse_args()
    unsigned = open(a.unsigned, "rb").read()
    signed = open(a.signed, "rb").read()
    signer = signers.SimpleSigner.load(a.key, a.cert, ca_chain_files=(a.chain,))
    meta = signers.PdfSignatureMetadata(
        field_name="Bench", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )

    def sign():
        out = io.BytesIO()
        signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(unsigned)), meta, signer=signer, output=out)

    roots = list(load_certs_from_pemder([a.root]))

    def context():
        return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")

    # pyHanko's normal use in a service: one ValidationContext reused across validations
    # (it remembers the paths and signatures it has checked), as saoy reuses its policy.
    shared = context()

    def verify():
        reader = PdfFileReader(io.BytesIO(signed), strict=False)
        for sig in reader.embedded_signatures:
            st = validate_pdf_signature(sig, shared)
            assert st.bottom_line, st.summary()

    # A fresh ValidationContext for every signature: nothing remembered between validations.
    def verify_fresh():
        reader = PdfFileReader(io.BytesIO(signed), strict=False)
        for sig in reader.embedded_signatures:
            st = validate_pdf_signature(sig, context())
            assert st.bottom_line, st.summary()

    sign_rate, sign_n = rate(sign, a.seconds)
    verify_rate, verify_n = rate(verify, a.seconds)
    fresh_rate, fresh_n = rate(verify_fresh, a.seconds)
    print(
        json.dumps(
            {
                "sign_per_s": sign_rate,
                "sign_n": sign_n,
                "verify_per_s": verify_rate,
                "verify_n": verify_n,
                "verify_fresh_context_per_s": fresh_rate,
                "verify_fresh_context_n": fresh_n,
            }
        )
    )


if __name__ == "__main__":
    main()
