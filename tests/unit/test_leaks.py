"""Leaked credentials, cards and secrets: masking, the streaming scanner, the detector and its CLI."""

from __future__ import annotations

import io
import json
import logging
import random
import tracemalloc
from datetime import datetime, timezone
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from brandhound.config import HmacKey, load_settings
from brandhound.items import Crawl, Leak, Page, Url
from brandhound.mapping import to_document
from brandhound.profile import load_profile
from crawlers.items import Capture
from detectors.leak_cli import scan_leaks_command
from detectors.leak_detector import LeakDetector, merge_leak
from detectors.leak_scan import LeakScanner, decode_line
from detectors.secret_masking import keyed_hash, mask, mask_card, protect
from sandbox.web import build
from sandbox.web.pastes import with_check_digit
from sandbox.web.routes import HostTable, Request
from tests.support.paths import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)
KEY = HmacKey(key=b"test-key-" * 4, id="test")


def scanner(**kwargs) -> LeakScanner:
    return LeakScanner.from_profile(PROFILE, KEY, **kwargs)


def hits_in(data, **kwargs):
    return list(scanner(**kwargs).scan(data))


def brand_card(prefix: str = "455671") -> str:
    return with_check_digit(prefix + "123456789"[: 15 - len(prefix)])


def capture_for(text: str, url: str = "https://pastebay.net/raw/abc") -> Capture:
    fetched = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    page = Page(url=Url(full=url), crawl=Crawl(spider="paste", source_type="paste", fetched_at=fetched))
    return Capture(page=page, keep_body=False, dump_text=text)


# --------------------------------------------------------------------------- masking


@pytest.mark.parametrize(("secret", "masked"), [
    ("password", "p******d"),
    ("Summer1234!", "S*********!"),
    ("abcdefg", "a******"),   # under 8: the first character only (at most a quarter)
    ("abcd", "a***"),
    ("abc", "***"),
    ("", ""),
])
def test_mask_shows_at_most_first_and_last_and_a_quarter(secret, masked):
    assert mask(secret) == masked
    shown = sum(1 for a, b in zip(secret, mask(secret)) if a == b and b != "*")
    assert shown <= len(secret) / 4


def test_long_secrets_have_a_bounded_mask_and_their_true_length():
    key = "-----BEGIN RSA PRIVATE KEY-----\n" + "A" * 1700 + "\n-----END RSA PRIVATE KEY-----"
    secret = protect(key, KEY)
    assert secret.length == len(key) and len(secret.masked) < 40
    assert secret.masked[0] == "-" and set(secret.masked[1:-1]) == {"*"}


def test_cards_pci_mask_first_six_last_four_only_when_long_enough():
    assert mask_card("4556 7112 3456 7890") == "455671******7890"
    assert mask_card("378282246310005") == "378282*****0005"
    assert mask_card("4222222222222") == "*************"  # 13 digits: fully masked


def test_hmac_is_keyed_and_stable():
    assert keyed_hash("pw", KEY) == keyed_hash("pw", KEY)
    assert keyed_hash("pw", KEY) != keyed_hash("pw", HmacKey(key=b"other-key" * 4, id="o"))
    secret = protect("Summer12!", KEY)
    assert secret.key_id == "test" and len(secret.hmac) == 64 and "Summer12!" not in repr(secret)


# --------------------------------------------------------------------------- the sandbox pastes


@pytest.fixture(scope="module")
def pastes(tmp_path_factory) -> list[tuple[dict, str]]:
    out = tmp_path_factory.mktemp("sandbox-web")
    truth = json.loads(build(EXAMPLE_BRAND, out).read_text(encoding="utf-8"))
    table = HostTable(out)
    result = []
    for page in truth["pages"]:
        if page["kind"] != "paste":
            continue
        parts = urlsplit(page["url"])
        body = table.respond(Request("GET", parts.hostname, parts.path, parts.query, scheme=parts.scheme)).body
        result.append((page, body.decode("utf-8")))
    assert len(result) >= 30
    return result


