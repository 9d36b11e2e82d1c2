"""The triage commands: score-listing, match-image, evaluate (JSON lines out, one per input)."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from brandhound import commands as cli
from brandhound.profile import load_profile
from tests.support.paths import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)
CUP = next(p for p in PROFILE.products if p.sku == "KST-CUP-001")


def run(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, list[dict]]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(list(argv))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    return code, [json.loads(line) for line in lines]


def test_match_image_sees_through_resizing_cropping_mirroring_and_colour(tmp_path, capsys):
    with Image.open(CUP.images[0]) as img:
        w, h = img.size
        copy = ImageOps.mirror(img.convert("RGB")).crop((w // 12, h // 14, w - w // 10, h - h // 12)).resize((w // 3, h // 3))
        copy = ImageEnhance.Color(copy).enhance(1.6)
    copy.save(tmp_path / "copy.jpg", quality=40)
    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(tmp_path / "noise.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    code, out = run(capsys, "match-image", "--brand", str(EXAMPLE_BRAND),
                    str(tmp_path / "copy.jpg"), str(tmp_path / "noise.png"), str(tmp_path / "broken.jpg"))
    assert code == 1  # the broken file
    copy_line, noise_line, broken_line = out
    assert copy_line["match"]["sku"] == "KST-CUP-001" and copy_line["match"]["mirrored"] is True
    assert noise_line["match"] is None and len(noise_line["phash"]) == 16
    assert "not a readable image" in broken_line["error"]


def test_score_listing_flags_a_disguised_cheap_listing_and_clears_a_genuine_one(tmp_path, capsys, monkeypatch):
    fake = {"title": "Kеstrava Aalto espresso cup 1:1", "price": 6.5, "currency": "EUR", "seller": "bestdeal"}
    genuine = {"title": "Kestrava Aalto Espresso Cup", "price": 41.0, "currency": "EUR", "seller": "Helsinki Design Shop"}
    (tmp_path / "fake.json").write_text(json.dumps(fake), encoding="utf-8")
    code, out = run(capsys, "score-listing", "--brand", str(EXAMPLE_BRAND), str(tmp_path / "fake.json"), "-",
                    stdin=json.dumps(genuine) + "\n", monkeypatch=monkeypatch)
    assert code == 0
    flagged, clear = out
    assert flagged["verdict"] == "flagged" and flagged["score"] >= flagged["threshold"]
    assert {"disguised_brand_name", "counterfeit_wording", "price_ratio"} <= {s["name"] for s in flagged["signals"]}
    assert clear["verdict"] == "clear" and clear["input"] == "stdin line 1"


def test_score_listing_names_the_bad_input(tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{title:", encoding="utf-8")
    code = cli.main(["score-listing", "--brand", str(EXAMPLE_BRAND), str(tmp_path / "bad.json")])
    assert code != 0
    assert "bad.json: not JSON" in capsys.readouterr().err


def test_evaluate_prints_precision_recall_and_f1(capsys):
    code, out = run(capsys, "evaluate", "--listings", "60", "--json")
    assert code == 0
    metrics = {m["kind"]: m for m in out[0]}
    assert set(metrics) == {"counterfeit_listing", "lookalike_domain", "fake_store", "phishing",
                            "credential_leak", "card_leak", "secret_leak"}
    for m in metrics.values():
        assert m["true_positives"] > 0 and m["precision"] >= 0.95 and m["recall"] >= 0.95, m


def test_permute_domain_and_score_domain_from_the_command_line(capsys, monkeypatch):
    code, out = run(capsys, "permute-domain", "kestrava.com", "--kind", "omission")
    assert code == 0 and {"domain": "kestrva.com", "punycode": "kestrva.com", "kind": "omission"} in out
    code, out = run(capsys, "score-domain", "--brand", str(EXAMPLE_BRAND), "-",
                    stdin="kestrava-outlet.shop\nkestrava.com\n", monkeypatch=monkeypatch)
    assert code == 0
    assert [(o["domain"], o["verdict"]) for o in out] == [("kestrava-outlet.shop", "flagged"), ("kestrava.com", "clear")]


def test_scan_leaks_prints_masked_hits_and_never_the_password(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BRANDHOUND_HOME", str(tmp_path / "home"))
    dump = tmp_path / "dump.txt"
    dump.write_text("noise\nanna.k@corp.kestrava.com:Hunter2Secret!\nbob@example.org:whatever1\n", encoding="utf-8")
    code, out = run(capsys, "scan-leaks", "--brand", str(EXAMPLE_BRAND), str(dump))
    assert code == 0
    creds = [o for o in out if o["kind"] == "credential"]
    assert [c["user"] for c in creds] == ["anna.k@corp.kestrava.com"]
    assert "Hunter2Secret!" not in json.dumps(out)
