"""Kibana's saved-objects API: import brandhound's objects, export them back.

Follows Kibana 8.19's documented API: ``POST [/s/<space>]/api/saved_objects/_import``
with the NDJSON as the ``file`` part of a ``multipart/form-data`` body, and
``POST [/s/<space>]/api/saved_objects/_export`` with a JSON body; both need the
``kbn-xsrf`` header. Credentials come from the environment or from files
(``BRANDHOUND_KIBANA_API_KEY(_FILE)``, or ``BRANDHOUND_KIBANA_USERNAME`` with
``BRANDHOUND_KIBANA_PASSWORD(_FILE)``), never from the command line.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from brandhound.config import _secret
from reporting.saved_objects import read_ndjson, to_ndjson

_SPACE_ID = re.compile(r"^[a-z0-9_-]+$")
#: Attributes Kibana changes on every save; left out of exports so that git diffs show real changes.
VOLATILE_KEYS = ("created_at", "created_by", "updated_at", "updated_by", "version", "namespaces", "originId")


class KibanaError(ValueError):
    """Kibana is unreachable, refused the request or reported failures; the message says which."""


@dataclass(frozen=True)
class KibanaSettings:
    url: str
    space: str | None = None
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    timeout: float = 60.0

    @classmethod
    def from_env(cls, url: str, space: str | None, env: dict[str, str]) -> KibanaSettings:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise KibanaError(f"--url {url!r}: expected http(s)://host[:port]")
        if parts.username or parts.password:
            raise KibanaError("--url: credentials in the URL would end up in logs and shell history; "
                              "use BRANDHOUND_KIBANA_API_KEY or BRANDHOUND_KIBANA_USERNAME/BRANDHOUND_KIBANA_PASSWORD")
        if space is not None and not _SPACE_ID.match(space):
            raise KibanaError(f"--space {space!r}: a space id is lowercase letters, digits, '_' and '-'")
        try:
            api_key = _secret(env, "BRANDHOUND_KIBANA_API_KEY")
            password = _secret(env, "BRANDHOUND_KIBANA_PASSWORD")
        except ValueError as exc:
            raise KibanaError(str(exc)) from None
        username = env.get("BRANDHOUND_KIBANA_USERNAME") or None
        if bool(username) != bool(password):
            raise KibanaError("BRANDHOUND_KIBANA_USERNAME and BRANDHOUND_KIBANA_PASSWORD go together; set both or neither")
        return cls(url=url.rstrip("/"), space=space if space not in (None, "default") else None, api_key=api_key,
                   username=username, password=password, ca_certs=env.get("BRANDHOUND_KIBANA_CA_CERTS") or None)


class KibanaClient:
    """The two saved-objects calls brandhound makes."""

    def __init__(self, settings: KibanaSettings):
        self.settings = settings

    def _endpoint(self, action: str, query: str = "") -> str:
        space = f"/s/{quote(self.settings.space)}" if self.settings.space else ""
        return f"{self.settings.url}{space}/api/saved_objects/{action}{query}"

    def _headers(self) -> dict[str, str]:
        headers = {"kbn-xsrf": "brandhound"}
        if self.settings.api_key:
            headers["Authorization"] = f"ApiKey {self.settings.api_key}"
        elif self.settings.username:
            token = base64.b64encode(f"{self.settings.username}:{self.settings.password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return headers

    def _post(self, url: str, body: bytes, content_type: str) -> bytes:
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={**self._headers(), "Content-Type": content_type})
        context = ssl.create_default_context(cafile=self.settings.ca_certs) if url.startswith("https:") else None
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout, context=context) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", "replace")
            raise KibanaError(f"Kibana at {url} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise KibanaError(f"Kibana at {url} is unreachable: {reason}") from None

    def import_objects(self, ndjson: str, *, overwrite: bool = True) -> dict[str, Any]:
        """Import saved objects; raises naming every object Kibana refused."""
        boundary = f"brandhound-{uuid.uuid4().hex}"
        body = (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="brandhound.ndjson"\r\n'
            "Content-Type: application/ndjson\r\n\r\n"
        ).encode() + ndjson.encode("utf-8") + f"\r\n--{boundary}--\r\n".encode()
        query = "?overwrite=true" if overwrite else ""
        raw = self._post(self._endpoint("_import", query), body, f"multipart/form-data; boundary={boundary}")
        result = json.loads(raw)
        if not result.get("success"):
            problems = [f"{e.get('type')} {e.get('id')} ({e.get('title', '')}): {json.dumps(e.get('error'))}"
                        for e in result.get("errors", [])]
            raise KibanaError(f"Kibana imported {result.get('successCount', 0)} objects and refused "
                              f"{len(problems)}: " + "; ".join(problems))
        return result

    def export_objects(self, objects: list[dict[str, str]]) -> list[dict]:
        """Export ``objects`` (type and id each) with everything they reference."""
        body = json.dumps({"objects": objects, "includeReferencesDeep": True, "excludeExportDetails": False})
        raw = self._post(self._endpoint("_export"), body.encode(), "application/json")
        lines = raw.decode("utf-8").splitlines()
        details = json.loads(lines[-1]) if lines else {}
        if details.get("missingRefCount"):
            raise KibanaError(f"Kibana's export misses referenced objects: {json.dumps(details['missingReferences'])}")
        return [normalised(obj) for obj in read_ndjson("\n".join(lines), "Kibana's export")]


def normalised(obj: dict) -> dict:
    """A saved object without the bookkeeping Kibana changes on every save."""
    return {k: v for k, v in obj.items() if k not in VOLATILE_KEYS}


def export_ndjson(client: KibanaClient, wanted: list[dict]) -> str:
    """The NDJSON of ``wanted`` objects as Kibana has them now, ordered like ``wanted``."""
    exported = {(o["type"], o["id"]): o for o in client.export_objects([{"type": o["type"], "id": o["id"]} for o in wanted])}
    order = [(o["type"], o["id"]) for o in wanted]
    ordered = [exported.pop(key) for key in order if key in exported]
    return to_ndjson(ordered + sorted(exported.values(), key=lambda o: (o["type"], o["id"])))
