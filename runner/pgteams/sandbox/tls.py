"""The sandbox's throw-away CA, server certificate and JWT signing key."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["Materials", "b64url", "rsa_public_jwk"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def rsa_public_jwk(key: rsa.RSAPublicKey) -> dict[str, Any]:
    """JWK of an RSA public key; ``kid`` is its RFC 7638 thumbprint."""
    nums = key.public_numbers()
    core = {"e": _int_b64url(nums.e), "kty": "RSA", "n": _int_b64url(nums.n)}
    kid = b64url(hashlib.sha256(json.dumps(core, separators=(",", ":"), sort_keys=True).encode()).digest())
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": core["n"], "e": core["e"]}


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


class Materials:
    """CA + loopback server certificate + RSA signing key, as files in ``state_dir``.

    An existing CA (``ca.pem`` + ``ca-key.pem``) and signing key in
    ``state_dir`` are reused, so a host that trusts the CA once keeps trusting
    it across restarts of ``pgteams sandbox --state-dir DIR``.
    """

    def __init__(self, state_dir: Path, identities: tuple[str, ...] = ("127.0.0.1", "localhost")):
        state_dir.mkdir(parents=True, exist_ok=True)
        self.ca_file = state_dir / "ca.pem"
        ca_key_file = state_dir / "ca-key.pem"
        if self.ca_file.is_file() and ca_key_file.is_file():
            ca = trustme.CA.from_pem(self.ca_file.read_bytes(), ca_key_file.read_bytes())
        else:
            ca = trustme.CA(organization_name="pgteams sandbox", organization_unit_name="pgteams sandbox CA")
            ca.cert_pem.write_to_path(str(self.ca_file))
            _write_private(ca_key_file, ca.private_key_pem.bytes())

        leaf = ca.issue_cert(*identities)
        self.cert_file = state_dir / "server.pem"
        self.key_file = state_dir / "server-key.pem"
        with open(self.cert_file, "wb") as fh:
            for pem in leaf.cert_chain_pems:
                fh.write(pem.bytes())
        _write_private(self.key_file, leaf.private_key_pem.bytes())

        signing_file = state_dir / "signing-key.pem"
        if signing_file.is_file():
            key = serialization.load_pem_private_key(signing_file.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"{signing_file} is not an RSA private key")
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write_private(
                signing_file,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )
        self.signing_key: rsa.RSAPrivateKey = key
        self.jwk = rsa_public_jwk(key.public_key())
