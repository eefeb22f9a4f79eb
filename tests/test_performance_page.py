"""The performance appendix: rendered from the benchmarks' rows, every row naming its machine."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_page_module():
    spec = importlib.util.spec_from_file_location("performance_page", ROOT / "benchmarks" / "performance_page.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of every Markdown table row that is neither a header nor a rule."""
    rows, lines = [], markdown.splitlines()
    for previous, line in zip([""] + lines, lines):
        if line.startswith("|") and not re.fullmatch(r"\|(-+\|)+", line) and previous.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_render_makes_one_table_per_benchmark_with_the_machine_on_every_row():
    page = load_page_module()
    results = {
        "conv": [{"dtype": "float32", "NumPy ms": "1.00", "machine": "CPU X, 2 cores"}],
        "training": [{"target": "pixel Dice >= 0.9", "seconds of training": "12.0", "machine": "CPU X"}],
    }
    text = page.render(results, "2026-11-25")
    assert text.count("## ") == 3  # two benchmark tables and the build-time table
    # Machines are lettered once, in order of appearance, and each row names its letter.
    assert "| A | CPU X, 2 cores |" in text and "| B | CPU X |" in text
    assert "| dtype | NumPy ms | machine |" in text and "| float32 | 1.00 | A |" in text
    assert "| pixel Dice >= 0.9 | 12.0 | B |" in text
    assert "{nb-exec-table}" in text


def test_the_committed_page_is_complete_and_every_row_names_a_machine():
    text = (ROOT / "book" / "performance.md").read_text()
    for heading in (
        "Convolution",
        "MONAI",
        "Overlap-tile",
        "Where the training chapters' time goes",
        "One training step",
        "Sharing two cores",
        "Time to quality",
        "A whole satellite scene from disk",
        "Building this book",
    ):
        assert heading in text, f"book/performance.md lacks the section on {heading}"
    machines_table, *benchmark_tables = text.split("\n## ")
    machines = {row[0]: row[1] for row in table_rows(machines_table)}
    assert machines and all("cores" in description for description in machines.values())
    rows = [row for table in benchmark_tables for row in table_rows(table)]
    assert len(rows) >= 10
    headers = [line for line in text.splitlines() if line.startswith("| ") and line.endswith("| machine |")]
    assert len(headers) == 9, "every benchmark table ends with a machine column"
    assert all(row[-1] in machines for row in rows), "a row without a machine defined on the page"


def test_the_gpu_benchmark_runs_its_smoke_configuration_on_the_cpu(tmp_path):
    # The real run needs a CUDA GPU; --smoke runs the same code on a tiny network here.
    import json
    import os
    import subprocess
    import sys

    results = tmp_path / "rows.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_gpu.py"), "--smoke", "--json", str(results)],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"OMP_NUM_THREADS": "1"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads(results.read_text())["gpu_step_smoke"]
    assert [row["variant"] for row in rows][:2] == ["float32", "channels-last"] and rows[0]["ratio"] == 1.0
    assert all(row["seconds"] > 0 and "cpu" in row["machine"] for row in rows)
