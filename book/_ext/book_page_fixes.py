"""Small fixes to the pages Jupyter Book 1.x generates, found by the browser test.

sphinx-thebe adds its configuration script each time Sphinx reads the sources, and this book's
build reads them twice, so pages declared `const THEBE_JS_URL` twice: a JavaScript error in
every page's console. Each script is now kept once per page.
"""

from __future__ import annotations


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # The copies differ in how "no file" is spelled (None or ""): compare what the browser runs.
        key = (getattr(script, "filename", script) or "", repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
