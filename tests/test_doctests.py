"""Every docstring example of the package, collected by pytest: one test per docstring that has examples.

``pytest --doctest-modules`` would import ``toolkit/x.py`` as ``toolkit.x`` (the folder's name), a
second copy of each module beside ``encephagen.x`` whose registries (objectives, bodies) refuse the
duplicate names; so the examples are collected here from the installed ``encephagen`` modules.
Modules whose extra is missing are reported as skipped with the install command.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import encephagen
from encephagen.errors import MissingDependencyError

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _examples() -> list:
    params = []
    for info in pkgutil.walk_packages(encephagen.__path__, "encephagen."):
        if info.name.startswith(("encephagen.cli", "encephagen.circuits", "encephagen.data")):
            continue
        try:
            module = importlib.import_module(info.name)
        except (ImportError, MissingDependencyError) as exc:
            params.append(pytest.param(None, id=info.name, marks=pytest.mark.skip(reason=f"{info.name}: {exc}")))
            continue
        tests = doctest.DocTestFinder(exclude_empty=True).find(module, info.name)
        params.extend(pytest.param(t, id=t.name) for t in tests if t.examples and (t.filename or "").endswith(".py"))
    return params


@pytest.mark.parametrize("test", _examples())
def test_docstring_example(test, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    runner.run(test, out=report.append)
    if runner.failures:
        pytest.fail("".join(report), pytrace=False)


STAGES_WITH_EXAMPLES = (
    "encephagen.compiler",
    "encephagen.synapse_matrix",
    "encephagen.simulation",
    "encephagen.gait",
    "encephagen.lesions",
    "encephagen.diff",
    "encephagen.nwb",
    "encephagen.schema.v2",
    "encephagen.json_codec",
    "encephagen.view",
    "encephagen.interop.sonata",
    "encephagen.interop.celegans",
)
"""Modules whose examples prove a convention (matrix orientation, units, formats): they must keep them."""


def test_the_stages_keep_their_examples():
    collected = {p.values[0].name for p in _examples() if p.values[0] is not None}
    bare = [m for m in STAGES_WITH_EXAMPLES if not any(n == m or n.startswith(m + ".") for n in collected)]
    assert not bare, f"modules that lost their docstring examples: {bare}"
