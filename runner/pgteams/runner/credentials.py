"""Resolve a tenant's credential reference (never the secret itself) into an msal credential, in memory.

References, as stored in msteams.integrations.credential_ref:
  env:NAME                         the client secret is in environment variable NAME
  file:/path                       the client secret is the content of a file (e.g. a mounted secret)
  cert:/path/key.pem#<thumbprint>  a certificate credential: PEM private key (and, if present in the
                                   same file, the public certificate, sent as x5c) and its SHA-1 thumbprint
"""

from __future__ import annotations

import os
import re
from pathlib import Path


class CredentialUnavailable(Exception):
    """The reference cannot be resolved here. The message names the reference's kind, never a secret."""


_CERT = re.compile(r"^cert:(?P<path>/\S+)#(?P<thumb>[0-9A-Fa-f]{40})$")


def resolve(reference: str | None) -> str | dict:
    """Return what msal takes as client_credential: a secret string, or a certificate dict."""
    if not reference:
        raise CredentialUnavailable("no credential reference is configured")
    if reference.startswith("env:"):
        name = reference[4:]
        value = os.environ.get(name)
        if not value:
            raise CredentialUnavailable(f"environment variable {name} is not set")
        return value
    if reference.startswith("file:"):
        path = Path(reference[5:])
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise CredentialUnavailable(f"secret file {path} cannot be read ({exc.strerror})") from None
        if not value:
            raise CredentialUnavailable(f"secret file {path} is empty")
        return value
    m = _CERT.match(reference)
    if m:
        path = Path(m["path"])
        try:
            pem = path.read_text()
        except OSError as exc:
            raise CredentialUnavailable(f"certificate file {path} cannot be read ({exc.strerror})") from None
        if "PRIVATE KEY" not in pem:
            raise CredentialUnavailable(f"certificate file {path} holds no private key")
        credential = {"private_key": pem, "thumbprint": m["thumb"].upper()}
        if "BEGIN CERTIFICATE" in pem:
            credential["public_certificate"] = pem
        return credential
    raise CredentialUnavailable("the credential reference is not env:, file: or cert:…#thumbprint")
