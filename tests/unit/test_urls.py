import pytest

from brandhound.urls import UrlError, canonicalize, registered_domain, url_fields


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://WWW.Example.COM:80/a/../b/?b=2&a=1&utm_source=x&gclid=z#frag", "http://www.example.com/b/?a=1&b=2"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://user:secret@example.com/", "https://example.com/"),
        ("https://késtrava.com/Item?q=a b", "https://xn--kstrava-bya.com/Item?q=a+b"),
        ("https://example.com./x", "https://example.com/x"),
    ],
)
def test_canonical_urls(url, canonical):
    assert canonicalize(url) == canonical


@pytest.mark.parametrize("url", ["file:///etc/passwd", "data:text/html,<h1>", "javascript:alert(1)", "/relative", "http://", "https://[::1"])
def test_non_fetchable_urls_are_refused_with_the_url_named(url):
    with pytest.raises(UrlError, match="URL"):
        canonicalize(url)


def test_url_fields_decode_idn_and_find_the_registrable_domain():
    u = url_fields("https://shop.xn--kstrava-bya.co.uk/p?id=1", original="https://SHOP.késtrava.co.uk/p?id=1&utm_medium=x")
    assert u.full == "https://shop.xn--kstrava-bya.co.uk/p?id=1"
    assert (u.domain, u.registered_domain, u.top_level_domain) == ("shop.késtrava.co.uk", "késtrava.co.uk", "co.uk")
    assert u.original == "https://SHOP.késtrava.co.uk/p?id=1&utm_medium=x"
    assert registered_domain("kestrava.com.account-verify.info") == "account-verify.info"
    assert registered_domain("http://127.0.0.1:8080/") is None
