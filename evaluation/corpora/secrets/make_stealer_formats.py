"""Synthesise stealer-log and combo-list files in the formats public parsers document, with fake values."""
import json, random, string, hashlib
from pathlib import Path
rng = random.Random(20261203)
import sys
OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "stealer-formats"); OUT.mkdir(parents=True, exist_ok=True)
CORP = ["orvellia.com", "talvenmark.fi"]
OTHER = ["gmail.com", "outlook.com", "mail.ru", "yahoo.co.jp", "web.de"]
LOOKALIKE = ["orvellia.com.account-verify.net", "orvellia-support.com", "notorvellia.com", "talvenmark.fi.secure-login.co"]
FIRST = ["aino", "mikko", "laura", "jonas", "sofia", "emil", "nora", "pekka", "ines", "tomas", "lea", "oskar", "maria", "viktor", "hanna"]
LAST = ["virtanen", "lindqvist", "moreau", "novak", "haddad", "kowalski", "silva", "berg", "tanaka", "okafor", "rossi", "jensen"]
def pw():
    n = rng.randint(7, 16)
    alpha = string.ascii_letters + string.digits + "!#$%&*?@._-"
    return "".join(rng.choice(alpha) for _ in range(n))
def person(): return f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.choice(['', '', str(rng.randint(1, 99))])}"
def email(domain): return f"{person()}@{domain}"
CORP_HOSTS = ["vpn.{d}", "sso.{d}", "mail.{d}", "portal.{d}", "jira.corp.{d}", "{d}", "intranet.{d}", "git.{d}"]
OTHER_SITES = ["https://accounts.google.com/signin", "https://www.facebook.com/login.php", "https://login.live.com/",
               "https://www.netflix.com/login", "https://discord.com/login", "https://steamcommunity.com/login/home/"]
def corp_url(): d = rng.choice(CORP); return f"https://{rng.choice(CORP_HOSTS).format(d=d)}/{rng.choice(['login', 'auth/realms/staff', '', 'owa/'])}"
labels = []
def account(kind):
    """(url, user) for a record: corporate account, corporate site, or not corporate at all."""
    if kind == "corp_email": return rng.choice(OTHER_SITES + [corp_url()]), email(rng.choice(CORP))
    if kind == "corp_site": return corp_url(), person()
    if kind == "lookalike": return f"https://{rng.choice(LOOKALIKE)}/login", email(rng.choice(LOOKALIKE))
    return rng.choice(OTHER_SITES), rng.choice([email(rng.choice(OTHER)), person()])
KINDS = ["corp_email", "corp_site", "other", "other", "lookalike"]
class File:
    def __init__(self, name, fmt): self.name, self.fmt, self.lines = name, fmt, []
    def add(self, lines, corp, what):
        start = len(self.lines) + 1
        self.lines.extend(lines)
        if corp:
            labels.append({"file": self.name, "line": start + len(lines) - 1, "lines": [start, start + len(lines) - 1],
                           "kind": "credential", "claimed": True, "what": f"{self.fmt}: {what}"})
    def write(self, final_newline=True):
        (OUT / self.name).parent.mkdir(parents=True, exist_ok=True)
        (OUT / self.name).write_text("\n".join(self.lines) + ("\n" if final_newline else ""), encoding="utf-8")
def blocks(name, fmt, make, n, sep=None, final_newline=False, header=()):
    f = File(name, fmt)
    f.lines.extend(header)
    for i in range(n):
        kind = KINDS[i % len(KINDS)] if i < n - 1 else "corp_email"   # the last record is corporate: no final newline
        url, user = account(kind)
        f.add(make(url, user, pw()), kind.startswith("corp"), kind)
        if sep is not None and i < n - 1: f.lines.append(sep)
    f.write(final_newline)
# RedLine (milxss/universal_stealer_log_parser: "===============" separated, URL/Username/Password)
blocks("redline/Passwords.txt", "redline", lambda u, s, p: [f"URL: {u}", f"Username: {s}", f"Password: {p}",
       "Application: Google_[Chrome]_Default"], 10, sep="===============",
       header=["*" * 52, "*  Telegram: @example_channel  (synthetic header)  *", "*" * 52, ""])
# Raccoon (blank-line separated URL/USER/PASS)
blocks("raccoon/passwords.txt", "raccoon", lambda u, s, p: [f"URL: {u}", f"USER: {s}", f"PASS: {p}"], 10, sep="")
# Vidar/Mars (lexfo/stealer-parser grammar: Soft/Host/Login/Password)
blocks("vidar/passwords.txt", "vidar", lambda u, s, p: ["Soft: Chrome (Default)", f"Host: {u}", f"Login: {s}", f"Password: {p}"], 10, sep="")
# StealC (lower-case browser/profile/url/login/password)
blocks("stealc/passwords.txt", "stealc", lambda u, s, p: ["browser: Google Chrome", "profile: Default", f"url: {u}",
       f"login: {s}", f"password: {p}"], 10, sep="", final_newline=True)
