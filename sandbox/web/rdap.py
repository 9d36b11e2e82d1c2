"""The sandbox's domain registry: an RDAP service (RFC 9083) for every domain the sandbox serves.

``rdap.sandbox-registry.example`` answers ``/domain/<name>`` for the registered domains
of the sandbox's sites, marketplaces, paste site and phishing collectors, as a gTLD
registry's RDAP server does: ``objectClassName``, ``ldhName`` (and ``unicodeName`` for
IDNs), status, ``registration`` / ``expiration`` / ``last changed`` events, nameservers,
and the registrar entity (IANA id, ``vcardArray``) with its ``abuse`` contact nested
inside it, as the ICANN RDAP response profile asks. Unknown names get an RDAP error
object with status 404, malformed ones 400.

Look-alike domains (fake stores, phishing, their collectors) were registered days or
weeks ago with registrars that abusers favour; the brand's, the marketplaces' and the
legitimate sites' domains years ago. The build stores each domain's *age*, not a date:
the service dates the registration that many days before the moment it answers, so a
build stays reproducible and a "young" domain stays young however old the build is.

``/bootstrap/dns.json`` is an IANA-style bootstrap file (RFC 9224) mapping every TLD
the sandbox uses to this service; point ``BRANDHOUND_RDAP_BOOTSTRAP`` at it.

It is also the regional internet registry of the sandbox's hosting providers: ``/ip/<addr>``
answers an IP network object (RFC 9083 section 5.4) for the address of any of its
networks, with the provider as ``registrant`` entity and its ``abuse`` contact nested
inside, as ARIN's and RIPE's RDAP ``ip`` queries do; ``/bootstrap/ipv4.json`` maps those
networks (documentation ranges, RFC 5737) to this service. Every sandbox host really
resolves to 127.0.0.1, so the address a domain *would* have, its A record in the real
world, is published at ``/sandbox/hosting.json`` (registered domain -> address): look-alikes
sit with hosting providers that abusers favour, the rest with established ones.
"""

from __future__ import annotations

import ipaddress
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import unquote

from brandhound.urls import registered_domain
from sandbox.web.names import to_ascii_host, to_unicode_host
from sandbox.web.output import Output

HOST = "rdap.sandbox-registry.example"
BASE_URL = f"https://{HOST}/"
BOOTSTRAP_PATH = "/bootstrap/dns.json"
BOOTSTRAP_URL = f"https://{HOST}{BOOTSTRAP_PATH}"
INDEX_FILE = "rdap-domains.json"
RDAP_JSON = "application/rdap+json"

#: Registrars (IANA id, name, abuse e-mail, abuse phone). The first two are where brands and
#: established sites register; the others are where the look-alikes come from.
REGISTRARS = (
    ("9101", "Aurora Names Oy", "abuse@aurora-names.example", "+358.95550123"),
    ("9102", "Nordic Registry Services AB", "abuse-desk@nordicregistry.example", "+46.855501234"),
    ("9203", "QuickCheap Domains Ltd", "abuse@quickcheap-domains.example", "+44.2055501234"),
    ("9204", "Privacy Registrar Inc.", "report-abuse@privacyregistrar.example", "+1.5555550123"),
)
ESTABLISHED, ABUSED = REGISTRARS[:2], REGISTRARS[2:]
IP_BOOTSTRAP_PATH = "/bootstrap/ipv4.json"
HOSTING_PATH = "/sandbox/hosting.json"
#: Hosting providers (network handle, CIDR, name, abuse e-mail, abuse phone, country); the first
#: hosts established sites, the others the look-alikes.
NETWORKS = (
    ("NET-192-0-2-0-1", "192.0.2.0/24", "Aurora Cloud Oy", "abuse@auroracloud.example", "+358.95550199", "FI"),
    ("NET-198-51-100-0-1", "198.51.100.0/24", "FastPark Hosting Ltd", "abuse@fastpark-hosting.example",
     "+44.2055509876", "GB"),
    ("NET-203-0-113-0-1", "203.0.113.0/24", "Offshore VPS S.A.", "noc-abuse@offshorevps.example",
     "+507.5550123", "PA"),
)
#: Age in days of a young (look-alike) and an established domain.
YOUNG_DAYS = (2, 60)
OLD_DAYS = (900, 7000)
CONFORMANCE = ["rdap_level_0", "icann_rdap_response_profile_0", "icann_rdap_technical_implementation_guide_0"]


