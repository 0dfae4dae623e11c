"""Hostile inputs and killed writers: the guarantees of notes/reliability.md, tested.

A small adversarial corpus is generated here (malformed arrays, memory bombs, paths that
leave the circuit's tree, FIFOs, devices, tampered HDF5, unwritable folders, existing
outputs): every case must end with a non-zero exit, one line on stderr naming the file
(and the place inside it), no traceback and, for inputs under 1 MB, a peak memory under
300 MB. Writers are killed with SIGKILL at chosen points (a function patched to hang) and
at timed moments: the output is then the old one, whole, or the new one, whole, and the
next run of the writer removes what the killed one left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from encephagen.atomic_files import check_output_file, remove_stale_temporaries
from encephagen.cli.main import cli
from encephagen.rules import array_checksum
from encephagen.storage import load_circuit, read_tree, save_circuit, save_tree

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "small.json"
ROOT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT_MB = 300

WRAPPER = r"""
import atexit, importlib, os, resource, sys, time

def _report_memory():
    # VmHWM is this process image's own peak; ru_maxrss also keeps the peak of the (pytest)
    # process it was forked from, since Linux carries it across exec
    path = os.environ.get("MAXRSS_FILE")
    if path:
        with open("/proc/self/status") as status:
            peak = next((line.split()[1] for line in status if line.startswith("VmHWM:")), None)
        with open(path, "w") as handle:
            handle.write(peak or str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))

atexit.register(_report_memory)
spec = os.environ.get("KILL_AT")
if spec:
    parts = spec.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:i]))
            break
        except ImportError:
            continue
    for name in parts[i:-1]:
        owner = getattr(owner, name)
    attribute = parts[-1]
    original = getattr(owner, attribute)
    when, marker, match = os.environ["KILL_WHEN"], os.environ["KILL_MARKER"], os.environ.get("KILL_MATCH", "")
    calls = [0]

    def hang():
        open(marker, "w").close()
        while True:
            time.sleep(1)

    def patched(*args, **kwargs):
        hit = match in repr(args) and calls[0] == 0
        calls[0] += hit
        if hit and when == "before":
            hang()
        result = original(*args, **kwargs)
        if hit and when == "after":
            hang()
        return result

    setattr(owner, attribute, patched)
