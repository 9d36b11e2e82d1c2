"""Build the sandbox CT logs' contents: the sandbox web's look-alike sites' certificates mixed into a
large stream of benign ones, every certificate labelled in ``ground_truth.json``.

Both logs hold the same certificates in the same order (a browser wants SCTs from two logs, so real
certificates are in several logs too): the RFC 6962 log serves them through get-entries, the
tiled one through data tiles. The benign stream is other people's sites (multi-SAN, ``www.`` and
wildcard names), the brand's official and allowlisted domains and hosting names; the look-alikes
come from :func:`sandbox.web.surface.plan_sites` (the sites the sandbox web serves), some as
precertificates, some with a wildcard, placed in the second half of the log as new certificates are.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from brandhound.profile import load_profile
from sandbox.ct.certificates import Issuer
from sandbox.web.fileio import read_json, write_json
from sandbox.web.names import to_ascii_host
from sandbox.web.surface import plan_sites
from sandbox.web.tls import _write_private, _key_pem

ENTRIES_FILE = "entries.json"
TRUTH_FILE = "ground_truth.json"
LOG_KEYS = {"rfc6962": "rfc6962-log-key.pem", "static": "static-log-key.pem"}
DEFAULT_BENIGN = 3000

WORDS = ("amber", "birch", "cobalt", "delta", "ember", "fjord", "granite", "harbor", "iris", "juniper", "lumen",
         "maple", "nova", "orbit", "pine", "quartz", "river", "summit", "tundra", "umber", "violet", "willow",
         "yarrow", "zephyr", "atlas", "beacon", "cedar", "drift", "echo", "falcon", "grove", "haven", "indigo",
         "jasper", "lotus", "meadow", "north", "opal", "prism", "quill", "raven", "sage", "tide", "union", "vale",
         "wren", "apex", "bloom", "dune", "fern", "glade", "hollow", "isle", "jade", "lark", "mist", "nest",
         "oak", "pearl", "reef", "slate", "thorn", "urban", "vivid", "wave", "bakery", "dental", "garage",
         "plumbing", "yoga", "clinic", "studio", "travel", "finance", "cloud", "data", "labs", "media", "school")
TLDS = ("com", "net", "org", "io", "fi", "de", "co.uk", "se", "dev", "app", "eu", "nl", "fr", "com.br", "pl")
SUBDOMAINS = ("www", "mail", "api", "shop", "cdn", "app", "portal", "blog", "static", "m")


def _benign_names(rng: random.Random) -> list[str]:
    base = f"{rng.choice(WORDS)}{rng.choice(('', '-'))}{rng.choice(WORDS)}.{rng.choice(TLDS)}"
    shape = rng.random()
    if shape < 0.35:
        return [base, f"www.{base}"]
    if shape < 0.55:
        return [f"*.{base}", base]
    if shape < 0.75:
        return [base, *sorted({f"{rng.choice(SUBDOMAINS)}.{base}" for _ in range(rng.randint(2, 6))})]
    if shape < 0.85:
        return [f"{rng.choice(SUBDOMAINS)}.{base}"]
    return [base]


def _lookalike_names(host: str, i: int) -> list[str]:
    # Squatters get what the free CAs give: the name and www, or a wildcard.
    return [host, f"www.{host}"] if i % 3 == 0 else [f"*.{host}", host] if i % 3 == 1 else [host]


def build(directory: Path, profile_path: str | Path, *, seed: int = 1337, benign: int = DEFAULT_BENIGN,
          ca_dir: Path | None = None) -> dict[str, Any]:
    """Write the certificates (``entries.json``), the log keys and the ground truth; returns the truth."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}:ct")
    profile = load_profile(profile_path)
    issuer = Issuer(ca_dir or directory)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    sites = plan_sites(profile)
    plan: list[dict[str, Any]] = []
    for _ in range(benign):
        plan.append({"names": _benign_names(rng), "label": "benign", "role": "other"})
    for site in (s for s in sites if s.label in ("official", "legit")):
        plan.append({"names": [site.host, f"www.{site.host}"], "label": "benign", "role": site.role})
    # Look-alikes arrive late, in the second half of the stream, as a new squat's certificate does.
    for i, site in enumerate(s for s in sites if s.label in ("fake_store", "phishing")):
        at = rng.randint(len(plan) // 2, len(plan))
        plan.insert(at, {"names": _lookalike_names(site.host, i), "label": "lookalike", "role": site.label,
                         "domain": site.host, "technique": site.technique, "precert": i % 2 == 0})
    entries, truth = [], []
    start_ms = int(now.timestamp() * 1000) - 1000 * len(plan)  # one a second, ending now
    for index, cert in enumerate(plan):
        names = [to_ascii_host(n) if not n.startswith("*.") else "*." + to_ascii_host(n[2:]) for n in cert["names"]]
        age_days = rng.uniform(0, 1) if cert["label"] == "lookalike" else rng.uniform(0, 60)
        precert = cert.get("precert", rng.random() < 0.3)
        issued = issuer.issue(names, 0x1000 + index, now - dt.timedelta(days=age_days), precert=precert)
        entries.append({"timestamp": start_ms + 1000 * index,
                        "der": base64.b64encode(issued.der).decode(),
                        "tbs": base64.b64encode(issued.tbs).decode() if issued.tbs else None,
                        "issuer_key_hash": base64.b64encode(issued.issuer_key_hash).decode()
                        if issued.issuer_key_hash else None})
        truth.append({"index": index, "names": names, "label": cert["label"], "role": cert["role"],
                      "domain": cert.get("domain"), "technique": cert.get("technique"), "precert": precert})
    write_json(directory / ENTRIES_FILE, {"ca": base64.b64encode(issuer.ca_der).decode(), "entries": entries},
               indent=None)
    for name in LOG_KEYS.values():
        if not (directory / name).exists():
            _write_private(directory / name, _key_pem(ec.generate_private_key(ec.SECP256R1())))
    summary = {"seed": seed, "profile": str(Path(profile_path).resolve()), "size": len(plan),
               "lookalikes": sorted({c["domain"] for c in truth if c["label"] == "lookalike"}),
               "certificates": truth}
    write_json(directory / TRUTH_FILE, summary, indent=None)
    return summary


def load_truth(directory: Path) -> dict[str, Any]:
    return read_json(directory / TRUTH_FILE)


def public_key_der(key_path: Path) -> bytes:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
