"""What every benchmark shares: a one-line description of the machine, and saving result rows.

Each benchmark prints its table for a person and, given ``--json PATH``, also writes its rows
(each with the machine it ran on) for ``benchmarks/performance_page.py``, which turns them into
the book's performance appendix.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from importlib.metadata import version
from pathlib import Path

import torch

# What Chapter 8 trained before it was made fast (the "old" rows of several benchmarks), as
# unetlib.experiments.train_on_crops arguments: no batch norm, a constant learning rate of 1e-3.
OLD_RECIPE = {"batch_norm": False, "schedule": "constant", "lr": 1e-3}


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    return platform.processor() or platform.machine()


def machine(device: str | torch.device = "cpu") -> str:
    """E.g. ``"Intel Xeon ... , 2 cores, torch 2.13.0 (2 threads), cpu"``; the GPU's name on cuda."""
    where = str(device)
    if where.startswith("cuda") and torch.cuda.is_available():
        where = f"cuda ({torch.cuda.get_device_name()})"
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), {where}"
    )


def provenance(seeds: list[int]) -> dict:
    """What a results file records about how it was made: machine, versions, seeds and date."""
    return {
        "machine": machine("cpu"),
        "python": platform.python_version(),
        "versions": {name: version(name) for name in ("torch", "numpy", "scipy", "scikit-image", "unetlib")},
        "seeds": seeds,
        "date": datetime.date.today().isoformat(),
    }


def save_rows(path: str | Path | None, table: str, rows: list[dict]) -> None:
    """Append ``rows`` under ``table`` to the JSON file at ``path`` (nothing if ``path`` is None)."""
    if path is None:
        return
    path = Path(path)
    results = json.loads(path.read_text()) if path.exists() else {}
    results.setdefault(table, []).extend(rows)
    path.write_text(json.dumps(results, indent=1))
