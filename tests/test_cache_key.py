"""The book's execution cache is emptied when what the chapters import changes.

Jupyter Book's cache keys a chapter on its code cells only: edit ``unetlib`` and a cached
chapter would keep its old outputs. ``.ci/book`` therefore empties the cache whenever the key
printed by ``.ci/cache-key`` changes: a hash of unetlib's files and the installed versions.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def key() -> str:
    return subprocess.run(
        ["bash", str(ROOT / ".ci" / "cache-key")], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_key_is_stable_and_changes_with_unetlibs_source():
    before = key()
    assert len(before) == 64 and key() == before
    probe = ROOT / "unetlib" / "_cache_key_probe.py"
    try:
        probe.write_text("# a changed module\n")
        changed = key()
    finally:
        probe.unlink()
    assert changed != before
    assert key() == before


def test_the_book_build_empties_the_cache_when_the_key_changes():
    script = (ROOT / ".ci" / "book").read_text()
    assert "key=$(bash .ci/cache-key)" in script
    assert (
        'if [ "$(cat _build/.jupyter_cache.key 2>/dev/null)" != "$key" ] '
        "|| [ ! -f book/_static/demo/demo.json ]; then\n    rm -rf _build/.jupyter_cache" in script
    ), "the cache goes when the key changes, or when Chapter 8's demo files (not in git) are missing"
