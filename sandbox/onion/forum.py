"""The leak forum ("LeakHaven"): boards, paginated thread lists, threads of several posts.

Some posts carry dumps in ``<pre>`` blocks, made by the sandbox web's paste generator
(:class:`sandbox.web.pastes.Generator`): combo lists with the brand's corporate e-mail domains
and others, card dumps (Luhn-valid or not, in the brand's BIN ranges or not), ``.env`` files with
API keys, private keys. The rest is chatter. Everything is synthetic.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from brandhound.profile import BrandProfile
from sandbox.onion.render import render
from sandbox.web.output import Output
from sandbox.web.pastes import NOISE, Generator, Paste

SITE = "forum"
NAME = "LeakHaven"
THREAD_COUNT = 48
PER_PAGE = 8

# slug, name, description, the dump sections its threads carry (empty: chatter only)
BOARDS = (
    ("databases", "Databases & Leaks", "Company breaches, staff dumps, full DBs.", ("combo", "secrets")),
    ("combolists", "Combolists", "Fresh email:pass combos. No recycled junk.", ("combo",)),
    ("carding", "Carding & CVV", "Fullz, dumps, bins. Checked only.", ("cards",)),
    ("cloud", "Cloud keys & configs", ".env files, API keys, tokens, SSH keys.", ("secrets", "key")),
    ("general", "General chatter", "Off-topic, introductions, market reviews.", ()),
)
USERS = ("sh4d0w_broker", "dumpster_diva", "0xNull", "k1ng_of_combos", "leakmaster", "grey_owl", "binbuster",
         "ghostwriter99", "anon_7731", "paper_tiger", "cr4ck3d", "nordic_wolf", "mr_robot_fi", "ratking")
DUMP_TITLES = {
    "combo": ("{brand} staff combo {year}", "fresh combos mixed mail {n}k", "{domain} email dump (partial)",
              "corp mail:pass mix - valid {year}", "HQ combolist EU {n}k lines"),
    "cards": ("fresh cvv batch #{n}", "EU cards {n} pcs, high valid rate", "bin {bin}xx dump, checked"),
    "secrets": ("prod .env leaked from {domain}", "aws + github keys from a misconfigured bucket",
                "config backup {year} (keys inside)"),
    "key": ("deploy keys from a CI box", "ssh/rsa keys dump"),
}
REQUEST_TITLES = ("looking for {brand} db, paying well", "anyone has {domain} access?", "WTB fresh combos",
                  "need checker for mail combos")
CHATTER_TITLES = ("introduce yourself thread", "which market is still legit?", "DarkBazaar review - vendor scams?",
                  "best vpn for opsec", "escrow dispute help", "forum rules (read before posting)",
                  "mirrors list {year}", "PGP how-to for newbies")
INTROS = ("Sharing for the community, leave a like.", "Got this yesterday, enjoy.", "Part of a bigger dump, DM for the rest.",
          "Checked 2 days ago, most still valid.", "Free sample, full db for sale.", "Posting here before it gets patched.")
REPLIES = ("thanks bro", "+rep", "dead already?", "legit, 3 of 10 worked", "can you reupload?", "ty, checking now",
           "scam, all dead", "nice share", "bump", "any more like this?", "mods pls move to the right board",
           "DM sent", "works for me", "old stuff, seen it before")


@dataclass
class Post:
    author: str
    date: str
    text: str                     # the chatter or the dump's introduction
    dump: Paste | None = None

    @property
    def dump_text(self) -> str:
        return self.dump.text if self.dump else ""


@dataclass
class Thread:
    id: str
    board: str
    title: str
    posts: list[Post] = field(default_factory=list)
    mentions_brand: bool = False

    @property
    def path(self) -> str:
        return f"/thread/{self.id}"


def board_path(slug: str, page: int = 1) -> str:
    return f"/board/{slug}" if page == 1 else f"/board/{slug}?page={page}"


class _Writer:
    def __init__(self, profile: BrandProfile, rng: random.Random):
        self.profile = profile
        self.rng = rng
        self.gen = Generator(profile, rng)
        self.start = dt.datetime(2024, 3, 1, 9, 0)

    def _date(self, n: int) -> str:
        return (self.start + dt.timedelta(hours=n * 7 + self.rng.randrange(0, 6))).strftime("%Y-%m-%d %H:%M")

    def _dump(self, sections: tuple[str, ...]) -> Paste:
        r = self.rng
        paste = Paste(id="", title="")
        make = {"combo": self.gen.combo_section, "cards": self.gen.card_section,
                "secrets": self.gen.secrets_section, "key": self.gen.key_section}
        chosen = r.sample(sections, r.randrange(1, len(sections) + 1))
        parts = [make[s](paste) for s in chosen]
        if r.random() < 0.3:
            parts.append(r.choice(NOISE))  # junk pasted along with the dump
        paste.text = "\n".join(parts)
        return paste

    def _title(self, templates: tuple[str, ...]) -> tuple[str, bool]:
        r = self.rng
        template = r.choice(templates)
        title = template.format(brand=self.profile.names[0].lower(), domain=r.choice(self.profile.corporate_email_domains),
                                year=r.choice((2024, 2025)), n=r.randrange(2, 90),
                                bin=r.choice(self.profile.card_bin_ranges or ["4556"])[:4])
        return title, ("{brand}" in template or "{domain}" in template)

    def thread(self, n: int, board: tuple) -> Thread:
        r = self.rng
        slug, _, _, sections = board
        thread = Thread(id="", board=slug, title="")
        clock = n * 5
        if sections and r.random() < 0.8:
            kind = r.choice(sections)
            thread.title, thread.mentions_brand = self._title(DUMP_TITLES[kind])
            thread.posts.append(Post(r.choice(USERS), self._date(clock), r.choice(INTROS), self._dump(sections)))
        elif sections:
            thread.title, thread.mentions_brand = self._title(REQUEST_TITLES)
            thread.posts.append(Post(r.choice(USERS), self._date(clock), "As the title says. Escrow ok, PM me."))
        else:
            thread.title, thread.mentions_brand = self._title(CHATTER_TITLES)
            thread.posts.append(Post(r.choice(USERS), self._date(clock), "Opening this one, keep it on topic."))
        for k in range(r.randrange(2, 8)):
            clock += 1
            if sections and r.random() < 0.15:
                # Someone answers with more of the same (or a counter-offer) in a dump of their own.
                thread.posts.append(Post(r.choice(USERS), self._date(clock), "here is part 2",
                                         self._dump(sections)))
            else:
                thread.posts.append(Post(r.choice(USERS), self._date(clock), r.choice(REPLIES)))
        return thread


def plan_forum(profile: BrandProfile, seed: int, count: int = THREAD_COUNT) -> list[Thread]:
    rng = random.Random(f"{seed}:onion:forum")
    writer = _Writer(profile, rng)
    threads = []
    ids = rng.sample(range(1000, 9999), count)
    for n in range(count):
        # Every board gets threads; the leak boards get more of them.
        board = BOARDS[n % len(BOARDS)] if n < len(BOARDS) else rng.choices(BOARDS, (4, 3, 3, 3, 2))[0]
        thread = writer.thread(n, board)
        thread.id = str(ids[n])
        threads.append(thread)
    return threads


def credential_truth(cred: dict[str, Any], profile: BrandProfile) -> dict[str, Any]:
    """The paste generator's credential, with the e-mail's domain and whether it is the brand's."""
    user = cred["user"]
    email = user if "@" in user else None
    domain = email.rsplit("@", 1)[1] if email else None
    return {"email": email, "user": user, "password": cred["password"], "domain": domain,
            "brand_domain": domain in profile.corporate_email_domains if domain else False,
            "format": cred["format"], "service": cred["service"]}


