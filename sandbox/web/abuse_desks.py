"""The sandbox's abuse desks and its simulated clock: notices handed to a marketplace, registrar or host take effect.

Every marketplace, registrar and hosting provider of the sandbox web has a desk with a form
(the marketplace's own report form; ``https://abuse.<registrar or host domain>/report`` for the others)
that takes a notice as a POST: JSON ``{"notice_id": ..., "urls": [...]}`` or form fields ``notice_id`` and
``urls`` (one a line). :func:`deliver_bundle` hands a ``takedown export`` bundle to the desks, one POST
per notice addressed to a desk. What each desk then does to each URL is its *fate*, labelled at build
time in the ground truth (``takedown``) and in ``desks.json``:

- ``removed_page`` (a marketplace's "listing removed" page), ``http_404``, ``http_410``;
- ``suspended_page`` (a registrar's suspension page, for every host of the domain), ``nxdomain``
  (the registrar deleted the name: the sandbox's resolver, ``/_sandbox/dns``, says it does not exist);
- ``parked_page`` (the host parks the domain);
- ``http_503`` and ``timeout``: the host ignores the notice and its server falls over (answers 503, or
  never finishes a page): a re-check must call these unreachable, never removed;
- ``ignore``.

A fate takes effect ``after_hours`` after the desk received the notice, by the sandbox's clock; of
several fates in force on one URL the latest wins. Some removed listings come back ``relist.after_days``
after their removal, the same page under a new URL on the same marketplace (``relist.url``).

The clock is real time until a client sets it: ``POST /_sandbox/clock`` with ``{"now": ISO time}``
(``null``: real time again). ``GET /_sandbox/desks`` lists the notices received and when;
``POST /_sandbox/desks/reset`` forgets them. These live on the sandbox's own host (``127.0.0.1``).
"""

from __future__ import annotations

import csv
import io
import json
import random
import socket
import threading
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

from brandhound.urls import registered_domain
from sandbox.web.names import to_unicode_host

DESKS_FILE = "desks.json"
REMOVED = ("removed_page", "http_404", "http_410", "suspended_page", "nxdomain", "parked_page")
UNREACHABLE = ("http_503", "timeout")
FATES = (*REMOVED, *UNREACHABLE, "ignore")
#: Days after its removal that a re-listed item comes back (each one a different re-up window).
RELIST_DAYS = (3, 10, 20)


@dataclass(frozen=True)
class Policy:
    """How a desk answers: ``fates`` with their weights, after ``delay`` hours (a range), re-listing ``relist``
    of its removals (marketplaces only)."""

    fates: tuple[tuple[str, int], ...]
    delay: tuple[int, int]
    relist: float = 0.0


#: Marketplaces by position in the profile; registrars and hosts by name (sandbox.web.rdap).
MARKET_POLICIES = (Policy((("removed_page", 85), ("ignore", 15)), (6, 30), relist=0.3),
                   Policy((("http_404", 80), ("ignore", 20)), (12, 60), relist=0.25))
POLICIES = {
    "Aurora Names Oy": Policy((("suspended_page", 100),), (12, 24)),
    "Nordic Registry Services AB": Policy((("suspended_page", 100),), (12, 24)),
    "QuickCheap Domains Ltd": Policy((("suspended_page", 75), ("ignore", 25)), (24, 48)),
    "Privacy Registrar Inc.": Policy((("nxdomain", 60), ("ignore", 40)), (36, 72)),
    "Aurora Cloud Oy": Policy((("http_410", 100),), (4, 12)),
    "FastPark Hosting Ltd": Policy((("parked_page", 80), ("ignore", 20)), (6, 30)),
    "Offshore VPS S.A.": Policy((("ignore", 50), ("http_503", 30), ("timeout", 20)), (2, 12)),
}

PAGES = {
    "removed_page": ("Listing removed - {desk}", "This listing has been removed",
                     "It was taken down after a report of intellectual-property infringement."),
    "suspended_page": ("Domain suspended", "This domain has been suspended",
                       "The registrar {desk} suspended {domain} for abuse."),
    "parked_page": ("{domain}", "This domain is parked",
                    "Buy this domain. Parked free by {desk}. <script src='/parking-lander.js'></script>"),
}


def _host_of_email(email: str) -> str:
    return "abuse." + email.rpartition("@")[2].lower()


