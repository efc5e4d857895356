#!/usr/bin/env python3
"""Decrypts one Web Push message body (RFC 8291, aes128gcm) with Python's
http_ece, an implementation independent of the server's, for the integration
test tests/it/push.rs.

Input (stdin, JSON): {"private_key": b64url of the subscription's raw 32-byte
P-256 private key, "auth": b64url of the 16-byte auth secret, "body": b64url
of the request body}. Output (stdout): the plaintext, as UTF-8.
Exit 3 when http_ece or cryptography is not installed.
"""

import base64
import json
import sys

try:
    import http_ece
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        "push_decrypt.py needs Python's http_ece and cryptography (%s); "
        "run the README test command (./scripts/test), which installs them\n" % e
    )
    sys.exit(3)


def b64url(s):
    s = s.strip()
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def main():
    req = json.load(sys.stdin)
    d = int.from_bytes(b64url(req["private_key"]), "big")
    key = ec.derive_private_key(d, ec.SECP256R1())
    body = b64url(req["body"])
    plain = http_ece.decrypt(
        body,
        private_key=key,
        auth_secret=b64url(req["auth"]),
        version="aes128gcm",
    )
    sys.stdout.write(plain.decode("utf-8"))


if __name__ == "__main__":
    main()