def _record(domain: str, young: bool, rng: random.Random, serial: int) -> dict[str, Any]:
    registrar = rng.choice(ABUSED if young else ESTABLISHED)
    ldh = to_ascii_host(domain)
    label = ldh.split(".")[0]
    if young:
        provider = rng.choice(("cheapdns", "fastpark", "bulkhost"))
        nameservers = [f"ns{i}.{provider}.example" for i in (1, 2)]
    else:
        nameservers = [f"ns{i}.{label}-dns.example" for i in (1, 2, 3)]
    return {
        "ldh": ldh,
        "unicode": to_unicode_host(ldh),
        "handle": f"{serial:07d}_DOMAIN_SANDBOX",
        "age_days": rng.randint(*(YOUNG_DAYS if young else OLD_DAYS)),
        "second_of_day": rng.randint(0, 86399),
        "registrar": list(registrar),
        "nameservers": nameservers,
        "status": ["client transfer prohibited"] if young else
                  ["client delete prohibited", "client transfer prohibited", "client update prohibited"],
        "years": 1 if young else rng.choice((5, 10)),
    }


def plan_registry(young: Iterable[str], old: Iterable[str], seed: int) -> dict[str, dict[str, Any]]:
    """Registration records by ASCII registered domain. ``young`` and ``old`` are host names;
    a host whose registered domain is in both (a brand-as-subdomain look-alike's zone never is) is old."""
    rng = random.Random(f"{seed}:rdap")
    records: dict[str, dict[str, Any]] = {}
    zones = [(h, False) for h in old] + [(h, True) for h in young]
    for host, is_young in zones:
        zone = registered_domain(to_unicode_host(host))
        if not zone:
            continue
        key = to_ascii_host(zone)
        if key not in records:
            records[key] = _record(zone, is_young, rng, len(records) + 1)
    return dict(sorted(records.items()))


