"""``brandhound console user add|list|remove`` and ``brandhound serve``: the review console."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from brandhound.commands.output import out

if TYPE_CHECKING:
    from brandhound.config import Settings

COMMANDS = {"console": "the review console's users", "serve": "serve the review console (127.0.0.1 by default)"}
DEFAULT_PORT = 8787


def read_password(args: argparse.Namespace) -> str:
    """The new password from ``--from-file``, else standard input (asked twice on a terminal); never argv."""
    from takedown.console.users import ConsoleError

    if args.from_file:
        try:
            text = Path(args.from_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConsoleError(f"--from-file {args.from_file}: cannot read it ({exc.strerror})") from exc
        return text.rstrip("\r\n")
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise ConsoleError("the two passwords differ; nothing was changed")
        return password
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    from takedown.console.users import UserStore

    store = UserStore.for_home(settings.home)
    user = store.add(args.name, args.role, read_password(args), replace=args.replace)
    out(f"console user {user.name} ({user.role}) saved in {store.path}")
    return 0


def cmd_user_list(args: argparse.Namespace, settings: Settings) -> int:
    from takedown.console.users import UserStore

    for user in UserStore.for_home(settings.home).list():
        out(f"{user.name}\t{user.role}")
    return 0


def cmd_user_remove(args: argparse.Namespace, settings: Settings) -> int:
    from takedown.console.users import UserStore

    UserStore.for_home(settings.home).remove(args.name)
    out(f"console user {args.name} removed")
    return 0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(args: argparse.Namespace) -> None:
    """Refuse plain HTTP off the loopback interface unless asked for; warn loudly whenever off it."""
    from takedown.console.users import ConsoleError

    if bool(args.tls_cert) != bool(args.tls_key):
        raise ConsoleError("--tls-cert and --tls-key go together")
    if is_loopback(args.host):
        return
    if not args.tls_cert and not args.insecure_http:
        raise ConsoleError(f"--host {args.host} is not a loopback address: serving logins there needs TLS "
                           "(--tls-cert and --tls-key), or --insecure-http if a TLS proxy stands in front")
    print(f"WARNING: the review console listens on {args.host}, not only on this machine: anyone who can reach "
          f"port {args.port} sees its login page" + ("; over PLAIN HTTP" if not args.tls_cert else ""),
          file=sys.stderr, flush=True)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from brandhound.commands.takedown import service_for
    from takedown.console.app import create_app
    from takedown.console.sessions import load_secret
    from takedown.console.users import ConsoleError, UserStore

    check_binding(args)
    users = UserStore.for_home(settings.home)
    if not users.list():
        raise ConsoleError(f"no console users in {users.path}: add one first with "
                           "`brandhound console user add NAME --role legal`")
    app = create_app(service_for(args, settings), users, load_secret(settings.home))
    scheme = "https" if args.tls_cert else "http"
    out(f"review console of {args.brand} at {scheme}://{args.host}:{args.port}/ (Ctrl-C stops it)")
    uvicorn.run(app, host=args.host, port=args.port, ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key,
                server_header=False, proxy_headers=False, log_level="info")
    return 0


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    from brandhound.commands.takedown import EXAMPLE_BRAND
    from takedown.console.users import ROLES

    console = sub.add_parser("console", help=COMMANDS["console"])
    console = console.add_subparsers(dest="console_command", required=True)
    user = console.add_parser("user", help="add, list or remove console users")
    user = user.add_subparsers(dest="user_command", required=True)
    user_add = add(user, "add", cmd_user_add, "add a console user; the password is read from standard input")
    user_add.allow_abbrev = False  # an option near a password is never guessed from a prefix
    user_add.add_argument("name")
    user_add.add_argument("--role", required=True, choices=ROLES)
    user_add.add_argument("--from-file", help="read the password from this file instead of standard input")
    user_add.add_argument("--replace", action="store_true", help="set the role and password of an existing user")
    add(user, "list", cmd_user_list, "list console users and their roles")
    add(user, "remove", cmd_user_remove, "remove a console user").add_argument("name")

    serve = add(sub, "serve", cmd_serve, COMMANDS["serve"])
    serve.add_argument("--brand", default=str(EXAMPLE_BRAND), help="brand profile (YAML; default: the example brand)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--tls-cert", help="TLS certificate (PEM); with --tls-key, serve HTTPS and secure cookies")
    serve.add_argument("--tls-key", help="TLS private key (PEM)")
    serve.add_argument("--insecure-http", action="store_true",
                       help="allow plain HTTP on a non-loopback address (only behind a TLS proxy)")
