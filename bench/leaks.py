"""Leak scanner benchmark: brandhound's streaming scanner against detect-secrets on one synthetic dump.

    python -m bench.leaks [--size-mb 1024] [--seed 1] [--keep] [--ds-max-mb N] [--no-detect-secrets]

Generates a labelled dump of ``--size-mb`` (combo lines of corporate and other domains in every
format, stealer-log blocks, card lines with brand and other BINs, ``.env`` style keys, private
key blocks, URLs with user info, log and code noise, and some very long base64 lines) into a
temporary file, then scans it with :class:`detectors.leak_scan.LeakScanner` and with
detect-secrets (``detect_secrets.core.scan.scan_file`` with its default plugins and filters).
Reports MB/s for both, the ratio, and recall on the kinds both claim to find, counted against
the generator's labels by line number; then a README-ready table row.

detect-secrets reads the whole file into memory and runs every plugin on every line: on the full
1 GB dump it takes a long time. ``--ds-max-mb N`` gives it only the first N MB (a prefix cut at a
line boundary; its MB/s is measured on that prefix, and its recall on the labels inside it).
"""

from __future__ import annotations

import argparse
import base64
import random
import resource
import string
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from brandhound.config import HmacKey
from brandhound.profile import load_profile
from detectors.leak_scan import LeakScanner
from sandbox.web.pastes import in_bin_ranges, parse_bin_ranges, with_check_digit

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_BRAND = ROOT / "examples" / "brands" / "kestrava" / "brand.yaml"

#: Our label -> detect-secrets' secret type, for the kinds both claim.
SHARED_KINDS = {
    "aws_access_key_id": "AWS Access Key",
    "private_key": "Private Key",
    "jwt": "JSON Web Token",
    "github_token": "GitHub Token",
    "gitlab_token": "GitLab Token",
    "slack_token": "Slack Token",
    "stripe_key": "Stripe Access Key",
    "basic_auth": "Basic Auth Credentials",
}

FIRST = ("aino", "mikko", "laura", "juha", "sofia", "pekka", "emma", "ville", "anna", "tomasz", "joao", "lucia",
         "olivia", "liam", "noah", "mia", "lukas", "eva", "jan", "piotr", "ana", "hugo", "ines", "omar")
LAST = ("virtanen", "korhonen", "nieminen", "makinen", "lehtonen", "nowak", "silva", "garcia", "smith", "jensen",
        "muller", "rossi", "dubois", "kowalski", "santos", "berg", "novak", "horvat")
OTHER_DOMAINS = ("mailbox-example.com", "posti-example.fi", "webmail-example.net", "correo-example.es",
                 "inbox-example.de", "freemail-example.pl", "example-isp.co.uk")
WORDS = ("Summer", "kissa", "Qwerty", "Helsinki", "password", "Dragon", "Sunshine", "Welcome", "Talvi", "Admin",
         "Monkey", "Football", "Letmein", "Koira", "Salasana", "Haslo", "Senha", "Contraseña", "Pässwort")
