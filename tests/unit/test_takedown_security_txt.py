"""security.txt (RFC 9116) as an abuse-contact source: fields, signed files, expiry, hostile content."""

from __future__ import annotations

from datetime import datetime, timezone

from takedown.security_txt import MAX_BYTES, cleartext, location, parse, recipient

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
URL = "https://shop.example/.well-known/security.txt"
PLAIN = """# Our security address
Contact: mailto:security@shop.example
Contact: https://shop.example/report
contact: tel:+1-201-555-0123
Expires: 2027-06-30T23:00:00.000Z
Preferred-Languages: fi, en
Canonical: https://shop.example/.well-known/security.txt
Policy: https://shop.example/policy
"""
SIGNED = """-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

Contact: mailto:abuse@signed.example
- Expires: 2027-01-01T00:00:00+02:00
Preferred-Languages: pl
-----BEGIN PGP SIGNATURE-----

iQIzBAEBCAAdFiEE...
Contact: mailto:attacker@evil.example
-----END PGP SIGNATURE-----
"""


def test_fields_in_the_files_order_with_their_kinds():
    found = parse(PLAIN, URL)
    assert found.contacts == ("mailto:security@shop.example", "https://shop.example/report", "tel:+1-201-555-0123")
    assert found.emails == ["security@shop.example"] and found.forms == ["https://shop.example/report"]
    assert found.expires == datetime(2027, 6, 30, 23, tzinfo=timezone.utc)
    assert found.preferred_languages == ("fi", "en") and not found.signed and found.problems == ()
    assert found.usable(NOW) and not found.usable(datetime(2027, 7, 1, tzinfo=timezone.utc))


def test_signed_file_is_read_from_its_cleartext_only():
    found = parse(SIGNED.replace("\n", "\r\n").encode(), "https://signed.example/.well-known/security.txt")
    assert found.signed and found.emails == ["abuse@signed.example"]  # not the address after the signature
    assert found.expires == datetime(2026, 12, 31, 22, tzinfo=timezone.utc)
    assert found.preferred_languages == ("pl",)
    text, signed = cleartext(PLAIN)
    assert (text, signed) == (PLAIN, False)


def test_what_breaks_the_rfc_is_listed_and_stale_or_empty_files_are_not_used():
    found = parse("Contact: http://plain.example/x\nExpires: next year\nExpires: 2027-01-01T00:00:00Z\n"
                  "just text\nCanonical: https://other.example/.well-known/security.txt\n", URL)
    problems = " | ".join(found.problems)
    assert "not a mailto:, https: or tel: URI" in problems and "no usable Contact" in problems
    assert "expires appears 2 times" in problems and "'next year' is not an RFC 3339" in problems
    assert "line 4: not a 'Field: value' line" in problems and "not among its Canonical URIs" in problems
    assert not found.usable(NOW) and recipient(found, "host", "x", now=NOW) is None
    assert not parse("Contact: mailto:a@b.example\n").usable(NOW)  # no Expires: treated as stale
    assert not parse("Contact: mailto:a@b.example\nExpires: 2027-01-01T00:00:00\n").usable(NOW)  # no zone


def test_recipient_from_a_usable_file():
    r = recipient(parse(PLAIN, URL), "host", "security contact of shop.example", now=NOW)
    assert (r.kind, r.email, r.form_url, r.source) == ("host", "security@shop.example", "https://shop.example/report",
                                                       "security_txt")
    assert location("Shop.Example.") == URL


def test_a_huge_hostile_file_is_bounded():
    found = parse(b"Contact: mailto:a@b.example\nExpires: 2027-01-01T00:00:00Z\n" + b"X" * (MAX_BYTES * 4)
                  + b"\nContact: mailto:late@evil.example\n")
    assert found.emails == ["a@b.example"] and found.usable(NOW)
