"""Pseudonyms and encrypted contact addresses (RGPD: store the least, show less).

A participant is identified everywhere by a keyed pseudonym (HMAC-SHA256 of channel and address):
analysis and exports never see a phone number. The address itself is needed only to write back,
so it is kept encrypted with Fernet. Both keys are derived from `PAROLES_SECRET_KEY` with HKDF,
each for its own purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret.encode()
    )


class Vault:
    """Turns addresses into pseudonyms and ciphertexts, and back for sending only."""

    def __init__(self, secret: str) -> None:
        self._pseudonym_key = _derive(secret, b"paroles/pseudonym/v1")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"paroles/address/v1")))

    def pseudonym(self, channel: str, address: str) -> str:
        """A stable, non-reversible identifier, short enough to read in an export."""
        digest = hmac.new(
            self._pseudonym_key, f"{channel}:{address}".encode(), hashlib.sha256
        ).digest()
        return "p-" + base64.b32encode(digest[:10]).decode().lower()

    def encrypt(self, address: str) -> str:
        return self._fernet.encrypt(address.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("address cannot be decrypted with this PAROLES_SECRET_KEY") from exc


def mask(address: str) -> str:
    """Show only the last two characters pairs: `+33612345678` -> `•••••••• 78`."""
    tail = address[-2:] if len(address) > 4 else ""
    return "•" * 8 + (f" {tail}" if tail else "")
