"""Writes the three tutorial notebooks (without outputs; CI executes them): python docs/tutorials/make_notebooks.py."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent


def notebook(name: str, cells: list[tuple[str, str]]) -> None:
    nb = new_notebook(cells=[new_markdown_cell(text) if kind == "md" else new_code_cell(text) for kind, text in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, HERE / name)


notebook(
    "01_half_centre.ipynb",
    [
        (
            "md",
            """# A half-centre oscillator, from an empty file to a gait plot

Brown's (1911) half-centre: two groups of rhythm-generating neurons (flexor and extensor) that inhibit each
other through inhibitory relay neurons, with spike-frequency adaptation ending each burst. We write the circuit
file by hand, validate it, simulate it and measure its rhythm. Every number below lives in the file, with its unit.""",
        ),
        (
            "code",
            """import json
import pathlib
import tempfile

import encephagen
from encephagen.errors import CircuitError

folder = pathlib.Path(tempfile.mkdtemp())
path = folder / "my_half_centre.json"
path.write_text("{}")
try:
    encephagen.load_circuit(path)
except CircuitError as error:  # every problem at once, each with its JSON pointer and a hint
    print(error)""",
        ),
        (
            "md",
            """The validator lists what a circuit needs. We fill it in: named **parameters** (value, unit, bounds,
whether calibration may change them), **neuron models** (leaky integrate-and-fire, times in ms, potentials in
mV), **cell classes** with their transmitter (which fixes the sign of every projection: Dale's law is checked),
**populations**, **projections** and two **readouts** (the flexor and extensor pools the gait is read from).""",
        ),
        (
            "code",
            """def param(value, unit, low, high, description):
    return {"value": value, "unit": unit, "description": description, "free": True, "bounds": [low, high]}

def ref(name):
    return {"param": name}

tree = {
    "schema_version": "1",
    "name": "my_half_centre",
    "version": "0.1.0",
    "description": "Flexor and extensor half-centres with mutual inhibition through relay interneurons and adaptation.",
    "references": [{"citation": "Brown TG (1911) Proc R Soc Lond B 84:308-319", "doi": "10.1098/rspb.1911.0077"}],
    "parameters": {
        "drive_flex": param(15.0, "mV", 8.0, 25.0, "tonic drive to the flexor half-centre"),
        "drive_ext": param(15.0, "mV", 5.0, 22.0, "tonic drive to the extensor half-centre"),
        "w_mutual": param(-12.0, "mV", -40.0, -0.3, "total inhibition from the other side's relays"),
        "w_recurrent": param(6.0, "mV", 0.0, 20.0, "total recurrent excitation within a half-centre"),
        "adaptation": param(0.4, "mV", 0.3, 6.0, "spike-triggered adaptation increment"),
        "tau_adaptation": param(300.0, "ms", 20.0, 600.0, "adaptation decay"),
        "w_relay": param(6.0, "mV", 0.5, 10.0, "half-centre -> relay, per synapse"),
        "drive_relay": param(3.0, "mV", 0.0, 7.5, "tonic drive to the relays (below threshold)"),
    },
    "neuron_models": {
        "rg_flexor": {"tau_m": 12.0, "v_threshold": 8.0, "v_reset": 4.0, "adaptation": ref("adaptation"),
                      "tau_adaptation": ref("tau_adaptation"), "noise_sigma": 0.5},
        "rg_extensor": {"tau_m": 15.0, "v_threshold": 8.0, "v_reset": 4.0, "adaptation": ref("adaptation"),
                        "tau_adaptation": ref("tau_adaptation"), "noise_sigma": 0.5},
        "relay": {"tau_m": 15.0, "v_threshold": 8.0, "noise_sigma": 0.5},
    },
    "cell_classes": {
        "Shox2_flexor": {"transmitter": "glutamate", "markers": ["Shox2"]},
        "Shox2_extensor": {"transmitter": "glutamate", "markers": ["Shox2"]},
        "inhibitory_relay": {"transmitter": "GABA+glycine", "markers": ["En1"]},
    },
    "populations": {
        "flex_rg": {"cell_class": "Shox2_flexor", "size": 5, "neuron_model": "rg_flexor", "drive": ref("drive_flex"), "initial_v": 7.0},
        "ext_rg": {"cell_class": "Shox2_extensor", "size": 5, "neuron_model": "rg_extensor", "drive": ref("drive_ext"),
                   "initial_v": {"uniform": [0.0, 5.0]}},
        "flex_in": {"cell_class": "inhibitory_relay", "size": 3, "neuron_model": "relay", "drive": ref("drive_relay"),
                    "initial_v": {"uniform": [0.0, 5.0]}},
        "ext_in": {"cell_class": "inhibitory_relay", "size": 3, "neuron_model": "relay", "drive": ref("drive_relay"),
                   "initial_v": {"uniform": [0.0, 5.0]}},
    },
    "projections": {
        "flex_rg->flex_rg": {"source": "flex_rg", "target": "flex_rg", "rule": {"kind": "all_to_all"}, "weight": ref("w_recurrent"), "weight_mode": "total"},
        "ext_rg->ext_rg": {"source": "ext_rg", "target": "ext_rg", "rule": {"kind": "all_to_all"}, "weight": ref("w_recurrent"), "weight_mode": "total"},
        "flex_rg->flex_in": {"source": "flex_rg", "target": "flex_in", "rule": {"kind": "all_to_all"}, "weight": ref("w_relay"), "delay": 0.5},
        "ext_rg->ext_in": {"source": "ext_rg", "target": "ext_in", "rule": {"kind": "all_to_all"}, "weight": ref("w_relay"), "delay": 0.5},
        "flex_in->ext_rg": {"source": "flex_in", "target": "ext_rg", "rule": {"kind": "all_to_all"}, "weight": ref("w_mutual"), "weight_mode": "total", "delay": 0.5},
        "ext_in->flex_rg": {"source": "ext_in", "target": "flex_rg", "rule": {"kind": "all_to_all"}, "weight": ref("w_mutual"), "weight_mode": "total", "delay": 0.5},
    },
    "readouts": {
        "flexor": {"terms": [{"population": "flex_rg"}], "description": "flexor half-centre rate"},
        "extensor": {"terms": [{"population": "ext_rg"}], "description": "extensor half-centre rate"},
    },
}
path.write_text(json.dumps(tree, indent=1))
circuit = encephagen.load_circuit(path)  # schema + circuit rules; raises with every problem if any
circuit.name, circuit.version, list(circuit.populations)""",
        ),
        (
            "md",
            """Compile it into sparse matrices (`W[post, pre]`), then simulate three seconds. The same seed always gives
the same spikes, bit for bit. Seeds from 100000 on are the project's *report* seeds.""",
        ),
        (
            "code",
            """from encephagen.simulation import simulate

network = encephagen.compile_circuit(circuit)
result = simulate(network, 3000.0, seeds=100_101, progress=True)  # True: a tqdm bar (a widget here); or pass a callback
network, result""",
        ),
        ("code", """result  # in a notebook, the mean rate of each population"""),
        (
            "md",
            """The gait measures read the motor pools from the readouts named `flexor` and `extensor` (a one-sided
circuit is read as the left leg): burst frequency, period CV, flexor-extensor phase (0.5 is alternation), duty
cycles and the fraction of time the rhythm is regular.""",
        ),
        (
            "code",
            """%matplotlib inline
from encephagen.gait import analyse_result, pools_from_circuit
from encephagen.plots import gait_figure

analysis = analyse_result(result, pools=pools_from_circuit(circuit))
print({k: round(v, 3) for k, v in analysis.metrics.items() if k in ("frequency_hz", "fe_phase", "period_cv", "rhythmic_fraction")})
assert analysis.metrics["frequency_hz"] > 0 and abs(analysis.metrics["fe_phase"] - 0.5) < 0.15  # it alternates
gait_figure(result, analysis, title="my_half_centre, seed 100101")""",
        ),
        (
            "md",
            """Finally the circuit as a page to click through, offline: `encephagen view my_half_centre.json --out
hc.html` on the command line, or from Python:""",
        ),
        (
            "code",
            """from encephagen.view import write_view

page = write_view(circuit, folder / "my_half_centre.html", run=result)
print(page, f"{page.stat().st_size / 1e3:.0f} kB, one file, no network needed")""",
        ),
    ],
)

