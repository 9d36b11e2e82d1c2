"""The command line finds the sandbox and the evaluation suite through entry points, never by importing them."""

import pytest

from brandhound import commands as cli
from brandhound import plugins

def test_the_sandbox_and_the_evaluation_register_their_commands():
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert {"run", "sandbox", "evaluate", "crawl"} <= set(commands)
    args = parser.parse_args(["evaluate", "--corpus", "secrets", "--split", "dev"])
    assert args.corpus == ["secrets"] and args.split == "dev" and args.func.__module__ == "evaluation.commands"


def test_the_sandbox_environment_is_found_by_name_and_a_missing_one_says_how_to_get_it():
    from sandbox.environment import SANDBOX

    assert plugins.environment("sandbox") is SANDBOX
    with pytest.raises(plugins.PluginMissing, match="--atlantis: the atlantis environment is not installed"):
        plugins.environment("atlantis")
