"""``brandhound spool status|replay``: the documents waiting for Elasticsearch."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Callable

from brandhound.commands.output import out

if TYPE_CHECKING:
    from brandhound.config import Settings

COMMANDS = {"spool": "documents waiting for Elasticsearch"}


def cmd_spool_status(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound.spool import Spool

    with Spool(settings.spool_dir) as spool:
        st = spool.status()
    out(f"spool {st.directory}: {st.records} documents in {st.segments} segments ({st.bytes} bytes)")
    return 0


def cmd_spool_replay(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound.store import open_store

    store = open_store(settings)
    try:
        emptied = store.replay()
    finally:
        store.close()
    out(f"replayed {store.stats.replayed} documents" + ("" if emptied else "; Elasticsearch is unavailable, the rest wait"))
    return 0 if emptied else 1


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    spool = sub.add_parser("spool", help=COMMANDS["spool"]).add_subparsers(dest="spool_command", required=True)
    add(spool, "status", cmd_spool_status, "how many documents wait in the spool")
    add(spool, "replay", cmd_spool_replay, "send the spooled documents to Elasticsearch now")
