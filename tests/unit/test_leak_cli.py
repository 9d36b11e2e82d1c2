"""``scan-leaks`` on its own: several files and directories in one process, flags instead of a profile."""

from __future__ import annotations

import io
import json

from brandhound.config import load_settings
from detectors.leak_cli import scan_leaks_command
from detectors.secret_masking import keyed_hash

MINIMAL = "id: orvellia\nname: Orvellia\nnames: [Orvellia]\nofficial_domains: [orvellia.com]\n" \
          "corporate_email_domains: [orvellia.com]\n"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _tree(tmp_path):
    root = tmp_path / "dumps"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "combo.txt").write_text("aino@orvellia.com:Summer12!\nsomeone@mailbox-example.com:x1\n")
    (root / "a" / "b" / ".env").write_text("SMTP_HOST=mail.orvellia.com\nSMTP_USER=ops\nSMTP_PASSWORD=Mail1234!")
    (root / "id_rsa").write_text("-----BEGIN RSA PRIVATE KEY-----\n" + "A" * 64 + "\n-----END RSA PRIVATE KEY-----")
    single = tmp_path / "single.txt"
    single.write_text("URL: https://sso.orvellia.com | USER: pekka | PASS: Talvi2024!")
    return root, single


def _run(tmp_path, profile, sources, **kwargs):
    settings = load_settings({"BRANDHOUND_HOME": str(tmp_path / "home")})
    out, err = io.StringIO(), kwargs.pop("err", io.StringIO())
    status = scan_leaks_command(profile, sources, settings, out=out, err=err, **kwargs)
    return status, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue(), settings


def test_files_and_directories_recursively_with_flags_and_no_profile(tmp_path):
    root, single = _tree(tmp_path)
    status, records, err, settings = _run(tmp_path, None, [str(root), str(single)], domains="orvellia.com")
    assert status == 0
    got = [(r["source"].removeprefix(str(tmp_path) + "/"), r["kind"], r.get("user")) for r in records]
    # A directory's files before its subdirectories, each in name order.
    assert got == [("dumps/id_rsa", "secret", None), ("dumps/a/combo.txt", "credential", "aino@orvellia.com"),
                   ("dumps/a/b/.env", "credential", "ops"), ("single.txt", "credential", "pekka")]
    assert records[0]["line"] == 1 and records[0]["end_line"] == 3
    assert records[2]["hmac"] == keyed_hash("Mail1234!", settings.hmac_key())
    text = "\n".join(json.dumps(r) for r in records)
    assert "Summer12!" not in text and "Mail1234!" not in text and "Talvi2024!" not in text and "AAAA" not in text
    assert "4 hits in 4 files" in err


def test_a_minimal_profile_or_a_directory_of_them_tags_each_hit_with_its_brand(tmp_path):
    root, _ = _tree(tmp_path)
    brands = tmp_path / "brands"
    brands.mkdir()
    (brands / "orvellia.yaml").write_text(MINIMAL)
    (brands / "other.yaml").write_text(MINIMAL.replace("orvellia", "talvenmark").replace("Orvellia", "Talvenmark"))
    status, records, _, _ = _run(tmp_path, str(brands), [str(root / "a")])
    assert status == 0
    assert [(r["user"], r["brand_id"]) for r in records] == [("aino@orvellia.com", "orvellia"), ("ops", "orvellia")]


def test_progress_on_a_terminal_only_and_a_missing_source_named_without_stopping_the_others(tmp_path):
    root, single = _tree(tmp_path)
    tty = _Tty()
    status, records, err, _ = _run(tmp_path, None, [str(tmp_path / "nope"), str(single)], domains="orvellia.com",
                                   err=tty, progress=None)
    assert status == 2 and len(records) == 1
    assert f"{tmp_path / 'nope'}: cannot read: no such file or directory" in err
    assert "scan-leaks: 1 files" in err and "\x1b[2K" in err  # drawn, then erased in place
    status, _, err, _ = _run(tmp_path, None, [str(single)], domains="orvellia.com")
    assert status == 0 and "\r" not in err


def test_bad_flags_and_profiles_are_named(tmp_path):
    _, single = _tree(tmp_path)
    status, _, err, _ = _run(tmp_path, None, [str(single)], bins="4556xx")
    assert status == 2 and "--bins '4556xx'" in err
    status, _, err, _ = _run(tmp_path, str(tmp_path / "missing.yaml"), [str(single)])
    assert status == 2 and "missing.yaml" in err
    status, _, err, _ = _run(tmp_path, None, [], domains="orvellia.com")
    assert status == 2 and "no source" in err
