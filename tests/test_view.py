"""The offline viewer: the page's data, the CLI, and the page itself in a real (headless) Chromium.

The browser tests need Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it)
and the ``playwright`` Python package (the ``dev`` extra); they never download a browser. Each
page's screenshots are left in ``tests/artifacts/``.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from encephagen.cli.main import cli
from encephagen.compiler import compile_circuit
from encephagen.locations import shipped_circuit_names
from encephagen.simulation import simulate
from encephagen.storage import load_circuit
from encephagen.view import ViewError, layout, render_html, view_data, write_view

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
CLICKED = {
    "half_centre": "flex_rg",
    "spinal_cpg": "L_RG_F",
    "walker2d_cpg": "L_Ia_hip",
    "walker2d_setpoint": "L_Ia_hip",
    "hcp_cortex": "Precentral_L.E",
    "celegans": "AVAL",
    "humanoid_cpg": "L_RG_F",
    "humanoid_stander": "abdomen_y_MN_pos",
}
"""The population each shipped circuit's browser test clicks (with neuron-model parameters to show)."""
REPORT_SEED = 100_016


def _external_urls(page: str) -> list[str]:
    """Every way an HTML page could load a script or a style from elsewhere."""
    patterns = [r"<script[^>]*\bsrc\s*=", r"<link\b[^>]*>", r"@import", r"url\(\s*['\"]?(?:https?:)?//", r"<iframe\b"]
    return [m.group(0) for p in patterns for m in re.finditer(p, page, flags=re.IGNORECASE)]


def test_every_shipped_circuit_has_a_node_per_population_and_an_edge_per_projection():
    for name in shipped_circuit_names():
        circuit = load_circuit(name)
        data = view_data(circuit)
        assert [n["id"] for n in data["nodes"]] == list(circuit.populations)
        plain = [e for e in data["edges"] if e["kind"] == "projection"]
        assert [e["id"] for e in plain] == list(circuit.projections)
        assert CLICKED[name] in circuit.populations


def test_left_populations_are_drawn_left_of_right_ones():
    for name in ("spinal_cpg", "celegans", "hcp_cortex"):
        circuit = load_circuit(name)
        positions = layout(circuit)
        left = [positions[n][0] for n, p in circuit.populations.items() if p.side == "left"]
        right = [positions[n][0] for n, p in circuit.populations.items() if p.side == "right"]
        assert max(left) < min(right), name
        assert layout(circuit) == positions  # deterministic


def test_a_node_panel_has_units_bounds_and_free_flags_from_the_named_parameters():
    circuit = load_circuit("spinal_cpg")
    data = view_data(circuit)
    node = next(n for n in data["nodes"] if n["id"] == "L_RG_F")
    drive = next(r for r in node["parameters"] if r["field"] == "drive")
    p = circuit.parameters[drive["param"]]
    assert (drive["value"], drive["unit"], drive["free"], drive["bounds"]) == (p.value, "mV", p.free, p.bounds)
    tau = next(r for r in data["neuron_models"][node["neuron_model"]]["parameters"] if r["field"] == "tau_m")
    assert tau["unit"] == "ms"
    assert any(r["doi"] for r in data["cell_classes"][node["cell_class"]]["references"])


def test_the_cortex_matrix_projections_become_a_region_graph_of_their_strongest_pairs():
    circuit = load_circuit("hcp_cortex")
    matrix = [e for e in view_data(circuit)["edges"] if e["kind"] == "matrix"]
    for name, mproj in circuit.matrix_projections.items():
        mine = [e for e in matrix if e["matrix_projection"] == name]
        assert 0 < len(mine) <= 600 and all(e["source"] in mproj.sources and e["target"] in mproj.targets for e in mine)
        strength = [e["probability"] * abs(e["weight"]) for e in mine]
        assert strength == sorted(strength, reverse=True)
        assert all(e["source"] != e["target"] for e in mine)  # skip_diagonal: no region onto itself


