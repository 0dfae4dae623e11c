"""Writes walker2d_cpg with a backward-lean alarm: session 25's lead on its rare late stalls (not shipped).

The shipped walker falls in ~0.3-1 % of episodes under a motor delay or a heavier body by a late
stall: its flexor bursts lengthen while the torso tips back past -0.8 rad with both thighs in line
with it (docs/notes/walk.md, session 25). This candidate adds a midline pool of inhibitory
interneurons, ``In_alarm`` (class ``lean_alarm``: vestibulospinal input relayed through inhibitory
interneurons, the relay collapsed into the pool), driven like ``VST_back`` by the torso's backward
pitch but from a lower offset (``o_alarm``, mV), so that it reaches the afferent threshold (10 mV)
only past ``(10 - o_alarm) / g_pitch`` rad back (-0.6 rad at the default 5.2 mV), and projecting onto
both flexor half-centres with total weight ``w_alarm_f`` (mV, negative: it ends a swing that a
backward fall has stalled).
Both are fixed, hand-set parameters; the binding reads the alarm from ``torso_pitch``.
``--k-alarm-hip K`` adds a second pool, ``VST_alarm`` (vestibulospinal, same input), read onto both hip
commands with gain ``k_alarm_hip`` (1/Hz): a direct extension command at large backward lean, which
session 26 found harmful at every size it tried (docs/notes/walk.md, session 26).

    python bench/walk_alarm_candidate.py --out /tmp/alarm --w-alarm-f -8
    python bench/walk_scan.py /tmp/alarm/walker2d_cpg.json --seed S --conditions delay=5:240 --no-sine \\
        --variants '{"off": {"w_alarm_f": 0}, "-8": {}}'

Selection-seed figures are in docs/notes/walk.md, sessions 25-26; they were measured on 0.11.0, and the
alarm's threshold angle moves with ``g_pitch`` (0.12.0 has 0.95x 0.11.0's), so to repeat them build on that file:

    git show 2d06b83:circuits/walker2d_cpg.json > /tmp/w011/walker2d_cpg.json   # and its two bindings
    python bench/walk_alarm_candidate.py --base /tmp/w011/walker2d_cpg.json --out /tmp/alarm --w-alarm-f -8
"""

from __future__ import annotations

import argparse
from pathlib import Path

from encephagen.body.binding import binding_from_tree, copy_bindings, save_binding
from encephagen.errors import EncephagenError
from encephagen.storage import circuit_from_tree, read_tree, save_circuit

SHIPPED = Path(__file__).resolve().parents[1] / "circuits" / "walker2d_cpg.json"


O_ALARM = "Binding: the alarm's offset; it fires past (10 - o_alarm) / g_pitch rad back"


def hand_set(value: float, unit: str, description: str, bounds: list[float], reason: str) -> dict:
    """A fixed parameter's entry, set by hand for ``reason``."""
    return {
        "value": value,
        "unit": unit,
        "description": description,
        "free": False,
        "bounds": bounds,
        "source": {"kind": "hand-set", "reason": reason},
    }


def insert_population(tree: dict, after: str, name: str, population: dict) -> None:
    """Put ``name`` right after ``after`` in the circuit's populations (their order sets the noise draws)."""
    items = list(tree["populations"].items())
    at = [key for key, _ in items].index(after) + 1
    tree["populations"] = dict(items[:at] + [(name, population)] + items[at:])


def with_alarm(tree: dict, binding: dict, w_alarm_f: float, o_alarm: float) -> None:
    """Add the alarm pool after ``VST_back``, its cell class, two parameters, projections and binding entry, in place."""
    insert_population(
        tree,
        "VST_back",
        "In_alarm",
        {
            "cell_class": "lean_alarm",
            "size": 3,
            "neuron_model": "afferent",
            "side": "midline",
            "description": "Fires only past a large backward torso pitch (driven through the binding)",
        },
    )
    tree["cell_classes"]["lean_alarm"] = {
        "transmitter": "GABA+glycine",
        "description": "Inhibitory interneurons that relay a large backward tilt of the torso (vestibulospinal "
        "input, the relay collapsed into one pool) onto the flexor half-centres: a hypothesis of session 25, "
        "not an identified class",
    }
    reason = "session 25's backward-lean alarm, screened on selection seeds (docs/notes/walk.md)"
    for name, value, bounds, description in (
        ("w_alarm_f", w_alarm_f, [-20.0, 0.0], "Total input to each flexor half-centre from the backward-lean alarm"),
        ("o_alarm", o_alarm, [-10.0, 14.0], O_ALARM),
    ):
        tree["parameters"][name] = hand_set(value, "mV", description, bounds, reason)
    for side in ("L", "R"):
        tree["projections"][f"In_alarm->{side}_RG_F"] = {
            "source": "In_alarm",
            "target": f"{side}_RG_F",
            "rule": {"kind": "all_to_all"},
            "weight": {"param": "w_alarm_f"},
            "weight_mode": "source_size",
        }
    binding["afferents"]["pitch_alarm"] = {
        "sensor": "torso_pitch",
        "population": "In_alarm",
        "gain": {"param": "g_pitch", "factor": -1.0},
        "offset": {"param": "o_alarm"},
    }


