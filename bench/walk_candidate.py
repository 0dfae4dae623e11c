"""Writes a walker2d_cpg candidate of docs/notes/walk.md from its recorded values.

Sessions 8 to 18 calibrated candidates from 0.8.1; their circuit files were scratch, and the last of
them, K1, shipped as 0.9.0. This rebuilds each from the shipped ``walker2d_cpg`` taken back to 0.8.1's
structure (``candidate_trees``) with the 18 values its calibration ended on (0.8.1's 17 free parameters
plus ``drive_ext``, set free as in those runs), and copies the bindings next to it, so that
``encephagen calibrate`` or ``bench/walk_gait_shape.py`` can start from the same point:

* ``N3`` (session 8): ``perturb=none;friction=1.25;friction=1.5``, slip and swing weights 1;
* ``P`` (session 9): from N3, ``perturb=none;noise=0.02;friction=1.5``, budget 120, seed 41;
* ``Q`` (session 9): from P, ``perturb=none;noise=0.02;friction=0.5;friction=1.5``, budget 84, seed 42;
* ``R`` (session 10): from P, the same objective as Q, budget 300, seed 1100001 (the validated pick);
  ``R19``: that run's best training candidate (generation 19, loss 0.7405).
* ``C1`` (session 11): from R19 with slow slip afferents onto the other leg's extensor half-centre
  (``--slip contra_RG_E --w-slip 20 --g-slip 500 --tau-slip 50``), all 21 free,
  ``perturb=none;noise=0.01;friction=0.5;friction=1.5``, budget 240, seed 1200001 (the validated
  pick); it always carries its slip afferents (``SLIP_CANDIDATES``).

The file keeps the shipped version and history (it is a start, not a release); what each candidate
does on selection seeds is in the notes.

``--slip TARGET`` adds session 10's structural variant: cutaneous slip afferents of each sole
(driven by Walker2d's opt-in ``<side>_foot_slip`` sensors, which the written binding turns on)
projecting to one of ``SLIP_TARGETS`` with free weight ``w_slip`` and binding gain ``g_slip``.

    python bench/walk_candidate.py P --out /tmp/walk_p
    python bench/walk_gait_shape.py --circuit /tmp/walk_p/walker2d_cpg.json --seed 211100 --episodes 100
    python bench/walk_candidate.py P --slip same_V1 --w-slip 20 --g-slip 400 --out /tmp/walk_p_slip

``--start-drive MV`` (session 12) adds the binding's ``start``: the rhythm settles at ``drive`` + MV
during the warm-up (parameter ``drive_start``, fixed), which removed C1's backward start-up falls;
session 12's best, C1S (C1 at drive 25.5, settling at 23.26 mV):

    python bench/walk_candidate.py C1 --start-drive -2.24 --set drive=25.5 --out /tmp/walk_c1s

* ``H1`` (session 15): from C1S, calibrations G1 (``perturb=none;noise=0.01;friction=1.5``, distance weight 2,
  seed 1600001) and G2 (distance weight 3, seed 1600002) with the slip pathway fixed and ``drive_start`` free,
  training candidates screened on 100 + 40 selection episodes (G1's 27, then G2's 61), drive + 0.3 mV; it walks
  ~6 m and beats the sine walker on the grippy floor but loses the delay and noise rows (notes, session 15):

    python bench/walk_candidate.py H1 --start-drive -2.4007 --out /tmp/walk_h1

* ``H1`` with a slip threshold (session 16, ``--o-slip -20``) holds the sensor-noise row; session 17 screened its start
  drive (``--start-drive``) against the normal floor and the grippy one (notes, session 17):

    python bench/walk_candidate.py H1 --start-drive -2.4007 --o-slip -20 --out /tmp/walk_h1o

* ``K1`` (session 18): from H1 with ``--start-drive -3.0 --o-slip -20`` (session 17's H1o30), calibration K1
  (``perturb=none;none;delay=1;mass=1.2;friction=1.5``, distance weight 3, seed 1800001) with the slip pathway,
  ``o_slip`` and ``drive_start`` fixed; its training candidate of generation 4, index 56, picked by a screen of
  the run's history on selection seeds (notes, session 18):

    python bench/walk_candidate.py K1 --start-drive -3.0 --o-slip -20 --out /tmp/walk_k1

* ``K2_38`` (session 19): from 0.9.0, calibration K2 (K1's objective plus ``lean_weight=1``, seed 1900001), its
  training candidate of generation 3, index 38: the best of a seven-way screen on fresh selection seeds, to be
  confirmed on other blocks (notes, session 19):

    python bench/walk_candidate.py K2_38 --start-drive -3.0 --o-slip -20 --out /tmp/walk_k2_38
"""