from encephagen.cli.main import main
sys.argv = ["encephagen", *sys.argv[1:]]
main()
"""


@pytest.fixture(scope="module")
def wrapper(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("wrapper") / "run_encephagen.py"
    path.write_text(WRAPPER)
    return path


def encephagen(
    wrapper: Path, *args: object, cwd: Path, timeout: float = 120, env: dict[str, str] | None = None
) -> tuple[int, str, str, float]:
    """Run the CLI in a fresh process: (exit code, stdout, stderr, peak memory in MB)."""
    rss = cwd / f".maxrss.{os.getpid()}.{time.monotonic_ns()}"
    full_env = {**os.environ, "MAXRSS_FILE": str(rss), "NUMBA_NUM_THREADS": "1", **(env or {})}
    done = subprocess.run(
        [sys.executable, str(wrapper), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )
    peak = int(rss.read_text()) / 1024 if rss.exists() else float("nan")
    rss.unlink(missing_ok=True)
    return done.returncode, done.stdout, done.stderr, peak


def assert_one_line_error(code: int, stderr: str, *expected: str, stdout: str = "") -> None:
    """``validate`` reports on stdout (its report is its output); every other command on stderr."""
    assert code != 0, stderr
    assert "Traceback" not in stderr + stdout, stderr
    lines = [line for line in (stderr or stdout).splitlines() if line.strip() and not line.startswith("WARNING")]
    assert len(lines) == 1, stderr + stdout
    for text in expected:
        assert text in lines[0], (text, lines[0])


# --------------------------------------------------------------------------- corpus builders


def _small() -> dict:
    return read_tree(SMALL)


def _write(folder: Path, tree: dict, name: str = "c.json") -> Path:
    save_tree(tree, folder / name)
    return folder / name


def _with_array(
    folder: Path,
    data: np.ndarray | None = None,
    *,
    field: str = "probability",
    dataset: str = "/m",
    file: str = "arrays.h5",
    declared: list[int] | None = None,
    create: bool = True,
    **dataset_options,
) -> Path:
    """small.json with one matrix field read from an HDF5 file (checksum of ``data`` declared)."""
    data = np.array([[0.0, 0.25], [0.5, 0.0]]) if data is None else data
    if create:
        with h5py.File(folder / file, "w") as h5:
            h5.create_dataset(dataset, data=data, **dataset_options)
    tree = _small()
    digest = array_checksum(data) if data.dtype.kind in "iuf" else "0" * 64
    ref = {"file": file, "dataset": dataset, "sha256": digest, "shape": declared or list(data.shape)}
    tree["matrix_projections"]["exc<->out"][field] = (
        {"array": ref} if field != "weight" else {"array": ref, "scale": 0.1}
    )
    return _write(folder, tree)


def _edge_list_tree(n: int = 100) -> dict:
    tree = _small()
    tree["projections"]["big"] = {
        "source": "exc",
        "target": "out",
        "weight": 0.1,
        "rule": {
            "kind": "edge_list",
            "source_index": [i % 4 for i in range(n)],
            "target_index": [i % 2 for i in range(n)],
        },
    }
    return tree


def _hdf5_bomb(folder: Path) -> Path:
    """An HDF5 circuit whose edge list is a gzip-chunked dataset of 3e7 zeros (a few KB on disk)."""
    path = _write(folder, _edge_list_tree(), "bomb.h5")
    with h5py.File(path, "a") as h5:
        del h5["projections/big/rule/source_index"]
        h5["projections/big/rule"].create_dataset(
            "source_index",
            shape=(30_000_000,),
            dtype="i8",
            chunks=(1_000_000,),
            compression="gzip",
            compression_opts=9,
            fillvalue=0,
        )
    return path


def _tampered_hdf5(folder: Path) -> Path:
    path = folder / "c.h5"
    save_circuit(load_circuit(SMALL), path)
    with h5py.File(path, "a") as h5:
        h5.attrs["description"] = (
            h5.attrs["description"].replace("a", "b", 1)
            if "a" in h5.attrs.get("description", "")
            else json.dumps("tampered")
        )
    return path


def _sonata(folder: Path) -> Path:
    """A SONATA export of half_centre at folder/sonata."""
    from encephagen.compiler import compile_circuit
    from encephagen.interop.sonata import export_sonata

    export_sonata(compile_circuit(load_circuit("half_centre")), folder / "sonata")
    return folder / "sonata"


def _edit_config(directory: Path, edit) -> Path:
    config = directory / "circuit_config.json"
    tree = json.loads(config.read_text())
    edit(tree)
    config.write_text(json.dumps(tree))
    return directory


def _outside_hdf5(folder: Path) -> Path:
    """A valid array file outside the circuit's folder (what an escaping path would read)."""
    outside = folder / "elsewhere"
    outside.mkdir()
    data = np.array([[0.0, 0.25], [0.5, 0.0]])
    with h5py.File(outside / "secret.h5", "w") as h5:
        h5["m"] = data
    return outside / "secret.h5"


# Each case: (id, build(tmp) -> (args, expected substrings)). Builders run in tmp (cwd of the run).
def _case_array(data, *, field="probability", expect="", **options):
    def build(tmp: Path):
        circuit = _with_array(tmp / "c", data, field=field, **options)
        return ["validate", circuit], [str(circuit), f"/matrix_projections/exc<->out/{field}", expect]

    return build


def _case_tree(edit, pointer, expect):
    def build(tmp: Path):
        tree = _small()
        edit(tree)
        circuit = _write(tmp / "c", tree)
        return ["validate", circuit], [str(circuit), pointer, expect]

    return build


def _case_path(value_of, expect):
    """An array file path that leaves the circuit's folder."""

    def build(tmp: Path):
        secret = _outside_hdf5(tmp)
        tree = _small()
        tree["matrix_projections"]["exc<->out"]["probability"] = {
            "array": {
                "file": value_of(tmp, secret),
                "dataset": "/m",
                "sha256": array_checksum(np.array([[0.0, 0.25], [0.5, 0.0]])),
                "shape": [2, 2],
            }
        }
        circuit = _write(tmp / "c", tree)
        return ["validate", circuit], [str(circuit), "/matrix_projections/exc<->out/probability/array/file", expect]

    return build


def _symlinked(tmp: Path, secret: Path) -> str:
    (tmp / "c" / "link.h5").symlink_to(secret)
    return "link.h5"