@pytest.fixture(scope="module")
def detected(pastes) -> list[tuple[dict, Capture, list]]:
    detector = LeakDetector(profile=PROFILE, key=KEY)
    out = []
    for page, text in pastes:
        capture = capture_for(text, page["url"])
        findings = detector.detect(capture)
        out.append((page, capture, findings))
    return out


def _expected(page: dict) -> dict[str, set]:
    return {
        "credential_leak": {(c["user"].lower(), keyed_hash(c["password"], KEY))
                            for c in page["credentials"] if c["corporate"]},
        "card_leak": {("", keyed_hash(c["number"], KEY)) for c in page["cards"] if c["luhn_valid"] and c["in_brand_bin"]},
        "secret_leak": {("", keyed_hash(s["value"], KEY)) for s in page["secrets"]},
    }


def _flagged(capture: Capture, findings: list) -> dict[str, set]:
    leaks = {leak.doc_id(): leak for leak in capture.leaks}
    out: dict[str, set] = {"credential_leak": set(), "card_leak": set(), "secret_leak": set()}
    for finding in findings:
        if finding.verdict != "flagged":
            continue
        leak = leaks[finding.subject.id]
        account = (leak.user.email or leak.user.name) if leak.user else ""
        out[finding.kind].add((account, leak.secret.hmac))
    return out


@pytest.mark.parametrize("kind", ["credential_leak", "card_leak", "secret_leak"])
def test_precision_and_recall_on_the_sandbox_pastes(detected, kind):
    tp = fp = fn = 0
    for page, capture, findings in detected:
        expected, got = _expected(page)[kind], _flagged(capture, findings)[kind]
        tp += len(expected & got)
        fp += len(got - expected)
        fn += len(expected - got)
    assert tp > 5, f"too few {kind} in the sandbox to measure"
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.95 and recall >= 0.95, f"{kind}: precision {precision:.3f}, recall {recall:.3f}"


def test_findings_are_explained_and_point_at_their_leak(detected):
    kinds = set()
    for _, capture, findings in detected:
        assert len(findings) == len(capture.leaks)
        ids = {leak.doc_id() for leak in capture.leaks}
        for finding in findings:
            kinds.add(finding.kind)
            assert finding.subject.index == Leak.INDEX and finding.subject.id in ids
            assert 0 <= finding.score <= 1 and finding.explanation and finding.signals
            names = {s.name for s in finding.signals}
            assert "sightings_in_dump" in names
            assert {"credential_leak": "corporate_domain", "card_leak": "brand_bin",
                    "secret_leak": "key_type"}[finding.kind] in names
            assert abs(sum(s.contribution for s in finding.signals) - finding.score) < 0.01
    assert kinds == {"credential_leak", "card_leak", "secret_leak"}


def test_no_clear_secret_in_findings_leaks_or_logs(pastes, caplog):
    clear: set[str] = set()
    for page, _ in pastes:
        clear |= {c["password"] for c in page["credentials"]}
        clear |= {c["number"] for c in page["cards"]} | {c["text"] for c in page["cards"]}
        for s in page["secrets"]:
            clear.add(s["value"])
            clear.add(s["value"][8:40])  # a stretch of a key's body
    detector = LeakDetector(profile=PROFILE, key=KEY)
    dumped = []
    with caplog.at_level(logging.DEBUG):
        for page, text in pastes:
            capture = capture_for(text, page["url"])
            findings = detector.detect(capture)
            dumped += [json.dumps(to_document(x)) for x in [*findings, *capture.leaks]]
            dumped += [repr(h) for h in detector.scanner().scan_text(text)]
    everything = "\n".join(dumped) + "\n" + caplog.text
    assert "leaks in https://pastebay.net/raw/" in caplog.text
    leaked = sorted(s for s in clear if s in everything)
    assert not leaked, f"{len(leaked)} clear secrets in output"


def test_non_brand_cards_are_skipped_unless_asked_and_then_not_flagged():
    other = with_check_digit("401288888888188")
    text = f"{other}|01/28|123|Aino V\n{brand_card()}|02/29|456|Aino V\n"
    findings = LeakDetector(profile=PROFILE, key=KEY).detect(capture_for(text))
    assert [f.verdict for f in findings] == ["flagged"]
    findings = LeakDetector(profile=PROFILE, key=KEY, report_other_cards=True).detect(capture_for(text))
    assert sorted(f.verdict for f in findings) == ["clear", "flagged"]


