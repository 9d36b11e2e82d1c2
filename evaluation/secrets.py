"""Secrets in configuration files and leak dumps: brandhound, detect-secrets and gitleaks on planted-secret corpora.

Three committed parts (see ``evaluation/corpora/secrets/SOURCES.md``):

* ``leaky-repo``: Plazmaz/leaky-repo, the planted-secret repository secret scanners are compared on;
  one label per risky line, split into dev and test by file;
* ``stealer-formats``: synthetic stealer-log and combo-list records in the formats public stealer-log
  parsers document, corporate records labelled, the others are negatives; split by record;
* ``heldout``: whispers' and trivy's planted-secret fixtures (``HELDOUT.md``), added after the other two
  parts were tuned on, to measure how the rules carry over to other people's files; split by file.

One planted secret is a file and a line (a key or a multi-line record spans lines). A system's hit is a
true positive when it falls on the lines of a labelled secret of the same file (a second hit on the same
secret is neither), a false positive when it falls on no labelled secret. Recall is asked on the kinds
brandhound claims (``claimed``, and per kind) and on every planted secret (``all_planted``). Per-kind rows
count recall only; false positives are in the overall rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from brandhound.config import HmacKey
from detectors.leak_scan import LeakScanner
from evaluation.corpus import corpus_dir, in_split, split_of
from evaluation.metrics import Metrics, Result

CORPUS = "secrets"
#: What brandhound claims to find (see ``evaluation/corpora/secrets/KINDS.md``).
CLAIMED = ("cloud_key", "saas_token", "private_key", "credential")
#: part -> (archive, labels, the unit the dev/test split is drawn on)
PARTS = {
    "leaky-repo": ("leaky-repo.tar.gz", "leaky_repo_labels.json", "file"),
    "stealer-formats": ("stealer-formats.tar.gz", "stealer_formats_labels.json", "record"),
    "heldout": ("heldout.tar.gz", "heldout_labels.json", "file"),
}
#: Files of a part that are the corpus's own bookkeeping, not scanned.
META_FILES = (".leaky-meta/",)
CACHE = Path(os.environ.get("BRANDHOUND_EVAL_CACHE", Path(tempfile.gettempdir()) / "brandhound-eval-secrets"))
GITLEAKS_TIMEOUT = 120


@dataclass(frozen=True)
class Label:
    file: str
    first: int
    last: int
    kind: str
    claimed: bool
    key: str


@dataclass(frozen=True)
class Hit:
    file: str
    first: int
    last: int


@dataclass
class Part:
    name: str
    root: Path
    files: list[str]
    labels: list[Label]
    corporate_domains: list[str]
    unit: str

    def split_key(self, file: str, line: int) -> str:
        return file if self.unit == "file" else f"{file}:{line}"


def load_part(name: str) -> Part:
    """The part's files, extracted once into a cache folder named by the archive's hash, and its labels."""
    archive, labels_file, unit = PARTS[name]
    folder = corpus_dir(CORPUS)
    data = (folder / archive).read_bytes()
    root = CACHE / f"{name}-{hashlib.sha256(data).hexdigest()[:12]}"
    if not root.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=CACHE.mkdir(parents=True, exist_ok=True) or CACHE))
        with tarfile.open(folder / archive) as tar:
            tar.extractall(tmp, filter="data")
        try:
            tmp.rename(root)
        except OSError:  # another run extracted it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
    spec = json.loads((folder / labels_file).read_text(encoding="utf-8"))
    labels = []
    for raw in spec["labels"]:
        first, last = raw["lines"]
        key = raw["file"] if unit == "file" else f"{raw['file']}:{first}"
        labels.append(Label(raw["file"], first, last, raw["kind"], raw["claimed"], key))
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    files = [f for f in files if not f.startswith(META_FILES)]
    return Part(name, root, files, labels, spec["corporate_domains"], unit)


# --------------------------------------------------------------------------- the systems


def brandhound_hits(part: Part, files: Iterable[str]) -> list[Hit]:
    key = HmacKey(key=os.urandom(32), id="evaluation")
    scanner = LeakScanner(key, corporate_domains=part.corporate_domains, other_cards=False)
    hits = []
    for file in files:
        for hit in scanner.scan_path(part.root / file):
            hits.append(Hit(file, hit.line, hit.end_line or hit.line))
    return hits


def detect_secrets_hits(part: Part, files: Iterable[str]) -> list[Hit] | None:
    try:
        from detect_secrets import SecretsCollection
        from detect_secrets.settings import default_settings
    except ImportError:
        return None
    collection = SecretsCollection(root=str(part.root))
    with default_settings():
        collection.scan_files(*[str(part.root / f) for f in files], num_processors=1)
    hits = []
    for filename, secrets in collection.data.items():
        file = Path(filename).resolve().relative_to(part.root.resolve()).as_posix() \
            if Path(filename).is_absolute() else Path(filename).as_posix()
        hits.extend(Hit(file, s.line_number, s.line_number) for s in secrets)
    return hits


def gitleaks_binary() -> str | None:
    """gitleaks on PATH, else where ``go install`` puts it."""
    found = shutil.which("gitleaks")
    if found:
        return found
    gopath = os.environ.get("GOPATH")
    if not gopath and shutil.which("go"):
        try:
            gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            gopath = None
    for base in filter(None, [*(gopath or "").split(os.pathsep), str(Path.home() / "go")]):
        candidate = Path(base) / "bin" / "gitleaks"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def gitleaks_hits(part: Part, files: Iterable[str]) -> list[Hit] | None:
    binary = gitleaks_binary()
    if binary is None:
        return None
    wanted = set(files)
    with tempfile.TemporaryDirectory(prefix="gitleaks-") as work:
        report = Path(work) / "report.json"
        subprocess.run([binary, "detect", "--no-git", "--no-banner", "--source", str(part.root), "--report-format",
                        "json", "--report-path", str(report), "--exit-code", "0", "--log-level", "error"],
                       capture_output=True, timeout=GITLEAKS_TIMEOUT, check=True)
        findings = json.loads(report.read_text(encoding="utf-8") or "[]")
    hits = []
    for f in findings:
        path = Path(f["File"])
        file = (path.resolve().relative_to(part.root.resolve()) if path.is_absolute() else path).as_posix()
        if file in wanted:
            hits.append(Hit(file, f["StartLine"], max(f["StartLine"], f.get("EndLine") or 0)))
    return hits


# --------------------------------------------------------------------------- scoring


def _score(part: Part, split: str, system: str, hits: list[Hit]) -> list[Result]:
    labels = [lab for lab in part.labels if in_split(lab.key, split)]
    by_file: dict[str, list[Label]] = {}
    for lab in labels:
        by_file.setdefault(lab.file, []).append(lab)
    matched: set[Label] = set()
    false_pos = 0
    for hit in sorted(hits, key=lambda h: (h.file, h.first)):
        touching = [lab for lab in by_file.get(hit.file, []) if lab.first <= hit.last and hit.first <= lab.last]
        if not touching:
            # A hit on no secret belongs to the split its own line falls in.
            if in_split(part.split_key(hit.file, hit.first), split) and \
                    not any(lab.file == hit.file and lab.first <= hit.last and hit.first <= lab.last
                            for lab in part.labels):
                false_pos += 1
            continue
        free = [lab for lab in touching if lab not in matched]
        if free:
            matched.add(min(free, key=lambda lab: (not lab.claimed, abs(lab.last - hit.first))))
    rows = []
    claimed = [lab for lab in labels if lab.claimed]
    tp = sum(1 for lab in claimed if lab in matched)
    rows.append(Metrics.of(f"{part.name}/claimed", tp, false_pos, len(claimed) - tp))
    tp_all = len(matched)
    rows.append(Metrics.of(f"{part.name}/all_planted", tp_all, false_pos, len(labels) - tp_all))
    for kind in CLAIMED:
        of_kind = [lab for lab in claimed if lab.kind == kind]
        if of_kind:
            tp_kind = sum(1 for lab in of_kind if lab in matched)
            rows.append(Metrics.of(f"{part.name}/{kind}", tp_kind, 0, len(of_kind) - tp_kind))
    return [Result(CORPUS, split, system, m, extra=(("files", float(len(part.files))),),
                   note="" if m.kind.endswith(("/claimed", "/all_planted")) else
                   "recall only: false positives are counted in the claimed rows") for m in rows]


def _overall(results: list[Result], split: str, system: str) -> Result:
    claimed = [r.metrics for r in results if r.metrics.kind.endswith("/claimed")]
    tp = sum(m.true_positives for m in claimed)
    fp = sum(m.false_positives for m in claimed)
    fn = sum(m.false_negatives for m in claimed)
    return Result(CORPUS, split, system, Metrics.of("claimed", tp, fp, fn),
                  note="every part, the kinds brandhound claims")


SYSTEMS = {"brandhound": brandhound_hits, "detect-secrets": detect_secrets_hits, "gitleaks": gitleaks_hits}
NOT_INSTALLED = {
    "detect-secrets": "pip install detect-secrets==1.5.0",
    "gitleaks": "GOFLAGS=-mod=mod go install github.com/zricethezav/gitleaks/v8@v8.18.4",
}


def evaluate(split: str = "test", *, peers: bool = True) -> list[Result]:
    """brandhound's (and with ``peers`` detect-secrets' and gitleaks') figures on the split of every part."""
    parts = [load_part(name) for name in PARTS]
    results: list[Result] = []
    for system, run in SYSTEMS.items():
        if system != "brandhound" and not peers:
            continue
        rows: list[Result] = []
        missing = False
        for part in parts:
            files = [f for f in part.files if part.unit != "file" or in_split(f, split)]
            hits = run(part, files)
            if hits is None:
                missing = True
                break
            rows.extend(_score(part, split, system, hits))
        if missing:
            results.append(Result(CORPUS, split, system, Metrics.of("claimed", 0, 0, 0),
                                  note=f"not installed ({NOT_INSTALLED[system]})"))
            continue
        results.append(_overall(rows, split, system))
        results.extend(rows)
    return results


def split_sizes() -> dict[str, dict[str, int]]:
    """Labelled secrets per part and split, for the README and the report."""
    out: dict[str, dict[str, int]] = {}
    for name in PARTS:
        part = load_part(name)
        for lab in part.labels:
            out.setdefault(name, {}).setdefault(split_of(lab.key), 0)
            out[name][split_of(lab.key)] += 1
    return out


KIND_TITLES = {"cloud_key": "Cloud keys", "saas_token": "SaaS tokens", "private_key": "Private keys",
               "credential": "Corporate credentials", "card": "Payment cards"}


def kinds_table() -> str:
    """The Markdown table of every kind and secret type the leak scanner claims (``KINDS.md``, the README)."""
    from detectors.leak_scan import CLAIMED_TYPES

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\t", "\\t")

    rows = ["| kind | `secret_type` / format | what it is |", "|---|---|---|"]
    for kind, title in KIND_TITLES.items():
        rows += [f"| {title} | `{cell(name)}` | {cell(what)} |" for name, (k, what) in CLAIMED_TYPES.items() if k == kind]
    return "\n".join(rows)
