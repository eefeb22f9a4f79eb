"""How many deliberate one-line bugs the test suite catches (mutation testing, a small script of our own).

For each module named below, every mutant of a few kinds is listed from its syntax tree:
comparisons flipped (``<`` to ``<=``, ``==`` to ``!=``, ...), ``+``/``-`` and ``*``/``/``
swapped, whole-number constants moved by one, ``True``/``False`` swapped, a decorator removed
(``@torch.no_grad()``), a call statement deleted (``model.eval()``, ``optimiser.zero_grad()``).
A random sample of them (seeded) is applied one at a time to a copy of the package, and the
module's tests run against it; a mutant is *killed* when a test fails. Survivors are listed by
line, to read: some are equivalent to the original (no test could catch them).

    python benchmarks/mutation_score.py --per-module 20 --seed 0

writes ``benchmarks/mutation_results.json`` (machine, versions, seed, date, every mutant's fate).
It takes about a minute per mutant on 2 cores: mutmut does the same over every line, for days.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import provenance

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

#: Each module and the tests that exercise it.
MODULES = {
    "unetlib/train.py": ["tests/test_train.py", "tests/test_distributed.py", "tests/test_plumbing.py"],
    "unetlib/config.py": ["tests/test_train.py", "tests/test_cli.py"],
    "unetlib/checkpoints.py": ["tests/test_train.py", "tests/test_cli.py", "tests/test_plumbing.py"],
    "unetlib/losses.py": [
        "tests/test_losses_metrics.py",
        "tests/test_multiclass.py",
        "tests/test_train.py",
        "tests/test_plumbing.py",
    ],
    "unetlib/metrics.py": ["tests/test_losses_metrics.py", "tests/test_multiclass.py", "tests/test_plumbing.py"],
    "unetlib/tiling.py": ["tests/test_tiling.py", "tests/test_plumbing.py"],
    "unetlib/data/augment.py": ["tests/test_data.py", "tests/test_segmentation_data.py", "tests/test_plumbing.py"],
    "unetlib/data/segmentation.py": [
        "tests/test_segmentation_data.py",
        "tests/test_multiclass.py",
        "tests/test_plumbing.py",
    ],
    "unetlib/cli.py": ["tests/test_cli.py", "tests/test_plumbing.py"],
    "unetlib/_commands.py": ["tests/test_cli.py", "tests/test_plumbing.py"],
    "unetlib/distributed.py": ["tests/test_distributed.py", "tests/test_plumbing.py"],
    "unetlib/experiments.py": ["tests/test_multiclass.py", "tests/test_cli.py", "tests/test_plumbing.py"],
}

SWAPS = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.And: ast.Or,
    ast.Or: ast.And,
}


def mutants(source: str) -> list[tuple[int, str, str]]:
    """``(line, description, mutated source)`` for every mutant of ``source``."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        for kind, change in _changes(node):
            original = _apply(node, change)
            try:
                found.append((node.lineno, kind, ast.unparse(tree)))
            finally:
                _undo(node, original)
    return found


def _changes(node):
    """The mutations one node allows, as (description, change) pairs."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAPS:
        yield (
            f"{type(node.ops[0]).__name__} -> {SWAPS[type(node.ops[0])].__name__}",
            ("ops", [SWAPS[type(node.ops[0])]()]),
        )
    if isinstance(node, (ast.BinOp, ast.BoolOp)) and type(node.op) in SWAPS:
        yield f"{type(node.op).__name__} -> {SWAPS[type(node.op)].__name__}", ("op", SWAPS[type(node.op)]())
    if isinstance(node, ast.Constant) and type(node.value) is int and hasattr(node, "lineno"):
        yield f"{node.value} -> {node.value + 1}", ("value", node.value + 1)
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        yield f"{node.value} -> {not node.value}", ("value", not node.value)
    if isinstance(node, ast.FunctionDef) and node.decorator_list and not node.name.startswith("__"):
        yield f"decorator of {node.name} removed", ("decorator_list", [])
    if isinstance(node, (ast.FunctionDef, ast.For, ast.With, ast.If)) and len(node.body) > 1:
        for index, statement in enumerate(node.body):
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                kept = node.body[:index] + node.body[index + 1 :]
                yield f"call on line {statement.lineno} deleted", ("body", kept)


def _apply(node, change):
    field, value = change
    original = getattr(node, field)
    setattr(node, field, value)
    return field, original


def _undo(node, original) -> None:
    field, value = original
    setattr(node, field, value)


def run_tests(package_root: Path, tests: list[str], timeout: int) -> str:
    """``"killed"``, ``"survived"`` or ``"timeout"`` (counted as killed: the suite noticed)."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", *tests]
    command += [
        "-m",
        "not browser",
        "--deselect",
        "tests/test_cli.py::test_the_same_command_under_torchrun_on_two_processes",
    ]
    try:
        result = subprocess.run(
            command, cwd=package_root, capture_output=True, text=True, timeout=timeout, env=_environment(package_root)
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if result.returncode == 0 else "killed"


def _environment(package_root: Path) -> dict:
    import os

    return os.environ | {"PYTHONPATH": str(package_root), "UNETLIB_DATA": str(ROOT.parent / "shared" / "datasets")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-module", type=int, default=20, help="mutants sampled per module")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=int, default=300, help="seconds per mutant's test run")
    parser.add_argument("--modules", nargs="+", default=list(MODULES))
    parser.add_argument("--out", type=Path, default=HERE / "mutation_results.json")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "project"
        # The tests find the data sets beside the project, as in this checkout.
        (Path(scratch) / "shared").symlink_to(ROOT.parent / "shared")
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", "_build", ".git", "*.ipynb", "__pycache__"))
        for module in args.modules:
            source = (ROOT / module).read_text()
            sample = mutants(source)
            rng.shuffle(sample)
            for line, kind, mutated in sample[: args.per_module]:
                (copy / module).write_text(mutated)
                start = time.perf_counter()
                fate = run_tests(copy, MODULES[module], args.timeout)
                results.append({"module": module, "line": line, "mutation": kind, "fate": fate})
                print(f"{fate:>8}  {module}:{line}  {kind}  ({time.perf_counter() - start:.0f} s)", flush=True)
            (copy / module).write_text(source)
    killed = sum(r["fate"] != "survived" for r in results)
    summary = {"mutants": len(results), "killed": killed, "score": killed / max(1, len(results))}
    print(f"\n{killed} of {len(results)} mutants killed ({summary['score']:.0%})")
    args.out.write_text(json.dumps(provenance([args.seed]) | summary | {"results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
