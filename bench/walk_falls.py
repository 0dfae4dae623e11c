"""How a walker2d circuit falls: each fall's step, its rhythm before it, and a picture of its last seconds.

Falls are rare (1-3 % of 0.9.0's episodes), so a fall count says little about *why*. This records every
lane on selection seeds (:mod:`encephagen.seeds`; nothing here touches a reported figure), keeps the
trajectories of the falls only (memory stays bounded), and prints per fall: when it fell, the duration
of its last whole flexor bursts (body steps, either side), how far back its
leg had got when each began (the stance's reach: the hip angle, rad, at its most negative from the burst's
onset) and its mean torso pitch over the window before the fall, beside the same figures for the full
episodes (body steps 500-760). A fall before ``--start-steps`` is
a start-up fall; for those the body step at which the episode's first flexor burst ended is printed
instead (0.9.0's start-up falls end it late: docs/notes/walk.md, session 20).

Walker2d's hip angle is torso-relative and runs from 0 (the thigh in line with the torso, as far forward
as it goes) to negative (the thigh behind): a flexor burst swings the leg toward 0, and the forward
swing in the world comes from the torso's backward lean.

    python bench/walk_falls.py walker2d_cpg --seed 233000 --episodes 300 --plot falls.png
    python bench/walk_falls.py walker2d_cpg --seed 232400 --episodes 120 --perturb delay=1
"""

from __future__ import annotations

import argparse

import numpy as np

from encephagen.body.runs import bind
from encephagen.gait import detect_bursts
from encephagen.plots import new_figure, save_figure
from encephagen.seeds import SELECTION, SeedRangeError

WINDOW = 260
"""Body steps looked at before a fall (about two strides of 0.9.0), and the full episodes' window length."""
FULL_FROM = 500
"""Where the full episodes' window starts: past the start-up, before the episode's end."""
CHUNK = 30
"""Lanes per batched run (only the falls' trajectories are kept between chunks)."""
HIP_QPOS = (6, 3)
"""Walker2d's left and right hip angles in ``qpos`` (the order of ``--flexors``: left leg's, then right's)."""


def describe(trajectory: dict[str, np.ndarray], flexors: list[int], fell: bool, body_dt_ms: float) -> dict:
    """Whole flexor bursts in the window (:func:`encephagen.gait.detect_bursts`: duration, how far back the hip
    was when the swing began), the window's mean torso pitch, and when the episode's first burst ended (a
    silent bin put before each trace, so that the burst the warm-up left under way has an onset too)."""
    rates, qpos = trajectory["population_rates_hz"], trajectory["qpos"]
    steps = len(rates)
    lo, hi = (max(0, steps - WINDOW), steps) if fell else (FULL_FROM, FULL_FROM + WINDOW)
    found = sorted(
        (max(0, int(first) - 1), int(end) - 1, float(qpos[max(0, first - 1) : end, hip].min()))
        for column, hip in zip(flexors, HIP_QPOS)
        for first, end in zip(*detect_bursts(np.r_[0.0, rates[:, column]], body_dt_ms))
    )
    window = [(end - first, reach) for first, end, reach in found if lo <= first < hi]
    return {
        "steps": steps,
        "bursts": [duration for duration, _ in window],
        "reach": [round(reach, 2) for _, reach in window],
        "pitch": float(qpos[lo:hi, 2].mean()),
        "first_end": min((end for _, end, _ in found), default=steps),
    }


