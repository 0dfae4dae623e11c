"""Docs and notebooks: the tutorials run, the API reference builds with warnings as errors, and the library
behaves in a notebook (short reprs, progress through a callback, matplotlib's back end left alone).

The tutorials and the docs build need the ``docs`` extra (``pip install -e '.[dev,docs]'``; ``.ci/run`` installs
it); without it those two tests skip and say so.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from encephagen.calibration import CalibrationResult, SeedSplit
from encephagen.compiler import compile_circuit
from encephagen.objectives import Loss
from encephagen.simulation import simulate
from encephagen.storage import load_circuit

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.ipynb"))
NOTEBOOK_BUDGET_S = 300.0
"""The three tutorials together, executed (the issue's bar: under 5 minutes in CI)."""


@pytest.mark.slow
def test_tutorial_notebooks_run_in_under_five_minutes(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="the docs extra runs the tutorials: pip install -e '.[docs]'")
    nbclient = pytest.importorskip("nbclient", reason="the docs extra runs the tutorials: pip install -e '.[docs]'")
    pytest.importorskip("ipykernel", reason="the docs extra runs the tutorials: pip install -e '.[docs]'")
    assert [p.name for p in TUTORIALS] == [
        "01_half_centre.ipynb",
        "02_calibrate_spinal_cpg.ipynb",
        "03_body_and_film.ipynb",
    ]
    os.environ.setdefault("MUJOCO_GL", "egl")
    started = time.perf_counter()
    for path in TUTORIALS:
        notebook = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
            f"{path.name}: commit it without outputs"
        )
        nbclient.NotebookClient(
            notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
        errors = [
            o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"
        ]
        assert errors == [], path.name
    elapsed = time.perf_counter() - started
    assert elapsed < NOTEBOOK_BUDGET_S, f"the tutorials took {elapsed:.0f} s"


@pytest.mark.slow
def test_api_reference_builds_with_warnings_as_errors(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs extra builds the reference: pip install -e '.[docs]'")
    pytest.importorskip("mkdocstrings", reason="the docs extra builds the reference: pip install -e '.[docs]'")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    page = (tmp_path / "site" / "api" / "simulation" / "index.html").read_text(encoding="utf-8")
    assert "duration_ms" in page and "progress" in page  # the reference really documents the functions


def test_reprs_are_short_and_notebooks_get_html():
    circuit = load_circuit("celegans")
    network = compile_circuit(circuit)
    result = simulate(network, 20.0, seeds=100_019)
    for item in (network, result):
        assert len(repr(item)) < 300 and "\n" not in repr(item)
        assert len(item._repr_html_()) < 5000
    assert "302 neurons" in repr(network) and "celegans" in repr(result)
    loss = Loss.from_terms({"frequency": 0.2})
    calibrated = CalibrationResult(
        circuit,
        {"w_exc": 1.0},
        {"w_exc": 1.5},
        loss,
        Loss.from_terms({"frequency": 0.1}),
        loss,
        SeedSplit([1_000_001], [1_000_002], [1_000_003]),
        8,
        2,
        3.0,
        Path("log.jsonl"),
    )
    assert (
        repr(calibrated)
        == f"<CalibrationResult celegans {circuit.version}: held-out loss 0.2 -> 0.1, 8 evaluations, 3 s>"
    )
    assert "<td>w_exc</td><td>1</td><td>1.5</td>" in calibrated._repr_html_()


def test_progress_is_a_callback():
    network = compile_circuit(load_circuit("half_centre"))
    calls: list[tuple[int, int]] = []
    simulate(network, 300.0, seeds=100_020, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 3000) and calls[-1] == (3000, 3000)
    assert all(a[0] < b[0] for a, b in itertools.pairwise(calls))
    with pytest.raises(TypeError, match="progress must be"):
        simulate(network, 10.0, progress="yes")


def test_no_library_module_draws_to_a_terminal_or_sets_matplotlib_back_end():
    sources = {p: p.read_text(encoding="utf-8") for p in (ROOT / "toolkit").rglob("*.py")}
    assert [
        str(p)
        for p, text in sources.items()
        if re.search(r"^\s*import click|matplotlib\.use\(", text, flags=re.MULTILINE)
    ] == []
    script = """
import matplotlib
matplotlib.use("svg")
import numpy as np
from encephagen import load_circuit, compile_circuit
from encephagen.simulation import simulate
from encephagen.gait import analyse_result
from encephagen.plots import gait_figure, save_figure, sweep_figure
from encephagen.cli.simulate import raster_figure
circuit = load_circuit("spinal_cpg")
result = simulate(compile_circuit(circuit), 1500.0, seeds=100021)
save_figure(gait_figure(result, analyse_result(result)), "g.png")
raster_figure(result, "r.png")
save_figure(sweep_figure("drive", [1.0, 2.0], [{"frequency_hz": {"mean": 1.0, "sd": 0.1}}] * 2), "s.png")
import sys
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert "matplotlib.pyplot" not in sys.modules or not sys.modules["matplotlib.pyplot"].get_fignums()
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=ROOT / "tests" / "artifacts" if (ROOT / "tests" / "artifacts").is_dir() else None,
        env={k: v for k, v in os.environ.items() if k != "MPLBACKEND"},
    )
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
