#!/usr/bin/env python3
"""Checks the signature psa-offboarder puts on every record it writes to its own topics (results,
retry requests, approvals), as a billing or alerting consumer would before it trusts a result.

A reference for consumers in any language, written from the README's description alone:

  offboarding.signature: v1,<key id>,<base64 HMAC-SHA256>
  message = b"psa-offboarder record v1\\n" + field(topic) + field(key) + field(value)
            + u32(n) + field(name) + field(value) for each of the n signed headers, in order
  field(x) = u32(len(x)) + x, or b"\\xff\\xff\\xff\\xff" when x is absent or empty
  signed headers: every header but offboarding.signature, traceparent and tracestate
  key id = hex of the first 8 bytes of SHA-256(b"psa-offboarder key id v1\\n" + key)

Usage: verify-record.py RECORD.json, with the signing keys (as configured in
security.signing_keys) in OFFBOARDER_SIGNING_KEYS, one per line. RECORD.json holds
{"topic": str, "key": base64 or null, "value": base64 or null, "headers": [[name, base64 or null], ...]}.
Exits 0 and prints "valid" when the signature checks out under one of the keys, 1 otherwise."""
import base64
import hashlib
import hmac
import json
import os
import struct
import sys

UNSIGNED = {"offboarding.signature", "traceparent", "tracestate"}


def field(data):
    return b"\xff\xff\xff\xff" if not data else struct.pack(">I", len(data)) + data


def message(topic, key, value, headers):
    signed = [(name, data) for name, data in headers if name not in UNSIGNED]
    out = b"psa-offboarder record v1\n" + field(topic.encode()) + field(key) + field(value) + struct.pack(">I", len(signed))
    for name, data in signed:
        out += field(name.encode()) + field(data)
    return out


def key_id(key):
    return hashlib.sha256(b"psa-offboarder key id v1\n" + key).digest()[:8].hex()


def main():
    record = json.load(open(sys.argv[1]))
    decode = lambda text: None if text is None else base64.b64decode(text)
    headers = [(name, decode(data)) for name, data in record["headers"]]
    signatures = [data for name, data in headers if name == "offboarding.signature"]
    keys = [line.encode() for line in os.environ.get("OFFBOARDER_SIGNING_KEYS", "").splitlines() if line]
    if not signatures or not keys:
        print("invalid: no signature or no key")
        return 1
    version, kid, mac = signatures[-1].decode().split(",")
    body = message(record["topic"], decode(record["key"]), decode(record["value"]), headers)
    for key in keys:
        if version == "v1" and key_id(key) == kid and hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), base64.b64decode(mac)):
            print("valid")
            return 0
    print("invalid")
    return 1


sys.exit(main())
