"""One worker of a shared frontier, from a JSON spec: ``python -m crawlers.frontier.worker SPEC.json``.

For harnesses that start many workers against a sandbox they serve themselves (the frontier tests,
``bench/scale.py``): the spec gives what ``brandhound crawl`` takes from its options plus an
explicit egress and spider arguments. Operators use ``brandhound crawl --frontier`` instead.

Spec keys: ``spider``, ``brand``, ``redis_url``, ``key``, and optionally ``seeds``, ``job_id``,
``egress`` (fields of :class:`crawlers.runner.Egress`), ``overrides`` (Scrapy settings),
``spider_args``. Prints the crawl's summary as one JSON line; exit 0 when it finished.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from crawlers.frontier import frontier_settings
from crawlers.runner import Egress, run_crawl


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m crawlers.frontier.worker SPEC.json", file=sys.stderr)
        return 2
    try:
        spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
        overrides = {**spec.get("overrides", {}), **frontier_settings(spec["redis_url"], spec["key"])}
        egress = Egress(**spec.get("egress", {}))
        spider, brand = spec["spider"], Path(spec["brand"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"{argv[0]}: not a usable worker spec: {exc!r}", file=sys.stderr)
        return 2
    summary = run_crawl(spider, brand, list(spec.get("seeds", [])), egress, job_id=spec.get("job_id"),
                        overrides=overrides, spider_args=spec.get("spider_args"))
    print(json.dumps(summary), flush=True)
    return 0 if summary.get("finish_reason") == "finished" else 1


def start_worker(spec: dict[str, Any], workdir: Path, name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start one worker process for ``spec``; its spec, output, log and spool are ``workdir/name.*``.

    Each worker has its own spool (the store refuses to share one between live processes); a
    worker restarted under the same name takes over, and replays, its predecessor's.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path = workdir / f"{name}.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ if env is None else env)
    env["BRANDHOUND_SPOOL_DIR"] = str(workdir / f"{name}.spool")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    with open(workdir / f"{name}.out", "wb") as out, open(workdir / f"{name}.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "crawlers.frontier.worker", str(spec_path)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=log, cwd=root, env=env)


def worker_summary(workdir: Path, name: str) -> dict[str, Any] | None:
    """The summary a finished worker printed; None when it printed none (killed, crashed)."""
    lines = (workdir / f"{name}.out").read_text(encoding="utf-8", errors="replace").strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return None


if __name__ == "__main__":
    sys.exit(main())
