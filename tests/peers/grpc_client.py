"""A client of saoy in another stack: Python grpcio, stubs generated from proto/ now.

Usage: grpc_client.py PROTO_DIR TLS_DIR TARGET COPY_PDF OWNER TOKEN
Verifies COPY_PDF over mutual TLS as the `verifier` agency and lists OWNER's records as the
citizen portal with TOKEN in `x-saoy-citizen`; prints one JSON object with what it got.
"""
import json
import os
import sys
import tempfile

from grpc_tools import protoc
import grpc

proto_dir, tls_dir, target, copy_pdf, owner, token = sys.argv[1:7]
out = tempfile.mkdtemp(prefix="saoy-py-stubs-")
include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
for name in ["saoy/v1/saoy.proto"]:
    rc = protoc.main(
        ["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", name]
    )
    if rc != 0:
        sys.exit(f"protoc failed on {name}")
sys.path.insert(0, out)
from saoy.v1 import saoy_pb2, saoy_pb2_grpc  # noqa: E402


def read(name):
    with open(os.path.join(tls_dir, name), "rb") as f:
        return f.read()


def channel(who):
    creds = grpc.ssl_channel_credentials(
        root_certificates=read("ca.pem"),
        private_key=read(f"{who}.key.pem"),
        certificate_chain=read(f"{who}.pem"),
    )
    return grpc.secure_channel(target, creds)


result = {}
with open(copy_pdf, "rb") as f:
    pdf = f.read()
verifier = saoy_pb2_grpc.VerificationServiceStub(channel("verifier"))
chunks = (saoy_pb2.VerifyRequest(chunk=pdf[i : i + (1 << 20)]) for i in range(0, len(pdf), 1 << 20))
report = verifier.Verify(chunks, timeout=60)
result["verify_status"] = report.status
result["verify_signatures"] = len(report.signatures)

records = saoy_pb2_grpc.RecordServiceStub(channel("portal"))
listed = records.ListRecords(
    saoy_pb2.ListRecordsRequest(owner_id=owner), metadata=[("x-saoy-citizen", token)], timeout=60
)
result["records"] = [r.id for r in listed.records]
try:
    records.ListRecords(saoy_pb2.ListRecordsRequest(owner_id=owner), timeout=60)
    result["without_assertion"] = "OK"
except grpc.RpcError as e:
    result["without_assertion"] = e.code().name
print(json.dumps(result))
