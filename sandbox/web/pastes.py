"""A paste site with synthetic leaks: combo lists, card dumps, config files
with API keys, private-key blocks, and plain noise.

Everything is generated: no password, card number or key here belongs to
anyone. Card numbers inside the brand's BIN ranges and passing the Luhn check
are what a card-leak detector must find; the rest are near misses.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

from brandhound.profile import BrandProfile
from sandbox.web.output import Output
from sandbox.web.render import render

HOST = "pastebay.net"
PER_PAGE = 15
PASTE_COUNT = 40

FIRST = ("aino", "mikko", "laura", "juha", "sofia", "pekka", "emma", "ville", "anna", "tomasz", "joao", "lucia")
LAST = ("virtanen", "korhonen", "nieminen", "makinen", "lehtonen", "nowak", "silva", "garcia", "smith", "jensen")
OTHER_MAIL = ("mailbox-example.com", "posti-example.fi", "webmail-example.net", "correo-example.es")
PASSWORD_WORDS = ("Summer", "kissa", "Qwerty", "Helsinki", "password", "Dragon", "Sunshine", "Welcome", "Talvi", "Admin")
SYMBOLS = "!#$%&*?@"
NOISE = (
    "def total(items):\n    return sum(i.price * i.qty for i in items)\n",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\nSed do eiusmod tempor incididunt ut labore.\n",
    "shopping list\n- milk\n- rye bread\n- coffee beans\n- cardamom\n",
    "2024-05-14 10:02 INFO worker started\n2024-05-14 10:03 WARN slow response from upstream\n",
    "SELECT id, name FROM products WHERE price > 100 ORDER BY name;\n",
    "<div class=\"row\">\n  <span>Hello world</span>\n</div>\n",
)
TITLES = ("Untitled", "combo fresh", "dump", "backup", "notes", "config", "leak part 2", "mix valid", "test", "paste")


@dataclass
class Paste:
    id: str
    title: str
    text: str = ""
    credentials: list[dict[str, Any]] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[dict[str, str]] = field(default_factory=list)

    @property
    def raw_path(self) -> str:
        return f"/raw/{self.id}"

    @property
    def html_path(self) -> str:
        return f"/p/{self.id}"


# --------------------------------------------------------------------------- cards


def luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def with_check_digit(body: str) -> str:
    """``body`` plus the digit that makes it pass the Luhn check."""
    for digit in "0123456789":
        if luhn_valid(body + digit):
            return body + digit
    raise AssertionError("unreachable")


def parse_bin_ranges(ranges: list[str]) -> list[tuple[str, str]]:
    """["455670-455679", "52419800"] -> [("455670", "455679"), ("52419800", "52419800")]."""
    out = []
    for r in ranges:
        low, _, high = r.partition("-")
        out.append((low, high or low))
    return out


def in_bin_ranges(number: str, ranges: list[tuple[str, str]]) -> bool:
    return any(low <= number[:len(low)] <= high for low, high in ranges)


class Generator:
    def __init__(self, profile: BrandProfile, rng: random.Random):
        self.profile = profile
        self.rng = rng
        self.bins = parse_bin_ranges(list(profile.card_bin_ranges))

    # ----------------------------------------------------------------- pieces

    def _password(self) -> str:
        r = self.rng
        return f"{r.choice(PASSWORD_WORDS)}{r.randrange(1, 9999)}{r.choice(SYMBOLS) if r.random() < 0.6 else ''}"

    def _person(self) -> tuple[str, str]:
        return self.rng.choice(FIRST), self.rng.choice(LAST)

    def _email(self, corporate: bool) -> str:
        first, last = self._person()
        domain = self.rng.choice(self.profile.corporate_email_domains if corporate else OTHER_MAIL)
        local = f"{first}.{last}" if corporate else f"{first}{last[0]}{self.rng.randrange(1, 99)}"
        return f"{local}@{domain}"

    def _card_number(self, brand_bin: bool, valid: bool) -> str:
        r = self.rng
        if brand_bin and self.bins:
            low, high = r.choice(self.bins)
            prefix = str(r.randrange(int(low), int(high) + 1)).zfill(len(low))
        else:
            # A BIN outside the brand's ranges (a 6-digit prefix starting 4 or 5).
            while True:
                prefix = r.choice("45") + "".join(r.choice(string.digits) for _ in range(5))
                if not in_bin_ranges(prefix + "0" * 10, self.bins):
                    break
        body = prefix + "".join(r.choice(string.digits) for _ in range(15 - len(prefix)))
        number = with_check_digit(body)
        if not valid:
            number = number[:-1] + str((int(number[-1]) + r.randrange(1, 10)) % 10)
        return number

    # ----------------------------------------------------------------- sections

    def combo_section(self, paste: Paste) -> str:
        r = self.rng
        lines = []
        official = list(self.profile.official_domains)
        for _ in range(r.randrange(4, 14)):
            corporate = r.random() < 0.4
            password = self._password()
            fmt = r.choice(("email:password", "email;password", "user|password", "url:login:password"))
            if fmt == "user|password":
                first, last = self._person()
                user = f"{first}_{last}{r.randrange(10, 99)}"
                lines.append(f"{user}|{password}")
                corporate, service = False, None
            else:
                user = self._email(corporate)
                if fmt == "url:login:password":
                    service = f"https://{r.choice([*official, *OTHER_MAIL])}/login"
                    lines.append(f"{service}:{user}:{password}")
                else:
                    service = None
                    lines.append(f"{user}{':' if fmt == 'email:password' else ';'}{password}")
            paste.credentials.append({"user": user, "password": password, "corporate": corporate,
                                      "format": fmt, "service": service})
        return "\n".join(lines) + "\n"

    def card_section(self, paste: Paste) -> str:
        r = self.rng
        lines = []
        for _ in range(r.randrange(3, 8)):
            brand_bin, valid = r.random() < 0.5, r.random() < 0.7
            number = self._card_number(brand_bin, valid)
            style = r.choice(("plain", "spaced", "dashed"))
            shown = number if style == "plain" else (" " if style == "spaced" else "-").join(
                number[i:i + 4] for i in range(0, 16, 4))
            first, last = self._person()
            lines.append(f"{shown}|{r.randrange(1, 13):02d}/{r.randrange(26, 31)}|{r.randrange(100, 1000)}|"
                         f"{first.title()} {last.title()}")
            paste.cards.append({"number": number, "text": shown, "luhn_valid": luhn_valid(number),
                                "in_brand_bin": in_bin_ranges(number, self.bins)})
        return "\n".join(lines) + "\n"

    def _token(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def secrets_section(self, paste: Paste) -> str:
        r = self.rng
        upper, alnum = string.ascii_uppercase + "234567", string.ascii_letters + string.digits
        found = [
            ("aws_access_key_id", "AWS_ACCESS_KEY_ID", "AKIA" + self._token(upper, 16)),
            ("github_token", "GITHUB_TOKEN", "ghp_" + self._token(alnum, 36)),
            ("slack_token", "SLACK_BOT_TOKEN",
             f"xoxb-{self._token(string.digits, 11)}-{self._token(string.digits, 13)}-{self._token(alnum, 24)}"),
            *[("brand_api_key", "PAYMENTS_API_KEY", p + self._token(alnum, 32)) for p in self.profile.secret_prefixes],
        ]
        chosen = r.sample(found, r.randrange(1, len(found) + 1))
        lines = ["# .env backup", "APP_ENV=production", "DB_HOST=10.0.3.12"]
        for kind, var, value in chosen:
            lines.append(f"{var}={value}")
            paste.secrets.append({"type": kind, "value": value})
        return "\n".join(lines) + "\n"

    def key_section(self, paste: Paste) -> str:
        body = "\n".join(self._token(string.ascii_letters + string.digits + "+/", 64) for _ in range(12))
        block = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
        paste.secrets.append({"type": "private_key", "value": block})
        return f"deploy key for the build box, do not share\n{block}\n"

    def paste(self, paste_id: str) -> Paste:
        r = self.rng
        paste = Paste(paste_id, r.choice(TITLES))
        sections = [self.combo_section, self.card_section, self.secrets_section, self.key_section]
        # One paste in four is harmless noise only; the others mix one to three leak sections.
        chosen = [] if r.random() < 0.25 else r.sample(sections, r.choice((1, 1, 2, 3)))
        parts = [s(paste) for s in chosen] + [r.choice(NOISE)]
        r.shuffle(parts)
        paste.text = "\n".join(parts)
        return paste


def plan_pastes(profile: BrandProfile, seed: int, count: int = PASTE_COUNT) -> list[Paste]:
    rng = random.Random(f"{seed}:pastes")
    gen = Generator(profile, rng)
    ids = set()
    pastes = []
    while len(pastes) < count:
        paste_id = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(8))
        if paste_id not in ids:
            ids.add(paste_id)
            pastes.append(gen.paste(paste_id))
    return pastes


def recent_path(page: int) -> str:
    return "/recent" if page == 1 else f"/recent?page={page}"


def write_pastes(out: Output, pastes: list[Paste]) -> None:
    pages = max(1, -(-len(pastes) // PER_PAGE))
    for page in range(1, pages + 1):
        chunk = pastes[(page - 1) * PER_PAGE: page * PER_PAGE]
        out.page(HOST, recent_path(page), render(
            "paste/recent.html", pastes=chunk, page=page, pages=pages,
            next_url=recent_path(page + 1) if page < pages else None,
            prev_url=recent_path(page - 1) if page > 1 else None))
    for paste in pastes:
        out.page(HOST, paste.html_path, render("paste/view.html", paste=paste))
        out.page(HOST, paste.raw_path, paste.text, content_type="text/plain; charset=utf-8")
    out.page(HOST, "/", render("paste/recent.html", pastes=pastes[:PER_PAGE], page=1, pages=pages,
                               next_url=recent_path(2) if pages > 1 else None, prev_url=None))
