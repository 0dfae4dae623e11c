"""The shipped locomotor circuits: well-formed, cited, and rhythmic because of their wiring.

The figures checked here are those of issue 4: over held-out noise seeds the shipped
``spinal_cpg`` alternates left-right and flexor-extensor on every seed with a regular
period; lesioning the commissural interneurons destroys left-right alternation (V0d alone at
low speed, V0v alone at high speed); without the half-centres' mutual inhibition the flexor
pools keep their rhythm (flexor-driven, as in Rybak et al. 2015) while the extensor pools fall
tonic at low speed; shuffling the projections destroys the gait, and the descending drive
raises the frequency over at least a twofold range while left-right alternation holds.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from encephagen import load_circuit
from encephagen.compiler import compile_circuit
from encephagen.gait import POOL_ROLES, RHYTHMIC_POOL_MIN, gait_per_lane, rhythmic_pools, run_gait, sweep_gait
from encephagen.lesions import SPINAL_LESIONS, classify_fe, classify_lr, judge, lesion_table

HELD_OUT_SEEDS = list(range(1000, 1010))
"""Noise seeds never used while tuning or calibrating (those use seeds below 1000)."""
REPORT_SEEDS = list(range(100_000, 100_003))
"""Report seeds (100000+), for the lesion figures quoted in the notes and printed by `encephagen lesions`."""
COMMISSURAL = ["V0d", "V0v"]
RG_INHIBITION = ["InRG"]


def phase_error(phase: float) -> float:
    """Distance of a phase from 0.5 on the circle (NaN counts as maximal)."""
    return 0.5 if not math.isfinite(phase) else abs(((phase - 0.5) + 0.5) % 1.0 - 0.5)


def is_gait(m: dict[str, float]) -> bool:
    """The issue's per-seed gait criterion."""
    return (
        phase_error(m["lr_phase"]) <= 0.05
        and phase_error(m["fe_phase"]) <= 0.05
        and m["period_cv"] <= 0.10
        and m["rhythmic_fraction"] >= 0.95
    )


@pytest.fixture(scope="module")
def cpg():
    return load_circuit("spinal_cpg")


# --------------------------------------------------------------------------- structure


def test_spinal_cpg_has_the_identified_classes_on_both_sides(cpg):
    network = compile_circuit(cpg)
    assert 80 <= network.n_neurons <= 100
    classes = {pop.cell_class for pop in cpg.populations.values()}
    assert {"Shox2", "V1", "V2a", "V2b", "V0d", "V0v", "V3", "MN"} <= classes
    for side in ("L", "R"):
        for stem in ("RG_F", "RG_E", "InF", "InE", "V1", "V2b", "V2a", "V0d", "V0v", "Ini", "V3", "MN_F", "MN_E"):
            assert f"{side}_{stem}" in cpg.populations


def test_left_and_right_share_every_value(cpg):
    def mirrored(name: str) -> str:
        return name.replace("L_", "\0").replace("R_", "L_").replace("\0", "R_")

    for name, proj in cpg.projections.items():
        twin = cpg.projections[mirrored(name)]
        assert (twin.source, twin.target) == (mirrored(proj.source), mirrored(proj.target))
        assert twin.weight == proj.weight and twin.delay == proj.delay and twin.weight_mode == proj.weight_mode
    for name, pop in cpg.populations.items():
        twin = cpg.populations[mirrored(name)]
        assert (twin.drive, twin.size, twin.neuron_model, twin.cell_class) == (
            pop.drive,
            pop.size,
            pop.neuron_model,
            pop.cell_class,
        )


def test_every_class_and_projection_is_cited_and_commissural_paths_obey_dale(cpg):
    for name, cell in cpg.cell_classes.items():
        assert cell.references, name
    for name, proj in cpg.projections.items():
        assert proj.references and proj.description, name
        crosses = proj.source[0] != proj.target[0]
        if crosses:
            # only commissural classes cross the midline, and V0v acts through inhibitory Ini
            assert cpg.populations[proj.source].cell_class in {"V0d", "V0v", "V3"}, name
        if cpg.populations[proj.source].cell_class == "V0v":
            assert cpg.populations[proj.target].cell_class == "Ini"
    for name, param in cpg.parameters.items():
        assert param.bounds is not None and param.description, name
    assert cpg.parameters["drive"].free


