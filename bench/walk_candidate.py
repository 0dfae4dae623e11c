"""Writes an unshipped walker2d_cpg candidate of docs/notes/walk.md from its recorded values.

Sessions 8 and 9 calibrated candidates that walk the floor 1.5x as grippy but lose the normal
floor; their circuit files were scratch. This rebuilds them from the shipped ``walker2d_cpg``
(0.8.1) with the 18 values each calibration ended on (0.8.1's 17 free parameters plus
``drive_ext``, set free as in those runs), and copies the bindings next to it, so that
``encephagen calibrate`` or ``bench/walk_gait_shape.py`` can start from the same point:

* ``N3`` (session 8): ``perturb=none;friction=1.25;friction=1.5``, slip and swing weights 1;
* ``P`` (session 9): from N3, ``perturb=none;noise=0.02;friction=1.5``, budget 120, seed 41;
* ``Q`` (session 9): from P, ``perturb=none;noise=0.02;friction=0.5;friction=1.5``, budget 84, seed 42.

The file keeps 0.8.1's version and history (it is a start, not a release); what each candidate
does on selection seeds is in the notes.

    python bench/walk_candidate.py P --out /tmp/walk_p
    python bench/walk_gait_shape.py --circuit /tmp/walk_p/walker2d_cpg.json --seed 211100 --episodes 100
"""

from __future__ import annotations

import argparse
from pathlib import Path

from encephagen.body.binding import copy_bindings
from encephagen.errors import EncephagenError
from encephagen.schema import Circuit
from encephagen.storage import circuit_from_tree, read_tree, save_circuit

SHIPPED = Path(__file__).resolve().parents[1] / "circuits" / "walker2d_cpg.json"
NAMES = (
    "drive",
    "drive_ext",
    "w_ia",
    "w_ib",
    "g_hip_angle",
    "g_load",
    "g_pitch",
    "g_pitch_rate",
    "k_hip_fast",
    "k_hip_slow",
    "k_knee_fast",
    "k_knee_slow",
    "k_ankle_fast",
    "k_ankle_slow",
    "k_pitch",
    "o_hip",
    "o_knee",
    "o_ankle",
)
# fmt: off
CANDIDATES: dict[str, tuple[float, ...]] = {
    "N3": (23.0092, 22.7164, 3.07043, 4.35463, -21.4497, 0.0392958, 8.47076, 0.367438, 0.00194176, 0.0118323,
           0.00298384, -0.00444563, -0.000162334, -0.00541645, -0.00555715, -0.45289, 0.493188, 0.708925),
    "P": (22.8885, 22.0154, 3.1087, 4.49602, -20.628, 0.037129, 8.48223, 0.285373, 0.00148668, 0.0114307,
          0.00269861, -0.00439723, -6.84416e-07, -0.00490469, -0.00626567, -0.449761, 0.51817, 0.697435),
    "Q": (23.3792, 23.064, 3.71401, 4.97074, -22.5686, 0.0392295, 8.38509, 0.319705, 0.00166644, 0.0110311,
          0.00256077, -0.00429636, 0.000106704, -0.00506501, -0.00538964, -0.408935, 0.519693, 0.712784),
}
# fmt: on


def candidate(name: str) -> Circuit:
    """The shipped walker2d_cpg with candidate ``name``'s values and ``drive_ext`` free, validated."""
    tree = read_tree(SHIPPED)
    for key, value in zip(NAMES, CANDIDATES[name], strict=True):
        tree["parameters"][key]["value"] = value
    tree["parameters"]["drive_ext"]["free"] = True
    return circuit_from_tree(tree, f"{SHIPPED} with candidate {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", choices=sorted(CANDIDATES))
    parser.add_argument(
        "--out", type=Path, required=True, help="folder to write walker2d_cpg.json and its bindings into"
    )
    parser.add_argument("--force", action="store_true", help="replace a walker2d_cpg.json already in --out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        path = save_circuit(candidate(args.name), args.out / SHIPPED.name, overwrite=args.force)
    except EncephagenError as exc:
        raise SystemExit(f"error: {exc} (here: --force)") from None
    copy_bindings(SHIPPED, path)
    print(f"wrote {path} (candidate {args.name})")


if __name__ == "__main__":
    main()