def test_repeats_within_a_capture_are_one_leak_with_sightings():
    text = ("aino.virtanen@kestrava.com:Summer12!\nnoise\nAINO.VIRTANEN@KESTRAVA.COM;Summer12!\n"
            "aino.virtanen@kestrava.com:Other99\n")
    capture = capture_for(text)
    findings = LeakDetector(profile=PROFILE, key=KEY).detect(capture)
    assert len(findings) == 2 and len(capture.leaks) == 2
    twice = next(leak for leak in capture.leaks if leak.threat.indicator.sightings == 2)
    assert twice.user.email == "aino.virtanen@kestrava.com" and twice.user.domain == "kestrava.com"
    assert twice.secret.masked == "S*******!" and twice.threat.indicator.type == "email-addr"
    finding = next(f for f in findings if f.subject.id == twice.doc_id())
    sightings = next(s for s in finding.signals if s.name == "sightings_in_dump")
    assert sightings.value == "2" and "lines of the dump: 1, 3" in sightings.evidence


def test_detector_from_crawler_reads_the_spider_profile_and_the_configured_key(monkeypatch, tmp_path):
    monkeypatch.setenv("BRANDHOUND_HOME", str(tmp_path))
    monkeypatch.setenv("BRANDHOUND_HMAC_KEY", "k" * 40)
    monkeypatch.delenv("BRANDHOUND_HMAC_KEY_FILE", raising=False)
    monkeypatch.delenv("BRANDHOUND_HMAC_KEY_ID", raising=False)
    crawler = SimpleNamespace(spider=SimpleNamespace(profile=PROFILE), settings=None)
    detector = LeakDetector.from_crawler(crawler)
    capture = capture_for("mikko.nowak@corp.kestrava.com:Talvi2024#\n")
    [finding] = detector.detect(capture)
    [leak] = capture.leaks
    key = load_settings().hmac_key()
    assert leak.secret.hmac == keyed_hash("Talvi2024#", key) and leak.secret.key_id == key.id
    assert finding.kind == "credential_leak" and finding.verdict == "flagged"
    assert detector.detect(capture_for("")) == [] and detector.detect(SimpleNamespace(dump_text=None)) == []


# --------------------------------------------------------------------------- formats


def _creds(text: str) -> list[tuple[str, str, str]]:
    return [(h.user, h.secret.hmac, h.secret_type) for h in hits_in(text) if h.kind == "credential"]


def test_credential_formats():
    h = lambda pw: keyed_hash(pw, KEY)  # noqa: E731
    text = "\n".join([
        "aino.virtanen@kestrava.com:Summer12!",
        "emma.smith@corp.kestrava.com;kissa99#",
        "juha.korhonen@kestrava.com|Qwerty1",
        "https://mailbox-example.com/login:laura.silva@kestrava.com:Pa:ss",
        "https://sso.kestrava.com:8443/auth ville.jensen Dragon77",
        "https://anna:Welc0me@vpn.corp.kestrava.com/",
        "someone@mailbox-example.com:NotOurs1",
        "mikko_nowak12|NotOurs2",
        "aino@kestrava.com.evil.net:NotOurs3",
        "aino@notkestrava.com:NotOurs4",
        "contact: legal@kestrava.com",
        "legal@kestrava.com; press@kestrava.com",
    ])
    assert _creds(text) == [
        ("aino.virtanen@kestrava.com", h("Summer12!"), "email:password"),
        ("emma.smith@corp.kestrava.com", h("kissa99#"), "email;password"),
        ("juha.korhonen@kestrava.com", h("Qwerty1"), "email|password"),
        ("laura.silva@kestrava.com", h("Pa:ss"), "url:login:password"),
        ("ville.jensen", h("Dragon77"), "url:login:password"),
        ("anna", h("Welc0me"), "url_userinfo"),
    ]


