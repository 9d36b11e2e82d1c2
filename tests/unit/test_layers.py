"""The import contract: layers only point down, and production never imports test infrastructure.

Every import statement counts, at module level or inside a function (a function-level import
is still a dependency; it only hides from a grep of the file's head).
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Lowest first. A module may import its own layer and the ones before it, never one after.
LAYERS = ("brandhound", "crawlers", "detectors", "pipelines", "takedown", "reporting", "operations", "dags",
          "brandhound.commands")
PRODUCTION = ("brandhound", "crawlers", "pipelines", "detectors", "takedown", "reporting", "operations", "dags")
INFRASTRUCTURE = ("sandbox", "evaluation", "bench", "tests")


def imports(path: Path):
    """(line, module) for every import statement in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def layer(module: str) -> int | None:
    """The index in LAYERS of the longest layer ``module`` belongs to; None outside them."""
    found = [i for i, name in enumerate(LAYERS) if module == name or module.startswith(name + ".")]
    return max(found, key=lambda i: len(LAYERS[i])) if found else None


def production_modules():
    for package in PRODUCTION:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def test_no_production_module_imports_test_or_evaluation_infrastructure():
    offending = [f"{path.relative_to(ROOT)}:{line}: imports {name}" for path, _ in production_modules()
                 for line, name in imports(path) if name.split(".")[0] in INFRASTRUCTURE]
    assert offending == []


def test_layers_only_point_down():
    upward = []
    for path, module in production_modules():
        own = layer(module)
        for line, name in imports(path):
            other = layer(name)
            if own is not None and other is not None and other > own:
                upward.append(f"{path.relative_to(ROOT)}:{line}: {LAYERS[own]} imports {name} ({LAYERS[other]})")
    assert upward == []


def test_the_scan_sees_imports_inside_functions_and_places_them_in_layers(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("def f():\n    from sandbox.web import daemon\n    import brandhound.commands.es\n")
    assert [name for _, name in imports(sample)] == ["sandbox.web", "brandhound.commands.es"]
    assert layer("brandhound.commands.es") > layer("dags") > layer("crawlers.runner") > layer("brandhound.items") == 0


def test_help_loads_no_command_group_s_dependencies():
    probe = ("import sys\nfrom brandhound.commands import build_parser\nbuild_parser(['--help'])\n"
             "print(sorted(m for m in ('elasticsearch', 'scrapy', 'pydantic', 'detectors', 'takedown', 'sandbox.web') "
             "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