def _fifo_array(tmp: Path) -> tuple[list, list]:
    os.mkfifo(tmp / "c" / "pipe.h5")
    tree = _small()
    tree["matrix_projections"]["exc<->out"]["probability"] = {
        "array": {"file": "pipe.h5", "dataset": "/m", "sha256": "0" * 64, "shape": [2, 2]}
    }
    circuit = _write(tmp / "c", tree)
    return ["validate", circuit], [str(circuit), "/array/file", "not a regular file"]


def _fifo_circuit(tmp: Path):
    os.mkfifo(tmp / "c" / "pipe.json")
    return ["simulate", tmp / "c" / "pipe.json", "--duration-ms", "10"], [str(tmp / "c" / "pipe.json"), "FIFO"]


def _group_dataset(command):
    def build(tmp: Path):
        circuit = _with_array(tmp / "c", dataset="/g/m")
        with h5py.File(tmp / "c" / "arrays.h5", "a") as h5:
            h5.create_group("/g/h")
        tree = read_tree(circuit)
        tree["matrix_projections"]["exc<->out"]["probability"]["array"]["dataset"] = "/g"
        save_tree(tree, circuit)
        extra = {"simulate": ["--duration-ms", "10"], "convert": [tmp / "c" / "out.json"], "show": [], "validate": []}[
            command
        ]
        return [command, circuit, *extra], [
            str(circuit),
            "/matrix_projections/exc<->out/probability/array/dataset",
            "is a group",
        ]

    return build


def _sonata_case(edit, where, expect, *, prepare=None):
    def build(tmp: Path):
        directory = _sonata(tmp / "c")
        if prepare is not None:
            prepare(tmp, directory)
        _edit_config(directory, edit)
        config = directory / "circuit_config.json"
        return ["import", "sonata", directory, "--out", tmp / "c" / "back.json"], [str(config), where, expect]

    return build


def _sonata_fifo_nodes(tmp: Path, directory: Path) -> None:
    os.mkfifo(directory / "network" / "fifo.h5")


def _sonata_zero_link(tmp: Path, directory: Path) -> None:
    (directory / "network" / "zero.csv").symlink_to("/dev/zero")


def _sonata_fifo_config(tmp: Path):
    os.mkfifo(tmp / "c" / "circuit_config.json")
    return ["import", "sonata", tmp / "c" / "circuit_config.json", "--out", tmp / "c" / "back.json"], [
        str(tmp / "c" / "circuit_config.json"),
        "FIFO",
    ]


def _hdf5_bomb_case(tmp: Path):
    path = _hdf5_bomb(tmp / "c")
    return ["validate", path], [str(path), "/projections/big/rule/source_index", "would decode to"]


def _array_bomb_case(tmp: Path):
    """281 KB of gzip holding 16000 x 16000 float64 (2 GB decoded), declared [2, 2]."""
    with h5py.File(tmp / "c" / "arrays.h5", "w") as h5:
        h5.create_dataset(
            "/m", shape=(16000, 16000), dtype="f8", chunks=(1000, 1000), compression="gzip", fillvalue=0.5
        )
    circuit = _with_array(tmp / "c", np.zeros((2, 2)), create=False)
    return ["simulate", circuit, "--duration-ms", "10"], [
        str(circuit),
        "/matrix_projections/exc<->out/probability/array/shape",
        "got [16000, 16000]",
    ]


def _tampered_case(tmp: Path):
    path = _tampered_hdf5(tmp / "c")
    return ["show", path], [str(path), "/@encephagen_sha256", "content hash mismatch"]


def _external_link_case(tmp: Path):
    path = tmp / "c" / "c.h5"
    save_circuit(load_circuit(SMALL), path)
    _outside_hdf5(tmp)
    with h5py.File(path, "a") as h5:
        order = json.loads(h5.attrs["encephagen_order"])
        del h5.attrs["description"]
        h5["description"] = h5py.ExternalLink(str(tmp / "elsewhere" / "secret.h5"), "/m")
        assert "description" in order
    return ["validate", path], [str(path), "/description", "link"]


def _writer_case(args, target, expect, *, create=True):
    """A writer given an output that exists (without --force) or sits in a read-only folder (/sys)."""

    def build(tmp: Path):
        out = Path(str(target).format(tmp=tmp))
        if create:
            out.write_bytes(b"precious")
        return [a.format(tmp=tmp, out=out) if isinstance(a, str) else a for a in args], [str(out), expect]

    return build