def test_stealer_log_blocks():
    text = (
        "===============\nURL: https://sso.kestrava.com/login\nUSER: aino.virtanen\nPASS: Talvi2024!\n"
        "===============\nURL: https://accounts.mailbox-example.com\nUSER: Emma.Smith@Kestrava.com\n"
        "PASS: Summer1\n===============\nURL: https://shop.example.net\nUSER: someone\nPASS: NotOurs\n"
        "Soft: Chrome\nHost: https://intranet.corp.kestrava.com\nLogin: pekka\nPassword: Admin77\n"
    )
    got = [(h.user, h.secret.hmac, h.service, h.line) for h in hits_in(text) if h.kind == "credential"]
    assert got == [
        ("aino.virtanen", keyed_hash("Talvi2024!", KEY), "https://sso.kestrava.com/login", 3),
        ("emma.smith@kestrava.com", keyed_hash("Summer1", KEY), "https://accounts.mailbox-example.com", 7),
        ("pekka", keyed_hash("Admin77", KEY), "https://intranet.corp.kestrava.com", 15),
    ]


def test_stealer_records_split_across_chunks_are_found_whole():
    record = "URL: https://sso.kestrava.com/login\nUSER: aino.virtanen\nPASS: Talvi2024!\n"
    text = "x" * 50 + "\n" + record * 3
    for chunk_size in (7, 31, 64, 1 << 20):
        got = hits_in(text.encode(), chunk_size=chunk_size, max_line=256, overlap=64)
        assert [h.line for h in got] == [3, 6, 9], chunk_size


