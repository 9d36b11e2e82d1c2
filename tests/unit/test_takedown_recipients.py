"""Recipients by finding kind, RDAP lookups against the sandbox registry's answers, profile overrides."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
import yaml

from brandhound.evidence import EvidenceStore
from brandhound.profile import ProfileError, load_profile
from detectors.rdap import RdapClient
from sandbox.web import rdap as registry
from takedown.hosting import HostingLookup, map_resolver, parse_network
from takedown.recipients import RecipientFinder
from sandbox.takedown_samples import leak_case, listing_case, sample_cases, site_case
from tests.support.paths import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)
YOUNG = ["kestrava-outlet.com", "kestrava-login.net"]
OLD = ["kestrava.com", "bazaarhub.com"]


@pytest.fixture
def sandbox_registry(tmp_path):
    """The sandbox RDAP app and hosting map for a few domains, answering as its server does."""
    records = registry.plan_registry(YOUNG, OLD, seed=7)
    index = tmp_path / "rdap.json"
    index.write_text(json.dumps({"base_url": registry.BASE_URL, "domains": records}))
    app = registry.RdapApp(index)
    files = {registry.BOOTSTRAP_PATH: registry.bootstrap(records), registry.IP_BOOTSTRAP_PATH: registry.ip_bootstrap(),
             registry.HOSTING_PATH: registry.plan_hosting(records, seed=7)}

    def fetch(url: str, timeout: float):
        parts = urlsplit(url)
        assert parts.hostname == registry.HOST
        if parts.path in files:
            return 200, {}, json.dumps(files[parts.path]).encode()
        status, body, _ = app.handle(parts.path, parts.query)
        return status, {}, body

    return records, files, fetch


def finder_with(fetch, profile=PROFILE, hosting_map=None):
    domains = RdapClient(registry.BOOTSTRAP_URL, fetch=fetch)
    hosting = HostingLookup(f"https://{registry.HOST}{registry.IP_BOOTSTRAP_PATH}", fetch=fetch)
    hosting.use_published_map(f"https://{registry.HOST}{registry.HOSTING_PATH}")
    return RecipientFinder(profile, domains, hosting)


def kinds(targets):
    return [t.recipient.kind for t in targets]


def test_sandbox_ip_answers_are_rdap_ip_networks_with_abuse_contacts(sandbox_registry):
    records, files, fetch = sandbox_registry
    young_address = files[registry.HOSTING_PATH]["kestrava-outlet.com"]
    old_address = files[registry.HOSTING_PATH]["kestrava.com"]
    status, _, body = fetch(f"{registry.BASE_URL}ip/{young_address}", 5)
    network = json.loads(body)
    assert status == 200 and network["objectClassName"] == "ip network" and network["ipVersion"] == "v4"
    record = parse_network(network, young_address)
    assert record.provider in {n[2] for n in registry.NETWORKS[1:]}  # look-alikes sit with abused hosts
    assert record.abuse_email and "@" in record.abuse_email
    assert parse_network(json.loads(fetch(f"{registry.BASE_URL}ip/{old_address}", 5)[2]), old_address).provider \
        == registry.NETWORKS[0][2]
    assert fetch(f"{registry.BASE_URL}ip/10.1.2.3", 5)[0] == 404
    assert fetch(f"{registry.BASE_URL}ip/not-an-ip", 5)[0] == 400


def test_domain_answers_did_not_change_with_the_hosting_plan(sandbox_registry):
    records, _, fetch = sandbox_registry
    again = registry.plan_registry(YOUNG, OLD, seed=7)
    assert again == records
    body = json.loads(fetch(f"{registry.BASE_URL}domain/kestrava-outlet.com", 5)[2])
    assert body["objectClassName"] == "domain" and body["ldhName"] == "kestrava-outlet.com"


def test_recipients_by_finding_kind(tmp_path, sandbox_registry):
    _, files, fetch = sandbox_registry
    samples = sample_cases(EvidenceStore(tmp_path), PROFILE)
    finder = finder_with(fetch)
    by_kind = {(c.finding.kind, c.on_onion): finder.targets(c) for c in samples.cases}
    listing = by_kind[("counterfeit_listing", False)]
    assert kinds(listing) == ["marketplace"]
    assert listing[0].recipient.email == "ip-reports@bazaarhub.com"
    assert listing[0].recipient.form_url == "https://www.bazaarhub.com/ip/report"
    assert kinds(by_kind[("phishing", False)]) == ["registrar", "host", "search_engine", "search_engine"]
    # A counterfeit fake store is not DNS abuse (ICANN RAA 3.18): its host and the search engines, not its registrar.
    assert kinds(by_kind[("fake_store", False)]) == ["host", "search_engine", "search_engine"]
    phishing = by_kind[("phishing", False)]
    registrar, host = phishing[0].recipient, phishing[1].recipient
    assert registrar.source == "rdap" and registrar.email in {r[2] for r in registry.ABUSED}
    assert host.source == "rdap" and host.email in {n[3] for n in registry.NETWORKS[1:]}
    # The crawl's RDAP facts are used as they are.
    fake = finder._registrar(next(c for c in samples.cases if c.finding.kind == "fake_store"))
    assert (fake.name, fake.email, fake.source) == ("QuickCheap Domains Ltd", "abuse@quickcheap-domains.example", "site")
    onion = by_kind[("counterfeit_listing", True)]
    assert kinds(onion) == ["law_enforcement"] and onion[0].recipient.email == "liaison@poliisi.example"
    leak = by_kind[("credential_leak", False)]
    assert kinds(leak) == ["internal"] and leak[0].recipient.email == PROFILE.rights_holder.email


def profile_with(tmp_path, contacts):
    data = yaml.safe_load(EXAMPLE_BRAND.read_text())
    data["takedown_contacts"] = contacts
    for p in data["products"]:
        p["images"] = [str(EXAMPLE_BRAND.parent / i) for i in p["images"]]
    data["logos"] = [str(EXAMPLE_BRAND.parent / i) for i in data["logos"]]
    path = tmp_path / "brand.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return load_profile(path)


def test_profile_overrides_by_domain_registrar_and_hosting_provider(tmp_path, sandbox_registry):
    _, files, fetch = sandbox_registry
    hosting_address = files[registry.HOSTING_PATH]["kestrava-login.net"]
    provider = parse_network(json.loads(fetch(f"{registry.BASE_URL}ip/{hosting_address}", 5)[2]),
                             hosting_address).provider
    profile = profile_with(tmp_path, [
        {"kind": "registrar", "domain": "kestrava-login.net", "name": "Registrar legal desk",
         "email": "legal@registrar.example", "language": "es"},
        {"kind": "host", "hosting_provider": provider, "name": "Host trust & safety", "form_url": "https://host.example/abuse"},
        {"kind": "internal", "name": "SOC", "email": "soc@kestrava.com"},
    ])
    store = EvidenceStore(tmp_path / "ev")
    finder = finder_with(fetch, profile)
    phishing = finder.targets(site_case(store, profile, "https://kestrava-login.net/x", "phishing"))
    assert (phishing[0].recipient.name, phishing[0].recipient.source, phishing[0].language) == (
        "Registrar legal desk", "profile", "es")
    assert phishing[1].recipient.form_url == "https://host.example/abuse" and phishing[1].recipient.email is None
    leak = finder.targets(leak_case(profile, "a@kestrava.com", "pw", "https://paste.example/1"))
    assert leak[0].recipient.email == "soc@kestrava.com"
    # Without a law-enforcement contact, onion intelligence goes to the brand's own team.
    onion = finder.targets(listing_case(store, profile, "http://abc.onion/l/1", "x", source_type="onion"))
    assert kinds(onion) == ["internal"]


def test_language_follows_the_recipients_country_when_the_brand_writes_it(tmp_path):
    store = EvidenceStore(tmp_path)
    case = listing_case(store, PROFILE, "https://torimarket.fi/ilmoitus/5", "Kestrava kopio", marketplace="Tori Market")
    (target,) = RecipientFinder(PROFILE).targets(case)
    assert target.recipient.email == "oikeudet@torimarket.fi" and target.language == "fi"


def test_unknown_addresses_are_drafted_and_marked_unknown(tmp_path):
    store = EvidenceStore(tmp_path)
    case = site_case(store, PROFILE, "https://kestrava-sale.com/", "phishing")
    registrar, host, *_ = RecipientFinder(PROFILE).targets(case)
    assert registrar.recipient.source == host.recipient.source == "unknown"
    assert registrar.recipient.email is None and "kestrava-sale.com" in registrar.recipient.name


def test_map_resolver_uses_the_registered_domain():
    resolve = map_resolver({"example.com": "198.51.100.9"})
    assert resolve("shop.example.com") == "198.51.100.9" and resolve("other.org") is None


@pytest.mark.parametrize("contact,problem", [
    ({"kind": "registrar", "name": "X", "email": "a@b.example"}, "needs exactly one of domain, registrar"),
    ({"kind": "registrar", "registrar": "R", "domain": "a.example", "name": "X", "email": "a@b.example"},
     "needs exactly one of"),
    ({"kind": "host", "registrar": "R", "name": "X", "email": "a@b.example"}, "cannot match on registrar"),
    ({"kind": "internal", "domain": "a.example", "name": "X", "email": "a@b.example"}, "cannot match on domain"),
    ({"kind": "registrar", "registrar": "R", "name": "X"}, "needs an email or a form_url"),
    ({"kind": "registrar", "registrar": "R", "name": "X", "email": "not-an-address"}, "takedown_contacts[0].email"),
    ({"kind": "police", "name": "X", "email": "a@b.example"}, "takedown_contacts[0].kind"),
])
def test_bad_takedown_contacts_are_named_in_the_error(tmp_path, contact, problem):
    with pytest.raises(ProfileError) as err:
        profile_with(tmp_path, [contact])
    assert problem in str(err.value) and "takedown_contacts[0]" in str(err.value)
