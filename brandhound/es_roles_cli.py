"""``brandhound es roles`` and ``brandhound es api-key``: least-privilege access to Elasticsearch.

Both run with the credentials of the environment (``BRANDHOUND_ES_USERNAME`` and
``BRANDHOUND_ES_PASSWORD_FILE``, or ``BRANDHOUND_ES_API_KEY_FILE``) of a user allowed to manage
security; no option takes a secret. The API key is printed once, to standard output only.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from brandhound import cluster, es_roles
from brandhound.config import Settings


def cmd_roles(args: argparse.Namespace, settings: Settings) -> int:
    prefix = settings.es.index_prefix
    if not args.apply:
        print(es_roles.roles_yaml(prefix), end="", flush=True)
        return 0
    client = cluster.make_client(settings.es)
    try:
        for name in es_roles.apply_roles(client, prefix):
            print(f"role ready: {name}", flush=True)
    finally:
        client.close()
    return 0


def cmd_api_key(args: argparse.Namespace, settings: Settings) -> int:
    client = cluster.make_client(settings.es)
    try:
        encoded = es_roles.create_api_key(client, settings.es.index_prefix, args.role, args.name, args.expiration)
    finally:
        client.close()
    print(f"API key {args.name!r} with the {args.role} role created; it is shown only now. "
          "Store it in a file read by BRANDHOUND_ES_API_KEY_FILE:", file=sys.stderr)
    print(encoded, flush=True)
    return 0


def _es_group(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The subcommands of ``brandhound es``, which ``build_parser`` defines."""
    es = sub.choices["es"]
    return next(a for a in es._actions if isinstance(a, argparse._SubParsersAction))


def add_commands(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``es roles`` and ``es api-key`` to ``brandhound es``."""
    es = _es_group(sub)
    roles = add(es, "roles", cmd_roles, "print brandhound's least-privilege roles (roles.yml form), or --apply them to the cluster")
    roles.add_argument("--apply", action="store_true", help="create or update the roles (needs manage_security)")
    key = add(es, "api-key", cmd_api_key, "create an API key with one role's privileges; printed once, to stdout")
    key.add_argument("--role", required=True, choices=list(es_roles.ROLES), help="whose privileges the key gets")
    key.add_argument("--name", required=True, help="the key's name: who or what uses it")
    key.add_argument("--expiration", metavar="DURATION", help="lifetime, e.g. 30d or 12h (default: never expires)")
