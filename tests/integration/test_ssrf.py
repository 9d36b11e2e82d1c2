"""The SSRF guard with the sandbox setting off: internal addresses are never contacted."""

import http.server
import json
import os
import subprocess
import sys
import threading

from tests.conftest import EXAMPLE_BRAND


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        _Counting.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<title>internal admin</title>")

    def log_message(self, *args):
        pass


def test_internal_addresses_are_refused_before_any_connection(settings, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    seeds = [f"http://127.0.0.1:{port}/admin", "http://169.254.169.254/latest/meta-data/",
             f"http://[::ffff:127.0.0.1]:{port}/x", f"http://localhost:{port}/y"]
    env = dict(os.environ)
    env.update({"BRANDHOUND_HOME": str(tmp_path), "BRANDHOUND_ES_URL": settings.es.url,
                "BRANDHOUND_ES_INDEX_PREFIX": settings.es.index_prefix, "BRANDHOUND_SPOOL_DIR": str(settings.spool_dir)})
    try:
        args = [sys.executable, "-m", "brandhound.cli", "crawl", "--brand", str(EXAMPLE_BRAND), "--spider", "marketplace"]
        for seed in seeds:
            args += ["--seed", seed]
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert _Counting.hits == []
    assert summary["brandhound/ssrf_refused"] == len(seeds)
    assert "resolves to the non-public address 169.254.169.254" in proc.stderr
    assert "resolves to the non-public address 127.0.0.1" in proc.stderr
