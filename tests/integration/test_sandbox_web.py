"""The sandbox web through its proxy, as the crawlers reach it: plain HTTP proxy
requests, HTTPS in CONNECT tunnels (certificates checked against the sandbox
CA), the bad pages, shutdown, and the background daemon. No Elasticsearch."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import html as lxml_html
from PIL import Image

from sandbox.web import SandboxWeb, build, daemon
from tests.support.paths import EXAMPLE_BRAND
from tests.polling import poll
from sandbox.processes import free_port as _free_port


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sandbox-web")
    truth = build(EXAMPLE_BRAND, out, listings_per_marketplace=40)
    return out, json.loads(truth.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def web(built):
    with SandboxWeb(built[0]) as server:
        yield server


@pytest.fixture(scope="module")
def truth(built) -> dict:
    return built[1]


def opener(web: SandboxWeb) -> urllib.request.OpenerDirector:
    """A urllib client using the sandbox as its proxy and trusting only the sandbox CA."""
    ctx = ssl.create_default_context(cafile=str(web.ca_path))
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": web.proxy_url, "https": web.proxy_url}),
        urllib.request.HTTPSHandler(context=ctx))


def tunnel(web: SandboxWeb, host: str, timeout: float = 5) -> http.client.HTTPSConnection:
    """An HTTPS connection to ``host`` through a CONNECT tunnel, verifying the certificate."""
    conn = http.client.HTTPSConnection("127.0.0.1", web.port, timeout=timeout,
                                       context=ssl.create_default_context(cafile=str(web.ca_path)))
    conn.set_tunnel(host, 443)
    return conn


def get(conn: http.client.HTTPConnection, path: str, **headers) -> tuple[int, dict, bytes]:
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    return resp.status, dict(resp.getheaders()), resp.read()


def first(truth: dict, **match) -> dict:
    return next(p for p in truth["pages"] if all(p.get(k) == v for k, v in match.items()))


def h1(body: bytes) -> str:
    return lxml_html.fromstring(body).xpath("string(//h1)").strip()


# --------------------------------------------------------------------------- the three ways in


def test_http_proxy_request_in_absolute_form(web, truth):
    listing = first(truth, kind="listing", site="BazaarHub", label="counterfeit")
    with opener(web).open(listing["url"].replace("https://", "http://", 1), timeout=5) as resp:
        assert resp.status == 200 and resp.headers["Content-Length"]
        assert h1(resp.read()) == listing["title"]


def test_https_through_connect_with_a_valid_certificate(web, truth):
    listing = first(truth, kind="listing", site="Tori Market", structured="microdata")
    host = urlsplit(listing["url"]).hostname
    conn = tunnel(web, host)
    status, headers, body = get(conn, urlsplit(listing["url"]).path)
    assert status == 200 and h1(body) == listing["title"]
    cert = conn.sock.getpeercert()
    assert ("DNS", host) in cert["subjectAltName"]
    # Keep-alive inside the tunnel: the next request reuses the same TLS connection.
    sock = conn.sock
    assert get(conn, "/")[0] == 200 and conn.sock is sock
    conn.close()
    # Its photos come from the marketplace's image host, as on real marketplaces.
    image = urlsplit(listing["images"][0])
    assert image.hostname != host
    conn = tunnel(web, image.hostname)
    assert get(conn, image.path)[0] == 200
    conn.close()


def test_idn_lookalike_is_served_under_its_punycode_name(web, truth):
    site = first(truth, kind="site", permutation="homoglyph")
    with opener(web).open(site["url"], timeout=5) as resp:
        assert resp.status == 200 and b"password" in resp.read()
    assert site["domain"].startswith("xn--")


def test_direct_request_with_a_host_header(web, truth):
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=5)
    status, _, body = get(conn, "/recent", Host="pastebay.net")
    assert status == 200 and b"/p/" in body
    conn.close()


def test_unknown_hosts_answer_502(web):
    with pytest.raises(urllib.error.HTTPError) as err:
        opener(web).open("http://no-such-host.example/", timeout=5)
    assert err.value.code == 502 and b"sandbox: unknown host no-such-host.example" in err.value.read()
    with pytest.raises(OSError, match="502"):
        tunnel(web, "no-such-host.example").request("GET", "/")


def test_javascript_listing_shell_has_no_price_but_its_api_has(web, truth):
    listing = first(truth, kind="listing", rendering="js")
    browserless = opener(web)
    with browserless.open(listing["url"], timeout=5) as resp:
        shell = resp.read().decode()
    assert listing["title"] not in shell and "<h1" not in shell and "hinta" in shell  # the script, not the price
    assert f"{listing['price']:.2f}".replace(".", ",") not in shell
    with browserless.open(listing["api_url"], timeout=5) as resp:
        api = json.load(resp)
    assert api["otsikko"] == listing["title"] and api["hinta_arvo"] == listing["price"]


def test_forms_post_where_they_say(web, truth):
    official = first(truth, kind="site", label="official")
    conn = tunnel(web, official["domain"])
    conn.request("POST", "/login", body=b"email=a%40b.c&password=x",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    assert resp.status == 200 and b"not valid" in resp.read()
    phishing = first(truth, kind="site", label="phishing")
    action = urlsplit(phishing["form_actions"][0])
    conn = tunnel(web, action.hostname)
    conn.request("POST", action.path, body=b"email=a%40b.c&password=x")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 302 and resp.getheader("Location") == truth["seeds"]["surface"][0]


# --------------------------------------------------------------------------- bad pages


def bad(truth: dict, fault: str) -> dict:
    return first(truth, kind="bad", fault=fault)


def test_redirect_loop_loops(web, truth):
    page = bad(truth, "redirect_loop")
    with pytest.raises(urllib.error.HTTPError, match="infinite loop"):
        opener(web).open(page["url"], timeout=5)
    conn = tunnel(web, urlsplit(page["url"]).hostname)
    path = urlsplit(page["url"]).path
    for _ in range(4):
        status, headers, _ = get(conn, path)
        assert status == 301
        path = headers["Location"]
    assert path == urlsplit(page["url"]).path


def test_429_twice_then_the_listing(web, truth):
    page = bad(truth, "http_429")
    conn = tunnel(web, urlsplit(page["url"]).hostname)
    for _ in range(2):
        status, headers, _ = get(conn, urlsplit(page["url"]).path)
        assert status == 429 and headers["Retry-After"] == "1"
    status, _, body = get(conn, urlsplit(page["url"]).path)
    assert status == 200 and h1(body) == page["title"] == page["title"]


@pytest.mark.parametrize(("fault", "status"), [("http_404", 404), ("http_500", 500)])
def test_error_statuses(web, truth, fault, status):
    with pytest.raises(urllib.error.HTTPError) as err:
        opener(web).open(bad(truth, fault)["url"], timeout=5)
    assert err.value.code == status


def test_never_finishing_page_times_out_while_others_are_served(web, truth):
    page = bad(truth, "never_finishes")
    other = first(truth, kind="listing", site="BazaarHub")
    result: dict[str, object] = {}

    def hang() -> None:
        conn = tunnel(web, urlsplit(page["url"]).hostname, timeout=1.5)
        try:
            get(conn, urlsplit(page["url"]).path)
        except TimeoutError as exc:
            result["hung"] = exc
        finally:
            conn.close()

    hung = threading.Thread(target=hang)
    hung.start()
    poll(lambda: web.request_log.count(path=urlsplit(page["url"]).path) > 0, 5,
         "the hanging request reaching the server", interval=0.01)
    with opener(web).open(other["url"], timeout=5) as resp:
        assert resp.status == 200
    assert hung.is_alive()  # the other request did not wait for it
    hung.join(5)
    assert isinstance(result.get("hung"), TimeoutError)


def test_huge_page_is_five_megabytes(web, truth):
    page = bad(truth, "huge_page")
    with opener(web).open(page["url"], timeout=10) as resp:
        body = resp.read()
    assert len(body) >= 5 * 1024 * 1024 and h1(body) == page["title"]


@pytest.mark.parametrize("fault", ["corrupt_image", "decompression_bomb"])
def test_listings_with_poisoned_images_still_extract(web, truth, fault):
    page = bad(truth, fault)
    with opener(web).open(page["url"], timeout=5) as resp:
        assert h1(resp.read()) == page["title"]
    with opener(web).open(page["fault_url"], timeout=5) as resp:
        data = resp.read()
    if fault == "corrupt_image":
        with pytest.raises(OSError):
            Image.open(__import__("io").BytesIO(data)).load()
    else:
        assert len(data) < 1024 * 1024
        with pytest.raises(Image.DecompressionBombError):
            Image.open(__import__("io").BytesIO(data))


def test_wrong_encodings(web, truth):
    header_lies = first(truth, kind="bad", encoding_variant="header_says_utf8_bytes_cp1252")
    with opener(web).open(header_lies["url"], timeout=5) as resp:
        assert resp.headers.get_content_charset() == "utf-8"
        body = resp.read()
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    meta_lies = first(truth, kind="bad", encoding_variant="meta_says_latin1_bytes_utf8")
    with opener(web).open(meta_lies["url"], timeout=5) as resp:
        assert resp.headers.get_content_charset() is None
        assert meta_lies["title"] in resp.read().decode("utf-8")


def test_broken_html_still_yields_its_listing(web, truth):
    page = bad(truth, "broken_html")
    with opener(web).open(page["url"], timeout=5) as resp:
        assert h1(resp.read()) == page["title"]


# --------------------------------------------------------------------------- bookkeeping and shutdown


def test_request_log_counts_what_was_served(web, truth):
    listing = first(truth, kind="listing", site="Tori Market", rendering="static")
    path = urlsplit(listing["url"]).path
    before = web.request_log.count(host="torimarket.fi", path=path)
    with opener(web).open(listing["url"], timeout=5):
        pass
    assert web.request_log.count(host="torimarket.fi", path=path, status=200) == before + 1


def test_stop_is_prompt_with_a_hung_connection_open(built, truth):
    page = bad(truth, "never_finishes")
    server = SandboxWeb(built[0]).start()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    url = page["url"].replace("https://", "http://", 1)
    sock.sendall(f"GET {url} HTTP/1.1\r\nHost: {urlsplit(url).hostname}\r\n\r\n".encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")  # headers and a few bytes, then silence
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    sock.settimeout(2)
    assert sock.recv(4096) == b""  # the server closed the hung connection
    sock.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1)


# --------------------------------------------------------------------------- daemon


def test_daemon_up_status_up_down(tmp_path):
    port = _free_port()
    try:
        state = daemon.up(tmp_path, port=port, listings_per_marketplace=20)
        assert state["running"] and state["proxy_url"] == f"http://127.0.0.1:{port}"
        assert (tmp_path / "sandbox" / "state.json").exists() and (tmp_path / "sandbox" / "sandbox-web.pid").exists()
        assert daemon.status(tmp_path)["running"]
        again = daemon.up(tmp_path, port=port, listings_per_marketplace=20)
        assert again["pid"] == state["pid"] and not again["stale"]
        ctx = ssl.create_default_context(cafile=state["ca_path"])
        proxied = urllib.request.build_opener(urllib.request.ProxyHandler({"https": state["proxy_url"]}),
                                              urllib.request.HTTPSHandler(context=ctx))
        with proxied.open(json.loads(Path(state["ground_truth"]).read_text())["seeds"]["paste"][0], timeout=5) as r:
            assert r.status == 200
    finally:
        assert daemon.down(tmp_path)
    assert not daemon.status(tmp_path)["running"]
    assert not daemon.down(tmp_path)
