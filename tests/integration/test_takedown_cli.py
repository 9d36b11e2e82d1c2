"""The takedown command line end to end: real Elasticsearch, the sandbox web's RDAP registry."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from brandhound import cluster
from brandhound import commands as cli
from brandhound.evidence import EvidenceStore
from brandhound.profile import load_profile
from detectors.rdap import RdapClient
from sandbox.web import rdap as registry
from sandbox.takedown_samples import sample_cases, site_case
from tests.support.paths import EXAMPLE_BRAND
from tests.support.takedown import index_cases

PROFILE = load_profile(EXAMPLE_BRAND)


@pytest.fixture
def env(settings, sandbox_web, tmp_path, monkeypatch):
    home, state = sandbox_web
    settings = replace(settings, evidence_dir=tmp_path / "evidence")
    for name, value in {"BRANDHOUND_ES_URL": settings.es.url, "BRANDHOUND_ES_INDEX_PREFIX": settings.es.index_prefix,
                        "BRANDHOUND_EVIDENCE_DIR": str(settings.evidence_dir), "BRANDHOUND_HOME": str(home),
                        "BRANDHOUND_SPOOL_DIR": str(settings.spool_dir)}.items():
        monkeypatch.setenv(name, value)
    client = cluster.make_client(settings.es)
    cluster.init_indices(client, settings.es.index_prefix)
    client.close()
    return settings, state


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sandbox_phishing_url(state: dict) -> str:
    truth = json.loads(Path(state["ground_truth"]).read_text(encoding="utf-8"))
    return next(p["url"] for p in truth["pages"] if p.get("kind") == "site" and p.get("label") == "phishing")


def test_cli_end_to_end_with_sandbox_rdap(env, capsys, tmp_path):
    settings, state = env
    store = EvidenceStore(settings.evidence_dir)
    samples = sample_cases(store, PROFILE)
    phishing = site_case(store, PROFILE, sandbox_phishing_url(state), "phishing")
    phishing.finding.status = "new"
    index_cases(settings, [*samples.cases, phishing])

    code, out, err = run(capsys, "findings", "confirm", phishing.finding.doc_id(), "--by", "analyst")
    assert code == 0 and "confirmed 1 finding" in out, err
    # Without RDAP, the sandbox domain's registrar and host are drafted without an address ...
    code, out, err = run(capsys, "takedown", "draft", "--no-rdap", "--by", "aino")
    assert code == 0 and "7 findings: 14 notices created" in out, err + out
    # ... which the sandbox registry then supplies: two new drafts replace (and retire) those two.
    code, out, err = run(capsys, "takedown", "draft", "--sandbox", "--by", "aino")
    assert code == 0 and "2 notices created, 12 drafts updated" in out and "2 superseded drafts rejected" in out, out

    code, out, _ = run(capsys, "takedown", "list", "--status", "draft", "--json")
    notices = [json.loads(line) for line in out.splitlines()]
    about_sandbox = [n for n in notices if phishing.url in n.get("urls", [])]
    by_kind = {n["recipient"]["kind"]: n["recipient"] for n in about_sandbox}
    registered = RdapClient(registry.BOOTSTRAP_URL, proxy=state["proxy_url"],
                            ca_bundle=str(Path(state["ground_truth"]).parent / "ca.pem")).lookup(phishing.url)
    if registered.registrar == "Privacy Registrar Inc.":  # the example brand overrides its address
        assert (by_kind["registrar"]["source"], by_kind["registrar"]["email"]) == (
            "profile", "trademark-complaints@privacyregistrar.example")
    else:
        assert (by_kind["registrar"]["source"], by_kind["registrar"]["email"]) == ("rdap", registered.abuse_email)
    assert registered.abuse_email in {r[2] for r in registry.ABUSED}
    assert by_kind["host"]["source"] == "rdap" and by_kind["host"]["email"] in {n[3] for n in registry.NETWORKS[1:]}

    market = next(n for n in notices if n["recipient"]["kind"] == "marketplace")
    market_id = next(line.split()[0] for line in run(capsys, "takedown", "list", "--kind", "marketplace")[1].splitlines())
    code, out, err = run(capsys, "takedown", "mark", market_id, "removed", "--by", "legal")
    assert code == 1 and "is draft: it cannot become removed" in err
    assert run(capsys, "takedown", "approve", market_id, "--by", "legal")[0] == 0
    registrar_id = [line.split()[0] for line in
                    run(capsys, "takedown", "list", "--kind", "registrar", "--status", "draft")[1].splitlines()][0]
    code, out, err = run(capsys, "takedown", "reject", registrar_id, "--reason", "duplicate report", "--by", "legal")
    assert code == 0 and "rejected" in out
    code, _, err = run(capsys, "takedown", "approve", "no-such-notice")
    assert code == 1 and "no takedown notice 'no-such-notice'" in err

    out_dir = tmp_path / "exports"
    code, out, err = run(capsys, "takedown", "export", "--status", "approved", "--format", "eml,pdf,csv",
                         "--out", str(out_dir))
    assert code == 0 and "exported 1 notices" in out, err
    bundle = next(out_dir.glob("batch-*.zip"))
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
    assert {"manifest.json", "batch.csv", f"{market_id}/notice.eml", f"{market_id}/notice.pdf"} <= set(names)
    assert market["recipient"]["email"] == "ip-reports@bazaarhub.com"
    assert run(capsys, "takedown", "mark", market_id, "sent", "--by", "legal")[0] == 0

    # verify, in a separate process as an auditor would run it
    proc = subprocess.run([sys.executable, "-m", "brandhound.commands", "takedown", "verify", str(bundle)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and ": OK:" in proc.stdout
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(altered, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith("notice.pdf"):
                data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
            dst.writestr(name, data)
    code, out, _ = run(capsys, "takedown", "verify", str(altered))
    assert code == 1 and "ALTERED" in out and "notice.pdf" in out

    # Re-drafting leaves the sent and rejected notices alone.
    code, out, _ = run(capsys, "takedown", "draft", "--sandbox", "--by", "aino")
    assert code == 0 and "0 notices created, 12 drafts updated" in out and "2 notices past draft left unchanged" in out
    # A later run without RDAP keeps the addresses found before: nothing new, nothing retired.
    code, out, _ = run(capsys, "takedown", "draft", "--no-rdap", "--by", "aino")
    assert code == 0 and "0 notices created" in out and " 0 superseded drafts" in out, out
    host_now = [json.loads(line)["recipient"] for line in
                run(capsys, "takedown", "list", "--status", "draft", "--kind", "host", "--json")[1].splitlines()
                if phishing.url in json.loads(line)["urls"]]
    assert host_now == [by_kind["host"]]
    drafts = [json.loads(line) for line in run(capsys, "takedown", "list", "--status", "draft", "--json")[1].splitlines()]
    per_finding = [(d["recipient"]["kind"], f) for d in drafts if d["recipient"]["kind"] != "search_engine"
                   for f in d["finding_ids"]]
    assert len(per_finding) == len(set(per_finding))  # one live draft per recipient and finding


def test_triage_errors_are_clear(env, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["findings", "dismiss", "nope"])
    assert exited.value.code == 2 and "--reason" in capsys.readouterr().err
    code, _, err = run(capsys, "findings", "confirm", "nope")
    assert code == 1 and "no finding with id nope" in err