notebook(
    "02_calibrate_spinal_cpg.ipynb",
    [
        (
            "md",
            """# Calibrating `spinal_cpg` and reading its diff

`encephagen calibrate` searches exactly the parameters a circuit declares free, within their bounds, with
CMA-ES; candidates are scored on training seeds, finalists on validation seeds and the result on held-out test
seeds. The output is a **new version** of the circuit with a history entry. This tutorial uses a tiny budget so
that it runs in seconds: it shows the workflow, not a good calibration (the README's main job uses 600).""",
        ),
        (
            "code",
            """import pathlib
import tempfile

import encephagen
from encephagen.calibration import CalibrationSettings, calibrate

circuit = encephagen.load_circuit("spinal_cpg")
print(circuit.name, circuit.version, "free parameters:", len(circuit.free_parameters))
settings = CalibrationSettings(
    objective="gait", budget=8, popsize=4, seed=1, targets={"frequency_hz": 4.0},
    options={"duration_ms": 1500.0}, train_seeds=1, validation_seeds=1, test_seeds=2, finalists=2)
run_dir = pathlib.Path(tempfile.mkdtemp())
progress = lambda p: print(f"{p.stage}: generation {p.generation}/{p.generations}, best {p.best:.3f}")
result = calibrate(circuit, settings, run_dir, progress=progress)
result""",
        ),
        (
            "md",
            """`result.circuit` is the new version. `encephagen diff OLD NEW` (or `diff_circuits`) says what changed in
the circuit, not which lines moved: each changed value old → new with its relative change, and the new history
entry with the objective, targets, seeds and held-out losses. With 8 evaluations the held-out loss may as well
rise as fall: the history records both numbers, so a reader of the file can tell.""",
        ),
        (
            "code",
            """from encephagen.diff import diff_circuits

difference = diff_circuits(circuit, result.circuit)
print(difference.render())""",
        ),
        (
            "code",
            """entry = result.circuit.history[-1]
print(entry.action, entry.parent_version, "->", entry.version)
print({k: entry.details[k] for k in ("objective", "targets", "budget") if k in entry.details})""",
        ),
        (
            "md",
            """The same diff painted on the circuit's graph, in one offline page (`encephagen view OLD NEW --out diff.html`):
populations and projections whose values changed are outlined in orange (dotted when the change came through a
shared parameter).""",
        ),
        (
            "code",
            """from encephagen.view import write_view

page = write_view(result.circuit, run_dir / "diff.html", old=circuit)
print(page)""",
        ),
    ],
)

