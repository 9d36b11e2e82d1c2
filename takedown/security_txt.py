"""A site's ``/.well-known/security.txt`` (RFC 9116) read as a source of abuse contacts.

Only what a notice needs is kept: the ``Contact:`` URIs (``mailto:``, ``https:``, ``tel:``, in the
file's order, which RFC 9116 says is the site's preference), ``Expires:``, ``Preferred-Languages:``
and ``Canonical:``. A file signed with an OpenPGP cleartext signature is read from its cleartext;
the signature is not verified here (there is no key to verify it against), which ``signed`` says.
The file is written by the site a notice is about, so it is bounded and every deviation from the
RFC is listed in ``problems`` rather than raised: an expired or contact-less file is not used
(:meth:`SecurityTxt.usable`), a malformed line is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

from brandhound.items import Recipient, utcnow

#: Where RFC 9116 section 3 puts the file (``/security.txt`` is the legacy place).
WELL_KNOWN = "/.well-known/security.txt"
#: Longest file read; a real one is a few hundred bytes.
MAX_BYTES = 32 * 1024

_SIGNED = "-----BEGIN PGP SIGNED MESSAGE-----"
_SIGNATURE = "-----BEGIN PGP SIGNATURE-----"
_FIELD = re.compile(r"^([A-Za-z0-9-]+):[ \t]*(.*?)[ \t]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ONCE = frozenset({"expires", "preferred-languages"})


@dataclass(frozen=True)
class SecurityTxt:
    """The fields of one security.txt that an abuse notice can use."""

    source: str
    contacts: tuple[str, ...] = ()
    expires: datetime | None = None
    preferred_languages: tuple[str, ...] = ()
    canonical: tuple[str, ...] = ()
    signed: bool = False
    problems: tuple[str, ...] = ()

    @property
    def emails(self) -> list[str]:
        """The ``mailto:`` contacts' addresses, in the file's order."""
        out = []
        for uri in self.contacts:
            if uri.lower().startswith("mailto:"):
                address = unquote(uri[7:].split("?", 1)[0])
                if _EMAIL.match(address):
                    out.append(address)
        return out

    @property
    def forms(self) -> list[str]:
        """The ``https:`` contacts (report forms or pages), in the file's order."""
        return [u for u in self.contacts if u.lower().startswith("https://")]

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires is None or self.expires <= (now or utcnow())

    def usable(self, now: datetime | None = None) -> bool:
        """Whether to take contacts from it: it has one, and has not expired (RFC 9116 2.5.5: stale)."""
        return bool(self.emails or self.forms) and not self.expired(now)


def location(host: str) -> str:
    """The URL of ``host``'s security.txt: HTTPS only, as RFC 9116 section 3 requires."""
    return f"https://{host.strip().rstrip('.').lower()}{WELL_KNOWN}"


def cleartext(text: str) -> tuple[str, bool]:
    """The signed text of an OpenPGP cleartext-signed file (RFC 4880 7), and whether it was signed."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != _SIGNED:
        return text, False
    body = iter(lines[1:])
    for line in body:  # armour headers ("Hash: SHA256") up to the first empty line
        if not line.strip():
            break
    out = []
    for line in body:
        if line.strip() == _SIGNATURE:
            break
        out.append(line[2:] if line.startswith("- ") else line)  # dash-escaping
    return "\n".join(out), True


def _datetime(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def parse(data: str | bytes, source: str = "security.txt") -> SecurityTxt:
    """The fields of a security.txt's content; ``source`` (its URL) names it in ``problems``."""
    if isinstance(data, bytes):
        data = data[:MAX_BYTES].decode("utf-8", errors="replace")
    text, signed = cleartext(data[:MAX_BYTES])
    problems: list[str] = []
    fields: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.lstrip("\ufeff")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _FIELD.match(line)
        if not match:
            problems.append(f"{source} line {number}: not a 'Field: value' line")
            continue
        fields.setdefault(match.group(1).lower(), []).append(match.group(2))
    for name in sorted(_ONCE & {k for k, v in fields.items() if len(v) > 1}):
        problems.append(f"{source}: {name} appears {len(fields[name])} times, RFC 9116 allows it once")
    contacts = []
    for uri in fields.get("contact", []):
        scheme = urlsplit(uri).scheme.lower()
        if scheme in ("mailto", "https", "tel"):
            contacts.append(uri)
        else:
            problems.append(f"{source}: contact {uri!r} is not a mailto:, https: or tel: URI")
    if not contacts:
        problems.append(f"{source}: no usable Contact field (RFC 9116 requires one)")
    expires = None
    if fields.get("expires"):
        expires = _datetime(fields["expires"][0])
        if expires is None:
            problems.append(f"{source}: Expires {fields['expires'][0]!r} is not an RFC 3339 date-time with a zone")
    else:
        problems.append(f"{source}: no Expires field (RFC 9116 requires one)")
    canonical = tuple(fields.get("canonical", []))
    if canonical and source.startswith("https://") and source not in canonical:
        # A file copied from elsewhere names its own site: its contacts may not be this site's.
        problems.append(f"{source}: not among its Canonical URIs ({', '.join(canonical)})")
    languages = tuple(t.strip() for t in ",".join(fields.get("preferred-languages", [])[:1]).split(",") if t.strip())
    return SecurityTxt(source=source, contacts=tuple(contacts),
                       expires=expires.astimezone(timezone.utc) if expires else None,
                       preferred_languages=languages, canonical=canonical,
                       signed=signed, problems=tuple(problems))


def recipient(found: SecurityTxt, kind: str, name: str, now: datetime | None = None) -> Recipient | None:
    """A recipient of kind ``kind`` from a usable file's first e-mail and first form, else None."""
    if not found.usable(now):
        return None
    emails, forms = found.emails, found.forms
    return Recipient(kind=kind, name=name, email=emails[0] if emails else None,
                     form_url=forms[0] if forms else None, source="security_txt")
