"""Jinja2 rendering of the onion sites, with the sandbox web's setup over this package's templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.web.render import environment_for

TEMPLATES = Path(__file__).resolve().parent / "templates"


def render(template: str, **context: Any) -> str:
    return environment_for(TEMPLATES).get_template(template).render(**context)