from __future__ import annotations

import argparse
from pathlib import Path

from encephagen.body.binding import binding_from_tree, copy_bindings, save_binding
from encephagen.errors import EncephagenError
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
    "R": (23.7465, 21.0608, 3.06115, 3.92686, -19.692, 0.0489108, 7.33397, 0.359946, 0.00121148, 0.0110888,
          0.00234787, -0.00442815, 0.000164907, -0.00515888, -0.00625369, -0.460967, 0.48752, 0.680202),
    "R19": (23.963001443786272, 20.735592512286175, 3.185963351343675, 4.5299738491136905, -19.480992024388755,
            0.04668813919893545, 7.393468565203242, 0.3749644634390231, 0.0012362581794880577,
            0.01079545913789389, 0.0022317591085920254, -0.0042449851436133995, 0.0006370420443475951,
            -0.004906878350942674, -0.0061856992795536764, -0.4664927301298245, 0.4781795958324458,
            0.6840976798585646),
    "C1": (24.24, 20.5946, 2.79506, 4.77518, -17.1113, 0.0477889, 7.95124, 0.457583, 0.00115732, 0.0105606,
           0.00232017, -0.00446378, 0.000387595, -0.00474983, -0.00672842, -0.484966, 0.470805, 0.711286),
    "H1": (25.6557, 21.558427074851924, 3.0363298117211834, 5.478519873279915, -23.051906468802937,
           0.05592666798500798, 7.976805009299136, 0.44478448557569783, 0.0012341993312123662,
           0.011356807816135874, 0.0022333105776737383, -0.0047213150946038285, 0.0005830361753588886,
           -0.00445430491490734, -0.006642945790366238, -0.48943220430199463, 0.5178249831942903,
           0.7419517998768066),
    "K1": (25.71270859450964, 20.219301460632977, 2.2158098784888223, 4.896856783982856, -22.81387296286851,
           0.05426297042278959, 7.986193246212915, 0.4508463454913159, 0.00099619843391267, 0.011495751866079275,
           0.0022695994213167616, -0.004800639168380068, 0.0005507372941344371, -0.004794033374750605,
           -0.007005833224160058, -0.505224453983931, 0.5276256698902279, 0.6708415078287007),
    "K2_38": (25.879784396754737, 21.059463999850482, 2.199983665446689, 4.602674579794856, -18.858568509571832,
              0.05104206037813832, 7.726317549971334, 0.5184356906267807, 0.0008944725689452351,
              0.01158451585659922, 0.0023286248808823407, -0.0053131339784298825, 0.00038988031745510257,
              -0.004609353151934911, -0.007359275147080273, -0.5542499304625534, 0.5702126381761249,
              0.6775603833941432),
}
# fmt: on
ADDED_IN_090 = {
    "parameters": ("w_slip", "g_slip", "tau_m_slip", "o_slip", "drive_start"),
    "neuron_models": ("slip_afferent",),
    "cell_classes": ("slip_afferent",),
    "populations": ("Cut_slip",),
    "projections": ("Cut_slip->RG_E",),
    "references": ("duysens1980", "pearson2004"),
}
"""What 0.9.0 (K1) added to 0.8.1's circuit file, by section."""
SLIP_CANDIDATES: dict[str, tuple[str, float, float, float]] = {
    # name: (slip target, w_slip, g_slip, tau_m_slip) of a candidate calibrated with its slow slip afferents
    "C1": ("contra_RG_E", 19.4036, 534.457, 42.2491),
    "H1": ("contra_RG_E", 19.4036, 534.457, 42.2491),  # C1's, held fixed in its calibrations
    "K1": ("contra_RG_E", 19.4036, 534.457, 42.2491),  # H1's, held fixed in its calibration
    "K2_38": ("contra_RG_E", 19.4036, 534.457, 42.2491),
}


