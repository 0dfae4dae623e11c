"""Run a SONATA export in NEST on every MPI rank and gather the spikes: the scale-out recipe.

::

    encephagen export hcp_cortex cortex --format sonata
    mpirun -np 2 PREFIX/bin/python -m encephagen.interop.nest_mpi cortex --duration-ms 1000 --out spikes.npz

``PREFIX`` is a NEST built with MPI and HDF5 (``MPI=ON bench/build_nest_hdf5.sh PREFIX``, which
also builds mpi4py against the same MPI). Every rank calls
:func:`encephagen.interop.sonata.run_nest`; rank 0 prints one line per rank (what it built,
its spikes before the gather, its times and peak memory), one line for the gathered run, and
writes ``--out`` (read it with ``NestRun.load``). Without ``mpirun`` the same command runs
in one process.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ..errors import EncephagenError
from .sonata import run_nest


def _rank() -> int:
    """This process's rank from the launcher's environment (before NEST has started MPI)."""
    for name in ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"):
        if os.environ.get(name):
            return int(os.environ[name])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m encephagen.interop.nest_mpi",
        description="Simulate a SONATA export of encephagen in NEST, on every MPI rank.",
    )
    parser.add_argument("directory", help="a directory written by `encephagen export CIRCUIT DIR --format sonata`")
    parser.add_argument(
        "--duration-ms", type=float, default=None, help="biological time [default: run.tstop of the export]"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the initial potentials and of NEST's generators [default: 0]"
    )
    parser.add_argument("--threads", type=int, default=1, help="NEST threads per rank [default: 1]")
    parser.add_argument(
        "--builder", choices=("auto", "sonata", "python"), default="auto", help="see run_nest [default: auto]"
    )
    parser.add_argument("--out", default=None, help="write the gathered run here (.npz; rank 0 writes it)")
    args = parser.parse_args(argv)
    rank = _rank()
    if not os.path.isdir(args.directory):
        print(f"error: {args.directory}: no such directory; give a SONATA export", file=sys.stderr)
        return 1
    try:
        run = run_nest(
            args.directory,
            duration_ms=args.duration_ms,
            seed=args.seed,
            threads=args.threads,
            builder=args.builder,
            isolate=False,
        )
    except (EncephagenError, OSError) as exc:
        print(f"error: rank {rank}: {exc}", file=sys.stderr)
        return 1
    if rank != 0:
        return 0
    for report in run.ranks:
        print(report.line())
    rates = run.population_rates_hz()
    neurons = int(run.population_sizes.sum())
    print(
        f"gathered {run.spike_times_ms.size} spikes of {neurons} neurons from {len(run.ranks)} rank(s) "
        f"({', '.join(str(r.local_spikes) for r in run.ranks)}), {run.duration_ms:g} ms by {run.builder}: "
        f"{run.spike_times_ms.size / neurons / run.duration_ms * 1000:.2f} Hz per neuron, "
        f"populations {np.min(rates):.2f}-{np.max(rates):.2f} Hz"
    )
    if args.out is not None:
        run.save(args.out)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
