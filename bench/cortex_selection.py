"""Choose the cortex's global coupling, BOLD observable and inhibitory control on the calibration subjects only.

Every setting of a grid (global coupling x, optionally, a feedback-inhibition-control target
rate) is simulated on calibration seeds, and each run's BOLD FC -- for every observable that
can drive the haemodynamics -- is scored against the group FC of the calibration subjects,
loaded with ``calibration_only=True`` (``encephagen.fc.screen_cortex``): the held-out
subjects, on which ``encephagen fc`` reports, are never read. The pick is the setting with the
highest BOLD-FC r averaged over its seeds among those that keep every region's excitatory
rate inside the ``fc`` objective's band (1-30 Hz). The screen that chose hcp_cortex 0.3.0:

    NUMBA_NUM_THREADS=1 python bench/cortex_selection.py --couplings 1.8,1.9,2.0,2.05,2.1,2.2 \\
        --seeds 1000101,1000102 --duration-s 120 --out stage1.json
    NUMBA_NUM_THREADS=1 python bench/cortex_selection.py --couplings 2.0,2.2 --fic-targets 4 \\
        --seeds 1000101,1000102 --duration-s 120 --out stage1_fic.json
    NUMBA_NUM_THREADS=1 python bench/cortex_selection.py --couplings 2.0 \\
        --seeds 1000103,1000104,1000105 --duration-s 120 --out stage2.json
    python bench/cortex_selection.py --pick stage1.json stage1_fic.json stage2.json

(``--pick`` merges earlier ``--out`` files, prints the table and the pick; the runs and the
table are kept in docs/notes/cortex_selection/.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

FIC_SEED = 1_000_001
"""Calibration seed of the feedback-inhibition-control runs (they read no FC at all)."""


def screen(args) -> list[dict]:
    from encephagen.fc import screen_cortex
    from encephagen.fic import feedback_inhibition_control
    from encephagen.locations import resolve_circuit_path
    from encephagen.storage import load_circuit

    path = resolve_circuit_path(args.circuit)
    base = load_circuit(path)
    couplings = [float(c) for c in args.couplings.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    rows: list[dict] = []
    started = time.perf_counter()

    def note(text: str) -> None:
        load = os.getloadavg()[0]
        print(
            f"[{time.perf_counter() - started:5.0f} s wall, {time.process_time():5.0f} s CPU, load {load:.1f}] {text}",
            flush=True,
        )

    def record(runs, extra: dict) -> None:
        """Print each run and keep the --out file current, so an interrupted grid keeps what it measured."""
        for run in runs:
            row = {**run.as_dict(), **extra}
            rows.append(row)
            note(
                f"coupling {row['values']['coupling']:g} {_fic_label(row)} seed {row['seed']} {row['observable']:<15} "
                f"BOLD-FC r {row['bold_fc_r']:.3f} (mean FC {row['bold_fc_mean']:.3f}), 100-ms FC r {row['rate_fc_r']:.3f}, "
                f"E rates {row['min_rate_hz']:.2f}-{row['max_rate_hz']:.2f} Hz, FCD KS {_number(row.get('fcd_ks'))}"
            )
        if args.out:
            args.out.write_text(json.dumps({"argv": sys.argv[1:], "runs": rows}, indent=1) + "\n")

    if not args.fic_targets:
        note(f"{base.name} {base.version}: couplings {couplings} x seeds {seeds}, {args.duration_s:g} s each")
        runs = screen_cortex(
            base, [{"coupling": c} for c in couplings], seeds,
            duration_s=args.duration_s, dt=args.dt, base_dir=path.parent, lanes=args.lanes,
        )  # fmt: skip
        record(runs, {"fic_target_hz": None})
        return rows
    for target in [float(t) for t in args.fic_targets.split(",")]:
        for coupling in couplings:
            circuit = base.with_parameter_values({"coupling": coupling})
            fic = feedback_inhibition_control(
                circuit, target_hz=target, duration_s=4.0, settle_s=1.0, dt=args.dt, seeds=[FIC_SEED],
                max_iterations=8, tolerance=0.2, base_dir=path.parent,
            )  # fmt: skip
            final = fic.steps[-1]
            note(
                f"coupling {coupling:g} FIC {target:g} Hz: {'converged' if fic.converged else 'NOT converged'} in {len(fic.steps)} runs, "
                f"E rates {final.rates_hz.min():.2f}-{final.rates_hz.max():.2f} Hz"
            )
            runs = screen_cortex(
                fic.circuit, [{"coupling": coupling}], seeds,
                duration_s=args.duration_s, dt=args.dt, base_dir=path.parent, lanes=args.lanes,
            )  # fmt: skip
            record(runs, {"fic_target_hz": target, "fic_converged": fic.converged, "fic_runs": len(fic.steps)})
    return rows


def _mean(values: list) -> float | None:
    """Mean of the values, or None when a run did not measure one (older --out files, short runs)."""
    return None if any(v is None for v in values) else float(np.mean(values))


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _fic_label(row: dict) -> str:
    return "no FIC" if row.get("fic_target_hz") is None else f"FIC {row['fic_target_hz']:g} Hz"


def pick(rows: list[dict]) -> dict:
    """Mean BOLD-FC r over seeds per (coupling, FIC target, observable); the best of those inside the rate band.

    The band is the ``fc`` objective's (``encephagen.fc.FC_TARGETS``: every region's excitatory
    rate within 1-30 Hz, the asynchronous-irregular range), so that no FC is bought with
    saturated or silent regions.
    """
    from encephagen.fc import FC_TARGETS

    low, high = FC_TARGETS["min_rate_hz"], FC_TARGETS["max_rate_hz"]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row["values"]["coupling"], row.get("fic_target_hz"), row["observable"])
        groups.setdefault(key, []).append(row)
    table = []
    for (coupling, target, observable), group in sorted(
        groups.items(), key=lambda kv: (kv[0][1] or 0, kv[0][0], kv[0][2])
    ):
        r = [g["bold_fc_r"] for g in group]
        table.append(
            {
                "coupling": coupling, "fic_target_hz": target, "observable": observable, "seeds": [g["seed"] for g in group],
                "bold_fc_r_mean": float(np.mean(r)), "bold_fc_r": r,
                "rate_fc_r_mean": float(np.mean([g["rate_fc_r"] for g in group])),
                "bold_fc_mean": float(np.mean([g["bold_fc_mean"] for g in group])),
                "min_rate_hz": float(np.min([g["min_rate_hz"] for g in group])),
                "max_rate_hz": float(np.max([g["max_rate_hz"] for g in group])),
                "fcd_ks_mean": _mean([g.get("fcd_ks") for g in group]),
                "in_rate_band": bool(
                    min(g["min_rate_hz"] for g in group) >= low and max(g["max_rate_hz"] for g in group) <= high
                ),
            }
        )  # fmt: skip
    for row in table:
        fic = "no FIC" if row["fic_target_hz"] is None else f"FIC {row['fic_target_hz']:g} Hz"
        print(
            f"coupling {row['coupling']:<5g} {fic:<11} {row['observable']:<15} BOLD-FC r {row['bold_fc_r_mean']:.3f} "
            f"(seeds {', '.join(f'{r:.3f}' for r in row['bold_fc_r'])}; mean FC {row['bold_fc_mean']:.3f}), "
            f"100-ms FC r {row['rate_fc_r_mean']:.3f}, E rates {row['min_rate_hz']:.2f}-{row['max_rate_hz']:.2f} Hz"
            + ("" if row["in_rate_band"] else f" (outside {low:g}-{high:g} Hz)")
            + f", FCD KS {_number(row['fcd_ks_mean'])}"
        )
    eligible = [row for row in table if row["in_rate_band"]]
    if not eligible:
        print(f"pick: none; no setting keeps every region within {low:g}-{high:g} Hz")
        return {"table": table, "pick": None}
    best = max(eligible, key=lambda row: row["bold_fc_r_mean"])
    print(f"pick: {json.dumps(best)}")
    return {"table": table, "pick": best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--circuit", default="hcp_cortex")
    parser.add_argument(
        "--couplings", default="1.8,1.9,2.0,2.05,2.1,2.2", help="Global couplings (mV), comma-separated."
    )
    parser.add_argument("--fic-targets", default="", help="FIC target rates (Hz); empty: no FIC.")
    parser.add_argument("--seeds", default="1000101,1000102", help="Calibration seeds (>= 1,000,000).")
    parser.add_argument("--duration-s", type=float, default=120.0)
    parser.add_argument("--dt", type=float, default=0.5)
    parser.add_argument("--lanes", type=int, default=16)
    parser.add_argument("--out", type=Path, help="Write every run's figures here (JSON).")
    parser.add_argument("--pick", nargs="+", type=Path, help="Merge earlier --out files and print the pick.")
    args = parser.parse_args()
    if args.pick:
        rows = [row for path in args.pick for row in json.loads(path.read_text())["runs"]]
        pick(rows)
        return
    rows = screen(args)
    summary = pick(rows)
    if args.out:
        args.out.write_text(json.dumps({"argv": sys.argv[1:], "runs": rows, **summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
