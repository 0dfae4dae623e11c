"""Why ``walker2d_cpg`` falls on a floor 1.5x as grippy: contact by contact, beside the normal floor.

Runs the shipped circuit on a few selection seeds with ``--perturb friction=1.5`` and without,
records each episode, and replays every recorded body step in MuJoCo (``mj_forward`` at the
recorded state and action) to list which geoms touch the floor (foot, shin = ``leg``, thigh),
their normal and tangential contact forces and how much of the friction cone they use, the
foot's forward slip speed, the joint angles against their limits, the commands, and the
flexor / extensor half-centre rates of each leg. Prints one summary table per condition and
draws one figure (a column per episode, normal floor beside grippy floor).

Selection seeds only (:mod:`encephagen.seeds`), so nothing here touches a reported figure.

    python bench/walk_friction_contacts.py --seed 205000 --episodes 3 --plot docs/notes/walk_friction_contacts.png
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from encephagen.seeds import SELECTION

SIDES = {
    "right": ("thigh_geom", "leg_geom", "foot_geom"),
    "left": ("thigh_left_geom", "leg_left_geom", "foot_left_geom"),
}
JOINTS = ("hip", "knee", "ankle")


@dataclass
class Replay:
    """Per-body-step contact and neural record of one episode (arrays of length T)."""

    seed: int
    condition: str
    steps: int
    full: bool
    x: np.ndarray
    pitch: np.ndarray  # torso pitch (rad)
    height: np.ndarray  # torso height (m)
    angles: dict[str, np.ndarray]  # "right_hip" ... (rad)
    actions: dict[str, np.ndarray]
    normal: dict[str, np.ndarray]  # "right_foot", "right_leg", "right_thigh" (N)
    cone: dict[str, np.ndarray]  # foot: |tangential| / (mu * normal), 0 without contact
    slip: dict[str, np.ndarray]  # foot: forward speed of the foot geom while in contact (m/s), NaN otherwise
    foot_ahead: dict[str, np.ndarray]  # foot x minus torso x (m)
    flexor: dict[str, np.ndarray]  # RG_F rate (Hz)
    extensor: dict[str, np.ndarray]  # RG_E rate (Hz)


def sine_walker_episode(seed: int, perturbations: list[str]) -> SimpleNamespace:
    """The tuned sine_pitch walker's episode on the same draws, recorded like a circuit episode (no rates)."""
    from encephagen.body.adapters import Walker2d
    from encephagen.body.baselines import reference_controllers
    from encephagen.body.perturbations import perturbed

    body = perturbed(Walker2d(), perturbations)
    controller = reference_controllers(body)["sine_pitch"]
    observation, _ = body.reset(seed)
    qpos, qvel, actions = [body.data.qpos.copy()], [body.data.qvel.copy()], []
    while True:
        action = np.asarray(controller(len(actions), observation), dtype=float)
        result = body.step(action)
        observation = result.observation
        qpos.append(body.data.qpos.copy())
        qvel.append(body.data.qvel.copy())
        actions.append(action)
        if result.terminated or result.truncated:
            break
    trajectory = {"qpos": np.array(qpos), "qvel": np.array(qvel), "action": np.array(actions)}
    return SimpleNamespace(seed=seed, trajectory=trajectory, metrics={"full": float(not result.terminated)})


