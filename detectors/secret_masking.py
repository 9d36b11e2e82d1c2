"""Turn a leaked secret into what brandhound keeps of it: a masked form, a length and a keyed hash.

The clear text is passed in, used, and dropped: a :class:`~brandhound.items.Secret` never holds
it. The masked form shows at most the first and the last character and never more than a quarter
of the secret (``Summer12!`` -> ``S*******!``; four to seven characters show only the first; fewer
are fully masked). Card numbers follow PCI DSS display rules instead: the first six and last four
digits when at least five digits stay hidden, else nothing. The HMAC-SHA256 under the
deployment's key recognises the same secret when it turns up again, without anyone being able to
read it back or test guesses against it without the key.
"""

from __future__ import annotations

import hashlib
import hmac

from brandhound.config import HmacKey
from brandhound.items import Secret

MASK = "*"
#: Masks longer than this are shortened (a 1,700-character private key is not 1,700 stars);
#: :attr:`Secret.length` keeps the true length.
MAX_MASK_RUN = 32
#: Card numbers shorter than this are masked completely (first 6 + last 4 would hide too little).
MIN_CARD_LENGTH_FOR_PCI_MASK = 15


def mask(secret: str) -> str:
    """``p******d``: first and last character when they are at most a quarter of the secret."""
    n = len(secret)
    if n < 4:
        return MASK * n
    if n < 8:
        return secret[0] + MASK * min(n - 1, MAX_MASK_RUN)
    return secret[0] + MASK * min(n - 2, MAX_MASK_RUN) + secret[-1]


def mask_card(number: str) -> str:
    """First six and last four digits (PCI DSS), the rest masked; short numbers fully masked."""
    digits = "".join(filter(str.isdigit, number))
    n = len(digits)
    if n < MIN_CARD_LENGTH_FOR_PCI_MASK:
        return MASK * n
    return digits[:6] + MASK * (n - 10) + digits[-4:]


def keyed_hash(secret: str, key: HmacKey) -> str:
    """HMAC-SHA256 of the secret's UTF-8 bytes, lowercase hex."""
    return hmac.new(key.key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


class RotatedSecret(Secret):
    """A :class:`Secret` hashed under the current key that also knows its hashes under the keys the
    current one replaced, so that an earlier sighting stored under one of them is recognised.
    ``previous_hmacs`` is not a field: it is never indexed, and lives only while the crawl
    holds the leak (see ``docs/security.md``, key rotation)."""

    previous_hmacs: tuple[str, ...] = ()


def _secret(masked: str, length: int, value: str, key: HmacKey) -> Secret:
    if not key.previous:
        return Secret(masked=masked, length=length, hmac=keyed_hash(value, key), key_id=key.id)
    secret = RotatedSecret(masked=masked, length=length, hmac=keyed_hash(value, key), key_id=key.id)
    secret.previous_hmacs = tuple(keyed_hash(value, old) for old in key.previous)
    return secret


def previous_hmacs(secret: Secret) -> tuple[str, ...]:
    """The secret's hashes under the previous keys; none when the key was never rotated."""
    return getattr(secret, "previous_hmacs", ())


def protect(secret: str, key: HmacKey) -> Secret:
    """The masked, hashed form of a password, token or key."""
    return _secret(mask(secret), len(secret), secret, key)


def protect_card(number: str, key: HmacKey) -> Secret:
    """The masked, hashed form of a card number; separators are dropped before hashing, so
    ``4556 7012 ...`` and ``45567012...`` are the same card."""
    digits = "".join(filter(str.isdigit, number))
    return _secret(mask_card(digits), len(digits), digits, key)
