"""Author-year labels in the bibliography, matching the author-year citations in the text.

sphinxcontrib-bibtex cites "Ronneberger et al., 2015" in the chapters (``bibtex_reference_style:
author_year``) but labels the reference list with pybtex's alpha labels ("[RFB15]"), which a
reader cannot match to the citation. This registers a pybtex style, ``author_year_labels``, that
labels each entry the way the text cites it; ``_config.yml`` selects it.
"""

from __future__ import annotations

import codecs

import latexcodec  # noqa: F401  (registers the ulatex codec; pybtex depends on it)

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _surname(person) -> str:
    """The surname as a reader sees it: LaTeX accents decoded, protecting braces dropped."""
    name = " ".join(person.prelast_names + person.last_names)
    return codecs.decode(name, "ulatex").replace("{", "").replace("}", "")


class AuthorYearLabels(BaseLabelStyle):
    """ "Ronneberger et al. 2015", "Cardona & Saalfeld 2010" (two authors), "Sobel 1968"; a
    second entry with the same label gets "a", "b"."""

    def format_labels(self, sorted_entries):
        labels = [self._label(entry) for entry in sorted_entries]
        for index, label in enumerate(labels):
            same = [i for i, other in enumerate(labels) if other == label]
            yield label if len(same) == 1 else label + "abcdefghij"[same.index(index)]

    @staticmethod
    def _label(entry) -> str:
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        year = entry.fields.get("year", "n.d.")
        if not people:  # an organisation's data set: its title's first words
            return f"{entry.fields.get('title', entry.key).split(':')[0]} {year}"
        if len(people) == 1:
            return f"{_surname(people[0])} {year}"
        if len(people) == 2:
            return f"{_surname(people[0])} & {_surname(people[1])} {year}"
        return f"{_surname(people[0])} et al. {year}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.formatting", "author_year_labels", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