def candidate_trees(name: str) -> tuple[dict, dict]:
    """The shipped walker2d_cpg's file tree and walker2d binding as 0.8.1 had them, with ``name``'s values.

    0.9.0 is candidate K1 and 0.10.0 is 0.9.0 with a phase start: the slip afferents, start drive and phase
    start are taken out (``with_slip_afferents`` and ``with_start_drive`` put the first two back where a candidate
    has them), so every candidate starts from 0.8.1's structure; ``drive_ext`` is free, as in the calibrations.
    """
    tree, binding = read_tree(SHIPPED), read_tree(SHIPPED.with_name("walker2d_cpg.binding.json"))
    for section, keys in ADDED_IN_090.items():
        for key in keys:
            del tree[section][key]
    del binding["body"]["slip_sensors"]
    del binding["start"]
    del binding["start_phase"]  # 0.10.0's; every candidate started after a fixed 1-s warm-up
    binding["warmup_ms"] = 1000.0
    for side in ("right", "left"):
        del binding["afferents"][f"{side}_foot_slip"]
    for key, value in zip(NAMES, CANDIDATES[name], strict=True):
        tree["parameters"][key]["value"] = value
        tree["parameters"][key].pop("source", None)
    tree["parameters"]["drive_ext"]["free"] = True
    return tree, binding


def parameter(value: float, unit: str, description: str, bounds: tuple[float, float], free: bool) -> dict:
    """A circuit file's parameter entry."""
    return {"value": value, "unit": unit, "description": description, "free": free, "bounds": list(bounds)}


SLIP_TARGETS = {
    # name: (target population, "same" or "opposite" side, what the pathway does)
    "contra_RG_E": ("RG_E", "opposite", "excites the other leg's extensor half-centre: its swing ends sooner"),
    "contra_InE": ("InE", "opposite", "excites the other leg's In-E, which inhibits its flexor half-centre"),
    "same_RG_E": ("RG_E", "same", "excites its own extensor half-centre: the slipping stance is prolonged"),
    "same_RG_F": ("RG_F", "same", "excites its own flexor half-centre: the slipping foot is lifted sooner"),
    # motor-level controls (not phase switching): does slip information help at all?
    "same_V1": ("V1", "same", "excites its own V1, which inhibits its extensor motor pool: a sliding foot pushes less"),
    "same_MN_E": ("MN_E", "same", "excites its own extensor motor pool"),
    "contra_MN_E": ("MN_E", "opposite", "excites the other leg's extensor motor pool (crossed extension)"),
}
"""Where the sole's slip afferents project, for the structural route of notes/walk.md session 10."""