# Meta / Lumma style: soft line without prefix, Hostname / USER LOGIN / USER PASSWORD
blocks("meta/Passwords.txt", "meta", lambda u, s, p: ['["Edge" = "Profile 1"]', f"Hostname: {u}", f"USER LOGIN: {s}",
       f"USER PASSWORD: {p}"], 10, sep="")
# Obfuscated prefixes (lexfo/stealer-parser grammar: UR1 / U53RN4M3 / P455W0RD)
blocks("obfuscated/AllPasswords.txt", "obfuscated", lambda u, s, p: [f"UR1: {u}", f"U53RN4M3: {s}", f"P455W0RD: {p}"], 5, sep="")
# Generic "username / password / website" order (user first, site last)
blocks("generic/passwords.txt", "user-pass-website", lambda u, s, p: [f"username: {s}", f"password: {p}", f"website: {u}"], 5, sep="")
# One-line records: URL | USER | PASS
one = File("oneline/records.txt", "one-line")
for i in range(10):
    kind = KINDS[i % len(KINDS)] if i < 9 else "corp_email"
    url, user = account(kind); p = pw()
    line = rng.choice([f"URL: {url} | USER: {user} | PASS: {p}", f"URL: {url} | Login: {user} | Password: {p}",
                       f"Host: {url} | Username: {user} | Password: {p}"])
    one.add([line], kind.startswith("corp"), kind)
one.write(False)
# Combo lists and one-line credential forms
combo = File("combo/combo.txt", "combo")
forms = [
    lambda u, s, p: f"{s}:{p}",
    lambda u, s, p: f"{s};{p}",
    lambda u, s, p: f"{s}|{p}",
    lambda u, s, p: f'"{u}":{s}:{p}',                       # milxss output form, quoted URL
    lambda u, s, p: f"{u}:{s}:{p}",
    lambda u, s, p: f"{u}|{s}|{p}",
    lambda u, s, p: f"{u} {s} {p}",
    lambda u, s, p: f"android://{hashlib.sha1(s.encode()).hexdigest()[:20]}==@com.{u.split('/')[2].split('.')[-2]}.mobile/:{s}:{p}",
]
def corp_domain(d): return any(d == c or d.endswith("." + c) for c in CORP)
for i in range(24):
    kind = ["corp_email", "other", "corp_email", "lookalike", "other", "corp_site"][i % 6]
    url, user = account(kind)
    k = i % len(forms)
    if k < 3 and "@" not in user:   # a bare combo line needs an e-mail account
        user = email(rng.choice(CORP)) if kind.startswith("corp") else email(rng.choice(OTHER))
    line = forms[k](url, user, pw())
    host = url.split("/")[2]
    corp = ("@" in user and corp_domain(user.rpartition("@")[2])) or (k >= 3 and k != 7 and corp_domain(host))
    combo.add([line], corp, kind)
combo.write(False)
# Credentials in configuration-file forms: netrc, git credential store (e-mail as user), .env pairs
cfg = File("config/credentials.txt", "config")
for i in range(8):
    corp = i % 2 == 0
    user = email(rng.choice(CORP)) if corp else email(rng.choice(OTHER))
    host = rng.choice(CORP_HOSTS).format(d=rng.choice(CORP)) if corp else "smtp.gmail.com"
    p = pw().replace("@", "#")
    kind = (i // 2) % 4
    if kind == 0: cfg.add([f"machine {host} login {user} password {p}"], corp, "netrc")
    elif kind == 1: cfg.add([f"https://{user}:{p}@github.com"], corp, "git-credentials, e-mail as user")
    elif kind == 2: cfg.add([f"SMTP_HOST={host}", f"SMTP_USER={user}", f"SMTP_PASSWORD={p}"], corp, ".env pair")
    else: cfg.add([f"machine {host}", f"  login {user}", f"  password {p}"], corp, "netrc, one field per line")
    cfg.lines.append("")
cfg.lines.append("contact: it-helpdesk@orvellia.com; press@talvenmark.fi")  # addresses without a password
cfg.write(False)
json.dump({"corpus": "stealer-formats", "corporate_domains": CORP,
           "unit": "one planted secret = one corporate credential record (file, its lines); records of other domains are negatives",
           "labels": labels}, open(OUT.parent / "stealer_formats_labels.json", "w"), indent=1)
print(len(labels))
