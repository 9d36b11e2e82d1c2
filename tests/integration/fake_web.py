"""A fake web for crawl tests that must run with the SSRF guard on: an HTTP egress proxy on 127.0.0.1
(CONNECT and absolute-form requests) whose only upstream is one test site, and helpers around it."""

from __future__ import annotations

import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading

from sandbox.local_http import QuietSite  # noqa: F401  (the tests' sites subclass it from here)

_CRAWL = """
import json, sys
from pathlib import Path
from crawlers.runner import Egress, run_crawl
spec = json.loads(sys.argv[1])
summary = run_crawl(spec["spider"], Path(spec["brand"]), spec["seeds"],
                    Egress(proxy=spec["proxy"], host_overrides=spec["overrides"]), job_id="fake-web",
                    overrides=spec.get("settings"))
print(json.dumps(summary, default=str))
"""


def crawl_process(spider: str, spec: dict, env: dict[str, str]) -> subprocess.Popen:
    """A crawl of the fake web in its own process, through the egress proxy ``spec["proxy"]`` with
    the SSRF guard on (``spec``: brand, seeds, proxy, overrides, optional Scrapy settings)."""
    return subprocess.Popen([sys.executable, "-c", _CRAWL, json.dumps({**spec, "spider": spider})],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finished_crawl(proc: subprocess.Popen, timeout: float = 300) -> tuple[dict, str]:
    """Wait for ``proc``; its summary and its log, or a failed assertion with the log's end."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1]), err


class EgressProxy(socketserver.ThreadingTCPServer):
    """An HTTP egress proxy (CONNECT and absolute-form requests) whose only upstream is the scam site;
    it records every authority it was asked for."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, site_port: int):
        self.site_port = site_port
        self.asked: list[str] = []
        super().__init__(("127.0.0.1", 0), ProxyHandler)


class ProxyHandler(socketserver.BaseRequestHandler):
    def handle(self):
        client: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk:
                return
            head += chunk
        method, target = head.split(b" ", 2)[:2]
        self.server.asked.append(target.decode("latin-1"))
        upstream = socket.create_connection(("127.0.0.1", self.server.site_port))
        if method == b"CONNECT":
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            head = head.split(b"\r\n\r\n", 1)[1]
        if head:
            upstream.sendall(head)
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass



def descendants(root: int) -> dict[int, str]:
    """Every live process below ``root``: pid -> command name."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
        names[int(entry)] = name
    out: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out[pid] = names[pid]
        todo += children.get(pid, [])
    return out


def tagged_pids(tag: str) -> set[int]:
    """Processes whose environment carries ``BRANDHOUND_TEST_TAG=tag``: a crawl's Playwright
    driver and Chromium inherit it, and keep it when they are orphaned."""
    needle = f"BRANDHOUND_TEST_TAG={tag}".encode()
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if needle in fh.read().split(b"\0"):
                        pids.add(int(entry))
            except OSError:
                pass
    return pids


def kill_tagged(tag: str) -> None:
    """SIGKILL every process of :func:`tagged_pids`."""
    for pid in tagged_pids(tag):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