def replay(loop, episode, perturbations: list[str], condition: str) -> Replay:
    """Replays a recorded episode step by step and reads its contacts."""
    import mujoco

    from encephagen.body.binding import make_bound_body
    from encephagen.body.perturbations import perturbed

    body = perturbed(make_bound_body(loop.binding, loop.base_dir), perturbations)
    body.reset(episode.seed)  # applies the floor's friction scale
    model, data = body.model, body.data
    geom = {mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, g): g for g in range(model.ngeom)}
    floor = geom["floor"]
    trajectory = episode.trajectory
    steps = len(trajectory["action"])
    names = list(loop.network.population_names)
    rates = trajectory.get("population_rates_hz")  # None for the sine walker
    sides = {}
    for side, parts in SIDES.items():
        sides[side] = {name.split("_")[0]: geom[name] for name in parts}
    normal = {f"{s}_{p}": np.zeros(steps) for s in SIDES for p in ("thigh", "leg", "foot")}
    cone = {f"{s}_foot": np.zeros(steps) for s in SIDES}
    slip = {f"{s}_foot": np.full(steps, np.nan) for s in SIDES}
    ahead = {f"{s}_foot": np.zeros(steps) for s in SIDES}
    force, velocity = np.zeros(6), np.zeros(6)
    for t in range(steps):
        data.qpos[:] = trajectory["qpos"][t + 1]
        data.qvel[:] = trajectory["qvel"][t + 1]
        data.ctrl[:] = trajectory["action"][t]
        mujoco.mj_forward(model, data)
        for c in range(data.ncon):
            g1, g2 = (int(g) for g in data.contact.geom[c])
            if floor not in (g1, g2):
                continue
            other = g2 if g1 == floor else g1
            mujoco.mj_contactForce(model, data, c, force)
            for side, parts in sides.items():
                for part, g in parts.items():
                    if g == other:
                        normal[f"{side}_{part}"][t] += force[0]
                        if part == "foot":
                            mu = max(model.geom_friction[floor, 0], model.geom_friction[g, 0])
                            cone[f"{side}_foot"][t] = abs(force[1]) / max(mu * force[0], 1e-9)
        for side, parts in sides.items():
            g = parts["foot"]
            ahead[f"{side}_foot"][t] = data.geom_xpos[g, 0] - data.qpos[0]
            if normal[f"{side}_foot"][t] > 0:
                mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_GEOM, g, velocity, 0)
                slip[f"{side}_foot"][t] = velocity[3]
    angles, actions = {}, {}
    for i, side in enumerate(("right", "left")):
        for j, joint in enumerate(JOINTS):
            angles[f"{side}_{joint}"] = trajectory["qpos"][1:, 3 + 3 * i + j]
            actions[f"{side}_{joint}"] = trajectory["action"][:, 3 * i + j]
    prefix = {"right": "R", "left": "L"}
    if rates is None:  # no half-centres: every step counts as 'extensor phase'
        flexor = extensor = {s: np.zeros(steps) for s in SIDES}
    else:
        flexor = {s: rates[:, names.index(f"{prefix[s]}_RG_F")] for s in SIDES}
        extensor = {s: rates[:, names.index(f"{prefix[s]}_RG_E")] for s in SIDES}
    return Replay(
        episode.seed,
        condition,
        steps,
        bool(episode.metrics["full"]),
        trajectory["qpos"][1:, 0],
        trajectory["qpos"][1:, 2],
        trajectory["qpos"][1:, 1],
        angles,
        actions,
        normal,
        cone,
        slip,
        ahead,
        flexor,
        extensor,
    )


def summary(replays: list[Replay], last: int) -> dict[str, float]:
    """Means over every leg-step of the first ``last`` body steps (or to the fall), by half-centre phase."""
    rows: dict[str, list[float]] = {}

    def add(key: str, values: np.ndarray) -> None:
        rows.setdefault(key, []).extend(np.asarray(values, float).tolist())

    for r in replays:
        n = min(r.steps, last)
        for side in SIDES:
            swing = r.flexor[side][:n] > r.extensor[side][:n]
            foot = r.normal[f"{side}_foot"][:n] > 0
            add("flexor phase (share of leg-steps)", swing)
            add("foot contact in flexor phase", foot[swing])
            add("foot contact in extensor phase", foot[~swing])
            add("shin contact (any phase)", r.normal[f"{side}_leg"][:n] > 0)
            add("thigh contact (any phase)", r.normal[f"{side}_thigh"][:n] > 0)
            add("foot normal N, flexor-phase contact", r.normal[f"{side}_foot"][:n][swing & foot])
            add("friction cone used, flexor-phase contact", r.cone[f"{side}_foot"][:n][swing & foot])
            add(
                "foot sticks (cone < 0.99, |slip| < 0.05 m/s) in flexor phase",
                (
                    (r.cone[f"{side}_foot"][:n] < 0.99)
                    & (np.abs(np.nan_to_num(r.slip[f"{side}_foot"][:n], nan=9)) < 0.05)
                )[swing & foot],
            )
            add("foot slides (|slip| >= 0.05 m/s) in contact", np.abs(r.slip[f"{side}_foot"][:n][foot]) >= 0.05)
            add("ankle at its limit (|angle| > 0.75 rad)", np.abs(r.angles[f"{side}_ankle"][:n]) > 0.75)
            add("knee bent > 0.3 rad in extensor phase", (r.angles[f"{side}_knee"][:n] < -0.3)[~swing])
            add("foot ahead of torso at flexor-phase contact (m)", r.foot_ahead[f"{side}_foot"][:n][swing & foot])
            touch = np.flatnonzero(np.diff(foot.astype(int)) == 1) + 1  # touchdowns
            lift = np.flatnonzero(np.diff(foot.astype(int)) == -1) + 1  # lift-offs
            for t in touch:
                before = lift[lift < t]
                if len(before):
                    add("time in the air before a touchdown (ms)", [(t - before[-1]) * 8.0])
                add("knee angle at touchdown (rad, 0 straight)", [r.angles[f"{side}_knee"][t]])
                add("shin on the floor within 100 ms of a touchdown", [r.normal[f"{side}_leg"][t : t + 13].max() > 0])
        both_air = (r.normal["right_foot"][:n] == 0) & (r.normal["left_foot"][:n] == 0)
        add("torso pitch mean (rad, + forward)", r.pitch[:n])
        add("torso pitch sd over the episode (rad)", [r.pitch[:n].std()])
        add("both feet off the floor (share of steps)", both_air)
        add("forward speed over the first steps (m/s)", [(r.x[n - 1] - r.x[0]) / (n * 0.008)])
    return {k: float(np.mean(v)) if v else float("nan") for k, v in rows.items()}


