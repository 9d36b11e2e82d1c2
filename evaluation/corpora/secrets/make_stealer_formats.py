"""Synthesise the stealer-log and combo-list records of the secrets corpus, in the formats public stealer-log
parsers document, with fake values (see SOURCES.md).

    python make_stealer_formats.py OUT_DIR    # the files in OUT_DIR, the labels beside it

Seeded: the same files and labels every time. A record of a corporate account (an e-mail at a corporate
domain) or of a login on a corporate host is a planted secret; the others are negatives.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
import sys
from collections.abc import Callable
from pathlib import Path

CORP = ["orvellia.com", "talvenmark.fi"]
OTHER = ["gmail.com", "outlook.com", "mail.ru", "yahoo.co.jp", "web.de"]
LOOKALIKE = ["orvellia.com.account-verify.net", "orvellia-support.com", "notorvellia.com", "talvenmark.fi.secure-login.co"]
FIRST = ["aino", "mikko", "laura", "jonas", "sofia", "emil", "nora", "pekka", "ines", "tomas", "lea", "oskar", "maria",
         "viktor", "hanna"]
LAST = ["virtanen", "lindqvist", "moreau", "novak", "haddad", "kowalski", "silva", "berg", "tanaka", "okafor", "rossi",
        "jensen"]
CORP_HOSTS = ["vpn.{d}", "sso.{d}", "mail.{d}", "portal.{d}", "jira.corp.{d}", "{d}", "intranet.{d}", "git.{d}"]
OTHER_SITES = ["https://accounts.google.com/signin", "https://www.facebook.com/login.php", "https://login.live.com/",
               "https://www.netflix.com/login", "https://discord.com/login", "https://steamcommunity.com/login/home/"]
#: The kinds of record, in turn; the last record of a file is always corporate (and most files end without a newline).
KINDS = ["corp_email", "corp_site", "other", "other", "lookalike"]

Make = Callable[[str, str, str], list[str]]


class Generator:
    def __init__(self, out: Path, seed: int = 20261203):
        self.out = out
        self.rng = random.Random(seed)
        self.labels: list[dict] = []

    def password(self) -> str:
        n = self.rng.randint(7, 16)
        alphabet = string.ascii_letters + string.digits + "!#$%&*?@._-"
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def person(self) -> str:
        return f"{self.rng.choice(FIRST)}.{self.rng.choice(LAST)}{self.rng.choice(['', '', str(self.rng.randint(1, 99))])}"

    def email(self, domain: str) -> str:
        return f"{self.person()}@{domain}"

    def corp_url(self) -> str:
        domain = self.rng.choice(CORP)
        host = self.rng.choice(CORP_HOSTS).format(d=domain)
        return f"https://{host}/{self.rng.choice(['login', 'auth/realms/staff', '', 'owa/'])}"

    def account(self, kind: str) -> tuple[str, str]:
        """(url, user) for a record: a corporate account, a corporate site, a look-alike or someone else's."""
        if kind == "corp_email":
            sites = OTHER_SITES + [self.corp_url()]
            return self.rng.choice(sites), self.email(self.rng.choice(CORP))
        if kind == "corp_site":
            return self.corp_url(), self.person()
        if kind == "lookalike":
            return f"https://{self.rng.choice(LOOKALIKE)}/login", self.email(self.rng.choice(LOOKALIKE))
        site = self.rng.choice(OTHER_SITES)
        return site, self.rng.choice([self.email(self.rng.choice(OTHER)), self.person()])

    def file(self, name: str, fmt: str) -> File:
        return File(self, name, fmt)

    def blocks(self, name: str, fmt: str, make: Make, n: int, *, sep: str | None = None, final_newline: bool = False,
               header: tuple[str, ...] = ()) -> None:
        f = self.file(name, fmt)
        f.lines.extend(header)
        for i in range(n):
            kind = KINDS[i % len(KINDS)] if i < n - 1 else "corp_email"
            url, user = self.account(kind)
            f.add(make(url, user, self.password()), kind.startswith("corp"), kind)
            if sep is not None and i < n - 1:
                f.lines.append(sep)
        f.write(final_newline)


class File:
    def __init__(self, gen: Generator, name: str, fmt: str):
        self.gen, self.name, self.fmt, self.lines = gen, name, fmt, []

    def add(self, lines: list[str], corp: bool, what: str) -> None:
        start = len(self.lines) + 1
        self.lines.extend(lines)
        if corp:
            last = start + len(lines) - 1
            self.gen.labels.append({"file": self.name, "line": last, "lines": [start, last], "kind": "credential",
                                    "claimed": True, "what": f"{self.fmt}: {what}"})

    def write(self, final_newline: bool = True) -> None:
        path = self.gen.out / self.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.lines) + ("\n" if final_newline else ""), encoding="utf-8")


def corp_domain(domain: str) -> bool:
    return any(domain == c or domain.endswith("." + c) for c in CORP)


def android(url: str, user: str, password: str) -> str:
    package = url.split("/")[2].split(".")[-2]
    return f"android://{hashlib.sha1(user.encode()).hexdigest()[:20]}==@com.{package}.mobile/:{user}:{password}"


COMBO_FORMS: list[Callable[[str, str, str], str]] = [
    lambda u, s, p: f"{s}:{p}",
    lambda u, s, p: f"{s};{p}",
    lambda u, s, p: f"{s}|{p}",
    lambda u, s, p: f'"{u}":{s}:{p}',  # the parsers' output form, URL quoted
    lambda u, s, p: f"{u}:{s}:{p}",
    lambda u, s, p: f"{u}|{s}|{p}",
    lambda u, s, p: f"{u} {s} {p}",
    android,
]


