"""``brandhound schema mapping|docs``: the item schema as Elasticsearch mappings and as Markdown."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from brandhound.commands.output import out

if TYPE_CHECKING:
    from brandhound.config import Settings

COMMANDS = {"schema": "the item schema"}


def cmd_schema_mapping(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound.items import ITEM_TYPES
    from brandhound.mapping import index_mapping

    by_name = {t.INDEX: t for t in ITEM_TYPES}
    out(json.dumps(index_mapping(by_name[args.index]), indent=2))
    return 0


def cmd_schema_docs(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound.mapping import schema_markdown

    text = schema_markdown()
    if args.write:
        Path(args.write).write_text(text + "\n", encoding="utf-8")
        out(f"wrote {args.write}")
    else:
        out(text)
    return 0


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    from brandhound.items import ITEM_TYPES

    schema = sub.add_parser("schema", help=COMMANDS["schema"]).add_subparsers(dest="schema_command", required=True)
    mapping = add(schema, "mapping", cmd_schema_mapping, "print the index mapping of one item kind")
    mapping.add_argument("index", choices=[t.INDEX for t in ITEM_TYPES])
    docs = add(schema, "docs", cmd_schema_docs, "print (or --write) the schema reference in Markdown")
    docs.add_argument("--write", metavar="FILE", help="write to FILE, e.g. docs/schema.md")