def plot(pairs: list[tuple[Replay, Replay]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = ("x", "contacts", "cone", "angles", "rates")
    fig, axes = plt.subplots(len(panels), 2 * len(pairs), figsize=(4.2 * len(pairs) * 2, 11), sharex="col")
    axes = np.atleast_2d(axes)
    for k, (normal, grippy) in enumerate(pairs):
        for c, r in enumerate((normal, grippy)):
            col = axes[:, 2 * k + c]
            t = np.arange(r.steps) * 0.008
            col[0].plot(t, r.x, "k")
            col[0].set_title(
                f"seed {r.seed}, {r.condition}: {'full' if r.full else f'fell at step {r.steps}'}", fontsize=9
            )
            col[0].set_ylabel("torso x (m), pitch (rad, red)")
            col[0].plot(t, r.pitch, "tab:red", lw=1)
            for side, colour, offset in (("right", "tab:blue", 0.0), ("left", "tab:orange", 1.2)):
                col[1].fill_between(
                    t, offset, offset + 0.3 * (r.normal[f"{side}_foot"] > 0), color=colour, alpha=0.6, step="post"
                )
                col[1].fill_between(
                    t, offset + 0.35, offset + 0.35 + 0.3 * (r.normal[f"{side}_leg"] > 0), color="tab:red", step="post"
                )
                col[1].fill_between(
                    t,
                    offset + 0.7,
                    offset + 0.7 + 0.3 * (r.flexor[side] > r.extensor[side]),
                    color="tab:green",
                    alpha=0.5,
                    step="post",
                )
                col[2].plot(t, np.where(r.normal[f"{side}_foot"] > 0, r.cone[f"{side}_foot"], np.nan), color=colour)
                for joint, style in zip(JOINTS, ("-", "--", ":")):
                    col[3].plot(t, r.angles[f"{side}_{joint}"], style, color=colour, lw=1)
                col[4].plot(t, r.flexor[side] - r.extensor[side], color=colour, lw=1)
            col[1].set_ylabel("R/L: foot, shin, flexor phase")
            col[1].set_yticks([])
            col[2].set_ylabel("foot |Ft| / (mu Fn)")
            col[2].set_ylim(0, 1.1)
            col[3].set_ylabel("hip -, knee --, ankle : (rad)")
            col[4].set_ylabel("RG_F - RG_E (Hz)")
            col[4].set_xlabel("s")
            col[4].set_xlim(0, 3.5)  # the grippy-floor episodes end by 3.5 s
    fig.tight_layout()
    fig.savefig(path, dpi=55)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=205000, help="first selection seed")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--friction", type=float, default=1.5)
    parser.add_argument("--circuit", default="walker2d_cpg")
    parser.add_argument("--parameters", default="", help="NAME=VALUE,... changes to the circuit's values")
    parser.add_argument("--steps", type=int, default=300, help="summaries over the first STEPS body steps")
    parser.add_argument("--plot", default="")
    args = parser.parse_args()
    seeds = SELECTION.consecutive(args.seed, args.episodes)

    from encephagen.body.runs import bind

    loop = bind(args.circuit, "walker2d")
    changes = {k: float(v) for k, v in (item.split("=") for item in args.parameters.split(",") if item)}
    parameters = [changes] * len(seeds)
    conditions = {"normal floor": [], f"friction x{args.friction:g}": [f"friction={args.friction:g}"]}
    replays: dict[str, list[Replay]] = {}
    for condition, perturbations in conditions.items():
        episodes = loop.run(seeds, parameters=parameters, record=True, perturbations=perturbations)
        replays[condition] = [replay(loop, e, perturbations, condition) for e in episodes]
        sine = [sine_walker_episode(seed, perturbations) for seed in seeds]
        replays[f"sine, {condition}"] = [replay(loop, e, perturbations, f"sine walker, {condition}") for e in sine]
    print(f"{args.circuit} on selection seeds {seeds[0]}-{seeds[-1]}; means over the first {args.steps} body steps")
    tables = {c: summary(r, args.steps) for c, r in replays.items()}
    print(f"{'':66s} " + " ".join(f"{c[:22]:>22s}" for c in tables))
    for key in next(iter(tables.values())):
        print(f"{key:66s} " + " ".join(f"{t[key]:22.3f}" for t in tables.values()))
    for condition, rs in replays.items():
        print(
            condition
            + ": "
            + ", ".join(f"{r.seed} {'full' if r.full else f'fell at {r.steps}'} ({r.x[-1]:.2f} m)" for r in rs)
        )
    if args.plot:
        plot(list(zip(*(rs for c, rs in replays.items() if not c.startswith("sine")))), args.plot)


if __name__ == "__main__":
    main()
