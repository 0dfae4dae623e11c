"""Could a foot reflex save ``walker2d_cpg`` on a floor 1.5x as grippy? An oracle test at the body.

Before a reflex pathway is built into the circuit, this adds it to the *actions* at the body,
with perfect information (MuJoCo's own contacts and joint state), and runs the shipped circuit
on selection seeds with ``friction=1.5`` and on the normal floor. If no setting of the oracle
finishes episodes on the grippy floor, a circuit version of the same reflex will not either.

Reflexes (``--trigger``; the response is added to the leg's hip and knee actions for ``--hold``
body steps after the trigger, clipped to [-1, 1]; Walker2d's knee flexes towards negative angles,
its hip flexes towards 0, so ``--knee 1`` adds knee flexion and ``--hip 1`` hip flexion):

* ``shin``: the shin (``leg`` geom) touches the floor;
* ``bent``: the foot touches the floor while the knee is bent more than ``--threshold`` rad
  (a touchdown during swing);
* ``fast``: the foot touches the floor while moving forward faster than ``--threshold`` m/s
  (a scuff of the swinging foot, Forssberg's stumbling corrective reaction);
* ``hipflex``: the foot touches the floor while the hip flexes faster than ``--threshold`` rad/s;
* ``load``: every step, knee extension ``--knee`` x load / 400 N while the knee is bent more
  than ``--threshold`` rad (positive force feedback; ``--hold`` unused).

    python bench/walk_reflex_oracle.py --trigger fast --knee 1 --hold 12 --threshold 0.5
    python bench/walk_reflex_oracle.py --trigger load --knee -0.5 --threshold 0.1

It replaces the closed loop's body factory (``encephagen.body.loop.perturbed``) for this
process only; each line is 10 episodes per floor (selection seeds 205100-205109 grippy,
205200-205209 normal by default), ~10 CPU-s.
"""

from __future__ import annotations

import argparse

import numpy as np

from encephagen.seeds import SELECTION


class OracleReflex:
    """A body whose actions get a reflex added from its true contacts (see the module docstring)."""

    def __init__(self, body, trigger: str, hip: float, knee: float, hold: int, threshold: float):
        import mujoco

        self.body, self.trigger = body, trigger
        self.hip, self.knee, self.hold, self.threshold = hip, knee, hold, threshold
        model = body.model
        geom = lambda name: mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name)
        self.floor = geom("floor")
        parts = ("leg_geom", "leg_left_geom") if trigger == "shin" else ("foot_geom", "foot_left_geom")
        self.parts = [geom(name) for name in parts]
        self.loads = [body.sensor_index("right_foot_load"), body.sensor_index("left_foot_load")]
        self.timer = [0, 0]
        self.observation = np.zeros(0)
        self.fired = 0

    def __getattr__(self, name: str):
        return getattr(self.body, name)

    def reset(self, seed: int):
        self.timer = [0, 0]
        self.observation, info = self.body.reset(seed)
        return self.observation, info

    def _touching(self) -> set[int]:
        data = self.body.data
        touching = set()
        for c in range(data.ncon):
            g1, g2 = (int(g) for g in data.contact.geom[c])
            if self.floor in (g1, g2):
                touching.add(g2 if g1 == self.floor else g1)
        return touching

    def _triggered(self, side: int, touching: set[int]) -> bool:
        import mujoco

        data = self.body.data
        if self.parts[side] not in touching:
            return False
        if self.trigger == "shin":
            return True
        if self.trigger == "bent":
            return bool(data.qpos[4 + 3 * side] < -self.threshold)
        if self.trigger == "hipflex":
            return bool(data.qvel[3 + 3 * side] > self.threshold)
        velocity = np.zeros(6)
        mujoco.mj_objectVelocity(self.body.model, data, mujoco.mjtObj.mjOBJ_GEOM, self.parts[side], velocity, 0)
        return bool(velocity[3] > self.threshold)  # "fast"

    def step(self, action):
        action = np.array(action, dtype=float)
        if self.trigger == "load":
            for side in (0, 1):
                if -self.body.data.qpos[4 + 3 * side] > self.threshold:
                    load = min(float(self.observation[self.loads[side]]), 400.0)
                    action[3 * side + 1] = np.clip(action[3 * side + 1] - self.knee * load / 400.0, -1, 1)
                    self.fired += 1
        else:
            touching = self._touching()
            for side in (0, 1):
                if self.timer[side] == 0 and self._triggered(side, touching):
                    self.timer[side] = self.hold
                if self.timer[side] > 0:
                    action[3 * side] = np.clip(action[3 * side] + self.hip, -1, 1)
                    action[3 * side + 1] = np.clip(action[3 * side + 1] - self.knee, -1, 1)
                    self.timer[side] -= 1
                    self.fired += 1
        result = self.body.step(action)
        self.observation = result.observation
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trigger", choices=("shin", "bent", "fast", "hipflex", "load"), required=True)
    parser.add_argument("--hip", type=float, default=0.0, help="hip action added (+: flexion)")
    parser.add_argument("--knee", type=float, default=0.0, help="knee flexion added (+: flexion)")
    parser.add_argument("--hold", type=int, default=12, help="body steps the response lasts")
    parser.add_argument("--threshold", type=float, default=0.3)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--grippy-seed", type=int, default=205100)
    parser.add_argument("--normal-seed", type=int, default=205200)
    args = parser.parse_args()

    import encephagen.body.loop as loop_module
    from encephagen.body.runs import bind

    bodies: list[OracleReflex] = []
    factory = loop_module.perturbed

    def with_reflex(body, perturbations):
        bodies.append(
            OracleReflex(factory(body, perturbations), args.trigger, args.hip, args.knee, args.hold, args.threshold)
        )
        return bodies[-1]

    loop_module.perturbed = with_reflex  # this process only
    loop = bind("walker2d_cpg", "walker2d")
    cells = []
    for label, perturbations, first in (
        ("friction x1.5", ["friction=1.5"], args.grippy_seed),
        ("normal floor", [], args.normal_seed),
    ):
        seeds = SELECTION.consecutive(first, args.episodes)
        bodies.clear()
        episodes = loop.run(seeds, perturbations=perturbations)
        steps = sum(e.metrics["steps"] for e in episodes)
        full = sum(int(e.metrics["full"]) for e in episodes)
        distance = np.mean([e.metrics["distance"] for e in episodes])
        fired = sum(b.fired for b in bodies) / max(2 * steps, 1)
        cells.append(
            f"{label} ({seeds[0]}-{seeds[-1]}): {full}/{len(seeds)} full, {distance:.2f} m, reflex on {fired:.3f} of leg-steps"
        )
    print(
        f"{args.trigger} hip {args.hip:+g} knee {args.knee:+g} hold {args.hold} threshold {args.threshold:g}: "
        + "; ".join(cells)
    )


if __name__ == "__main__":
    main()