def with_slip_afferents(
    tree: dict,
    binding: dict,
    target: str,
    w_slip: float,
    g_slip: float,
    tau_slip: float | None = None,
    o_slip: float | None = None,
) -> None:
    """Add cutaneous slip afferents (one pool per sole) to a walker2d_cpg tree and its walker2d binding, in place.

    The pool is driven by the body's ``<side>_foot_slip`` sensor (forward velocity of the sole's
    floor contact points x the share of body weight on it) with ``g_slip`` mV per m/s and no
    offset, so with the afferent threshold of 10 mV it fires when a loaded foot slides forward
    faster than ~10 / g_slip m/s; it excites ``SLIP_TARGETS[target]`` with a total of ``w_slip`` mV.
    Both are free parameters.

    With ``tau_slip`` (ms; session 11) the pool gets its own neuron model, the afferent one with a
    free membrane time constant ``tau_m_slip`` instead of 5 ms, and its input is clipped at 0 (a
    backward slip does not hyperpolarise it): the membrane then follows the slip averaged over
    ~tau_slip, so the pool reports a stance's sustained forward slip rather than touchdown and
    push-off transients (a slip of s m/s held for t ms reaches threshold only if
    g_slip * s * (1 - exp(-t / tau_slip)) > 10 mV).

    With ``o_slip`` (mV; session 16) the binding adds this fixed offset to the slip current: a negative
    one is a receptor threshold, so sensor noise of a few cm/s no longer reaches the pool (at g_slip 534
    mV per m/s, 0.05 m/s of noise is ~27 mV of input; -20 mV keeps slips below ~0.06 m/s silent).
    """
    population, side, what = SLIP_TARGETS[target]
    tree["references"]["duysens1980"] = {
        "citation": "Duysens J, Pearson KG (1980) Inhibition of flexor burst generation by loading ankle extensor muscles in walking cats. Brain Res 187:321-332",
    }
    tree["references"]["pearson2004"] = {
        "citation": "Pearson KG (2004) Generating the walking gait: role of sensory feedback. Prog Brain Res 143:123-129",
        "doi": "10.1016/S0079-6123(03)43012-4",
    }
    tree["parameters"]["w_slip"] = parameter(
        w_slip, "mV", f"Total excitation of the target by its slip afferent pool ({what})", (0.0, 60.0), free=True
    )
    tree["parameters"]["g_slip"] = parameter(
        g_slip,
        "mV/(m/s)",
        "Binding: slip-afferent current per m/s of loaded forward foot slip (the pool fires above ~10 mV)",
        (0.0, 5000.0),
        free=True,
    )
    tree["cell_classes"]["slip_afferent"] = {
        "transmitter": "glutamate",
        "description": "Cutaneous afferents of the sole that fire while the loaded foot slides forward on the floor; their input to the half-centres lets the floor adjust the step cycle's phase transitions",
        "references": [{"ref": "duysens1980"}, {"ref": "pearson2004"}],
    }
    if tau_slip is not None:
        tree["parameters"]["tau_m_slip"] = parameter(
            tau_slip,
            "ms",
            "Membrane time constant of the slip afferents: the slip is averaged over about this long",
            (5.0, 300.0),
            free=True,
        )
        tree["neuron_models"]["slip_afferent"] = {
            **tree["neuron_models"]["afferent"],
            "tau_m": {"param": "tau_m_slip"},
        }
    tree["populations"]["Cut_slip"] = {
        "cell_class": "slip_afferent",
        "size": 2,
        "neuron_model": "afferent" if tau_slip is None else "slip_afferent",
        "description": "Driven by the loaded foot's forward slip through the binding",
        "sides": ["L", "R"],
    }
    tree["projections"][f"Cut_slip->{population}"] = {
        "source": "Cut_slip",
        "target": population,
        "rule": {"kind": "all_to_all"},
        "weight": {"param": "w_slip"},
        "weight_mode": "source_size",
        "description": f"A slipping sole {what}",
        "references": [{"ref": "duysens1980"}, {"ref": "pearson2004"}],
        "to": side,
    }
    if o_slip is not None:
        tree["parameters"]["o_slip"] = parameter(
            o_slip,
            "mV",
            "Binding: slip-afferent offset; negative, a receptor threshold below which a slip is not sensed",
            (-60.0, 10.0),
            free=False,
        )
    binding["body"]["slip_sensors"] = True
    for side_name, letter in (("right", "R"), ("left", "L")):
        binding["afferents"][f"{side_name}_foot_slip"] = {
            "sensor": f"{side_name}_foot_slip",
            "population": f"{letter}_Cut_slip",
            "gain": {"param": "g_slip"},
            **({"offset": {"param": "o_slip"}} if o_slip is not None else {}),
            "high": 40.0,
            **({"low": 0.0} if tau_slip is not None else {}),
        }