def desk_id(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def _fate(policy: Policy, rng: random.Random) -> dict[str, Any]:
    fates, weights = zip(*policy.fates)
    return {"fate": rng.choices(fates, weights)[0], "after_hours": rng.randint(*policy.delay)}


def plan_desks(markets: list[tuple[Any, list[Any]]], sites: Iterable[Any], records: dict[str, dict[str, Any]],
               hosting: dict[str, str], networks: Iterable[tuple[str, ...]], seed: int) -> dict[str, Any]:
    """Every desk and the fate of every URL it may be sent: counterfeit listings at their marketplace,
    look-alike sites at their registrar (phishing only: DNS abuse) and host. ``markets``: (MarketSpec,
    listings) as placed; ``records`` and ``hosting``: the registry's (sandbox.web.rdap)."""
    import ipaddress

    rng = random.Random(f"{seed}:desks")
    desks: dict[str, dict[str, Any]] = {}
    fates: list[dict[str, Any]] = []
    for i, (market, listings) in enumerate(markets):
        policy = MARKET_POLICIES[i % len(MARKET_POLICIES)]
        did = desk_id(market.name)
        desks[did] = {"id": did, "kind": "marketplace", "name": market.name, "host": market.host,
                      "form": f"https://{market.host}{market.report_path or '/ip/report'}", "email": None}
        taken = {x.path for x in listings}
        for x in listings:
            if x.label != "counterfeit" or x.fault:
                continue
            entry = {"url": market.url(x.path), "desk": did, "scope": "url", **_fate(policy, rng)}
            if entry["fate"] in REMOVED and rng.random() < policy.relist:
                path = _relist_path(x.path, taken)
                taken.add(path)
                entry["relist"] = {"url": market.url(path), "after_days": rng.choice(RELIST_DAYS)}
            fates.append(entry)
    nets = [(ipaddress.ip_network(n[1]), n[2], n[3]) for n in networks]
    for site in sites:
        if site.label not in ("fake_store", "phishing"):
            continue
        zone = registered_domain(to_unicode_host(site.host)) or site.host
        ldh = zone.encode("idna").decode("ascii")
        record = records.get(ldh)
        if record is None:
            continue
        acting = []
        if site.label == "phishing":
            _, name, email, _ = record["registrar"]
            acting.append(("registrar", name, email))
        address = ipaddress.ip_address(hosting[ldh])
        net = next(n for n in nets if address in n[0])
        acting.append(("host", net[1], net[2]))
        for kind, name, email in acting:
            did = desk_id(name)
            host = _host_of_email(email)
            desks.setdefault(did, {"id": did, "kind": kind, "name": name, "host": host,
                                   "form": f"https://{host}/report", "email": email})
            fates.append({"url": site.root, "domain": ldh, "desk": did, "scope": "domain",
                          **_fate(POLICIES[name], rng)})
    return {"desks": sorted(desks.values(), key=lambda d: d["id"]), "fates": fates}


def _relist_path(path: str, taken: set[str]) -> str:
    head, _, tail = path.rpartition("/")
    number, sep, slug = tail.partition("-")
    n = int(number) if number.isdigit() else 0
    candidate = f"{head}/{n + 500000}{sep}{slug}" if number.isdigit() else f"{path}-relisted"
    while candidate in taken:
        candidate += "-2"
    return candidate


def write_desks(out: Any, plan: dict[str, Any]) -> None:
    """The desks' form pages (registrars' and hosts'; marketplaces have theirs) and ``desks.json``."""
    for desk in plan["desks"]:
        if desk["kind"] == "marketplace":
            continue
        page = ("<!doctype html><title>Report abuse - {n}</title><h1>Report abuse to {n}</h1>"
                "<form method=post action=/report><textarea name=urls></textarea>"
                "<input name=notice_id><button>Send</button></form>").format(n=desk["name"])
        thanks = f"<!doctype html><title>Report received - {desk['name']}</title><h1>Thank you</h1>"
        out.page(desk["host"], "/report", page, on_post=thanks)
    (out.root / DESKS_FILE).write_text(json.dumps(plan, indent=1, sort_keys=True), encoding="utf-8")


# --------------------------------------------------------------------------- the server side


def _key(host: str, path: str) -> str:
    return host.lower() + path


def effect_at(fates: Iterable[dict[str, Any]], receipts: dict[str, list[datetime]], at: datetime
              ) -> dict[str, Any] | None:
    """The fate in force at ``at`` among ``fates`` of one URL (the latest to take effect), with ``since``;
    ``receipts``: desk id -> when it received notices naming the URL."""
    best: tuple[datetime, dict[str, Any]] | None = None
    for fate in fates:
        if fate["fate"] == "ignore" or not receipts.get(fate["desk"]):
            continue
        since = min(receipts[fate["desk"]]) + timedelta(hours=fate["after_hours"])
        if since <= at and (best is None or since > best[0]):
            best = (since, fate)
    return None if best is None else {**best[1], "since": best[0]}


class Desks:
    """The desks of one build, their received notices and the clock; used by :class:`~sandbox.web.routes.HostTable`."""

    def __init__(self, root: Path, clock: Callable[[], datetime] | None = None):
        path = Path(root) / DESKS_FILE
        plan = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"desks": [], "fates": []}
        self.desks = {d["id"]: d for d in plan["desks"]}
        self._form = {_key(*_split(d["form"])): d["id"] for d in self.desks.values()}
        self._by_url: dict[str, list[dict[str, Any]]] = {}
        self._by_domain: dict[str, list[dict[str, Any]]] = {}
        self._relists: dict[str, tuple[str, dict[str, Any]]] = {}
        for f in plan["fates"]:
            self._by_url.setdefault(f["url"], []).append(f)
            if f["scope"] == "domain":
                self._by_domain.setdefault(f["domain"], []).append(f)
            if f.get("relist"):
                self._relists[_key(*_split(f["relist"]["url"]))] = (f["url"], f)
        self._real_clock = clock or (lambda: datetime.now(timezone.utc))
        self._now: datetime | None = None
        self._lock = threading.Lock()
        self._received: list[dict[str, Any]] = []

    def now(self) -> datetime:
        return self._now or self._real_clock()

    def receipts(self, url: str) -> dict[str, list[datetime]]:
        out: dict[str, list[datetime]] = {}
        with self._lock:
            for r in self._received:
                if url in r["urls"]:
                    out.setdefault(r["desk"], []).append(r["at"])
        return out

    def _fates_of(self, host: str, path: str) -> list[dict[str, Any]]:
        zone = registered_domain(to_unicode_host(host)) or host
        ldh = zone.encode("idna").decode("ascii")
        domain = self._by_domain.get(ldh, [])
        return [*self._by_url.get(f"https://{host}{path}", []), *domain]

    def effect(self, host: str, path: str, at: datetime | None = None) -> dict[str, Any] | None:
        at = at or self.now()
        fates = self._fates_of(host, path)
        receipts: dict[str, list[datetime]] = {}
        for url in {f["url"] for f in fates}:
            for desk, times in self.receipts(url).items():
                receipts.setdefault(desk, []).extend(times)
        return effect_at(fates, receipts, at)

    def nxdomain(self, host: str) -> bool:
        effect = self.effect(host, "/")
        return effect is not None and effect["fate"] == "nxdomain" and effect["scope"] == "domain"

    # ----------------------------------------------------------------- requests

    def control(self, method: str, path: str, query: str, body: bytes) -> tuple[int, dict[str, Any]] | None:
        """The clock and desk endpoints on the sandbox's own host; None: not one of them."""
        if path == "/_sandbox/clock":
            if method == "POST":
                try:
                    value = json.loads(body or b"{}").get("now")
                    moment = datetime.fromisoformat(value) if value else None
                except (ValueError, AttributeError) as exc:
                    return 400, {"error": f"clock: expected {{\"now\": ISO 8601 time or null}}: {exc}"}
                if moment is not None and moment.tzinfo is None:
                    return 400, {"error": f"clock: {value!r} has no time zone"}
                self._now = moment
            return 200, {"now": self.now().isoformat(), "simulated": self._now is not None}
        if path == "/_sandbox/desks/reset" and method == "POST":
            with self._lock:
                self._received.clear()
            self._now = None
            return 200, {"received": 0}
        if path == "/_sandbox/desks":
            with self._lock:
                received = [{**r, "at": r["at"].isoformat()} for r in self._received]
            return 200, {"now": self.now().isoformat(), "desks": list(self.desks.values()), "received": received}
        if path == "/_sandbox/dns":
            host = parse_qs(query).get("host", [""])[0].lower().rstrip(".")
            if self.nxdomain(host):
                return 200, {"host": host, "nxdomain": True}
            return 200, {"host": host, "addresses": ["127.0.0.1"]}
        return None

    def receive(self, host: str, path: str, body: bytes, content_type: str) -> tuple[int, str] | None:
        """Record a notice POSTed to a desk's form; (status, error) when it is refused, None when taken or
        not a desk's form (the form's route answers then)."""
        did = self._form.get(_key(host, path))
        if did is None:
            return None
        try:
            if "json" in content_type:
                data = json.loads(body)
                urls, notice = list(data.get("urls") or []), data.get("notice_id")
            else:
                form = parse_qs(body.decode("utf-8"))
                urls = [u.strip() for u in form.get("urls", [""])[0].splitlines() if u.strip()]
                notice = form.get("notice_id", [None])[0]
        except (ValueError, UnicodeDecodeError, AttributeError) as exc:
            return 400, f"{self.desks[did]['name']}: the notice is not readable: {exc}"
        if not urls:
            return 400, f"{self.desks[did]['name']}: the notice names no URL"
        with self._lock:
            self._received.append({"desk": did, "notice_id": notice, "urls": urls, "at": self.now()})
        return None

    def respond(self, host: str, path: str) -> tuple[str, Any] | None:
        """What a fate in force serves at ``host`` + ``path``: ("page", (status, html)), ("hang", None),
        ("nxdomain", None), ("alias", original path) for a re-listed item; None: serve as usual."""
        if not self._received:  # nothing reported: every page as built (and no cost per request)
            return None
        relist = self._relists.get(_key(host, path))
        if relist is not None:
            original, fate = relist
            effect = self.effect(host, urlsplit(original).path)
            if effect and effect["fate"] in REMOVED and \
                    self.now() >= effect["since"] + timedelta(days=fate["relist"]["after_days"]):
                return "alias", urlsplit(original).path
            return None
        effect = self.effect(host, path)
        if effect is None:
            return None
        fate, desk = effect["fate"], self.desks[effect["desk"]]["name"]
        if fate == "nxdomain":
            return "nxdomain", None
        if fate == "timeout":
            return "hang", None
        if fate.startswith("http_"):
            status = int(fate[5:])
            return "page", (status, f"<!doctype html><title>{status}</title><h1>Error {status}</h1>")
        title, heading, text = PAGES[fate]
        fill = {"desk": desk, "domain": host}
        return "page", (200, f"<!doctype html><html><head><title>{title.format(**fill)}</title></head><body>"
                             f"<h1>{heading}</h1><p>{text.format(**fill)}</p></body></html>")