def plot(path: str, falls: dict[int, dict], reference: dict | None, names: dict[int, str]) -> None:
    """One panel per fall (its last WINDOW steps), and a full episode's first WINDOW steps last."""
    panels = [(seed, t, True) for seed, t in falls.items()] + ([("full", reference, False)] if reference else [])
    fig = new_figure(figsize=(12, 2.6 * len(panels)))
    axes = fig.subplots(len(panels), 1, squeeze=False)
    for ax, (seed, t, fell) in zip(axes[:, 0], panels):
        steps = len(t["action"])
        window = np.arange(max(0, steps - WINDOW), steps) if fell else np.arange(0, min(WINDOW, steps))
        for column, name in names.items():
            ax.plot(window, t["population_rates_hz"][window, column] / 1000, lw=1, label=f"{name} (kHz)")
        twin = ax.twinx()
        q = t["qpos"][window]
        twin.plot(window, q[:, 2], "k", lw=2, label="torso pitch (rad)")
        twin.plot(window, q[:, 3], "k:", lw=1, label="right hip")
        twin.plot(window, q[:, 6], "k--", lw=1, label="left hip")
        twin.axhline(0.0, color="grey", lw=0.5)
        twin.set_ylim(-1.0, 0.2)  # every panel on Walker2d's fall range
        ax.set_title(
            f"seed {seed}: fell at body step {steps}" if fell else "a full episode: its first steps", fontsize=9
        )
        ax.set_xlabel("body step")
    axes[0, 0].legend(loc="upper left", fontsize=7)
    twin.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("circuit", help="circuit name or .json file with a walker2d binding beside it")
    parser.add_argument("--seed", type=int, required=True, help="first selection seed")
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--perturb", action="append", default=[], help="KIND[=SIZE], as for `encephagen run`")
    parser.add_argument(
        "--flexors", default="L_RG_F,R_RG_F", help="the flexor half-centre populations of the left leg, then the right"
    )
    parser.add_argument("--start-steps", type=int, default=350, help="a fall before this body step is a start-up fall")
    parser.add_argument("--plot", help="PNG of every fall's last seconds")
    args = parser.parse_args()
    loop = bind(args.circuit, "walker2d")
    flexor_names = args.flexors.split(",")
    unknown = [name for name in flexor_names if name not in loop.network.population_names]
    if len(flexor_names) != 2 or unknown:
        missing = f"has no population {unknown[0]!r}" if unknown else f"got --flexors {args.flexors!r}"
        raise SystemExit(f"error: {args.circuit} {missing}; --flexors names two of its populations, left leg's first")
    flexors = [loop.network.population_names.index(name) for name in flexor_names]
    try:
        seeds = SELECTION.consecutive(args.seed, args.episodes)
    except SeedRangeError as error:
        raise SystemExit(
            f"error: {error}; --seed takes selection seeds only (nothing here may touch a report)"
        ) from None
    falls: dict[int, dict] = {}
    fulls: list[dict] = []
    reference = None
    for first in range(0, len(seeds), CHUNK):
        for episode in loop.run(seeds[first : first + CHUNK], perturbations=args.perturb, record=True):
            fell = not episode.metrics["full"]
            summary = describe(episode.trajectory, flexors, fell, loop.body_dt_ms)
            if fell:
                falls[episode.seed] = {"summary": summary, "trajectory": episode.trajectory}
            else:
                fulls.append(summary)
                reference = reference or episode.trajectory
    condition = ";".join(args.perturb) or "none"
    print(f"{condition}: seeds {seeds[0]}-{seeds[-1]}: {len(fulls)}/{len(seeds)} full, {len(falls)} falls")
    for seed, fall in falls.items():
        s = fall["summary"]
        kind = "start-up" if s["steps"] < args.start_steps else "late"
        detail = (
            f"first burst ended at step {s['first_end']}"
            if kind == "start-up"
            else f"last bursts {s['bursts'][-4:]} steps, legs back to {s['reach'][-4:]} rad"
        )
        print(f"  {seed}: {kind:8s} fall at step {s['steps']:4d}, mean pitch {s['pitch']:+.2f} rad, {detail}")
    if fulls:
        durations = [d for s in fulls for d in s["bursts"]]
        reach = [r for s in fulls for r in s["reach"]]
        ends = [s["first_end"] for s in fulls]
        pitch = np.mean([s["pitch"] for s in fulls])
        print(
            f"  full episodes (steps {FULL_FROM}-{FULL_FROM + WINDOW}): flexor bursts {np.mean(durations):.1f} +- "
            f"{np.std(durations):.1f} steps, legs back to {np.mean(reach):+.2f} +- {np.std(reach):.2f} rad, "
            f"mean pitch {pitch:+.2f} rad; first burst ended at step {np.percentile(ends, 50):.0f} "
            f"(5-95 %: {np.percentile(ends, 5):.0f}-{np.percentile(ends, 95):.0f})"
        )
    if args.plot:
        plot(
            args.plot, {seed: f["trajectory"] for seed, f in falls.items()}, reference, dict(zip(flexors, flexor_names))
        )
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
