"""The CT log list in the JSON format browsers publish (log_list v3 schema): ``operators[].logs[]`` are
RFC 6962 logs (``url``), ``operators[].tiled_logs[]`` static-ct-api logs (``submission_url``,
``monitoring_url``). Read from a file or a URL; a log that lacks what following it needs is skipped
with a warning naming it, never the whole list."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RFC6962 = "rfc6962"
STATIC = "static"
#: States whose logs still publish entries worth reading; retired and rejected logs are not followed.
FOLLOWED_STATES = frozenset({"pending", "qualified", "usable", "readonly"})


class LogListError(ValueError):
    """The log list cannot be read at all; the message names the source."""


@dataclass(frozen=True)
class LogInfo:
    """One log to follow."""

    url: str                        # RFC 6962 base URL or static-ct monitoring prefix, ending in "/"
    api: str                        # RFC6962 or STATIC
    description: str = ""
    operator: str = ""
    key: bytes | None = None        # DER SubjectPublicKeyInfo, to verify tree heads
    log_id: str | None = None       # base64, as in the list
    state: str | None = None
    mmd: int | None = None
    submission_url: str | None = None

    @property
    def name(self) -> str:
        return self.description or self.url


def normalise_url(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def log_from_url(url: str, api: str = RFC6962) -> LogInfo:
    """A log named on the command line (``--log URL``; ``static:URL`` for a tiled log's monitoring prefix)."""
    if url.startswith("static:"):
        api, url = STATIC, url[len("static:"):]
    return LogInfo(normalise_url(url), api, description=url)


def _state(entry: dict[str, Any]) -> str | None:
    state = entry.get("state")
    if isinstance(state, dict) and state:
        return next(iter(state))
    return None


def _key(entry: dict[str, Any], where: str) -> bytes | None:
    raw = entry.get("key")
    if not isinstance(raw, str):
        return None
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        log.warning("log list: %s: key is not base64; its tree heads will not be verified", where)
        return None


def parse_log_list(data: Any, source: str, states: frozenset[str] | None = FOLLOWED_STATES) -> list[LogInfo]:
    """The followable logs of a parsed log list; ``states`` None keeps every state."""
    if not isinstance(data, dict) or not isinstance(data.get("operators"), list):
        raise LogListError(f"{source}: not a log list (a JSON object with an 'operators' list)")
    logs: list[LogInfo] = []
    for i, op in enumerate(data["operators"]):
        if not isinstance(op, dict):
            log.warning("log list %s: operators[%d] is not an object; skipped", source, i)
            continue
        operator = str(op.get("name") or f"operators[{i}]")
        for kind, field in (("logs", "url"), ("tiled_logs", "monitoring_url")):
            entries = op.get(kind) or []
            for j, entry in enumerate(entries if isinstance(entries, list) else []):
                where = f"{operator} {kind}[{j}]"
                url = entry.get(field) if isinstance(entry, dict) else None
                if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                    log.warning("log list %s: %s has no usable %s; skipped", source, where, field)
                    continue
                state = _state(entry)
                if states is not None and state is not None and state not in states:
                    continue
                logs.append(LogInfo(
                    normalise_url(url), RFC6962 if kind == "logs" else STATIC,
                    description=str(entry.get("description") or url), operator=operator, key=_key(entry, where),
                    log_id=entry.get("log_id") if isinstance(entry.get("log_id"), str) else None, state=state,
                    mmd=entry.get("mmd") if isinstance(entry.get("mmd"), int) else None,
                    submission_url=entry.get("submission_url") if kind == "tiled_logs" else None,
                ))
    return logs


def load_log_list(source: str, get: Any = None, states: frozenset[str] | None = FOLLOWED_STATES) -> list[LogInfo]:
    """The logs of the list at ``source``, a path or an http(s) URL (fetched with ``get(url) -> bytes``)."""
    try:
        if source.startswith(("http://", "https://")):
            if get is None:
                raise LogListError(f"{source}: a URL needs an HTTP client")
            raw = get(source)
        else:
            raw = Path(source).read_bytes()
        data = json.loads(raw)
    except OSError as exc:
        raise LogListError(f"{source}: cannot read the log list: {exc}") from None
    except ValueError as exc:
        raise LogListError(f"{source}: the log list is not JSON: {exc}") from None
    return parse_log_list(data, source, states)
