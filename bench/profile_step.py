"""Where a step of the scale network goes, by kernel function (Linux ``perf``, one thread).

numba's compiled code lives in anonymous memory, so ``perf`` cannot name it. This script compiles the
kernels in its own process (a fresh ``NUMBA_CACHE_DIR``: code loaded from the cache keeps no symbol
table), writes ``/tmp/perf-PID.map`` (the address of every function numba compiled, which ``perf
report`` reads for JIT code), warms the network up, then samples ``--steps`` steps with ``perf record``
and prints each function's share of the samples. Inlined functions count in their caller's share.

    NUMBA_NUM_THREADS=1 python bench/profile_step.py                    # 1 M neurons / 100 M synapses
    python bench/profile_step.py --neurons 100000 --synapses 10000000 --steps 2000

Cold compile of the kernels takes a few minutes; memory is bench_scale.py's (~8 GB at 1 M / 100 M).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 217001
"""Selection seed of the profiled network and lane (encephagen.seeds: session 11's kernel block)."""


def _readable(mangled: str) -> str:
    """``_ZN10encephagen7_kernel13_queue_spikesB...`` -> ``encephagen._kernel._queue_spikes``."""
    rest, parts = mangled[3:] if mangled.startswith("_ZN") else "", []
    while rest[:1].isdigit():
        digits = re.match(r"\d+", rest).group(0)  # type: ignore[union-attr]
        parts.append(rest[len(digits) : len(digits) + int(digits)])
        rest = rest[len(digits) + int(digits) :]
    return ".".join(parts) or mangled[:80]


def write_perf_map(modules) -> int:
    """/tmp/perf-PID.map for every function numba compiled in this process, in ``modules``."""
    entries: dict[int, str] = {}
    for module in modules:
        for value in vars(module).values():
            for compiled in getattr(value, "overloads", {}).values():
                library = compiled.library
                final = getattr(library, "_final_module", None)
                for function in final.functions if final is not None else ():
                    if function.is_declaration:
                        continue
                    address = library.get_pointer_to_function(function.name)
                    if address:
                        entries[address] = _readable(function.name)
    addresses = sorted(entries)
    with open(f"/tmp/perf-{os.getpid()}.map", "w") as out:
        for here, after in zip(addresses, addresses[1:] + [addresses[-1] + 0x10000]):
            out.write(f"{here:x} {min(after - here, 0x100000):x} {entries[here]}\n")
    return len(addresses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neurons", type=int, default=1_000_000)
    parser.add_argument("--synapses", type=int, default=100_000_000)
    parser.add_argument("--warmup", type=int, default=600)
    parser.add_argument("--steps", type=int, default=800)
    args = parser.parse_args()
    if shutil.which("perf") is None:
        raise SystemExit("needs Linux perf on PATH (apt-get install linux-perf)")
    cache = tempfile.mkdtemp(prefix="profile_step_numba_")
    os.environ["NUMBA_CACHE_DIR"] = cache  # before numba is imported: compile here, keep the symbols
    import numba

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_scale import scale_circuit

    from encephagen import _kernel
    from encephagen.compiler import compile_circuit
    from encephagen.simulation import Simulator

    numba.set_num_threads(1)
    network = compile_circuit(scale_circuit(args.neurons, args.synapses, 100, SEED))
    simulator = Simulator(network, seeds=SEED, record_spikes=False, bin_ms=1.0)
    simulator.advance(args.warmup)
    mapped = write_perf_map([_kernel])
    data = Path(cache) / "perf.data"
    perf = subprocess.Popen(
        ["perf", "record", "-F", "1999", "-p", str(os.getpid()), "-o", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # perf attached
    cpu = time.process_time()
    simulator.advance(args.steps)
    per_step = (time.process_time() - cpu) / args.steps
    perf.send_signal(2)
    perf.wait()
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--sort", "sym", "--stdio"], capture_output=True, text=True, check=True
    ).stdout
    rate = simulator.population_counts().sum() / network.n_neurons / ((args.warmup + args.steps) * network.dt / 1000)
    print(
        f"{network.n_neurons:,} neurons, {network.n_synapses:,} synapses, selection seed {SEED}, {rate:.2f} Hz: "
        f"{per_step * 1e3:.2f} ms CPU per step over {args.steps} steps after {args.warmup}; {mapped} functions mapped; "
        f"load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
    )
    for line in report.splitlines():
        share = re.match(r"\s*([\d.]+)%\s+\[[.k]\]\s+(.*)", line)
        if share and float(share.group(1)) >= 0.2:
            print(f"  {float(share.group(1)):5.1f} %  {share.group(2).strip()}")
    os.remove(f"/tmp/perf-{os.getpid()}.map")
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