NOISE = (
    "2024-05-14 10:02:11,532 INFO [worker-3] job 81723 started in 12 ms",
    "2024-05-14 10:03:40,001 WARN [http] slow response from upstream 10.0.3.12:8080 (2412 ms)",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.",
    "    return sum(item.price * item.quantity for item in basket.items if item.available)",
    "SELECT id, name, price FROM products WHERE price > 100 ORDER BY name LIMIT 50;",
    '<div class="row"><span class="label">Hello world</span><a href="/about">About us</a></div>',
    "Järjestelmä käynnistetään uudelleen klo 03.00 – huoltokatko kestää noin tunnin.",
    "order #88123 shipped to Tehtaankatu 12 B, 00140 Helsinki, tracking JJFI 6543 2100 0123 4567",
    "user-agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0",
    "",
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class DumpGenerator:
    """Writes a labelled synthetic dump; labels map a line number to what it holds."""

    def __init__(self, profile, seed: int):
        self.profile = profile
        self.rng = random.Random(seed)
        self.bins = parse_bin_ranges(list(profile.card_bin_ranges))
        self.corporate = list(profile.corporate_email_domains)
        self.official = list(profile.official_domains)
        #: line -> (kind, type); kind: credential, card, secret.
        self.labels: dict[int, tuple[str, str]] = {}
        self.line = 0
        # Pools of unlabelled lines, sampled in bulk: generating every line would dominate the run.
        self.other_combos = [self._other_combo() for _ in range(20000)]

    def _token(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choices(alphabet, k=n))

    def _password(self) -> str:
        r = self.rng
        return f"{r.choice(WORDS)}{r.randrange(1, 99999)}{r.choice('!#$%&*?@') if r.random() < 0.6 else ''}"

    def _other_combo(self) -> str:
        r = self.rng
        user = f"{r.choice(FIRST)}{r.choice(LAST)[:r.randrange(1, 6)]}{r.randrange(1, 9999)}@{r.choice(OTHER_DOMAINS)}"
        fmt = r.random()
        if fmt < 0.6:
            return f"{user}:{self._password()}"
        if fmt < 0.8:
            return f"{user};{self._password()}"
        if fmt < 0.9:
            return f"{r.choice(FIRST)}_{r.choice(LAST)}{r.randrange(10, 99)}|{self._password()}"
        return f"https://{r.choice(OTHER_DOMAINS)}/login:{user}:{self._password()}"

    # ----------------------------------------------------------------- labelled pieces (list of lines)

    def corporate_credential(self) -> list[str]:
        r = self.rng
        email = f"{r.choice(FIRST)}.{r.choice(LAST)}@{r.choice(self.corporate)}"
        if r.random() < 0.2:
            email = email.upper() if r.random() < 0.5 else email.title()
        fmt = r.choice(("email:password", "email;password", "email|password", "url:login:password"))
        pw = self._password()
        if fmt == "url:login:password":
            line = f"https://{r.choice([*self.official, *OTHER_DOMAINS])}/login:{email}:{pw}"
        else:
            line = f"{email}{ {'email:password': ':', 'email;password': ';', 'email|password': '|'}[fmt]}{pw}"
        return [("credential", "corporate", line)]

    def stealer_block(self) -> list[str]:
        r = self.rng
        corporate = r.random() < 0.3
        url = f"https://{'sso.' + r.choice(self.corporate) if corporate else r.choice(OTHER_DOMAINS)}/login"
        user = f"{r.choice(FIRST)}.{r.choice(LAST)}"
        return [(None, None, "==============="), (None, None, f"URL: {url}"),
                (("credential", "stealer") if corporate else (None, None)) + (f"USER: {user}",),
                (None, None, f"PASS: {self._password()}")]

    def card(self) -> list[str]:
        r = self.rng
        brand = r.random() < 0.35
        if brand:
            low, high = r.choice(self.bins)
            prefix = str(r.randrange(int(low), int(high) + 1)).zfill(len(low))
        else:
            while True:
                prefix = r.choice("45") + self._token(string.digits, 5)
                if not in_bin_ranges(prefix + "0" * 10, self.bins):
                    break
        number = with_check_digit(prefix + self._token(string.digits, 15 - len(prefix)))
        valid = r.random() < 0.8
        if not valid:
            number = number[:-1] + str((int(number[-1]) + r.randrange(1, 10)) % 10)
        shown = number if r.random() < 0.5 else " ".join(number[i:i + 4] for i in range(0, 16, 4))
        line = f"{shown}|{r.randrange(1, 13):02d}/{r.randrange(26, 31)}|{r.randrange(100, 1000)}|{r.choice(FIRST).title()}"
        return [(("card", "brand") if brand and valid else (None, None)) + (line,)]

    def secret(self) -> list[str]:
        r = self.rng
        upper, alnum = string.ascii_uppercase + "234567", string.ascii_letters + string.digits
        kind = r.choice(("aws_access_key_id", "github_token", "gitlab_token", "slack_token", "stripe_key", "jwt",
                         "brand_api_key", "google_api_key"))
        value = {
            "aws_access_key_id": lambda: "AKIA" + self._token(upper, 16),
            "github_token": lambda: "ghp_" + self._token(alnum, 36),
            "gitlab_token": lambda: "glpat-" + self._token(alnum, 20),
            "slack_token": lambda: f"xoxb-{self._token(string.digits, 11)}-{self._token(string.digits, 13)}-"
                                   f"{self._token(alnum, 24)}",
            "stripe_key": lambda: "sk_live_" + self._token(alnum, 24),
            "jwt": lambda: _b64url(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64url(
                f'{{"sub":"{self._token(alnum, 12)}","iat":{r.randrange(1_600_000_000, 1_800_000_000)}}}'.encode())
                + "." + self._token(alnum + "-_", 43),
            "brand_api_key": lambda: r.choice(self.profile.secret_prefixes) + self._token(alnum, 32),
            "google_api_key": lambda: "AIza" + self._token(alnum + "-_", 35),
        }[kind]()
        return [("secret", kind, f"{kind.upper()}={value}")]

    def private_key(self) -> list[str]:
        body = [self._token(string.ascii_letters + string.digits + "+/", 64) for _ in range(25)]
        return ([("secret", "private_key", "-----BEGIN RSA PRIVATE KEY-----")]
                + [(None, None, b) for b in body] + [(None, None, "-----END RSA PRIVATE KEY-----")])

    def basic_auth(self) -> list[str]:
        r = self.rng
        corporate = r.random() < 0.5
        host = f"git.{r.choice(self.corporate)}" if corporate else f"ftp.{r.choice(OTHER_DOMAINS)}"
        # URL user info: the password carries no character a URL would need escaped.
        password = "".join(ch for ch in self._password() if ch.isascii() and ch not in "#?@%/")
        line = f"remote = https://{r.choice(FIRST)}:{password}@{host}/repo.git"
        return [(("secret", "basic_auth") if corporate else ("other", "basic_auth")) + (line,)]

    def long_line(self) -> list[str]:
        blob = self._token(string.ascii_letters + string.digits + "+/", 1024) * self.rng.randrange(50, 400)
        return [(None, None, f"data:application/octet-stream;base64,{blob}")]

    # ----------------------------------------------------------------- the file

    def write(self, path: Path, size: int) -> None:
        r = self.rng
        pieces = [(self.corporate_credential, 0.05), (self.stealer_block, 0.01), (self.card, 0.03),
                  (self.secret, 0.005), (self.private_key, 0.0004), (self.basic_auth, 0.003),
                  (self.long_line, 0.00005)]
        noise_share = 0.12
        written = 0
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            while written < size:
                batch: list[str] = []
                for _ in range(4000):
                    x = r.random()
                    for make, share in pieces:
                        if x < share:
                            for label_kind, label_type, text in make():
                                self.line += 1
                                if label_kind is not None:
                                    self.labels[self.line] = (label_kind, label_type)
                                batch.append(text)
                            break
                        x -= share
                    else:
                        self.line += 1
                        batch.append(r.choice(NOISE) if x < noise_share else r.choice(self.other_combos))
                text = "\n".join(batch) + "\n"
                fh.write(text)
                written += len(text.encode("utf-8"))
        self.size = path.stat().st_size


# --------------------------------------------------------------------------- the scanners


def run_ours(path: Path, profile) -> tuple[float, dict[int, set[str]]]:
    scanner = LeakScanner.from_profile(profile, HmacKey(key=b"bench-key-" * 4, id="bench"))
    found: dict[int, set[str]] = defaultdict(set)
    start = time.perf_counter()
    for hit in scanner.scan_path(path):
        if hit.kind == "credential":
            found[hit.line].add("basic_auth" if hit.secret_type == "url_userinfo" else "credential")
        elif hit.kind == "card":
            found[hit.line].add("card" if hit.brand else "other_card")
        else:
            found[hit.line].add(hit.secret_type or "secret")
    return time.perf_counter() - start, found


def run_detect_secrets(path: Path) -> tuple[float, dict[int, set[str]]]:
    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import default_settings

    found: dict[int, set[str]] = defaultdict(set)
    start = time.perf_counter()
    with default_settings():
        for secret in scan_file(str(path)):
            found[secret.line_number].add(secret.type)
    return time.perf_counter() - start, found


def prefix_file(path: Path, max_bytes: int, out: Path) -> tuple[int, int]:
    """The first ``max_bytes`` of ``path`` cut at a line end, into ``out``: (bytes, lines)."""
    size = lines = 0
    with open(path, "rb") as src, open(out, "wb") as dst:
        for line in src:
            if size + len(line) > max_bytes:
                break
            dst.write(line)
            size += len(line)
            lines += 1
    return size, lines


def recall(labels: dict[int, tuple[str, str]], found: dict[int, set[str]], label: tuple[str, str], names: set[str],
           max_line: int | None = None) -> tuple[int, int]:
    lines = [n for n, lab in labels.items() if lab == label and (max_line is None or n <= max_line)]
    return sum(1 for n in lines if found.get(n, set()) & names), len(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1024)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--brand", default=str(EXAMPLE_BRAND))
    parser.add_argument("--dir", help="where to write the dump (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the generated dump")
    parser.add_argument("--ds-max-mb", type=float, help="give detect-secrets only the first N MB")
    parser.add_argument("--no-detect-secrets", action="store_true")
    args = parser.parse_args(argv)

    profile = load_profile(args.brand)
    tmp = tempfile.TemporaryDirectory(prefix="brandhound-bench-leaks-", dir=args.dir)
    path = Path(tmp.name) / "dump.txt"
    gen = DumpGenerator(profile, args.seed)
    t0 = time.perf_counter()
    gen.write(path, int(args.size_mb * (1 << 20)))
    size_mb = gen.size / (1 << 20)
    counts = Counter(gen.labels.values())
    print(f"generated {size_mb:.1f} MB, {gen.line} lines in {time.perf_counter() - t0:.1f} s: "
          + ", ".join(f"{k}/{t}={n}" for (k, t), n in sorted(counts.items())), flush=True)

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ours_s, ours = run_ours(path, profile)
    rss_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ours_mbs = size_mb / ours_s
    print(f"brandhound: {ours_s:.1f} s, {ours_mbs:.1f} MB/s (max RSS {rss_ours >> 10} MB, "
          f"+{(rss_ours - rss0) >> 10} MB)", flush=True)
    for label, names in [(("credential", "corporate"), {"credential"}), (("credential", "stealer"), {"credential"}),
                         (("card", "brand"), {"card"}), *[(("secret", t), {t}) for t in
                         ("brand_api_key", "google_api_key")]]:
        hit, total = recall(gen.labels, ours, label, names)
        print(f"  recall {label[0]}/{label[1]}: {hit}/{total} = {hit / max(total, 1):.3f}")
    false_creds = sum(1 for n, kinds in ours.items() if "credential" in kinds and n not in gen.labels)
    print(f"  credential hits on unlabelled lines: {false_creds}")

    if args.no_detect_secrets:
        return 0
    ds_path, ds_mb, ds_lines = path, size_mb, None
    if args.ds_max_mb and args.ds_max_mb < size_mb:
        ds_path = Path(tmp.name) / "prefix.txt"
        nbytes, ds_lines = prefix_file(path, int(args.ds_max_mb * (1 << 20)), ds_path)
        ds_mb = nbytes / (1 << 20)
    ds_s, ds = run_detect_secrets(ds_path)
    ds_mbs = ds_mb / ds_s
    print(f"detect-secrets: {ds_s:.1f} s on {ds_mb:.1f} MB, {ds_mbs:.2f} MB/s", flush=True)
    ratio = ours_mbs / ds_mbs
    print(f"ratio: {ratio:.1f}x")

    rows = []
    for ours_name, ds_name in SHARED_KINDS.items():
        label = ("secret", ours_name)
        o_hit, o_total = recall(gen.labels, ours, label, {ours_name}, ds_lines)
        d_hit, d_total = recall(gen.labels, ds, label, {ds_name}, ds_lines)
        if o_total:
            rows.append((ours_name, o_hit / o_total, d_hit / d_total, o_total))
            print(f"  recall {ours_name:18s} ours {o_hit}/{o_total} = {o_hit / o_total:.3f}   "
                  f"detect-secrets {d_hit}/{d_total} = {d_hit / d_total:.3f}")
    shared_o = sum(r[1] * r[3] for r in rows) / sum(r[3] for r in rows)
    shared_d = sum(r[2] * r[3] for r in rows) / sum(r[3] for r in rows)
    print()
    print("| dump | brandhound MB/s | detect-secrets MB/s | ratio | recall on shared kinds (ours / detect-secrets) |")
    print("|---|---|---|---|---|")
    ds_note = f" (first {ds_mb:.0f} MB)" if ds_path != path else ""
    print(f"| {size_mb:.0f} MB synthetic | {ours_mbs:.1f} | {ds_mbs:.2f}{ds_note} | {ratio:.0f}x | "
          f"{shared_o:.3f} / {shared_d:.3f} |")
    if args.keep:
        kept = Path(args.dir or ".") / "leaks-bench-dump.txt"
        path.replace(kept)
        print(f"dump kept at {kept}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
