"""Execute notebooks in the current folder with the running Python's kernel; stop at the first error.

Used by .ci/colab: ``python execute_notebooks.py NOTEBOOK.ipynb ...``. Each notebook runs in a
fresh kernel with the working directory it is started from (outside the repository, as in Colab).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(paths: list[str]) -> int:
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        try:
            NotebookClient(
                notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(Path.cwd())}}
            ).execute()
        except CellExecutionError as error:
            print(f"FAILED {Path(path).name}:\n{error}", file=sys.stderr)
            return 1
        print(f"ran {Path(path).name} in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