def thread_entry(thread: Thread, profile: BrandProfile) -> dict[str, Any]:
    dumps = [{"post": n, "credentials": [credential_truth(c, profile) for c in p.dump.credentials],
              "cards": list(p.dump.cards), "secrets": list(p.dump.secrets)}
             for n, p in enumerate(thread.posts, start=1) if p.dump]
    return {"site": SITE, "path": thread.path, "kind": "thread", "thread_id": thread.id, "title": thread.title,
            "board": thread.board, "author": thread.posts[0].author, "posts": len(thread.posts),
            "mentions_brand": thread.mentions_brand, "dumps": dumps}


def write_forum(out: Output, threads: list[Thread], profile: BrandProfile) -> list[dict[str, Any]]:
    boards = [{"slug": s, "name": name, "description": d, "url": board_path(s),
               "threads": sum(1 for t in threads if t.board == s)} for s, name, d, _ in BOARDS]
    ctx = {"site_name": NAME, "boards": boards}
    truth: list[dict[str, Any]] = []
    out.page(SITE, "/", render("forum/home.html", **ctx))
    truth.append({"site": SITE, "path": "/", "kind": "other", "role": "index", "title": "Boards",
                  "boards": [b["url"] for b in boards]})
    for board in boards:
        # Newest thread first, as forums list them.
        mine = [t for t in reversed(threads) if t.board == board["slug"]]
        pages = [mine[i:i + PER_PAGE] for i in range(0, len(mine), PER_PAGE)] or [[]]
        for n, chunk in enumerate(pages, start=1):
            path = board_path(board["slug"], n)
            nxt = board_path(board["slug"], n + 1) if n < len(pages) else None
            prev = board_path(board["slug"], n - 1) if n > 1 else None
            title = board["name"] if n == 1 else f"{board['name']} (page {n})"
            out.page(SITE, path, render("forum/board.html", **ctx, board=board, title=title, threads=chunk,
                                        page=n, pages=len(pages), next_url=nxt, prev_url=prev))
            truth.append({"site": SITE, "path": path, "kind": "board", "title": title, "board": board["slug"],
                          "page": n, "pages": len(pages), "next": nxt, "threads": [t.path for t in chunk]})
    names = {b["slug"]: b for b in boards}
    for thread in threads:
        out.page(SITE, thread.path, render("forum/thread.html", **ctx, thread=thread, board=names[thread.board]))
        truth.append(thread_entry(thread, profile))
    return truth
