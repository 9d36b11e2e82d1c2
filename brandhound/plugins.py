"""Extension points that packages above the core fill in, found through entry points.

The core never imports the packages that build on it. Test and demo infrastructure (the
sandbox web, the evaluation suite) registers itself instead, in ``pyproject.toml``:

* ``brandhound.commands``: a module in the form of :mod:`brandhound.commands`' own groups:
  ``COMMANDS`` (name -> help) and ``register(subparsers, add)``, which adds them;
* ``brandhound.environments``: a named object (:class:`Environment`) that a ``--<name>`` option
  switches to: where a crawl goes out and starts, and whom RDAP questions go to.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any, Protocol

COMMANDS = "brandhound.commands"
ENVIRONMENTS = "brandhound.environments"


class PluginMissing(LookupError):
    """A command or option needs a package that is not installed."""


class Environment(Protocol):
    """A world to crawl other than the open web (the sandbox web, the onion sandbox)."""

    def crawl(self, settings: Any, args: Any, spider: str, seeds: list[str]) -> tuple[Any, list[str]]:
        """Make the environment ready for ``spider`` and return its egress and start URLs."""

    def lookups(self, settings: Any) -> tuple[Any, Any]:
        """The RDAP domain client and hosting lookup that answer for the environment's hosts."""


def _group(group: str) -> list[EntryPoint]:
    return sorted(entry_points(group=group), key=lambda ep: ep.name)


def command_groups() -> list[Any]:
    """Every installed package's command group module, in a stable order."""
    return [ep.load() for ep in _group(COMMANDS)]


def environment(name: str) -> Environment:
    """The installed environment called ``name``; :class:`PluginMissing` says how to get it."""
    for ep in _group(ENVIRONMENTS):
        if ep.name == name:
            found: Environment = ep.load()
            return found
    raise PluginMissing(f"--{name}: the {name} environment is not installed; it comes with a checkout of "
                        "brandhound installed in place (`./brandhound.sh setup`)")
