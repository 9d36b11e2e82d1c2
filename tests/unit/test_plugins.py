"""The core finds the sandbox and the evaluation suite through entry points, never by importing them."""

import ast
from pathlib import Path

import pytest

from brandhound import cli, plugins

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("brandhound", "crawlers", "pipelines", "detectors", "takedown", "reporting", "operations", "dags")
INFRASTRUCTURE = ("sandbox", "evaluation", "bench", "tests")


def _imports(path: Path):
    """Every module an import statement in ``path`` names, at module level or inside functions."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def test_no_production_module_imports_test_or_evaluation_infrastructure():
    offending = [f"{path.relative_to(ROOT)}:{line}: imports {name}"
                 for package in PRODUCTION for path in sorted((ROOT / package).rglob("*.py"))
                 for line, name in _imports(path) if name.split(".")[0] in INFRASTRUCTURE]
    assert offending == []


def test_the_scan_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("def f():\n    from sandbox.web import daemon\n    import evaluation.suite\n")
    assert [name for _, name in _imports(sample)] == ["sandbox.web", "evaluation.suite"]


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
