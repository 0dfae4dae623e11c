"""The 1 M / 100 M one-thread stepping against the kernel that issue 19 timed, in one process.

Issue 19 set its bar (>= 250 steps/s on one thread at 1 M neurons / 100 M synapses) on a host where
the kernel of the day (commit be32ac1: a dense ``[delay x neuron]`` ring, no tiles) stepped at
130-159 steps/s. Hosts differ by 2x and more per thread, so an absolute figure from another host
judges the host, not the code. This script runs that kernel and this tree's on one compiled network
(this tree's compiler, ``bench_scale.py``'s circuit), interleaved on one thread, best CPU time per
step, and prints the ratio and what it makes of the issue's 130-159 steps/s:

    NUMBA_NUM_THREADS=1 taskset -c 1 python bench/scale_against_filed.py            # ~1.5 min, 9.1 GB
    python bench/scale_against_filed.py --neurons 100000 --synapses 10000000       # seconds

The filed kernel is read from git (``git archive``, once, into the temporary folder), so this runs in a
clone with history. Its
Poisson stream predates the December 2026 change (README, "Poisson stream"), so the two runs have
different spikes at the same mean rate; both rates are printed.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numba
import numpy as np
import scipy.sparse as sp

FILED_COMMIT = "be32ac1"
"""The tree issue 19 was filed against (its kernel: the dense delay ring)."""
FILED_STEPS_PER_S = (130.0, 159.0)
"""One-thread steps/s the issue measured for that kernel at 1 M / 100 M on its host."""
BAR_STEPS_PER_S = 250.0
SEED = 208000
"""Selection seed of the scale network (the one ``speed_ab.py scale`` uses)."""


def filed_package(root: Path):
    """The filed commit's ``toolkit/``, extracted once to a folder that outlives the run and imported as
    ``encephagen_base`` by ``speed_ab.py``'s loader (so numba's cache of it survives between runs)."""
    from speed_ab import packages_to_compare

    checkout = Path(tempfile.gettempdir()) / f"encephagen-filed-{FILED_COMMIT}"
    if not (checkout / "toolkit").is_dir():
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", FILED_COMMIT, "toolkit"], capture_output=True, check=False
        )
        if archive.returncode != 0:
            raise SystemExit(
                f"git archive {FILED_COMMIT} failed in {root}: {archive.stderr.decode().strip()} (needs a clone with history)"
            )
        with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
            # this repository's own archive; the "data" filter (Python 3.10.12 / 3.11.4 on) where there is one
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(checkout, **safe)
    package = packages_to_compare(checkout)["base"]
    return importlib.import_module(f"{package}.compile"), importlib.import_module(f"{package}.simulate")


def as_filed_network(network, filed_compile):
    """This tree's compiled network in the filed commit's type (its weights were a scipy CSR matrix)."""
    w = network.weights
    return filed_compile.CompiledNetwork(
        circuit=network.circuit,
        dt=network.dt,
        weights=sp.csr_matrix((w.data, w.indices, w.indptr), shape=w.shape),
        delays=network.delays,
        neuron=network.neuron,
        population_names=network.population_names,
        population_slices=network.population_slices,
        population_index=network.population_index,
        projection_synapses=network.projection_synapses,
        readouts={},
        parameter_map={},
        _constant_weights=network._constant_weights,
        _constant_neuron=network._constant_neuron,
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=1_000_000)
    parser.add_argument("--synapses", type=int, default=100_000_000)
    parser.add_argument("--warmup", type=int, default=600, help="Steps before timing (the network becomes active).")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "bench"))
    from bench_scale import scale_circuit

    from encephagen.compiler import compile_circuit
    from encephagen.simulation import Simulator

    numba.set_num_threads(1)
    network = compile_circuit(scale_circuit(args.neurons, args.synapses, 100, SEED))
    filed_compile, filed_simulate = filed_package(root)
    simulators = {
        "filed": filed_simulate.Simulator(as_filed_network(network, filed_compile), seeds=SEED, bin_ms=1.0),
        "this": Simulator(network, seeds=SEED, bin_ms=1.0),
    }
    for simulator in simulators.values():
        simulator.advance(args.warmup)
    best = dict.fromkeys(simulators, np.inf)
    for _ in range(args.reps):
        for label, simulator in simulators.items():
            cpu = time.process_time()
            simulator.advance(args.steps)
            best[label] = min(best[label], (time.process_time() - cpu) / args.steps)
    seconds = (args.warmup + args.reps * args.steps) * network.dt / 1000.0
    print(
        f"{network.n_neurons:,} neurons, {network.n_synapses:,} synapses (selection seed {SEED}), one thread; "
        f"{args.warmup} warm-up steps, then best of {args.reps} x {args.steps}"
    )
    for label, simulator in simulators.items():
        rate = simulator.population_counts().sum() / network.n_neurons / seconds
        name = f"filed kernel ({FILED_COMMIT})" if label == "filed" else "this tree"
        print(
            f"  {name:22s} {best[label] * 1e3:7.3f} ms CPU per step ({1 / best[label]:6.1f} steps per CPU s), {rate:.2f} Hz"
        )
    ratio = best["filed"] / best["this"]
    print(f"  this tree steps {ratio:.2f}x as fast as the filed kernel")
    if (args.neurons, args.synapses) == (1_000_000, 100_000_000):  # the size the figures are for
        low, high = (ratio * figure for figure in FILED_STEPS_PER_S)
        print(
            f"  on the issue's host (filed kernel {FILED_STEPS_PER_S[0]:.0f}-{FILED_STEPS_PER_S[1]:.0f} steps/s) that is "
            f"{low:.0f}-{high:.0f} steps/s against the bar's {BAR_STEPS_PER_S:.0f} (needs {BAR_STEPS_PER_S / FILED_STEPS_PER_S[0]:.2f}x)"
        )
    return {"ratio": ratio, "filed_ms": best["filed"] * 1e3, "this_ms": best["this"] * 1e3}


if __name__ == "__main__":
    main()