def _log_for_report(tmp: Path) -> Path:
    log = tmp / "c" / "log.jsonl"
    log.write_text(json.dumps({"type": "start", "config": {}}) + "\n")
    return log


CORPUS = {
    "nan-probability-dataset": _case_array(np.array([[0.0, np.nan], [0.5, 0.0]]), expect="non-finite"),
    "inf-delay-dataset": _case_array(np.array([[0.1, np.inf], [0.5, 0.1]]), field="delay", expect="non-finite"),
    "negative-probability-dataset": _case_array(np.array([[0.0, -0.25], [0.5, 0.0]]), expect="negative entries"),
    "probability-above-one": _case_array(np.array([[0.0, 7.0], [0.5, 0.0]]), expect="must lie in [0, 1]"),
    "weight-dataset-1e308": _case_array(
        np.array([[0.0, 1e308], [1e308, 0.0]]), field="weight", expect="implausible weight"
    ),
    "delay-dataset-1e300": _case_array(np.array([[0.1, 1e300], [0.5, 0.1]]), field="delay", expect="implausible delay"),
    "weight-dataset-1e300-scaled": _case_array(
        np.array([[0.0, 1e300], [1e300, 0.0]]), field="weight", expect="implausible weight"
    ),
    "string-dataset": _case_array(np.array([[b"a", b"b"], [b"c", b"d"]]), expect="not numbers"),
    "dataset-shape-mismatch": _case_array(np.zeros((3, 3)), declared=[2, 2], expect="got [3, 3]"),
    "weight-1e308": _case_tree(
        lambda t: t["projections"]["exc->exc"].update(weight=1e308),
        "/projections/exc->exc/weight",
        "implausible weight",
    ),
    "tau_m-1e-300": _case_tree(
        lambda t: t["neuron_models"]["lif"].update(tau_m=1e-300), "/neuron_models/lif/tau_m", "implausible tau_m"
    ),
    "delay-1e300": _case_tree(
        lambda t: t["projections"]["exc->exc"].update(delay=1e300), "/projections/exc->exc/delay", "implausible delay"
    ),
    "v_threshold-1e200": _case_tree(
        lambda t: t["neuron_models"]["lif"].update(v_threshold=1e200), "/neuron_models/lif/v_threshold", "implausible"
    ),
    "poisson-rate-1e12": _case_tree(
        lambda t: t["populations"]["exc"].update(poisson_input={"rate": 1e12, "weight": 1.0}),
        "/populations/exc/poisson_input/rate",
        "implausible rate",
    ),
    "absolute-array-path": _case_path(lambda tmp, secret: str(secret), "outside the folder"),
    "dotdot-array-path": _case_path(lambda tmp, secret: "../elsewhere/secret.h5", "outside the folder"),
    "symlink-array-path": _case_path(_symlinked, "outside the folder"),
    "etc-passwd-array-path": _case_path(lambda tmp, secret: "/etc/passwd", "outside the folder"),
    "fifo-array-file": _fifo_array,
    "fifo-circuit": _fifo_circuit,
    "dev-zero-circuit": lambda tmp: (["validate", "/dev/zero"], ["/dev/zero", "character device"]),
    "group-as-dataset-validate": _group_dataset("validate"),
    "group-as-dataset-show": _group_dataset("show"),
    "group-as-dataset-simulate": _group_dataset("simulate"),
    "group-as-dataset-convert": _group_dataset("convert"),
    "hdf5-circuit-bomb": _hdf5_bomb_case,
    "array-bomb-declared-small": _array_bomb_case,
    "tampered-hdf5-attribute": _tampered_case,
    "hdf5-external-link": _external_link_case,
    "sonata-base-dir-outside": _sonata_case(
        lambda t: t["manifest"].update({"$BASE_DIR": "/etc"}),
        "/components/point_neuron_models_dir",
        "outside the folder",
    ),
    "sonata-dotdot": _sonata_case(
        lambda t: t["networks"]["nodes"][0].update(node_types_file="../../../../../etc/hosts"),
        "/networks/nodes/0/node_types_file",
        "outside the folder",
    ),
    "sonata-absolute": _sonata_case(
        lambda t: t["networks"]["nodes"][0].update(nodes_file="/etc/hosts"),
        "/networks/nodes/0/nodes_file",
        "outside the folder",
    ),
    "sonata-fifo-nodes": _sonata_case(
        lambda t: t["networks"]["nodes"][0].update(nodes_file="$NETWORK_DIR/fifo.h5"),
        "fifo.h5",
        "not a regular file",
        prepare=_sonata_fifo_nodes,
    ),
    "sonata-dev-zero-link": _sonata_case(
        lambda t: t["networks"]["nodes"][0].update(node_types_file="$NETWORK_DIR/zero.csv"),
        "/networks/nodes/0/node_types_file",
        "outside the folder",
        prepare=_sonata_zero_link,
    ),
    "sonata-manifest-not-object": _sonata_case(lambda t: t.update(manifest=[1]), "/manifest", "expected an object"),
    "sonata-nodes-not-list": _sonata_case(lambda t: t["networks"].update(nodes=5), "circuit_config.json", "malformed"),
    "sonata-fifo-config": _sonata_fifo_config,
    "gait-shorter-than-warmup": lambda tmp: (
        ["gait", "half_centre", "--duration-ms", "1000"],
        ["--duration-ms 1000", "warm-up"],
    ),
    "sweep-shorter-than-warmup": lambda tmp: (
        ["sweep", "half_centre", "--param", "drive_flex", "--values", "1,2", "--duration-ms", "900"],
        ["--duration-ms 900", "warm-up"],
    ),
    "gait-plot-exists": _writer_case(
        ["gait", "half_centre", "--duration-ms", "2000", "--plot", "{out}"], "{tmp}/c/gait.png", "already exists"
    ),
    "sweep-plot-exists": _writer_case(
        ["sweep", "half_centre", "--param", "drive_flex", "--values", "1,2", "--plot", "{out}"],
        "{tmp}/c/sweep.png",
        "already exists",
    ),
    "schema-out-exists": _writer_case(["schema", "--out", "{out}"], "{tmp}/c/circuit.json", "already exists"),
    "calibrate-report-plot-exists": _writer_case(
        ["calibrate", "--report", "{tmp}/c/log.jsonl", "--plot", "{out}"], "{tmp}/c/curve.png", "already exists"
    ),
    "fc-plot-exists": _writer_case(
        ["fc", "hcp_cortex", "--duration-s", "1", "--plot", "{out}"], "{tmp}/c/fc.png", "already exists"
    ),
    "run-video-exists": _writer_case(["run", "walker2d_cpg", "--video", "{out}"], "{tmp}/c/walk.mp4", "already exists"),
    "simulate-out-exists": _writer_case(
        ["simulate", "half_centre", "--duration-ms", "10", "--out", "{out}"], "{tmp}/c/run.h5", "already exists"
    ),
    "convert-out-exists": _writer_case(["convert", str(SMALL), "{out}"], "{tmp}/c/c.json", "already exists"),
    "simulate-readonly-folder": _writer_case(
        ["simulate", "half_centre", "--duration-ms", "10", "--plot", "{out}"],
        "/sys/encephagen_raster.png",
        "not writable",
        create=False,
    ),
    "gait-readonly-folder": _writer_case(
        ["gait", "half_centre", "--duration-ms", "2000", "--plot", "{out}"],
        "/sys/encephagen_gait.png",
        "not writable",
        create=False,
    ),
    "sweep-readonly-folder": _writer_case(
        ["sweep", "half_centre", "--param", "drive_flex", "--values", "1,2", "--plot", "{out}"],
        "/sys/encephagen_sweep.png",
        "not writable",
        create=False,
    ),
    "convert-readonly-folder": _writer_case(
        ["convert", str(SMALL), "{out}"], "/sys/encephagen_c.h5", "not writable", create=False
    ),
    "schema-readonly-folder": _writer_case(
        ["schema", "--out", "{out}"], "/sys/encephagen_schema.json", "not writable", create=False
    ),
    "export-readonly-folder": _writer_case(
        ["export", "half_centre", "{out}", "--format", "brian2"], "/sys/encephagen_b2", "not writable", create=False
    ),
    "export-sonata-readonly-folder": _writer_case(
        ["export", "half_centre", "{out}", "--format", "sonata"], "/sys/encephagen_sonata", "not writable", create=False
    ),
    "migrate-readonly-folder": _writer_case(
        ["migrate", str(SMALL), "--out", "{out}"], "/sys/encephagen_m.json", "not writable", create=False
    ),
    "calibrate-readonly-folder": _writer_case(
        ["calibrate", "half_centre", "--objective", "gait", "--budget", "4", "--out", "{out}"],
        "/sys/encephagen_cal.json",
        "not writable",
        create=False,
    ),
    "fc-readonly-folder": _writer_case(
        ["fc", "hcp_cortex", "--duration-s", "1", "--save-result", "{out}"],
        "/sys/encephagen_fc.h5",
        "not writable",
        create=False,
    ),
    "import-sonata-readonly-folder": lambda tmp: (
        ["import", "sonata", _sonata(tmp / "c"), "--out", "/sys/encephagen_back.json"],
        ["/sys/encephagen_back.json", "not writable"],
    ),
    "run-video-readonly-folder": _writer_case(
        ["run", "walker2d_cpg", "--video", "{out}"], "/sys/encephagen_walk.mp4", "not writable", create=False
    ),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_adversarial_corpus(case, tmp_path, wrapper):
    """Non-zero exit, one line naming the file (and place), no traceback, under 300 MB, never hangs."""
    (tmp_path / "c").mkdir()
    args, expected = CORPUS[case](tmp_path)
    code, stdout, stderr, peak = encephagen(wrapper, *args, cwd=tmp_path, timeout=120)
    assert_one_line_error(code, stderr, *[e for e in expected if e], stdout=stdout if args[0] == "validate" else "")
    assert peak < MEMORY_LIMIT_MB, f"{case}: peak {peak:.0f} MB"
    if case.endswith("-exists"):
        assert Path(expected[0]).read_bytes() == b"precious"


def test_inputs_of_the_corpus_are_small(tmp_path):
    """The memory bar is for inputs under 1 MB: the bombs are that small."""
    (tmp_path / "c").mkdir()
    assert _hdf5_bomb(tmp_path / "c").stat().st_size < 1024**2
    _array_bomb_case(tmp_path)
    assert (tmp_path / "c" / "arrays.h5").stat().st_size < 1024**2


# --------------------------------------------------------------------------- library-level checks


def test_no_verify_loads_a_tampered_hdf5_circuit(tmp_path):
    path = _tampered_hdf5(tmp_path)
    with pytest.raises(Exception, match="content hash mismatch"):
        load_circuit(path)
    assert load_circuit(path, verify=False).name == load_circuit(SMALL).name
    result = CliRunner().invoke(cli, ["--no-verify", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "ENCEPHAGEN_NO_VERIFY" not in os.environ  # the flag does not leak into the caller's process


def test_every_hdf5_circuit_carries_a_hash_that_a_one_digit_edit_breaks(tmp_path):
    path = tmp_path / "c.h5"
    save_circuit(load_circuit(SMALL), path)
    with h5py.File(path, "r") as h5:
        assert len(h5.attrs["encephagen_sha256"]) == 64
    with h5py.File(path, "a") as h5:
        text = h5.attrs["parameters"]
        assert '"value": 12.0' in text
        h5.attrs["parameters"] = text.replace(
            '"value": 12.0', '"value": 13.0'
        )  # drive 12 -> 13 mV: still a valid circuit
    with pytest.raises(Exception, match="content hash mismatch"):
        load_circuit(path)
    assert load_circuit(path, verify=False).parameters["drive"].value == 13.0


def test_allow_data_root_lets_a_circuit_read_outside_its_folder(tmp_path):
    secret = _outside_hdf5(tmp_path)
    (tmp_path / "c").mkdir()
    tree = _small()
    tree["matrix_projections"]["exc<->out"]["probability"] = {
        "array": {
            "file": "../elsewhere/secret.h5",
            "dataset": "/m",
            "sha256": array_checksum(np.array([[0.0, 0.25], [0.5, 0.0]])),
            "shape": [2, 2],
        }
    }
    circuit = _write(tmp_path / "c", tree)
    assert CliRunner().invoke(cli, ["validate", str(circuit)]).exit_code == 1
    allowed = CliRunner().invoke(cli, ["--allow-data-root", str(secret.parent), "validate", str(circuit)])
    assert allowed.exit_code == 0, allowed.output


def test_sonata_allow_root(tmp_path):
    directory = _sonata(tmp_path)
    moved = tmp_path / "shared"
    shutil.move(str(directory / "network"), moved)
    _edit_config(directory, lambda t: t["manifest"].update({"$NETWORK_DIR": str(moved)}))
    refused = CliRunner().invoke(cli, ["import", "sonata", str(directory), "--out", str(tmp_path / "a.json")])
    assert refused.exit_code == 1 and "outside the folder" in refused.output
    allowed = CliRunner().invoke(
        cli, ["import", "sonata", str(directory), "--out", str(tmp_path / "a.json"), "--allow-root", str(moved)]
    )
    assert allowed.exit_code == 0, allowed.output


def test_unreadable_folder_is_one_line(tmp_path, monkeypatch):
    """A circuit inside a folder this user cannot enter (emulated: tests run as root, who enters any)."""
    circuit = tmp_path / "locked" / "c.json"
    circuit.parent.mkdir()
    shutil.copy(SMALL, circuit)
    real_stat = Path.stat

    def stat(self, *args, **kwargs):
        if Path(self) == circuit:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    for command in (["validate"], ["show"], ["simulate", "--duration-ms", "1"]):
        result = CliRunner().invoke(cli, [command[0], str(circuit), *command[1:]])
        assert result.exit_code == 1 and not isinstance(result.exception, PermissionError), result.output
        assert f"{circuit}: permission denied" in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder; the emulated case above covers it")
def test_unreadable_folder_for_real(tmp_path):
    circuit = tmp_path / "locked" / "c.json"
    circuit.parent.mkdir()
    shutil.copy(SMALL, circuit)
    circuit.parent.chmod(0)
    try:
        result = CliRunner().invoke(cli, ["validate", str(circuit)])
        assert result.exit_code == 1 and "permission denied" in result.output
    finally:
        circuit.parent.chmod(0o755)


def test_check_output_file_probes_the_folder_for_real():
    with pytest.raises(OSError, match="not writable"):
        check_output_file("/sys/encephagen_probe.json")
    with pytest.raises(OSError, match="does not exist"):
        check_output_file("/nonexistent_folder_x/y.json")


# --------------------------------------------------------------------------- crashes and litter


def _fingerprint(path: Path) -> object:
    """What a complete output holds: bytes of files; .npz by their arrays (zip stamps the time)."""
    if not path.exists():
        return None
    if path.is_dir():
        return {str(p.relative_to(path)): _fingerprint(p) for p in sorted(path.rglob("*")) if p.is_file()}
    if path.suffix == ".npz":
        with np.load(path) as data:
            return {k: hashlib.sha256(np.ascontiguousarray(data[k]).tobytes()).hexdigest() for k in sorted(data.files)}
    if path.suffix in (".h5", ".hdf5") and path.read_bytes()[:4] == b"\x89HDF":
        with h5py.File(path, "r") as h5:  # HDF5 stamps object times into the file: compare the datasets
            items = {}
            h5.visititems(
                lambda n, o: items.__setitem__(n, _array_digest(np.asarray(o[()]))) if hasattr(o, "shape") else None
            )
            return items
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _array_digest(data: np.ndarray) -> str:
    raw = repr(data.tolist()).encode() if data.dtype.kind == "O" else np.ascontiguousarray(data).tobytes()
    return hashlib.sha256(raw).hexdigest()


def _litter(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f".{name}.*.tmp*"))


WRITERS = {
    # name: (args producing OUT from scratch with --force, output name, kill points)
    "export-brian2": (
        ["export", "half_centre", "{out}", "--format", "brian2", "--force"],
        "b2",
        [
            "numpy.savez_compressed:before",
            "pathlib.Path.write_text:after",
            "encephagen.atomic_files._remove_tree:before",
        ],
    ),
    "export-sonata": (
        ["export", "half_centre", "{out}", "--format", "sonata", "--force"],
        "sonata",
        [
            "encephagen.interop.sonata._write_edges:before",
            "encephagen.interop.sonata._write_indices:after",
            "encephagen.atomic_files._remove_tree:before",
        ],
    ),
    "convert-h5": (
        ["convert", str(SMALL), "{out}", "--force"],
        "c.h5",
        ["os.replace:after:c.h5", "os.replace:before:c.h5", "encephagen.hdf5_codec.hdf5_content_digest:before"],
    ),
    "convert-json": (
        ["convert", str(SMALL), "{out}", "--force"],
        "c.json",
        ["os.replace:after:c.json", "os.fsync:before", "os.replace:before:c.json"],
    ),
    "schema": (
        ["schema", "--out", "{out}", "--force"],
        "schema.json",
        ["os.replace:after:schema.json", "os.fsync:before"],
    ),
    "simulate-out": (
        ["simulate", "half_centre", "--duration-ms", "20", "--out", "{out}", "--force"],
        "run.h5",
        ["os.replace:after:run.h5", "os.replace:before:run.h5"],
    ),
}


def _old_output(tmp: Path, name: str) -> Path:
    """An earlier output under the final name, different from what the writer produces."""
    out = tmp / name
    if name in ("b2", "sonata"):
        out.mkdir()
        (out / "old.txt").write_text("the previous export")
    else:
        out.write_text("the previous output\n")
    return out


def _kill_at(wrapper: Path, args: list[str], cwd: Path, point: str) -> None:
    spec, when, match = (point.split(":") + [""])[:3]
    marker = cwd / f"marker.{time.monotonic_ns()}"
    env = {
        **os.environ,
        "KILL_AT": spec,
        "KILL_WHEN": when,
        "KILL_MATCH": match,
        "KILL_MARKER": str(marker),
        "NUMBA_NUM_THREADS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, str(wrapper), *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), (
        f"kill point {point} never reached: {process.stderr.read().decode() if process.poll() is not None else 'timeout'}"
    )
    process.send_signal(signal.SIGKILL)
    process.wait()
    marker.unlink()


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_killed_writer_leaves_the_old_output_or_the_new_one_and_the_next_run_cleans_up(writer, tmp_path, wrapper):
    args, name, points = WRITERS[writer]
    out = tmp_path / name
    argv = [a.format(out=out) for a in args]
    code, _, stderr, _ = encephagen(wrapper, *argv, cwd=tmp_path)
    assert code == 0, stderr
    new = _fingerprint(out)
    left: list[Path] = []
    for point in points:
        shutil.rmtree(out) if out.is_dir() else out.unlink()
        old = _fingerprint(_old_output(tmp_path, name))
        _kill_at(wrapper, argv, tmp_path, point)
        assert _fingerprint(out) in (old, new), (
            f"{writer} killed at {point}: {out} is neither the old output nor the new one"
        )
        assert not set(left) & set(_litter(tmp_path, name)), "a run must remove what the killed runs before it left"
        left = _litter(tmp_path, name)
    assert left, "the last kill point leaves temporaries behind (else this test proves nothing about cleaning)"
    live = tmp_path / f".{name}.{os.getpid()}.live.tmp"  # a live writer's temporary (this process): never touched
    live.write_text("in progress")
    code, _, stderr, _ = encephagen(wrapper, *argv, cwd=tmp_path)
    assert code == 0, stderr
    assert _fingerprint(out) == new
    assert _litter(tmp_path, name) == [live]


@pytest.fixture(scope="module")
def brian2_export(tmp_path_factory, wrapper) -> tuple[float, object]:
    """(seconds, fingerprint) of one uncut ``export --format brian2`` run: the timed kills below
    only read them, so one run serves the three (the export writes the same files wherever it runs)."""
    folder = tmp_path_factory.mktemp("brian2_export")
    started = time.monotonic()
    assert encephagen(wrapper, *_brian2_argv(folder / "b2"), cwd=folder)[0] == 0
    return time.monotonic() - started, _fingerprint(folder / "b2")


def _brian2_argv(out: Path) -> list[str]:
    return ["export", "half_centre", str(out), "--format", "brian2", "--force"]


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9])
def test_brian2_export_killed_at_a_timed_moment(fraction, tmp_path, wrapper, brian2_export):
    """Timed kills, beside the chosen points: whatever the moment, old or new, whole."""
    out = tmp_path / "b2"
    argv = _brian2_argv(out)
    duration, new = brian2_export
    old = _fingerprint(_old_output(tmp_path, "b2"))
    process = subprocess.Popen(
        [sys.executable, str(wrapper), *argv], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(duration * fraction)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _fingerprint(out) in (old, new)


def test_stale_temporaries_of_other_files_and_live_writers_are_kept(tmp_path):
    target = tmp_path / "c.json"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = tmp_path / f".c.json.{dead.pid}.abc.tmp.json"
    mine.write_text("left by a killed writer")
    folder = tmp_path / f".c.json.{dead.pid}.xyz.tmp"
    folder.mkdir()
    other = tmp_path / f".d.json.{dead.pid}.abc.tmp.json"
    other.write_text("another file's")
    live = tmp_path / f".c.json.{os.getpid()}.abc.tmp.json"
    live.write_text("a live writer's")
    assert sorted(remove_stale_temporaries(target)) == sorted([mine, folder])
    assert other.exists() and live.exists()
