"""Invite and admin tokens: random, 256 bits, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32  # 256 bits of randomness (the issue asks for at least 128)


def new_token() -> str:
    """A fresh URL-safe token (43 characters, 256 random bits from :mod:`secrets`)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token (what the database stores)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def matches(token: str, stored_hash: str) -> bool:
    """True when ``token`` hashes to ``stored_hash`` (constant-time comparison)."""
    return hmac.compare_digest(hash_token(token), stored_hash)


def new_id(nbytes: int = 12) -> str:
    """An opaque random id for items and media (hex; says nothing about the item)."""
    return secrets.token_hex(nbytes)