def test_secrets_of_every_type():
    rng = random.Random(3)
    alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    tok = lambda n, a=alnum: "".join(rng.choice(a) for _ in range(n))  # noqa: E731
    samples = {
        "aws_access_key_id": "AKIA" + tok(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
        "aws_secret_access_key": tok(40, alnum + "/+"),
        "github_token": "ghp_" + tok(36),
        "gitlab_token": "glpat-" + tok(20),
        "slack_token": "xoxb-123456789012-1234567890123-" + tok(24),
        "stripe_key": "sk_live_" + tok(24),
        "google_api_key": "AIza" + tok(35),
        "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + tok(43),
        "brand_api_key": "kst_live_" + tok(32),
    }
    body = "\n".join(tok(64) for _ in range(5))
    samples["private_key"] = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----"
    lines = [f"AWS_SECRET_ACCESS_KEY={samples['aws_secret_access_key']}"]
    lines += [f"{name.upper()}={value}" for name, value in samples.items()
              if name not in ("aws_secret_access_key", "private_key")]
    lines.append(samples["private_key"])
    lines.append('{"private_key": "' + samples["private_key"].replace("\n", "\\n") + '\\n"}')  # JSON-escaped
    lines += ["AKIAIOSFODNN7EXAMPL", "xAKIA" + tok(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"), "ghp_short"]  # near misses
    got = [(h.secret_type, h.secret.hmac) for h in hits_in("\n".join(lines) + "\n") if h.kind == "secret"]
    expected = [(name, keyed_hash(value, KEY)) for name, value in samples.items()]
    expected.append(("private_key", keyed_hash(samples["private_key"], KEY)))
    assert sorted(got) == sorted(expected)
    [brand_hit] = [h for h in hits_in(f"KEY={samples['brand_api_key']}\n") if h.kind == "secret"]
    assert brand_hit.brand and brand_hit.matched == "kst_live_" and brand_hit.context == "assignment"


def test_cards_luhn_bins_and_separators():
    valid = brand_card()
    spaced = " ".join(valid[i:i + 4] for i in range(0, 16, 4))
    dashed = "-".join(with_check_digit("524198001234567")[i:i + 4] for i in range(0, 16, 4))
    bad = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    other = with_check_digit("401288888888188")
    text = f"{valid}|01/28|123\ncard: {spaced}\n{dashed} exp 03/2029\n{bad}\n{other}\nid 12{valid}\n"
    cards = [h for h in hits_in(text) if h.kind == "card"]
    assert [(h.line, h.brand, h.matched, h.context) for h in cards] == [
        (1, True, "455670-455679", "expiry"), (2, True, "455670-455679", None),
        (3, True, "52419800", "expiry"), (5, False, None, None)]
    assert cards[0].secret.hmac == cards[1].secret.hmac == keyed_hash(valid, KEY)
    assert cards[0].secret.masked == valid[:6] + "******" + valid[-4:]


# --------------------------------------------------------------------------- malformed input


def test_binary_garbage_does_not_crash_and_hides_nothing():
    rng = random.Random(7)
    garbage = bytes(rng.getrandbits(8) for _ in range(300_000))
    data = garbage + b"\naino.virtanen@kestrava.com:Summer12!\n" + garbage + b"\x00\xff" + brand_card().encode() + b"\n"
    hits = hits_in(data)
    assert ("aino.virtanen@kestrava.com", keyed_hash("Summer12!", KEY)) in {(h.user, h.secret.hmac) for h in hits}
    assert keyed_hash(brand_card(), KEY) in {h.secret.hmac for h in hits if h.kind == "card"}
    offset = next(h.offset for h in hits if h.kind == "credential")
    assert data[offset:offset + 13] == b"aino.virtanen"


def test_mixed_encodings_decode_per_line():
    data = ("aino.virtanen@kestrava.com:Pässwörd1\n".encode("utf-8")
            + "emma.smith@kestrava.com:Pässwörd2\n".encode("cp1252")
            + b"juha.korhonen@kestrava.com:\x81\x8dpw\r\n"          # not cp1252 either: latin-1
            + "laura.silva@kestrava.com:Salasana€9\n".encode("cp1252"))
    got = {h.user: h.secret.hmac for h in hits_in(data)}
    assert got == {
        "aino.virtanen@kestrava.com": keyed_hash("Pässwörd1", KEY),
        "emma.smith@kestrava.com": keyed_hash("Pässwörd2", KEY),
        "juha.korhonen@kestrava.com": keyed_hash("\x81\x8dpw", KEY),
        "laura.silva@kestrava.com": keyed_hash("Salasana€9", KEY),
    }
    assert decode_line(b"\x81\xff") == ("\x81\xff", "latin-1")


def test_windows_of_a_long_line_find_every_hit_once_at_any_offset():
    """A token at every position around the window boundaries is reported exactly once."""
    cred = b" aino.virtanen@kestrava.com:Summer12! "
    for pos in range(900, 1100, 3):
        line = bytearray(b"q" * 3000)
        line[pos:pos + len(cred)] = cred
        data = b"first line\n" + bytes(line) + b"\nlast\n"
        hits = hits_in(data, chunk_size=100, max_line=1024, overlap=128)
        assert [(h.line, h.offset) for h in hits] == [(2, 11 + pos + 1)], pos


def test_chunking_does_not_change_the_hits(pastes):
    text = "\n".join(t for _, t in pastes[:12])
    reference = [(h.kind, h.line, h.offset, h.secret.hmac) for h in hits_in(text)]
    assert len(reference) > 20
    for chunk_size in (13, 4096):
        got = [(h.kind, h.line, h.offset, h.secret.hmac) for h in hits_in(text.encode(), chunk_size=chunk_size)]
        assert got == reference


class _LongLine(io.RawIOBase):
    """A 200 MB single line made on the fly, with leaks at the start, across windows and at the end."""

    def __init__(self, size: int, needles: dict[int, bytes]):
        self.size, self.pos, self.needles = size, 0, needles
        self.filler = (b"lorem ipsum dolor sit amet " * 40000)[: 1 << 20]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.pos)
        if n <= 0:
            return 0
        start = self.pos % len(self.filler)
        piece = bytearray((self.filler[start:] + self.filler)[:n])
        for at, needle in self.needles.items():
            lo, hi = max(at, self.pos), min(at + len(needle), self.pos + n)
            if lo < hi:
                piece[lo - self.pos:hi - self.pos] = needle[lo - at:hi - at]
        buffer[:n] = piece
        self.pos += n
        return n


def test_a_200_mb_single_line_is_scanned_with_bounded_memory():
    size = 200 << 20
    cred = b" aino.virtanen@kestrava.com:Summer12! "
    key = b" AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP "
    needles = {5: cred, (1 << 20) - 30: key, 100 << 20: cred, size - 60: cred}
    stream = io.BufferedReader(_LongLine(size, needles), buffer_size=1 << 16)
    tracemalloc.start()
    try:
        hits = list(scanner().scan(stream))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"peak {peak >> 20} MB"
    assert sorted((h.kind, h.offset, h.line) for h in hits) == [
        ("credential", 6, 1), ("credential", (100 << 20) + 1, 1), ("credential", size - 59, 1),
        ("secret", (1 << 20) - 30 + 19, 1)]


# --------------------------------------------------------------------------- merging across sightings


def test_merge_leak_across_sightings():
    detector = LeakDetector(profile=PROFILE, key=KEY)
    first = capture_for("aino.virtanen@kestrava.com:Summer12!\n", "https://pastebay.net/raw/a")
    detector.detect(first)
    second = capture_for("x\naino.virtanen@kestrava.com:Summer12!\naino.virtanen@kestrava.com:Summer12!\n",
                         "https://forum.onion/t/9")
    second.page.crawl.fetched_at = datetime(2026, 6, 1, tzinfo=timezone.utc)
    detector.detect(second)
    [old], [new] = first.leaks, second.leaks
    assert merge_leak(None, old) == old
    merged = merge_leak(to_document(old), new)
    assert merged.doc_id() == old.doc_id()
    ind = merged.threat.indicator
    assert ind.first_seen == datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    assert ind.last_seen == datetime(2026, 6, 1, tzinfo=timezone.utc) and ind.sightings == 3
    assert merged.sources == ["https://pastebay.net/raw/a", "https://forum.onion/t/9"]
    assert merged.url.full == "https://forum.onion/t/9"
    # An older sighting indexed late does not move last_seen or the url back.
    late = merge_leak(to_document(merged), old)
    assert late.threat.indicator.last_seen == ind.last_seen and late.url.full == "https://forum.onion/t/9"
    assert late.threat.indicator.sightings == 4
    other = capture_for("aino.virtanen@kestrava.com:Other1!\n")
    detector.detect(other)
    with pytest.raises(ValueError, match="different leaks"):
        merge_leak(to_document(old), other.leaks[0])


# --------------------------------------------------------------------------- the CLI


def test_scan_leaks_command_writes_json_lines_without_clear_secrets(tmp_path, monkeypatch):
    dump = tmp_path / "dump.txt"
    card = brand_card()
    dump.write_bytes(f"noise\naino.virtanen@kestrava.com:Summer12!\n{card}|01/28\nGITHUB_TOKEN=ghp_{'a1' * 18}\n"
                     .encode())
    settings = load_settings({"BRANDHOUND_HOME": str(tmp_path / "home")})
    out, err = io.StringIO(), io.StringIO()
    assert scan_leaks_command(str(EXAMPLE_BRAND), str(dump), settings, out=out, err=err) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["kind"] for r in records] == ["credential", "card", "secret"]
    assert records[0]["email"] == records[0]["user"] == "aino.virtanen@kestrava.com"
    assert records[0]["line"] == 2 and records[0]["offset"] == 6 and records[0]["source"] == str(dump)
    assert records[0]["hmac"] == keyed_hash("Summer12!", settings.hmac_key())
    assert records[2]["secret_type"] == "github_token"
    assert "Summer12!" not in out.getvalue() and card not in out.getvalue() and "a1a1a1" not in out.getvalue()
    assert (tmp_path / "home" / "keys" / "hmac.key").stat().st_mode & 0o777 == 0o600

    monkeypatch.setattr("sys.stdin", SimpleNamespace(buffer=io.BytesIO(dump.read_bytes())))
    out = io.StringIO()
    assert scan_leaks_command(str(EXAMPLE_BRAND), "-", settings, out=out, err=err) == 0
    assert [json.loads(line)["source"] for line in out.getvalue().splitlines()] == ["<stdin>"] * 3

    assert scan_leaks_command(str(tmp_path / "nope.yaml"), str(dump), settings, out=out, err=err) == 2
    assert scan_leaks_command(str(EXAMPLE_BRAND), str(tmp_path / "missing"), settings, out=out, err=err) == 2
    assert "cannot read" in err.getvalue()
