"""Jinja2 rendering of the sandbox's HTML, shared by the build and the server."""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _json_script(value: Any) -> Markup:
    """JSON safe inside <script>: no '</' can close the element early, no HTML escaping."""
    return Markup(json.dumps(value, ensure_ascii=False, sort_keys=True).replace("</", "<\\/"))


def _b64json(value: Any) -> str:
    """Base64 of UTF-8 JSON, the way phishing kits hide their page from plain-HTML scanners."""
    return base64.b64encode(json.dumps(value, ensure_ascii=False, sort_keys=True).encode()).decode()


def environment() -> Environment:
    return environment_for(TEMPLATES)


@lru_cache(maxsize=4)
def environment_for(templates: Path) -> Environment:
    """The sandbox's Jinja2 setup (filters, strictness) over another template folder
    (the onion sandbox, ``sandbox.onion``, keeps its own templates)."""
    env = Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a missing variable is a bug in the sandbox, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["json_script"] = _json_script
    env.filters["b64json"] = _b64json
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