def generate(out: Path) -> Generator:
    gen = Generator(out)
    # RedLine: "===============" between records of URL/Username/Password/Application.
    gen.blocks("redline/Passwords.txt", "redline",
               lambda u, s, p: [f"URL: {u}", f"Username: {s}", f"Password: {p}", "Application: Google_[Chrome]_Default"],
               10, sep="===============",
               header=("*" * 52, "*  Telegram: @example_channel  (synthetic header)  *", "*" * 52, ""))
    # Raccoon: URL/USER/PASS records separated by blank lines.
    gen.blocks("raccoon/passwords.txt", "raccoon", lambda u, s, p: [f"URL: {u}", f"USER: {s}", f"PASS: {p}"], 10, sep="")
    # Vidar/Mars (lexfo/stealer-parser's grammar): Soft/Host/Login/Password.
    gen.blocks("vidar/passwords.txt", "vidar",
               lambda u, s, p: ["Soft: Chrome (Default)", f"Host: {u}", f"Login: {s}", f"Password: {p}"], 10, sep="")
    # StealC: lower-case browser/profile/url/login/password.
    gen.blocks("stealc/passwords.txt", "stealc",
               lambda u, s, p: ["browser: Google Chrome", "profile: Default", f"url: {u}", f"login: {s}", f"password: {p}"],
               10, sep="", final_newline=True)
    # Meta/Lumma: a soft line without a prefix, then Hostname / USER LOGIN / USER PASSWORD.
    gen.blocks("meta/Passwords.txt", "meta",
               lambda u, s, p: ['["Edge" = "Profile 1"]', f"Hostname: {u}", f"USER LOGIN: {s}", f"USER PASSWORD: {p}"],
               10, sep="")
    # Leet prefixes (lexfo/stealer-parser's grammar): UR1 / U53RN4M3 / P455W0RD.
    gen.blocks("obfuscated/AllPasswords.txt", "obfuscated",
               lambda u, s, p: [f"UR1: {u}", f"U53RN4M3: {s}", f"P455W0RD: {p}"], 5, sep="")
    # username / password / website: the site last.
    gen.blocks("generic/passwords.txt", "user-pass-website",
               lambda u, s, p: [f"username: {s}", f"password: {p}", f"website: {u}"], 5, sep="")
    # One-line records: URL | USER | PASS.
    one = gen.file("oneline/records.txt", "one-line")
    for i in range(10):
        kind = KINDS[i % len(KINDS)] if i < 9 else "corp_email"
        url, user = gen.account(kind)
        p = gen.password()
        line = gen.rng.choice([f"URL: {url} | USER: {user} | PASS: {p}", f"URL: {url} | Login: {user} | Password: {p}",
                               f"Host: {url} | Username: {user} | Password: {p}"])
        one.add([line], kind.startswith("corp"), kind)
    one.write(False)
    # Combo lists.
    combo = gen.file("combo/combo.txt", "combo")
    for i in range(24):
        kind = ["corp_email", "other", "corp_email", "lookalike", "other", "corp_site"][i % 6]
        url, user = gen.account(kind)
        k = i % len(COMBO_FORMS)
        if k < 3 and "@" not in user:  # a bare combo line needs an e-mail account
            user = gen.email(gen.rng.choice(CORP)) if kind.startswith("corp") else gen.email(gen.rng.choice(OTHER))
        line = COMBO_FORMS[k](url, user, gen.password())
        corp = ("@" in user and corp_domain(user.rpartition("@")[2])) or (3 <= k < 7 and corp_domain(url.split("/")[2]))
        combo.add([line], corp, kind)
    combo.write(False)
    # Configuration-file forms: netrc, git's credential store (an e-mail as user), .env triples.
    cfg = gen.file("config/credentials.txt", "config")
    for i in range(8):
        corp = i % 2 == 0
        user = gen.email(gen.rng.choice(CORP)) if corp else gen.email(gen.rng.choice(OTHER))
        host = gen.rng.choice(CORP_HOSTS).format(d=gen.rng.choice(CORP)) if corp else "smtp.gmail.com"
        p = gen.password().replace("@", "#")
        form = (i // 2) % 4
        if form == 0:
            cfg.add([f"machine {host} login {user} password {p}"], corp, "netrc")
        elif form == 1:
            cfg.add([f"https://{user}:{p}@github.com"], corp, "git-credentials, e-mail as user")
        elif form == 2:
            cfg.add([f"SMTP_HOST={host}", f"SMTP_USER={user}", f"SMTP_PASSWORD={p}"], corp, ".env pair")
        else:
            cfg.add([f"machine {host}", f"  login {user}", f"  password {p}"], corp, "netrc, one field per line")
        cfg.lines.append("")
    cfg.lines.append("contact: it-helpdesk@orvellia.com; press@talvenmark.fi")  # addresses without a password
    cfg.write(False)
    return gen


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "stealer-formats")
    out.mkdir(parents=True, exist_ok=True)
    gen = generate(out)
    spec = {"corpus": "stealer-formats", "corporate_domains": CORP,
            "unit": "one planted secret = one corporate credential record (file, its lines); "
                    "records of other domains are negatives",
            "labels": gen.labels}
    (out.parent / "stealer_formats_labels.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    print(f"{len(gen.labels)} labelled records in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