def test_half_centre_inhibits_through_interneurons():
    circuit = load_circuit("half_centre")
    inhibitory = {
        n for n, p in circuit.populations.items() if circuit.cell_classes[p.cell_class].effective_sign == "inhibitory"
    }
    assert {p.source for p in circuit.projections.values() if p.target == "flex_rg"} & inhibitory
    assert {p.source for p in circuit.projections.values() if p.target == "ext_rg"} & inhibitory


# --------------------------------------------------------------------------- dynamics


@pytest.mark.slow
def test_half_centre_oscillates_in_antiphase():
    run = run_gait(load_circuit("half_centre"), seeds=HELD_OUT_SEEDS[:3], duration_ms=8000.0)
    for m in run.per_seed:
        assert phase_error(m["fe_phase"]) <= 0.05 and m["period_cv"] <= 0.15 and m["rhythmic_fraction"] >= 0.9, m
    lesioned = run_gait(
        load_circuit("half_centre"), seeds=HELD_OUT_SEEDS[:2], duration_ms=8000.0, lesions=["inhibitory_relay"]
    )
    assert all(m["rhythmic_fraction"] < 0.5 for m in lesioned.per_seed), lesioned.per_seed


@pytest.mark.slow
def test_spinal_cpg_walks_on_every_held_out_seed(cpg):
    run = run_gait(cpg, seeds=HELD_OUT_SEEDS, duration_ms=20_000.0)
    failures = [(seed, m) for seed, m in zip(run.seeds, run.per_seed) if not is_gait(m)]
    assert not failures, failures
    assert 1.0 <= run.summary["frequency_hz"]["mean"] <= 10.0


@pytest.mark.slow
def test_commissural_lesion_destroys_left_right_alternation(cpg):
    # the intact circuit holds antiphase on every seed (test_spinal_cpg_walks_on_every_held_out_seed),
    # with a per-cycle phase concentration near 1
    lesioned = run_gait(cpg, seeds=HELD_OUT_SEEDS[:3], duration_ms=8000.0, lesions=COMMISSURAL)
    # at the shipped (fast) drive no seed keeps antiphase: its mean phase leaves 0.5 by more than twice
    # the tolerance, or the sides drift with no fixed phase relation at all
    assert all(phase_error(m["lr_phase"]) > 0.1 or m["lr_concentration"] < 0.6 for m in lesioned.per_seed), (
        lesioned.per_seed
    )
    # the rhythm itself survives: the lesion acts on coordination, not on rhythm generation
    assert all(m["rhythmic_fraction"] > 0.5 for m in lesioned.per_seed), lesioned.per_seed
    # at a slower drive, with only V3 left to couple them, the sides fall into synchrony (hopping),
    # as after V0 ablation in mice (Talpalar et al. 2013)
    slow = run_gait(cpg, seeds=HELD_OUT_SEEDS[:3], duration_ms=8000.0, lesions=COMMISSURAL, parameters={"drive": 20.0})
    assert phase_error(slow.summary["lr_phase"]["mean"]) > 0.25, slow.summary["lr_phase"]


def loses_coupling(m: dict[str, float]) -> bool:
    """Left-right antiphase gone or loosened (the intact circuit holds phase error ~0, concentration ~0.99)."""
    return phase_error(m["lr_phase"]) > 0.05 or m["lr_concentration"] < 0.95


@pytest.mark.slow
def test_v0d_alternate_the_sides_at_low_speed_and_v0v_at_high_speed(cpg):
    # Talpalar et al. 2013: without V0d alternation fails at low frequencies only, without V0v at high
    # frequencies only; the descending drive silences V0d as speed rises (Danner et al. 2016/2017)
    for drive, needed, spare in ((12.0, "V0d", "V0v"), (40.0, "V0v", "V0d")):  # ~2.7 and ~6.2 Hz
        without_needed = run_gait(
            cpg, seeds=HELD_OUT_SEEDS[:3], duration_ms=8000.0, lesions=[needed], parameters={"drive": drive}
        )
        without_spare = run_gait(
            cpg, seeds=HELD_OUT_SEEDS[:3], duration_ms=8000.0, lesions=[spare], parameters={"drive": drive}
        )
        assert all(map(loses_coupling, without_needed.per_seed)), (drive, needed, without_needed.per_seed)
        assert not any(map(loses_coupling, without_spare.per_seed)), (drive, spare, without_spare.per_seed)