def _split(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.path or "/"


# --------------------------------------------------------------------------- the client side


class DeskClient:
    """Talks to a running sandbox web's desks and clock (tests and demos): its proxy port and CA."""

    def __init__(self, proxy_url: str, ca_path: str | Path):
        import ssl

        self.base = proxy_url.rstrip("/")
        context = ssl.create_default_context(cafile=str(ca_path))
        self._direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._proxied = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": proxy_url, "https": proxy_url}),
            urllib.request.HTTPSHandler(context=context))

    def _own(self, method: str, path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps(data).encode() if data is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers={"Content-Type": "application/json", "Host": "127.0.0.1"})
        with self._direct.open(req, timeout=10) as resp:
            return json.loads(resp.read())

    def set_clock(self, now: datetime | None) -> dict[str, Any]:
        return self._own("POST", "/_sandbox/clock", {"now": now.isoformat() if now else None})

    def reset(self) -> dict[str, Any]:
        return self._own("POST", "/_sandbox/desks/reset")

    def state(self) -> dict[str, Any]:
        return self._own("GET", "/_sandbox/desks")

    def resolve(self, host: str) -> list[str]:
        """The sandbox's resolver: 127.0.0.1 for every name, except the names a registrar deleted (NXDOMAIN)."""
        answer = self._own("GET", f"/_sandbox/dns?host={host}")
        if answer.get("nxdomain"):
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: Name or service not known")
        return list(answer["addresses"])

    def get(self, url: str) -> tuple[int, bytes]:
        """(status, body) of ``url`` through the sandbox's proxy, as a crawl would see it now."""
        try:
            with self._proxied.open(url, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def send(self, form_url: str, notice_id: str, urls: list[str]) -> int:
        req = urllib.request.Request(form_url, data=json.dumps({"notice_id": notice_id, "urls": urls}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with self._proxied.open(req, timeout=10) as resp:
            return resp.status

    def deliver_bundle(self, zip_path: str | Path) -> list[tuple[str, str]]:
        """Hand a ``takedown export`` bundle to the desks: each notice (``batch.csv``) whose recipient has a
        sandbox desk (by its form URL or its e-mail address's domain) is POSTed to that desk; (notice id, desk id) sent."""
        desks = self.state()["desks"]
        by_form = {d["form"]: d for d in desks}
        # By the address's domain: a brand's contacts may name another mailbox of the same desk.
        by_email = {d["email"].rpartition("@")[2]: d for d in desks if d["email"]}
        by_name = {d["name"]: d for d in desks}
        sent = []
        with zipfile.ZipFile(zip_path) as bundle:
            name = next(n for n in bundle.namelist() if n.endswith("batch.csv"))
            rows = csv.DictReader(io.StringIO(bundle.read(name).decode("utf-8")))
            for row in rows:
                desk = by_form.get(row["form_url"]) or by_email.get(row["recipient_email"].rpartition("@")[2]) \
                    or (by_name.get(row["recipient_name"]) if row["recipient_kind"] == "marketplace" else None)
                if desk is None:
                    continue
                self.send(desk["form"], row["id"], row["urls"].split())
                sent.append((row["id"], desk["id"]))
        return sent