def with_hip_alarm(tree: dict, binding: dict, k_alarm_hip: float, o_alarm: float) -> None:
    """Add ``VST_alarm`` (after ``In_alarm`` if there is one, else after ``VST_back``), its readout, a term on both
    hip commands, and ``o_alarm`` if the flexor alarm has not declared it, in place."""
    insert_population(
        tree,
        "In_alarm" if "In_alarm" in tree["populations"] else "VST_back",
        "VST_alarm",
        {
            "cell_class": "vestibulospinal",
            "size": 3,
            "neuron_model": "afferent",
            "side": "midline",
            "description": "Fires only past a large backward torso pitch; read onto both hips (driven through the binding)",
        },
    )
    reason = "session 26's hip alarm, screened on selection seeds (docs/notes/walk.md)"
    tree["parameters"].setdefault("o_alarm", hand_set(o_alarm, "mV", O_ALARM, [-10.0, 14.0], reason))
    tree["parameters"]["k_alarm_hip"] = hand_set(
        k_alarm_hip,
        "1/Hz",
        "Binding: both hip commands per Hz of the alarm's vestibulospinal rate (negative: extension)",
        [-0.05, 0.05],
        reason,
    )
    binding["afferents"]["pitch_alarm_hips"] = {
        "sensor": "torso_pitch",
        "population": "VST_alarm",
        "gain": {"param": "g_pitch", "factor": -1.0},
        "offset": {"param": "o_alarm"},
    }
    tree["readouts"]["lean_alarm"] = {
        "terms": [{"population": "VST_alarm"}],
        "description": "The backward-lean alarm's vestibulospinal rate, read onto both hips",
    }
    for hip in ("left_hip", "right_hip"):
        binding["motors"][hip]["terms"].append({"readout": "lean_alarm", "gain": {"param": "k_alarm_hip"}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, required=True, help="folder to write walker2d_cpg.json and its bindings into"
    )
    parser.add_argument(
        "--w-alarm-f", type=float, default=-8.0, help="total alarm input to each flexor half-centre (mV)"
    )
    parser.add_argument("--o-alarm", type=float, default=5.2, help="the alarm's binding offset (mV)")
    parser.add_argument(
        "--k-alarm-hip", type=float, help="also read the alarm onto both hip commands, this much per Hz (1/Hz)"
    )
    parser.add_argument(
        "--no-flexor-alarm", action="store_true", help="leave out In_alarm and its projections (with --k-alarm-hip)"
    )
    parser.add_argument(
        "--base",
        type=Path,
        default=SHIPPED,
        help="the walker2d_cpg file to add the alarm to (default: the shipped one)",
    )
    parser.add_argument("--force", action="store_true", help="replace files already in --out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tree, binding = read_tree(args.base), read_tree(args.base.with_name("walker2d_cpg.binding.json"))
    if args.no_flexor_alarm and args.k_alarm_hip is None:
        raise SystemExit("error: --no-flexor-alarm leaves no alarm; add --k-alarm-hip K")
    if not args.no_flexor_alarm:
        with_alarm(tree, binding, args.w_alarm_f, args.o_alarm)
    if args.k_alarm_hip is not None:
        with_hip_alarm(tree, binding, args.k_alarm_hip, args.o_alarm)
    binding_path = args.out / "walker2d_cpg.binding.json"
    try:
        path = save_circuit(circuit_from_tree(tree, "alarm candidate"), args.out / SHIPPED.name, overwrite=args.force)
        save_binding(binding_from_tree(binding, str(binding_path)), binding_path, overwrite=args.force)
    except EncephagenError as exc:
        raise SystemExit(f"error: {exc} (here: --force)") from None
    copy_bindings(args.base, path)
    flexors = "" if args.no_flexor_alarm else f"w_alarm_f {args.w_alarm_f:g} mV, "
    hips = "" if args.k_alarm_hip is None else f", k_alarm_hip {args.k_alarm_hip:g} 1/Hz"
    print(f"wrote {path} (backward-lean alarm: {flexors}o_alarm {args.o_alarm:g} mV{hips})")


if __name__ == "__main__":
    main()
