"""The ``brandhound`` command line: one module per command group, composed here.

A group module names its commands in ``COMMANDS`` (name -> help) and adds them, with their
options, in ``register(sub, add)``; it imports what its commands need only inside them. The
parser is built in full only for the group of the command being run, so ``brandhound --help``
and every command start without loading Elasticsearch, Scrapy or the detectors they do not
use. Test, demo and evaluation infrastructure adds groups through the ``brandhound.commands``
entry point (:mod:`brandhound.plugins`) in the same form.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from types import ModuleType
from typing import Any, Callable

from brandhound import plugins

#: The core's command groups, in the order ``--help`` lists them.
GROUPS = ("es", "crawl", "detect", "discover", "profile", "spool", "schema", "report", "takedown", "console", "airflow")


def add(subparsers: Any, name: str, func: Callable[[argparse.Namespace, Any], int], help_: str) -> argparse.ArgumentParser:
    """A command ``name`` under ``subparsers`` that runs ``func(args, settings)``."""
    p: argparse.ArgumentParser = subparsers.add_parser(name, help=help_, description=help_)
    p.set_defaults(func=func)
    return p


def groups() -> list[ModuleType]:
    """The core's group modules, then the installed plugins' (each with COMMANDS and register)."""
    return [importlib.import_module(f"brandhound.commands.{name}") for name in GROUPS] + plugins.command_groups()


def _command_in(argv: list[str]) -> str | None:
    """The command word of ``argv``: the first argument that is not a global option."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; in full for the group of ``argv``'s command (every group when ``argv`` is None),
    the others by name and help only."""
    parser = argparse.ArgumentParser(prog="brandhound", description=__doc__.split("\n", 1)[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = None if argv is None else _command_in(argv)
    for group in groups():
        if argv is None or wanted in group.COMMANDS:
            group.register(sub, add)
        else:
            for name, help_ in group.COMMANDS.items():
                sub.add_parser(name, help=help_, add_help=False)
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Failures that are the user's to fix, printed as one clear message without a traceback
    (imported only once a command has failed: by then their modules are loaded anyway)."""
    from brandhound.cluster import ClusterError
    from brandhound.config import ConfigError
    from brandhound.localnode import LocalNodeError
    from brandhound.profile import ProfileError
    from brandhound.spool import SpoolError
    from brandhound.store import StoreError
    from detectors.rdap import RdapError
    from reporting.kibana_client import KibanaError
    from reporting.window import ReportError
    from takedown.lifecycle import TakedownError

    return (ConfigError, ProfileError, plugins.PluginMissing, LocalNodeError, ClusterError, SpoolError, StoreError,
            KibanaError, ReportError, TakedownError, RdapError)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    level = os.environ.get("BRANDHOUND_LOG_LEVEL") or ["WARNING", "INFO", "DEBUG"][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The HTTP client logs every request and retry; the store reports what matters.
    logging.getLogger("elastic_transport").setLevel(max(logging.ERROR, logging.getLogger().level))
    from brandhound.config import load_settings

    try:
        settings = load_settings()
        code: int = args.func(args, settings)
        return code
    except BrokenPipeError:
        # The reader (`| head`) went away; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001  (only the expected ones are caught; the rest re-raised)
        if not isinstance(exc, _expected_errors()):
            raise
        print(f"brandhound: {exc}", file=sys.stderr)
        return 1
