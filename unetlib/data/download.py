"""Fetch the real image sets from their pinned public sources, checked file by file.

Every file of a set is listed in :mod:`unetlib.data.registry` with its sha256. :func:`fetch`
downloads what is missing from ``raw.githubusercontent.com`` at the pinned commit (with
``pooch``, which verifies each file against its sum and refuses a corrupted one) into a cache
folder, and returns that folder. Files already in the cache with the right sum are never
downloaded again, so with a filled cache everything works offline. (``pooch.create`` would hold
the registry too, but its ``fetch`` insists on a writable cache folder even when every file is
present and verified, and the book's build reads the sets from a read-only folder.)

The cache folder is ``$UNETLIB_DATA`` if set (the book's CI points it at a read-only copy of the
sets), else ``~/.cache/unetlib``. The ISBI 2012 EM data may be used for non-commercial purposes
only: it is downloaded for the reader and never redistributed with this package.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pooch

from unetlib._checks import choice
from unetlib.data.registry import SOURCES

__all__ = ["DATA_ENV", "data_home", "fetch"]

DATA_ENV = "UNETLIB_DATA"
RAW_GITHUB = "https://raw.githubusercontent.com"


def data_home() -> Path:
    """The cache folder: ``$UNETLIB_DATA``, or ``~/.cache/unetlib``."""
    return Path(os.environ.get(DATA_ENV) or Path.home() / ".cache" / "unetlib").expanduser()


def fetch(name: str, base_url: str | None = None, progress: bool = False) -> Path:
    """Make sure every file of set ``name`` is in the cache, verified; return the set's folder.

    Args:
        name: ``"bbbc039"`` (20 nuclei images, CC0), ``"bbbc039_more"`` (40 more of them),
            ``"isbi2012"`` (EM membranes, non-commercial use only), ``"dubai"`` (aerial land cover)
            or ``"landsat"`` (a Landsat 7 scene of North Carolina with a land-cover map, CC BY-SA 3.0).
        base_url: where to download from instead of GitHub (tests use a local server); files are
            looked up at ``<base_url>/<repository>/<commit>/<prefix><path>``.
        progress: show pooch's progress bar per file.

    Returns:
        The folder holding the set, laid out as its registry lists (e.g. ``images/``, ``masks/``).

    Raises:
        ValueError: for an unknown name.
        RuntimeError: if a file is missing and cannot be downloaded, or fails its checksum; the
            message says which file and what to do.
    """
    choice(name, "name", sorted(SOURCES))
    source = SOURCES[name]
    folder = data_home() / source["folder"]
    base = (base_url or RAW_GITHUB).rstrip("/")
    for path, digest in source["files"].items():
        target = folder / path
        if target.is_file() and pooch.file_hash(str(target), alg="sha256") == digest:
            continue  # in the cache and intact: nothing to do, no network needed
        url = f"{base}/{source['repository']}/{source['commit']}/{quote(source['prefix'] + path)}"
        _download(url, digest, target, progress)
    return folder


def _download(url: str, digest: str, target: Path, progress: bool) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        pooch.retrieve(url, known_hash=f"sha256:{digest}", fname=target.name, path=target.parent, progressbar=progress)
    except ValueError as error:  # pooch: the downloaded file's hash does not match
        raise RuntimeError(
            f"{target.name} downloaded from {url} does not match its sha256 and was not kept ({error}); "
            "the source may have changed or the download was damaged: try again, or report it"
        ) from None
    except OSError as error:  # no network, read-only cache, server error
        raise RuntimeError(
            f"{target} is not in the data cache ({data_home()}) and could not be downloaded from {url}: "
            f"{error}. Connect to the internet, or set {DATA_ENV} to a folder that holds the data sets"
        ) from None
