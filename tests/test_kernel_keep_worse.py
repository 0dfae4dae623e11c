"""`calibrate` never returns (and the CLI never writes) a version that is worse on the held-out
seeds than its parent, unless asked to (issue 19 point 4: bench_calibrate's loss went 0.172 -> 1.109)."""

from __future__ import annotations

import pytest
from test_calibrate import fake_circuit, invoke, quadratic, settings

from encephagen.calibration import SeedSplit, calibrate
from encephagen.errors import CalibrationError
from encephagen.objectives import Loss
from encephagen.storage import save_circuit


def deceptive(test_seeds):
    """The quadratic of test_calibrate on training and validation seeds, turned upside down on
    the held-out ones: the better a candidate looks, the worse it is where it counts."""

    def evaluate(parameter_sets, seeds):
        rows = quadratic(parameter_sets, seeds)
        return [
            [Loss(10.0 - loss.total, loss.terms) if seed in test_seeds else loss for loss, seed in zip(row, seeds)]
            for row in rows
        ]

    return evaluate


def test_a_pick_worse_on_the_held_out_seeds_is_refused_unless_keep_worse(tmp_path):
    s = settings(budget=30)
    test_seeds = set(SeedSplit.from_seed(s.seed, s.train_seeds, s.validation_seeds, s.test_seeds).test)
    with pytest.raises(
        CalibrationError,
        match=r"worse than the starting ones on the 4 held-out test seeds \(loss 5\.\d+ -> 9\.\d+\).*keep_worse=True",
    ):
        calibrate(fake_circuit(), s, tmp_path / "refused", evaluator=deceptive(test_seeds))
    kept = calibrate(fake_circuit(), s, tmp_path / "kept", evaluator=deceptive(test_seeds), keep_worse=True)
    assert kept.loss_after.total > kept.loss_before.total and kept.circuit.version == "0.2.0"


@pytest.fixture
def fake_file(tmp_path):
    return save_circuit(fake_circuit(), tmp_path / "fake.json")


def test_cli_has_keep_worse(tmp_path, fake_file):
    result = invoke(
        "calibrate",
        fake_file,
        "--objective",
        "quadratic",
        "--budget",
        "12",
        "--popsize",
        "6",
        "--out",
        tmp_path / "new.json",
        "--keep-worse",
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new.json").exists()
