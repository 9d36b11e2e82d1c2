"""``brandhound profile check``: validate brand profiles, every problem at once."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, Callable

from brandhound.commands.output import out

if TYPE_CHECKING:
    from brandhound.config import Settings
    from brandhound.profile import BrandProfile

COMMANDS = {"profile": "brand profiles"}


def profile_summary(profile: BrandProfile) -> str:
    """One line on what a profile protects."""
    return (
        f"brand {profile.name!r} ({profile.id}): {len(profile.products)} products, "
        f"{len(profile.official_domains)} official domains, {len(profile.marketplaces)} marketplaces, "
        f"counterfeit wording in {', '.join(sorted(profile.counterfeit_keywords))}, "
        f"notices in {', '.join(profile.notice_languages)}"
    )


def cmd_profile_check(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound.profile import ProfileError, load_profile

    failed = 0
    for path in args.files:
        try:
            profile = load_profile(path)
        except ProfileError as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        out(f"{path}: OK: {profile_summary(profile)}")
    return 1 if failed else 0


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    profile = sub.add_parser("profile", help=COMMANDS["profile"]).add_subparsers(dest="profile_command", required=True)
    check = add(profile, "check", cmd_profile_check, "validate brand profile files")
    check.add_argument("files", nargs="+", help="brand profile YAML files")