def with_start_drive(tree: dict, binding: dict, offset: float, ms: float = 0.0) -> None:
    """Start each episode from a rhythm settled at a lower descending drive (session 12), in place.

    Adds parameter ``drive_start`` (mV, fixed: chosen on selection seeds, not calibrated) and the
    binding's ``start`` entry: ``drive_start`` is added to ``drive`` (the flexor half-centres'
    descending drive) during the warm-up and the episode's first ``ms``; then the drive is ``drive``.
    """
    tree["parameters"]["drive_start"] = parameter(
        offset,
        "mV",
        "Binding: added to drive while the rhythm settles before the body moves (the warm-up) "
        "and the first start.ms of an episode; gait initiation from a lower descending drive",
        (-8.0, 4.0),
        free=False,
    )
    binding["start"] = {
        "parameter": "drive",
        "offset": {"param": "drive_start"},
        "ms": ms,
        "description": "The rhythm settles at drive + drive_start during the warm-up; from the first body step "
        f"{'' if not ms else f'plus {ms:g} ms '}on it runs at drive",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", choices=sorted(CANDIDATES))
    parser.add_argument(
        "--out", type=Path, required=True, help="folder to write walker2d_cpg.json and its bindings into"
    )
    parser.add_argument("--force", action="store_true", help="replace a walker2d_cpg.json already in --out")
    parser.add_argument("--slip", choices=sorted(SLIP_TARGETS), help="add slip afferents projecting here")
    parser.add_argument("--w-slip", type=float, default=4.0, help="with --slip: total weight (mV)")
    parser.add_argument("--g-slip", type=float, default=40.0, help="with --slip: binding gain (mV per m/s)")
    parser.add_argument(
        "--tau-slip", type=float, help="with --slip: slow slip afferents of this membrane time constant (ms, free)"
    )
    parser.add_argument(
        "--o-slip", type=float, help="with slip afferents: a fixed binding offset (mV; negative, a threshold)"
    )
    parser.add_argument(
        "--start-drive", type=float, help="mV added to drive during the warm-up (binding 'start'; fixed parameter)"
    )
    parser.add_argument("--start-ms", type=float, default=0.0, help="with --start-drive: also this long after it (ms)")
    parser.add_argument("--set", action="append", default=[], help="NAME=VALUE: set a parameter of the written file")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # the walker2d binding is always written (with --force over an earlier one, which may name the slip
    # afferents of a --slip run); copy_bindings then adds the others the shipped circuit has
    binding_path = args.out / "walker2d_cpg.binding.json"
    tree, binding = candidate_trees(args.name)
    if args.name in SLIP_CANDIDATES:
        if args.slip:
            raise SystemExit(f"error: candidate {args.name} has its own slip afferents; drop --slip")
        args.slip, args.w_slip, args.g_slip, args.tau_slip = SLIP_CANDIDATES[args.name]
    if args.slip:
        with_slip_afferents(tree, binding, args.slip, args.w_slip, args.g_slip, args.tau_slip, args.o_slip)
    elif args.o_slip is not None:
        raise SystemExit("error: --o-slip needs slip afferents (--slip, or a candidate that has them)")
    if args.start_drive is not None:
        with_start_drive(tree, binding, args.start_drive, args.start_ms)
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in tree["parameters"]:
            raise SystemExit(f"error: --set {item}: no parameter {key!r}")
        tree["parameters"][key]["value"] = float(value)
    circuit = circuit_from_tree(tree, f"candidate {args.name}{' with slip afferents' if args.slip else ''}")
    try:
        path = save_circuit(circuit, args.out / SHIPPED.name, overwrite=args.force)
        save_binding(binding_from_tree(binding, str(binding_path)), binding_path, overwrite=args.force)
    except EncephagenError as exc:
        raise SystemExit(f"error: {exc} (here: --force)") from None
    copy_bindings(SHIPPED, path)
    extra = f", slip afferents -> {args.slip}" if args.slip else ""
    extra += f", slip offset {args.o_slip:+g} mV" if args.o_slip is not None else ""
    extra += f", start drive {args.start_drive:+g} mV" if args.start_drive is not None else ""
    print(f"wrote {path} (candidate {args.name}{extra}{', ' + ' '.join(args.set) if args.set else ''})")


if __name__ == "__main__":
    main()
