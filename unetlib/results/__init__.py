"""Results files of experiments too long for the book build, shipped with the package so that
the chapters can plot them anywhere (Colab included).

Each file is written by a script in the repository's ``benchmarks/`` folder and records the
machine, the library versions, the seeds and the date; :func:`unetlib.experiments.load_results`
reads one. ``chapter8_learning_curves.json`` (``benchmarks/learning_curves.py``): validation
and test scores of Chapter 8's three recipes against training length, three seeds each.
"""
