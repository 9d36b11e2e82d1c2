"""Log entries of real DER certificates and precertificates (issued by the sandbox CA): the TLS
structures of RFC 6962 and static-ct-api, and the names discovery takes from them."""

import datetime as dt
import hashlib

import pytest

from crawlers.ct import wire
from crawlers.ct.certs import CertificateError, dns_name, facts
from sandbox.ct.certificates import Issuer

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
NAMES = ["xn--kstrava-bya.com", "*.xn--kstrava-bya.com", "WWW.Kestrava-Outlet.shop", "*.*.deep.example.org",
         "xn--kstrava-bya.com"]


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    return Issuer(tmp_path_factory.mktemp("ca"))


def test_names_are_cn_and_sans_without_wildcards_decoded_lowercase_unique(issuer):
    cert = issuer.issue(NAMES, 7, NOW)
    got = facts(cert.der)
    assert got.names == ("késtrava.com", "www.kestrava-outlet.shop", "deep.example.org")
    assert got.issuer == "CN=brandhound sandbox CA,O=brandhound sandbox"
    assert got.not_before == NOW and got.serial == "7"


def test_a_precertificate_tbs_gives_the_same_facts(issuer):
    pre = issuer.issue(NAMES, 8, NOW, precert=True)
    assert pre.tbs and pre.issuer_key_hash == issuer.key_hash
    assert facts(pre.tbs, tbs=True).names == facts(issuer.issue(NAMES, 8, NOW).der).names
    # The poisoned precertificate itself reads too (the extra_data of a precert entry).
    assert facts(pre.der).names[0] == "késtrava.com"


def test_dns_name_rules():
    assert dns_name("*.Shop.Example.COM.") == "shop.example.com"
    assert dns_name("xn--e1afmkfd.xn--p1ai") == "пример.рф"
    assert dns_name("localhost") is None and dns_name("a.*.example.com") is None and dns_name("") is None
    # Punycode IDNA 2008 rejects still yields a name (the wire form or its IDNA 2003 reading).
    assert dns_name("xn--zz.example.com")


def test_garbage_is_a_certificate_error():
    with pytest.raises(CertificateError, match="not a readable certificate"):
        facts(b"\x30\x03\x02\x01\x01")
    with pytest.raises(CertificateError, match="TBSCertificate"):
        facts(b"nonsense", tbs=True)


def test_merkle_leaf_x509_and_precert_round_trip(issuer):
    cert = issuer.issue(["a.example.com"], 1, NOW)
    leaf = wire.merkle_leaf(wire.timestamped_entry(1_700_000_000_123, cert.der))
    entry = wire.parse_merkle_leaf(leaf)
    assert (entry.timestamp, entry.entry_type, entry.certificate) == (1_700_000_000_123, wire.X509_ENTRY, cert.der)
    pre = issuer.issue(["b.example.com"], 2, NOW, precert=True)
    leaf = wire.merkle_leaf(wire.timestamped_entry(5, pre.tbs, pre.issuer_key_hash))
    entry = wire.parse_merkle_leaf(leaf)
    assert entry.is_precert and entry.issuer_key_hash == issuer.key_hash and entry.certificate == pre.tbs
    precert, chain = wire.parse_extra_data(wire.PRECERT_ENTRY, wire.extra_data([issuer.ca_der], pre.der))
    assert precert == pre.der and chain == [issuer.ca_der]
    assert wire.parse_extra_data(wire.X509_ENTRY, wire.extra_data([issuer.ca_der, b"x"])) == (None, [issuer.ca_der, b"x"])


def test_tile_leaves_with_leaf_index_extension(issuer):
    pre = issuer.issue(["c.example.com"], 3, NOW, precert=True)
    cert = issuer.issue(["d.example.com"], 4, NOW)
    fp = hashlib.sha256(issuer.ca_der).digest()
    data = (wire.tile_leaf(wire.timestamped_entry(1, cert.der, None, wire.leaf_index_extension(40)), [fp])
            + wire.tile_leaf(wire.timestamped_entry(2, pre.tbs, pre.issuer_key_hash, wire.leaf_index_extension(41)),
                             [fp, fp], pre.der))
    r = wire.Reader(data, "tile")
    first, second = wire.read_tile_leaf(r), wire.read_tile_leaf(r)
    assert r.at_end()
    assert first.entry.leaf_index() == 40 and first.precertificate is None and first.chain_fingerprints == (fp,)
    assert second.entry.leaf_index() == 41 and second.precertificate == pre.der and len(second.chain_fingerprints) == 2


@pytest.mark.parametrize("cut", [1, 5, 11, 20, 200])
def test_truncated_leaf_is_malformed_not_an_index_error(issuer, cut):
    leaf = wire.merkle_leaf(wire.timestamped_entry(1, issuer.issue(["e.example.com"], 5, NOW).der))
    with pytest.raises(wire.Malformed, match="truncated|unexpected"):
        wire.parse_merkle_leaf(leaf[:-cut])


def test_unknown_leaf_version_and_entry_type_are_refused(issuer):
    der = issuer.issue(["f.example.com"], 6, NOW).der
    with pytest.raises(wire.Malformed, match="version 1"):
        wire.parse_merkle_leaf(b"\x01\x00" + wire.timestamped_entry(1, der))
    bad = bytearray(wire.merkle_leaf(wire.timestamped_entry(1, der)))
    bad[11] = 7  # entry_type's low byte
    with pytest.raises(wire.Malformed, match="unknown entry type 7"):
        wire.parse_merkle_leaf(bytes(bad))