def test_readouts_and_afferents_are_marked():
    data = view_data(load_circuit("walker2d_cpg"))
    assert {"L_Ia_hip", "R_Ib_load", "VST_fwd"} <= set(data["afferents"])
    assert {n["id"] for n in data["nodes"] if n["readout"]} >= {"L_MN_F", "R_MN_E"}


def test_the_page_has_no_external_script_or_style(tmp_path):
    result = CliRunner().invoke(cli, ["view", "spinal_cpg", "--out", str(tmp_path / "v.html")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "v.html").read_text(encoding="utf-8")
    assert _external_urls(page) == []
    assert page.count("<script") == 2 and "encephagen-data" in page
    assert _external_urls(
        '<script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="a.css">'
    )  # the check can fail


def test_a_description_cannot_close_the_script_element():
    circuit = load_circuit("half_centre")
    circuit = circuit.model_copy(update={"description": "a </script><script>alert(1)</script> b"})
    page = render_html(view_data(circuit))
    assert page.count("</script>") == 2
    raw = re.search(r'id="encephagen-data">(.*?)</script>', page, flags=re.DOTALL).group(1)
    assert json.loads(raw)["circuit"]["description"] == circuit.description


def test_cli_refuses_to_overwrite_and_names_the_fix(tmp_path):
    out = tmp_path / "v.html"
    out.write_text("keep")
    result = CliRunner().invoke(cli, ["view", "half_centre", "--out", str(out)])
    assert result.exit_code == 2 and "--force" in result.output and out.read_text() == "keep"
    result = CliRunner().invoke(
        cli, ["view", "half_centre", "spinal_cpg", "celegans", "--out", str(tmp_path / "x.html")]
    )
    assert result.exit_code == 2 and "two (OLD NEW)" in result.output
    with pytest.raises(ViewError, match="overwrite=True"):
        write_view(load_circuit("half_centre"), out)


def test_a_run_of_another_circuit_is_refused_in_one_line(tmp_path):
    run = simulate(compile_circuit(load_circuit("half_centre")), 50.0, seeds=REPORT_SEED)
    run.save(tmp_path / "run.h5")
    result = CliRunner().invoke(
        cli, ["view", "spinal_cpg", "--run", str(tmp_path / "run.h5"), "--out", str(tmp_path / "v.html")]
    )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "pass the run of this circuit" in result.output


def test_run_data_keeps_exact_rates_and_gait_metrics_of_the_motor_pools():
    circuit = load_circuit("spinal_cpg")
    run = simulate(compile_circuit(circuit), 2500.0, seeds=REPORT_SEED)
    data = view_data(circuit, run=run)["run"]
    assert data["mean_rates_hz"] == [round(float(r), 3) for r in run.population_rates_hz()[0]]
    rates = np.array(data["rates_hz"])
    assert rates.shape == (len(circuit.populations), int(2500 / 5.0))
    assert np.allclose(rates.mean(axis=1), run.population_rates_hz()[0], atol=0.01)
    assert len(data["raster"]["times"]) == sum(len(s) for s in run.spike_steps)  # 98 neurons: nothing thinned
    assert data["gait"] is not None and data["gait"]["metrics"]["frequency_hz"] > 0
    assert view_data(load_circuit("hcp_cortex"))["run"] is None


def _edited_spinal_cpg():
    """spinal_cpg 0.4.0, and a 0.5.0 with a higher drive and without L_V3 (and its projections)."""
    old = load_circuit("spinal_cpg")
    projections = {k: v for k, v in old.projections.items() if "L_V3" not in (v.source, v.target)}
    populations = {k: v for k, v in old.populations.items() if k != "L_V3"}
    return old, old.with_parameter_values({"drive": 30.0}).model_copy(
        update={"version": "0.5.0", "populations": populations, "projections": projections}
    )


def test_diff_pins_each_change_to_the_graph():
    old, new = _edited_spinal_cpg()
    diff = view_data(new, old=old)["diff"]
    assert diff["status"]["nodes"]["L_RG_F"] == "indirect"  # its drive is the parameter that changed
    assert [n["id"] for n in diff["ghosts"]["nodes"]] == ["L_V3"]
    removed = {k for k, v in old.projections.items() if "L_V3" in (v.source, v.target)}
    assert {e["id"] for e in diff["ghosts"]["edges"]} == removed
    assert all(diff["status"]["edges"][k] == "removed" for k in removed)
    assert view_data(old, old=old)["diff"]["identical"]


def test_video_is_embedded_as_a_data_uri(tmp_path):
    (tmp_path / "film.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    data = view_data(load_circuit("half_centre"), video=tmp_path / "film.mp4")
    assert data["video"]["src"].startswith("data:video/mp4;base64,AAAAGGZ0eXBtcDQy")
    with pytest.raises(ViewError, match="no such video file"):
        view_data(load_circuit("half_centre"), video=tmp_path / "missing.mp4")


# --------------------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)")
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright drives the browser: pip install -e '.[dev]'"
    )
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _open(browser, path: Path):
    """Load a page from file://; returns (page, console errors, seconds from navigation to drawn)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.goto(path.resolve().as_uri())
    page.wait_for_function("window.encephagenViewer && window.encephagenViewer.ready", timeout=15_000)
    seconds = page.evaluate("window.encephagenViewer.loadedMs") / 1000.0
    assert requests == [], f"the page asked the network for {requests}"
    return page, errors, seconds


@pytest.mark.parametrize("name", sorted(CLICKED))
def test_shipped_circuit_page_in_chromium(browser, tmp_path, name):
    circuit = load_circuit(name)
    path = write_view(circuit, tmp_path / f"{name}.html")
    page, errors, seconds = _open(browser, path)
    ARTIFACTS.mkdir(exist_ok=True)
    assert page.locator("circle.node").count() == len(circuit.populations)
    population = CLICKED[name]
    started = time.perf_counter()
    page.locator(f'circle.node[data-id="{population}"]').click()
    panel = page.locator("#panel")
    assert panel.locator("h2").inner_text() == population
    text = panel.inner_text()
    model = circuit.neuron_models[circuit.populations[population].neuron_model]
    tau = circuit.resolve(model.tau_m)
    assert f"Neuron model {circuit.populations[population].neuron_model}" in text
    assert re.search(rf"tau_m\s+{float(tau):.4g}\s+ms", text), text[:600]
    assert f"cell class {circuit.populations[population].cell_class}" in text
    click_seconds = time.perf_counter() - started
    page.screenshot(path=str(ARTIFACTS / f"view_{name}.png"))
    assert errors == []
    assert seconds < 2.0, f"{name}: drawn {seconds:.2f} s after navigation"
    assert click_seconds < 2.0
    if name == "spinal_cpg":  # the DOI of a citation is a link
        assert panel.locator('a[href^="https://doi.org/10."]').count() > 0
        page.locator("button", has_text="History").click()
        assert circuit.history[-1].version in panel.inner_text()
    page.close()


def test_edge_click_and_run_raster_are_linked_in_chromium(browser, tmp_path):
    circuit = load_circuit("spinal_cpg")
    run = simulate(compile_circuit(circuit), 2000.0, seeds=REPORT_SEED)
    path = write_view(circuit, tmp_path / "run.html", run=run)
    page, errors, seconds = _open(browser, path)
    page.evaluate("window.encephagenViewer.selectEdge('L_RG_F->L_InF')")
    assert page.locator("#panel h2").inner_text() == "projection L_RG_F->L_InF"
    assert "weight" in page.locator("#panel").inner_text()
    page.locator('circle.node[data-id="L_MN_F"]').click()
    assert "L_MN_F: 5 neurons" in page.locator("#run-info").inner_text()
    box = page.locator("#raster").bounding_box()
    sizes = [int(circuit.resolve(p.size)) for p in circuit.populations.values()]
    row = 0.5 / sum(sizes)  # the first row of the first population
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * row + 1)
    first = next(iter(circuit.populations))
    assert page.locator("#panel h2").inner_text() == first
    assert "frequency_hz" in page.locator("#gait").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "view_spinal_cpg_run.png"))
    assert errors == [] and seconds < 2.0


def test_diff_page_in_chromium(browser, tmp_path):
    old, new = _edited_spinal_cpg()
    page, errors, _ = _open(browser, write_view(new, tmp_path / "diff.html", old=old))
    assert page.locator("circle.node.d-indirect").count() > 0
    assert "drive/value" in page.locator("#panel").inner_text()
    page.locator('circle.node.d-removed[data-id="L_V3"]').click()  # drawn where it was, with its old parameters
    text = page.locator("#panel").inner_text()
    assert f"removed since spinal_cpg {old.version}" in text and "Neuron model" in text and "tau_m" in text
    page.screenshot(path=str(ARTIFACTS / "view_spinal_cpg_diff.png"))
    assert errors == []


def test_embedded_film_plays_in_chromium(browser, tmp_path):
    ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="writing the test film needs imageio-ffmpeg (the dev extra)")
    film = tmp_path / "film.mp4"
    writer = ffmpeg.write_frames(
        str(film), (64, 48), fps=10, codec="libx264", pix_fmt_out="yuv420p", macro_block_size=1
    )
    writer.send(None)
    for k in range(10):
        writer.send(np.full((48, 64, 3), 25 * k, dtype=np.uint8))
    writer.close()
    out = tmp_path / "walk.html"
    result = CliRunner().invoke(cli, ["view", "walker2d_cpg", "--video", str(film), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page, errors, seconds = _open(browser, out)
    page.wait_for_function("document.querySelector('video#film').readyState >= 1", timeout=10_000)
    assert page.evaluate("document.querySelector('video#film').duration") == pytest.approx(1.0, abs=0.15)
    assert page.evaluate("document.querySelector('video#film').src").startswith("data:video/mp4;base64,")
    page.screenshot(path=str(ARTIFACTS / "view_walker2d_cpg_film.png"), full_page=True)
    assert errors == [] and seconds < 2.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--out", "{tmp}/v.html"], "unknown circuit (not a file, not a shipped circuit) 'nope'"),
        (["spinal_cpg", "--out", "{tmp}/v.txt"], "the viewer writes one HTML file; give a path ending in .html"),
        (["spinal_cpg", "--video", "{tmp}/missing.mp4", "--out", "{tmp}/v.html"], "no such video file"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["view", *(a.format(tmp=tmp_path) for a in args)])
    assert result.exit_code == 1 and message in result.output and result.output.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_connectivity_matrix_in_chromium(browser, tmp_path):
    circuit = load_circuit("celegans")
    page, errors, _ = _open(browser, write_view(circuit, tmp_path / "celegans.html"))
    page.locator("button", has_text="Matrix").click()
    box = page.locator("#matrix").bounding_box()
    names = list(circuit.populations)
    projection = (
        circuit.projections["AVAL->AVBL"]
        if "AVAL->AVBL" in circuit.projections
        else next(iter(circuit.projections.values()))
    )
    row, col = names.index(projection.target), names.index(projection.source)  # rows are targets, W[post, pre]
    cell = box["width"] / len(
        names
    )  # > 1 px; mouse events land on whole pixels, so take the first whole pixel in the cell
    x, y = math.ceil(box["x"] + col * cell + 0.01), math.ceil(box["y"] + row * cell + 0.01)
    page.mouse.move(x, y)
    assert page.locator("#matrix-info").inner_text().startswith(f"{projection.source} → {projection.target}: ")
    page.screenshot(path=str(ARTIFACTS / "view_celegans_matrix.png"))
    page.mouse.click(x, y)
    assert page.locator("#panel h2").inner_text().startswith("projection ")
    assert f"{projection.source} → {projection.target}" in page.locator("#panel").inner_text()
    assert errors == []