def bootstrap(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An RFC 9224 DNS bootstrap registry: every TLD of ``records`` served by this service."""
    tlds = sorted({ldh.rsplit(".", 1)[-1] for ldh in records})
    return {"version": "1.0", "publication": "2026-01-01T00:00:00Z",
            "description": "brandhound sandbox RDAP bootstrap (IANA format)",
            "services": [[tlds, [BASE_URL]]]}


def write_registry(out: Output, young: Iterable[str], old: Iterable[str], seed: int) -> dict[str, Any]:
    """The RDAP host: its registration index (for the app) and its bootstrap file."""
    records = plan_registry(young, old, seed)
    index = out.write_file(HOST, INDEX_FILE, json.dumps({"base_url": BASE_URL, "domains": records},
                                                        sort_keys=True, indent=1).encode())
    out.app(HOST, "rdap", index=index)
    out.page(HOST, BOOTSTRAP_PATH, json.dumps(bootstrap(records), indent=1), content_type="application/json")
    out.page(HOST, IP_BOOTSTRAP_PATH, json.dumps(ip_bootstrap(), indent=1), content_type="application/json")
    out.page(HOST, HOSTING_PATH, json.dumps(plan_hosting(records, seed), indent=1, sort_keys=True),
             content_type="application/json")
    return records


def plan_hosting(records: dict[str, dict[str, Any]], seed: int) -> dict[str, str]:
    """The address each registered domain would resolve to: young ones with abused providers.
    Its own random stream, so the domain records (and their answers) do not change."""
    rng = random.Random(f"{seed}:hosting")
    hosting = {}
    for ldh, record in records.items():
        network = rng.choice(NETWORKS[1:] if record["age_days"] <= YOUNG_DAYS[1] else NETWORKS[:1])
        hosting[ldh] = str(ipaddress.ip_network(network[1])[rng.randint(2, 250)])
    return hosting


def ip_bootstrap() -> dict[str, Any]:
    """An RFC 9224 IPv4 bootstrap registry: the sandbox's networks served by this service."""
    return {"version": "1.0", "publication": "2026-01-01T00:00:00Z",
            "description": "brandhound sandbox RDAP IPv4 bootstrap (IANA format)",
            "services": [[[n[1] for n in NETWORKS], [BASE_URL]]]}


# --------------------------------------------------------------------------- the service


def _vcard(*props: list[Any]) -> list[Any]:
    return ["vcard", [["version", {}, "text", "4.0"], *props]]


class RdapApp:
    """Answers ``/domain/<name>``, ``/ip/<address>`` and ``/help`` from a build's registration index."""

    def __init__(self, index_path: Path, clock: Callable[[], datetime] | None = None):
        data = json.loads(Path(index_path).read_text(encoding="utf-8"))
        self.base_url: str = data["base_url"]
        self.domains: dict[str, dict[str, Any]] = data["domains"]
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    def handle(self, path: str, query: str) -> tuple[int, bytes, str] | None:
        if path == "/help":
            return self._json(200, {"rdapConformance": CONFORMANCE, "notices": self._notices()})
        if path.startswith("/ip/"):
            return self._ip(unquote(path[len("/ip/"):]))
        if not path.startswith("/domain/"):
            return None
        name = unquote(path[len("/domain/"):]).strip().rstrip(".").lower()
        try:
            ldh = to_ascii_host(name) if name else ""
        except UnicodeError:
            ldh = ""
        if not ldh or "/" in ldh or "." not in ldh:
            return self._error(400, "Bad Request", f"{name!r} is not a domain name")
        record = self.domains.get(ldh)
        if record is None:
            return self._error(404, "Not Found", f"{ldh} is not registered here")
        return self._json(200, self.domain_object(record))

    def domain_object(self, r: dict[str, Any]) -> dict[str, Any]:
        now = self.clock().replace(microsecond=0)
        day = (now - timedelta(days=r["age_days"])).replace(hour=0, minute=0, second=0)
        registered = day + timedelta(seconds=r["second_of_day"])
        changed = registered + timedelta(days=r["age_days"] // 3)
        expires = registered.replace(year=registered.year + r["years"]) if not (
            registered.month == 2 and registered.day == 29) else registered + timedelta(days=365 * r["years"])
        iana_id, name, abuse_email, abuse_phone = r["registrar"]
        self_url = f"{self.base_url}domain/{r['ldh']}"
        obj: dict[str, Any] = {
            "rdapConformance": CONFORMANCE,
            "objectClassName": "domain",
            "handle": r["handle"],
            "ldhName": r["ldh"],
            "links": [{"value": self_url, "rel": "self", "href": self_url, "type": RDAP_JSON}],
            "status": r["status"],
            "entities": [{
                "objectClassName": "entity",
                "handle": iana_id,
                "roles": ["registrar"],
                "publicIds": [{"type": "IANA Registrar ID", "identifier": iana_id}],
                "vcardArray": _vcard(["fn", {}, "text", name]),
                "entities": [{
                    "objectClassName": "entity",
                    "roles": ["abuse"],
                    "vcardArray": _vcard(["fn", {}, "text", "Abuse Contact"],
                                         ["tel", {"type": "voice"}, "uri", f"tel:{abuse_phone}"],
                                         ["email", {}, "text", abuse_email]),
                }],
            }],
            "events": [
                {"eventAction": "registration", "eventDate": _iso(registered)},
                {"eventAction": "expiration", "eventDate": _iso(expires)},
                {"eventAction": "last changed", "eventDate": _iso(changed)},
                {"eventAction": "last update of RDAP database", "eventDate": _iso(now)},
            ],
            "nameservers": [{"objectClassName": "nameserver", "ldhName": ns} for ns in r["nameservers"]],
            "secureDNS": {"delegationSigned": False},
            "notices": self._notices(),
        }
        if r["unicode"] != r["ldh"]:
            obj["unicodeName"] = r["unicode"]
        return obj

    def _ip(self, text: str) -> tuple[int, bytes, str]:
        try:
            address = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            return self._error(400, "Bad Request", f"{text!r} is not an IP address or network")
        network = next((n for n in NETWORKS if address.version == 4
                        and address.subnet_of(ipaddress.ip_network(n[1]))), None)
        if network is None:
            return self._error(404, "Not Found", f"{text} is in no network registered here")
        return self._json(200, self.network_object(network))

    def network_object(self, network: tuple[str, ...]) -> dict[str, Any]:
        handle, cidr, name, abuse_email, abuse_phone, country = network
        net = ipaddress.ip_network(cidr)
        self_url = f"{self.base_url}ip/{cidr}"
        return {
            "rdapConformance": ["rdap_level_0", "cidr0"],
            "objectClassName": "ip network",
            "handle": handle,
            "startAddress": str(net.network_address),
            "endAddress": str(net.broadcast_address),
            "ipVersion": "v4",
            "name": name.upper().replace(" ", "-").replace(".", ""),
            "type": "ALLOCATED PA",
            "country": country,
            "cidr0_cidrs": [{"v4prefix": str(net.network_address), "length": net.prefixlen}],
            "links": [{"value": self_url, "rel": "self", "href": self_url, "type": RDAP_JSON}],
            "status": ["active"],
            "entities": [{
                "objectClassName": "entity",
                "handle": handle.replace("NET-", "ORG-"),
                "roles": ["registrant"],
                "vcardArray": _vcard(["fn", {}, "text", name], ["kind", {}, "text", "org"]),
                "entities": [{
                    "objectClassName": "entity",
                    "roles": ["abuse"],
                    "vcardArray": _vcard(["fn", {}, "text", f"{name} Abuse"],
                                         ["tel", {"type": "voice"}, "uri", f"tel:{abuse_phone}"],
                                         ["email", {}, "text", abuse_email]),
                }],
            }],
            "notices": self._notices(),
        }

    def _notices(self) -> list[dict[str, Any]]:
        return [{"title": "Terms of Use",
                 "description": ["Synthetic registration data of the brandhound sandbox; not a real registry."]}]

    def _error(self, status: int, title: str, description: str) -> tuple[int, bytes, str]:
        return self._json(status, {"rdapConformance": CONFORMANCE, "errorCode": status, "title": title,
                                   "description": [description]})

    @staticmethod
    def _json(status: int, obj: dict[str, Any]) -> tuple[int, bytes, str]:
        return status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), RDAP_JSON


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