FLEXORS, EXTENSORS = ["left_flexor", "right_flexor"], ["left_extensor", "right_extensor"]


@pytest.mark.slow
def test_without_the_half_centre_inhibition_the_flexor_pools_keep_their_rhythm(cpg):
    """Removing In-F/In-E does not stop the rhythm: the flexor half-centres burst on their own
    (recurrent excitation + adaptation), as RG-F does in Rybak et al. 2015 and Danner et al. 2016.
    At the shipped drive the extensor pools stay rhythmic at low burst contrast (~0.41; the
    former 0.5 cut-off read them, and the gait, 0 % rhythmic); at low drive they fire tonically."""
    lesioned = run_gait(cpg, seeds=REPORT_SEEDS, duration_ms=8000.0, lesions=RG_INHIBITION)
    for m in lesioned.per_seed:
        assert rhythmic_pools(m) == list(POOL_ROLES), m
        assert 5.5 <= m["left_flexor_frequency_hz"] <= 6.5 and m["period_cv"] <= 0.1, m
        assert 1 / 3 < m["left_extensor_contrast"] < 0.5, m
        assert classify_lr(m) == "alternating" and classify_fe(m) == "alternating", m
    strict = gait_per_lane(lesioned.result, pools=lesioned.pools, min_contrast=0.5)
    assert all(
        m["rhythmic_fraction"] < 0.05 and rhythmic_pools(m) == ["left_flexor", "right_flexor"] for m in strict
    ), strict
    slow = run_gait(cpg, seeds=REPORT_SEEDS, duration_ms=8000.0, lesions=RG_INHIBITION, parameters={"drive": 12.0})
    for m in slow.per_seed:
        assert all(m[f"{r}_rhythmic_fraction"] >= RHYTHMIC_POOL_MIN for r in FLEXORS), m
        assert all(m[f"{r}_rhythmic_fraction"] < RHYTHMIC_POOL_MIN for r in EXTENSORS), m
        assert classify_fe(m) == "extensor not rhythmic", m


@pytest.mark.slow
def test_lesion_table_reads_each_lesion_per_pool_beside_the_literature(cpg):
    """The verdicts `encephagen lesions spinal_cpg` prints, on three report seeds x 8 s: where the model
    agrees with the literature and where it does not (V3 has no effect; V1+V2b do not make flexors and
    extensors co-burst, because the rhythm generator's own inhibition is a separate class, In-F/In-E).
    Without In-F/In-E the half-centres behave as Rybak et al. 2015 describe (RG-F bursting, RG-E tonic);
    the extensor motor pool still dips because V1, driven by the flexor side, inhibits it during flexion."""
    chosen = [lesion for lesion in SPINAL_LESIONS if lesion.label in {"intact", "In-F/In-E", "V0v", "V3", "V1+V2b"}]
    rows = lesion_table(cpg, chosen, speeds={"slow": 12.0, "fast": 40.0}, seeds=REPORT_SEEDS, duration_ms=8000.0)
    intact = {cell.speed: cell for cell in rows[0]}
    verdicts = {
        (cell.lesion.label, cell.lesion.level, cell.speed): judge(cell, intact[cell.speed])[0]
        for row in rows
        for cell in row
    }
    motor, half_centres = "motor pools", "half-centres RG-F / RG-E"
    assert verdicts[("intact", motor, "slow")] == verdicts[("intact", motor, "fast")] == "agrees"
    # the papers speak of the half-centres: RG-F keeps bursting, RG-E fires tonically, at every speed
    assert verdicts[("In-F/In-E", half_centres, "slow")] == verdicts[("In-F/In-E", half_centres, "fast")] == "agrees"
    assert verdicts[("In-F/In-E", motor, "slow")] == ""  # no claim about motor output to compare with
    assert verdicts[("V0v", motor, "slow")] == verdicts[("V0v", motor, "fast")] == "agrees"
    assert (
        verdicts[("V3", motor, "slow")] == verdicts[("V3", motor, "fast")] == "partly"
    )  # rhythm kept, not less regular
    assert (
        verdicts[("V1+V2b", motor, "slow")] == verdicts[("V1+V2b", motor, "fast")] == "partly"
    )  # L-R kept, F-E not co-bursting
    in_fe_fast = next(
        cell
        for row in rows
        for cell in row
        if cell.lesion.level == motor and cell.lesion.label == "In-F/In-E" and cell.speed == "fast"
    )
    assert in_fe_fast.pools["left_extensor"] == len(
        REPORT_SEEDS
    )  # the extensor motor pool still dips (V1 inhibits it in flexion)
    v0v_fast = next(cell for row in rows for cell in row if cell.lesion.label == "V0v" and cell.speed == "fast")
    assert v0v_fast.lr["alternating"] <= 1 and all(v0v_fast.pools[r] == len(REPORT_SEEDS) for r in FLEXORS)