notebook(
    "03_body_and_film.ipynb",
    [
        (
            "md",
            """# Attaching a body and filming it

`walker2d_cpg` is the spinal CPG with hip, load and sole-slip afferents and vestibular neurons, bound to MuJoCo's
Walker2d by `walker2d_cpg.binding.json`: sensors drive afferent populations, motor-pool readouts drive the
joints. We run one short episode in the closed loop, film it, and embed the film in the viewer page. Rendering
needs an OpenGL back end without a display: `MUJOCO_GL=egl`.""",
        ),
        (
            "code",
            """import os
import pathlib
import tempfile

os.environ.setdefault("MUJOCO_GL", "egl")

import encephagen
from encephagen.body.binding import binding_path_for, load_binding, make_bound_body
from encephagen.body.loop import ClosedLoop
from encephagen.locations import resolve_circuit_path

circuit_path = resolve_circuit_path("walker2d_cpg")
binding_file = binding_path_for(circuit_path)
binding = load_binding(binding_file)
circuit = encephagen.load_circuit(circuit_path)
loop = ClosedLoop(encephagen.compile_circuit(circuit), binding, base_dir=binding_file.parent, file=str(binding_file))
print(binding.body.kind, "afferents:", sorted({a.population for a in binding.afferents.values()}))""",
        ),
        (
            "code",
            """episode = loop.run([100_301], max_steps=120, record=True)[0]  # 120 body steps (0.48 s) after the binding's warm-up
{k: round(v, 3) for k, v in episode.metrics.items()}""",
        ),
        (
            "code",
            """from encephagen.body.video import write_video

folder = pathlib.Path(tempfile.mkdtemp())
film = write_video(make_bound_body(binding, binding_file.parent), episode.trajectory, folder / "walk.mp4",
                   population_names=loop.network.population_names, stride=6, progress=True)
print(film, f"{film.stat().st_size / 1e3:.0f} kB")""",
        ),
        (
            "code",
            """from IPython.display import Video

Video(str(film), embed=True, width=480)""",
        ),
        (
            "md",
            """The same film inside the circuit's page (`encephagen view walker2d_cpg --video walk.mp4 --out walk.html`):""",
        ),
        (
            "code",
            """from encephagen.view import write_view

page = write_view(circuit, folder / "walk.html", video=film)
print(page, f"{page.stat().st_size / 1e3:.0f} kB")""",
        ),
    ],
)
