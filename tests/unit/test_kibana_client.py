"""`brandhound kibana import/export` against a fake Kibana that checks requests as Kibana 8.19 documents them."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from brandhound.commands import main
from reporting.saved_objects import DEFAULT_NDJSON, build_objects, read_ndjson

API_KEY = "ZmFrZTprZXk="
USER, PASSWORD = "analyst", "s3cret-pass"


class FakeKibana(BaseHTTPRequestHandler):
    """``POST [/s/<space>]/api/saved_objects/_import`` and ``_export``; objects kept per space."""

    spaces: dict[str, dict[tuple[str, str], dict]] = {}
    requests: list[dict] = []

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._reply(status, json.dumps({"statusCode": status, "error": "Bad Request", "message": message}).encode())

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        parts = urlsplit(self.path)
        path, space = parts.path, "default"
        if path.startswith("/s/"):
            _, _, space, path = path.split("/", 3)
            path = "/" + path
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        auth = self.headers.get("Authorization", "")
        basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        self.requests.append({"path": self.path, "space": space, "auth": auth, "xsrf": self.headers.get("kbn-xsrf")})
        if auth not in (f"ApiKey {API_KEY}", basic):
            return self._error(401, "Unauthorized")
        if not self.headers.get("kbn-xsrf"):
            return self._error(400, "Request must contain a kbn-xsrf header.")
        objects = self.spaces.setdefault(space, {})
        if path == "/api/saved_objects/_import":
            return self._import(parts, body, objects)
        if path == "/api/saved_objects/_export":
            return self._export(body, objects)
        return self._error(404, "Not Found")

    def _import(self, parts, body: bytes, objects: dict) -> None:
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data; boundary="):
            return self._error(415, "Unsupported Media Type")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        files = [p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "file"]
        if len(files) != 1:
            return self._error(400, "[request body.file]: expected value of type [Stream]")
        filename = files[0].get_filename() or ""
        if not filename.endswith(".ndjson"):
            return self._error(400, f"Invalid file extension {filename}")
        overwrite = parse_qs(parts.query).get("overwrite") == ["true"]
        results, errors = [], []
        for obj in read_ndjson(files[0].get_payload(decode=True).decode("utf-8"), filename):
            key = (obj["type"], obj["id"])
            if key in objects and not overwrite:
                errors.append({"id": obj["id"], "type": obj["type"], "title": obj["attributes"].get("title"),
                               "error": {"type": "conflict"}, "meta": {}})
                continue
            objects[key] = {**obj, "updated_at": "2026-11-24T00:00:00.000Z", "version": "WzEsMV0=",
                            "namespaces": ["default"]}
            results.append({"id": obj["id"], "type": obj["type"], "meta": {"title": obj["attributes"].get("title")}})
        self._reply(200, json.dumps({"success": not errors, "successCount": len(results),
                                     "successResults": results, "errors": errors}).encode())

    def _export(self, body: bytes, objects: dict) -> None:
        if self.headers.get("Content-Type") != "application/json":
            return self._error(415, "Unsupported Media Type")
        request = json.loads(body)
        if "objects" not in request and "type" not in request:
            return self._error(400, "Either `type` or `objects` are required.")
        wanted = [(o["type"], o["id"]) for o in request.get("objects", [])]
        missing = [{"type": t, "id": i} for t, i in wanted if (t, i) not in objects]
        found = [objects[k] for k in wanted if k in objects]
        lines = [json.dumps(o) for o in found]
        lines.append(json.dumps({"excludedObjects": [], "excludedObjectsCount": 0, "exportedCount": len(found),
                                 "missingRefCount": len(missing), "missingReferences": missing}))
        self._reply(200, ("\n".join(lines) + "\n").encode(), "application/ndjson")


@pytest.fixture
def kibana():
    FakeKibana.spaces, FakeKibana.requests = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeKibana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def api_key_env(monkeypatch):
    for name in ("BRANDHOUND_KIBANA_USERNAME", "BRANDHOUND_KIBANA_PASSWORD", "BRANDHOUND_KIBANA_PASSWORD_FILE",
                 "BRANDHOUND_KIBANA_API_KEY_FILE", "BRANDHOUND_KIBANA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BRANDHOUND_KIBANA_API_KEY", API_KEY)


def test_import_posts_every_object_with_an_api_key(kibana, api_key_env, capsys):
    assert main(["kibana", "import", "--url", kibana]) == 0
    stored = FakeKibana.spaces["default"]
    assert len(stored) == len(build_objects()) and ("dashboard", "brandhound-dashboard-findings") in stored
    assert FakeKibana.requests[-1]["path"] == "/api/saved_objects/_import?overwrite=true"
    assert FakeKibana.requests[-1]["xsrf"]
    assert f"imported {len(stored)} saved objects" in capsys.readouterr().out
    assert main(["kibana", "import", "--url", kibana]) == 0  # again: overwritten, not refused


def test_import_into_a_space_with_basic_auth_from_a_password_file(kibana, monkeypatch, tmp_path):
    monkeypatch.delenv("BRANDHOUND_KIBANA_API_KEY", raising=False)
    monkeypatch.delenv("BRANDHOUND_KIBANA_PASSWORD", raising=False)
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    monkeypatch.setenv("BRANDHOUND_KIBANA_USERNAME", USER)
    monkeypatch.setenv("BRANDHOUND_KIBANA_PASSWORD_FILE", str(tmp_path / "pw"))
    assert main(["kibana", "import", "--url", kibana, "--space", "brand-team"]) == 0
    assert FakeKibana.requests[-1]["path"] == "/s/brand-team/api/saved_objects/_import?overwrite=true"
    assert FakeKibana.requests[-1]["auth"].startswith("Basic ")
    assert "default" not in FakeKibana.spaces and FakeKibana.spaces["brand-team"]


def test_wrong_credentials_are_a_clear_error(kibana, monkeypatch, capsys):
    monkeypatch.setenv("BRANDHOUND_KIBANA_API_KEY", "bm9wZQ==")
    assert main(["kibana", "import", "--url", kibana]) == 1
    err = capsys.readouterr().err
    assert "answered 401" in err and "bm9wZQ" not in err


def test_credentials_in_the_url_are_refused(api_key_env, capsys):
    assert main(["kibana", "import", "--url", "http://analyst:pw@127.0.0.1:5601"]) == 1
    assert "credentials in the URL" in capsys.readouterr().err


def test_unreachable_kibana_is_named(api_key_env, capsys):
    from sandbox.processes import free_port

    url = f"http://127.0.0.1:{free_port()}"
    assert main(["kibana", "import", "--url", url]) == 1
    assert f"Kibana at {url}/api/saved_objects/_import?overwrite=true is unreachable" in capsys.readouterr().err


def test_refused_objects_are_listed(kibana, api_key_env, tmp_path, capsys):
    from reporting.kibana_client import KibanaClient, KibanaError, KibanaSettings

    client = KibanaClient(KibanaSettings(url=kibana, api_key=API_KEY))
    ndjson = DEFAULT_NDJSON.read_text()
    client.import_objects(ndjson)
    with pytest.raises(KibanaError, match=r"refused \d+: index-pattern brandhound-findings .*conflict"):
        client.import_objects(ndjson, overwrite=False)


def test_export_writes_analysts_changes_back_without_kibanas_bookkeeping(kibana, api_key_env, tmp_path):
    assert main(["kibana", "import", "--url", kibana, "--space", "analysts"]) == 0
    key = ("search", "brandhound-search-onion-findings")
    FakeKibana.spaces["analysts"][key]["attributes"]["columns"].append("crawl.spider")  # an analyst's edit
    out = tmp_path / "exported.ndjson"
    assert main(["kibana", "export", "--url", kibana, "--space", "analysts", "--out", str(out)]) == 0
    request = FakeKibana.requests[-1]
    assert request["path"] == "/s/analysts/api/saved_objects/_export"
    exported = read_ndjson(out.read_text(), str(out))
    assert [(o["type"], o["id"]) for o in exported] == [(o["type"], o["id"]) for o in build_objects()]
    onion = next(o for o in exported if (o["type"], o["id"]) == key)
    assert onion["attributes"]["columns"][-1] == "crawl.spider"
    assert not any(k in o for o in exported for k in ("updated_at", "version", "namespaces"))


def test_export_of_objects_kibana_lacks_says_which(kibana, api_key_env, capsys):
    assert main(["kibana", "export", "--url", kibana]) == 1
    assert "misses referenced objects" in capsys.readouterr().err
