"""What `pip install unetlib` (as the Colab setup cell runs it) puts on a reader's machine."""

from __future__ import annotations

import ast
import sys
import tomllib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_subpackage_is_installed():
    # setuptools installs only the packages listed: a missing one works in an editable install
    # (this repository) and fails with ModuleNotFoundError in Colab.
    found = sorted(".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "unetlib").rglob("__init__.py"))
    assert sorted(PYPROJECT["tool"]["setuptools"]["packages"]) == found


def test_every_third_party_import_is_a_dependency():
    names = {"numpy", "scipy", "matplotlib", "skimage", "torch", "ipywidgets", "tqdm", "pooch", "PIL"}
    declared = {d.split(">")[0].split("=")[0].strip().lower() for d in PYPROJECT["project"]["dependencies"]}
    distribution = {"skimage": "scikit-image", "PIL": "pillow"}
    imported = set()
    for path in (ROOT / "unetlib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"unetlib", "__future__", "myst_nb", "google"}
    # Optional extras, imported inside the functions that need them only: unetlib.geo's rasterio
    # ([geo]) and export_onnx's onnx ([onnx]).
    optional = PYPROJECT["project"]["optional-dependencies"]
    extras = {d.split(">")[0].strip().lower() for extra in ("geo", "onnx") for d in optional[extra]}
    assert {"rasterio", "onnx"} <= extras
    allowed = names | {"rasterio", "onnx"}
    assert third_party <= allowed, f"unexpected imports: {third_party - allowed}"
    assert {distribution.get(n, n) for n in third_party - {"rasterio", "onnx"}} <= declared


def test_unetlib_imports_without_the_geo_extra_and_says_how_to_install_it():
    import subprocess

    # In a fresh interpreter where rasterio cannot be imported (as if it were not installed).
    script = (
        "import sys; sys.modules['rasterio'] = None\n"
        "import unetlib.geo, unetlib.landsat, unetlib.cli, unetlib.predict\n"
        "try:\n"
        "    unetlib.geo.Scene('scene.tif')\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert 'pip install "unetlib[geo]"' in result.stdout


def test_the_package_version_is_the_projects():
    import unetlib

    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert unetlib.__version__ == version
