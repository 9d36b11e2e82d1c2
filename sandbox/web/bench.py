"""Throughput of the sandbox web: ``python -m sandbox.web.bench [--dir DIR] [--seconds S] [--clients N]``.

Starts the server in its own process (as ``sandbox.web.daemon`` does) and
fetches listing pages through it over keep-alive connections, both as plain
HTTP proxy requests and inside CONNECT tunnels (TLS), from N client
processes. Prints requests per second for each.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from sandbox.web.builder import build
from sandbox.web.daemon import DEFAULT_PROFILE, REPO_ROOT
from sandbox.processes import free_port as _free_port


def _client(port: int, urls: list[str], tls: bool, seconds: float, ca: str, result: "multiprocessing.Queue") -> None:
    host = urlsplit(urls[0]).hostname or ""
    if tls:
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", port, context=ssl.create_default_context(cafile=ca), timeout=10)
        conn.set_tunnel(host, 443)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    done, end, i = 0, time.monotonic() + seconds, 0
    while time.monotonic() < end:
        url = urls[i % len(urls)]
        i += 1
        conn.request("GET", urlsplit(url).path if tls else url.replace("https://", "http://", 1),
                     headers={"Host": host})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise SystemExit(f"{url}: {resp.status}")
        done += 1
    result.put(done)


def _run(port: int, urls: list[str], tls: bool, seconds: float, clients: int, ca: str) -> float:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_client, args=(port, urls, tls, seconds, ca, queue)) for _ in range(clients)]
    for p in procs:
        p.start()
    total = sum(queue.get(timeout=seconds + 30) for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="an existing build (default: build one in a temporary directory)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.dir or Path(tmp)
        if args.dir is None:
            build(DEFAULT_PROFILE, out, listings_per_marketplace=300)
        truth = json.loads((out / "ground_truth.json").read_text())
        urls = [p["url"] for p in truth["pages"] if p["kind"] == "listing" and "bazaarhub" in p["url"]][:200]
        port = _free_port()
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        server = subprocess.Popen([sys.executable, "-m", "sandbox.web.serve", "--dir", str(out), "--port", str(port)],
                                  stdout=subprocess.PIPE, env=env)
        try:
            assert server.stdout is not None
            server.stdout.readline()  # "sandbox web: proxy ..." once it listens
            for tls in (False, True):
                rate = _run(port, urls, tls, args.seconds, args.clients, str(out / "ca.pem"))
                kind = "HTTPS in CONNECT tunnels" if tls else "HTTP proxy requests"
                print(f"{kind}: {rate:,.0f} requests/s ({args.clients} keep-alive clients, listing pages)")
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