@pytest.mark.slow
def test_lesions_command_prints_the_table():
    from click.testing import CliRunner

    from encephagen.cli.main import cli

    result = CliRunner().invoke(
        cli,
        ["lesions", "spinal_cpg", "--only", "V1+V2b", "--seeds", "1", "--duration-ms", "3000", "--speeds", "shipped"],
    )
    assert result.exit_code == 0, result.output
    assert "seeds 100000-100000" in result.output and "V1+V2b (removes V1, V2b)" in result.output
    assert "literature: Zhang et al. 2014" in result.output and "L-R alternating 1/1" in result.output
    unknown = CliRunner().invoke(cli, ["lesions", "spinal_cpg", "--only", "V0x"])
    assert unknown.exit_code == 1 and "unknown lesion 'V0x'" in unknown.output


@pytest.mark.slow
def test_shuffled_projections_destroy_the_gait(cpg):
    for shuffle_seed in (1, 2):
        run = run_gait(cpg, seeds=HELD_OUT_SEEDS[:2], duration_ms=8000.0, shuffle_seed=shuffle_seed)
        assert not any(is_gait(m) for m in run.per_seed), (shuffle_seed, run.per_seed)


def longest_alternating_rise(rows) -> float:
    """Largest frequency ratio over a stretch of sweep values where frequency rises at every step
    and, on every seed, left-right phase stays within 0.5 ± 0.05 and flexors and extensors
    never burst together."""
    frequency = [row["frequency_hz"]["mean"] for row in rows]
    alternates = [
        phase_error(row["lr_phase"]["min"]) <= 0.05
        and phase_error(row["lr_phase"]["max"]) <= 0.05
        and row["fe_overlap"]["max"] <= 0.1
        for row in rows
    ]
    best = 1.0
    for first in range(len(rows)):
        for last in range(first + 1, len(rows)):
            stretch = frequency[first : last + 1]
            if all(alternates[first : last + 1]) and all(b > a for a, b in itertools.pairwise(stretch)):
                best = max(best, stretch[-1] / stretch[0])
    return best


@pytest.fixture(scope="module")
def drive_sweep(cpg):
    low, high = cpg.parameters["drive"].bounds
    values = list(np.linspace(low, high, 13))
    return values, sweep_gait(cpg, "drive", values, seeds=HELD_OUT_SEEDS[:3], duration_ms=8000.0)


@pytest.mark.slow
def test_descending_drive_raises_frequency_while_alternation_holds(drive_sweep):
    """Issue 4 asks for at least twofold. The drive's bounds are the range over which the circuit walks;
    over 10 held-out seeds x 20 s the rise with alternation on every seed spans 2.5x there (2.29 -> 5.76 Hz).
    Three seeds, not two: 0.3.0, whose V0d never fell silent, read 2.1x on two seeds by luck, 1.5x on three."""
    values, rows = drive_sweep
    assert longest_alternating_rise(rows) >= 2.0, [
        (v, r["frequency_hz"]["mean"], r["lr_phase"]["min"], r["lr_phase"]["max"], r["fe_overlap"]["max"])
        for v, r in zip(values, rows)
    ]
