"""Console users, the console's secret and its commands: scrypt hashes, mode 0600, passwords never in argv."""

from __future__ import annotations

import io
import json
import stat

import pytest

from brandhound import commands as cli
from brandhound.commands.console import check_binding, is_loopback
from takedown.console.sessions import load_secret
from takedown.console.users import ConsoleError, UserStore, role_allows


def test_users_are_stored_with_salted_scrypt_hashes_in_a_private_file(tmp_path):
    store = UserStore.for_home(tmp_path)
    store.add("aino", "legal", "a long password")
    store.add("mikko", "analyst", "a long password")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    raw = store.path.read_text()
    assert "a long password" not in raw
    entries = json.loads(raw)["users"]
    assert entries["aino"]["salt"] != entries["mikko"]["salt"] and entries["aino"]["hash"] != entries["mikko"]["hash"]
    assert store.authenticate("aino", "a long password").role == "legal"
    assert store.authenticate("aino", "a long passworD") is None
    assert store.authenticate("nobody", "a long password") is None
    assert [(u.name, u.role) for u in store.list()] == [("aino", "legal"), ("mikko", "analyst")]


def test_bad_users_are_refused_clearly(tmp_path):
    store = UserStore.for_home(tmp_path)
    with pytest.raises(ConsoleError, match="role 'boss'"):
        store.add("aino", "boss", "a long password")
    with pytest.raises(ConsoleError, match="user name '<b>'"):
        store.add("<b>", "legal", "a long password")
    with pytest.raises(ConsoleError, match="too short"):
        store.add("aino", "legal", "short")
    store.add("aino", "legal", "a long password")
    with pytest.raises(ConsoleError, match="exists already"):
        store.add("aino", "admin", "another long one")
    store.add("aino", "admin", "another long one", replace=True)
    assert store.authenticate("aino", "another long one").role == "admin"
    with pytest.raises(ConsoleError, match="no console user 'ghost'"):
        store.remove("ghost")
    store.path.write_text("[1, 2]")
    with pytest.raises(ConsoleError, match="not a console users file"):
        store.list()


def test_roles_nest():
    assert role_allows("admin", "legal") and role_allows("legal", "analyst") and role_allows("legal", "legal")
    assert not role_allows("analyst", "legal") and not role_allows("legal", "admin") and not role_allows("x", "analyst")


def test_the_secret_comes_from_the_environment_or_a_private_generated_file(tmp_path):
    assert load_secret(tmp_path, {"BRANDHOUND_CONSOLE_SECRET": "e" * 40}) == "e" * 40
    with pytest.raises(ValueError, match="BRANDHOUND_CONSOLE_SECRET must be at least 32"):
        load_secret(tmp_path, {"BRANDHOUND_CONSOLE_SECRET": "short"})
    made = load_secret(tmp_path, {})
    path = tmp_path / "keys" / "console-secret.key"
    assert len(made) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(tmp_path, {}) == made
    short = tmp_path / "short.key"
    short.write_text("tiny")
    with pytest.raises(ValueError, match="at least 32 characters"):
        load_secret(tmp_path, {"BRANDHOUND_CONSOLE_SECRET_FILE": str(short)})
    with pytest.raises(ValueError, match="missing.key: cannot read"):
        load_secret(tmp_path, {"BRANDHOUND_CONSOLE_SECRET_FILE": str(tmp_path / "missing.key")})


def run(monkeypatch, capsys, tmp_path, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setenv("BRANDHOUND_HOME", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_user_commands_read_the_password_from_stdin_or_a_file(monkeypatch, capsys, tmp_path):
    code, out, _ = run(monkeypatch, capsys, tmp_path, "console", "user", "add", "aino", "--role", "legal",
                       stdin="from standard input\n")
    assert code == 0 and "aino (legal)" in out
    secret_file = tmp_path / "pw.txt"
    secret_file.write_text("from a file, long\n")
    assert run(monkeypatch, capsys, tmp_path, "console", "user", "add", "mikko", "--role", "analyst",
               "--from-file", str(secret_file))[0] == 0
    store = UserStore.for_home(tmp_path)
    assert store.authenticate("aino", "from standard input") and store.authenticate("mikko", "from a file, long")
    assert run(monkeypatch, capsys, tmp_path, "console", "user", "list")[1] == "aino\tlegal\nmikko\tanalyst\n"
    code, _, err = run(monkeypatch, capsys, tmp_path, "console", "user", "add", "x", "--role", "legal", stdin="short\n")
    assert code == 1 and "too short" in err
    with pytest.raises(SystemExit):
        run(monkeypatch, capsys, tmp_path, "console", "user", "add", "x", "--role", "legal", "--password", "p" * 12)
    assert run(monkeypatch, capsys, tmp_path, "console", "user", "remove", "mikko")[0] == 0
    assert [u.name for u in store.list()] == ["aino"]


def test_serve_refuses_plain_http_off_loopback_and_a_home_without_users(monkeypatch, capsys, tmp_path):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.com")
    code, _, err = run(monkeypatch, capsys, tmp_path, "serve", "--host", "0.0.0.0")
    assert code == 1 and "needs TLS" in err
    code, _, err = run(monkeypatch, capsys, tmp_path, "serve", "--tls-cert", "c.pem")
    assert code == 1 and "--tls-cert and --tls-key go together" in err
    code, _, err = run(monkeypatch, capsys, tmp_path, "serve")
    assert code == 1 and "no console users" in err and "console user add" in err


def test_serving_off_loopback_warns_loudly(capsys):
    args = type("Args", (), {"host": "0.0.0.0", "port": 8787, "tls_cert": None, "tls_key": None,
                             "insecure_http": True})()
    check_binding(args)
    err = capsys.readouterr().err
    assert "WARNING" in err and "0.0.0.0" in err and "PLAIN HTTP" in err
