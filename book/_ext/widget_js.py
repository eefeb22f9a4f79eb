"""The JavaScript the static book runs, served by the book itself: ipywidgets, ONNX Runtime Web.

myst-nb loads RequireJS and the Jupyter widgets "HTML manager" from CDNs by default. This book
must render offline (and its browser test blocks every outside request), so both come from the
book's own ``_static/widgets/`` folder instead, which ``_config.yml`` points ``nb_ipywidgets_js`` at.
The U-Net that runs in the page (``book/demo.md``) needs ONNX Runtime Web's WebAssembly build:
its loader and ``.wasm`` go to ``_static/ort/``.

Run ``python book/_ext/widget_js.py`` once to fetch them from the npm registry (``.ci/setup``
does): the package tarballs are pinned by version and sha256 and checked by ``pooch``. As a Sphinx
extension, this module stops the build with that instruction when the files are missing.
"""

from __future__ import annotations

import shutil
import sys
import tarfile
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent.parent / "_static"

# (tarball URL, sha256, folder under STATIC_DIR, {path inside the tarball: file name there}).
# The HTML manager's major version must match ipywidgets' (1.x for ipywidgets 8).
PACKAGES = [
    (
        "https://registry.npmjs.org/requirejs/-/requirejs-2.3.7.tgz",
        "31f3330c978fb28684622fe71165dc946432cf0210b2ea8a1ca0233e70f2737d",
        "widgets",
        {"package/require.js": "require.js"},
    ),
    (
        "https://registry.npmjs.org/@jupyter-widgets/html-manager/-/html-manager-1.0.15.tgz",
        "2b9d65cb7913e1c7d671757a10008b32c9c2448d4429513371e55c07d6107638",
        "widgets",
        # embed-amd.js, its licence notes, and the icon fonts it loads from its own folder.
        {
            "package/dist/embed-amd.js": "embed-amd.js",
            "package/dist/embed.js.LICENSE.txt": "embed-amd.js.LICENSE.txt",
            **{
                f"package/dist/{font}": font
                for font in (
                    "1551f4f60c37af51121f.woff2",
                    "2285773e6b4b172f07d9.woff",
                    "23f19bb08961f37aaf69.eot",
                    "2f517e09eb2ca6650ff5.svg",
                    "4689f52cc96215721344.svg",
                    "491974d108fe4002b2aa.ttf",
                    "527940b104eb2ea366c8.ttf",
                    "77206a6bb316fa0aded5.eot",
                    "7a3337626410ca2f4071.woff2",
                    "7a8b4f130182d19a2d7c.svg",
                    "9bbb245e67a133f6e486.eot",
                    "bb58e57c48a3e911f15f.woff",
                    "be9ee23c0c6390141475.ttf",
                    "d878b0a6a1144760244f.woff2",
                    "eeccf4f66002c6f2ba24.woff",
                )
            },
        },
    ),
    (
        # The WebAssembly build only (single-threaded: threads need cross-origin isolation,
        # which a static host does not give): its loader, the module it imports, the binary.
        "https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-1.30.0.tgz",
        "d2228df7e4616bc3348bf504ee888f3bec43789a273f0a63f3e68d203ce3bf71",
        "ort",
        {
            "package/dist/ort.wasm.min.js": "ort.wasm.min.js",
            "package/dist/ort-wasm-simd-threaded.mjs": "ort-wasm-simd-threaded.mjs",
            "package/dist/ort-wasm-simd-threaded.wasm": "ort-wasm-simd-threaded.wasm",
        },
    ),
]
REQUIRED = ("widgets/require.js", "widgets/embed-amd.js", "ort/ort.wasm.min.js", "ort/ort-wasm-simd-threaded.wasm")


def fetch(target: Path = STATIC_DIR) -> None:
    """Download (or reuse from pooch's cache), verify and unpack the JavaScript into ``target``."""
    import pooch

    for url, sha256, folder, members in PACKAGES:
        (target / folder).mkdir(parents=True, exist_ok=True)
        tarball = pooch.retrieve(url, known_hash=f"sha256:{sha256}", progressbar=False)
        with tarfile.open(tarball) as archive:
            for inside, name in members.items():
                with archive.extractfile(inside) as source, open(target / folder / name, "wb") as out:
                    shutil.copyfileobj(source, out)


def _check_present(app) -> None:
    missing = [name for name in REQUIRED if not (STATIC_DIR / name).is_file()]
    if missing:
        raise RuntimeError(
            f"JavaScript the book serves is missing from {STATIC_DIR} ({', '.join(missing)}); "
            "run `python book/_ext/widget_js.py` (bash .ci/setup does it) to fetch it"
        )


def setup(app):
    app.connect("builder-inited", _check_present)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else STATIC_DIR)
    print(f"widget and ONNX Runtime Web JavaScript in {STATIC_DIR}")
