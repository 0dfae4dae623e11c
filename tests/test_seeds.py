"""The seed split is enforced in code: calibration can never draw a report (or selection) seed."""

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from encephagen import seeds as seed_ranges
from encephagen.calibration import SeedSplit
from encephagen.cli.main import cli
from encephagen.seeds import (
    CALIBRATION,
    REPORT,
    SELECTION,
    SeedRangeError,
    check_calibration_seeds,
    draw_calibration_seeds,
)


def test_ranges_are_the_protocol_and_disjoint():
    assert (REPORT.first, REPORT.last) == (100_000, 199_999)
    assert (SELECTION.first, SELECTION.last) == (200_000, 999_999)
    assert (CALIBRATION.first, CALIBRATION.last) == (1_000_000, 2**31 - 2)
    for a, b in [(REPORT, SELECTION), (REPORT, CALIBRATION), (SELECTION, CALIBRATION)]:
        assert not a.overlaps(b) and not b.overlaps(a)
    assert 100_000 in REPORT and 199_999 in REPORT and 200_000 not in REPORT and 99_999 not in REPORT


class _Extremes:
    """Stands in for numpy's Generator: returns the smallest and largest values `choice` may return."""

    def __init__(self):
        self.population = None

    def choice(self, population, size, replace):
        assert replace is False
        self.population = population
        return np.array([0, population - 1][:size] + [population // 2] * max(0, size - 2))


def test_the_draw_cannot_leave_the_calibration_range(monkeypatch):
    """Exhaustive over the sampler's support: `choice(n)` returns 0..n-1, so the draw is CALIBRATION.start + 0 ..
    CALIBRATION.start + n - 1; with n = CALIBRATION.size both ends stay inside, and the ranges are disjoint."""
    fake = _Extremes()
    monkeypatch.setattr(np.random, "default_rng", lambda seed: fake)
    low, high = draw_calibration_seeds(0, 2)
    assert fake.population == CALIBRATION.size
    assert (low, high) == (CALIBRATION.first, CALIBRATION.last)
    assert low not in REPORT and high not in REPORT and low not in SELECTION and high not in SELECTION
    assert (
        REPORT.last < SELECTION.first <= SELECTION.last < CALIBRATION.first
    )  # everything between the ends is calibration too


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), train=st.integers(1, 12), validation=st.integers(0, 12), test=st.integers(1, 30))
def test_every_calibration_split_lies_in_the_calibration_range(seed, train, validation, test):
    split = SeedSplit.from_seed(seed, train, validation, test)
    drawn = split.train + split.validation + split.test
    assert len(set(drawn)) == len(drawn) == train + validation + test
    assert all(s in CALIBRATION and s not in REPORT and s not in SELECTION for s in drawn)
    assert split == SeedSplit.from_seed(seed, train, validation, test)


def test_explicit_report_or_selection_seeds_are_refused_by_calibration():
    with pytest.raises(
        SeedRangeError, match=r"seed 100005 cannot be used to calibrate: it is a report seed \(100000-199999"
    ):
        SeedSplit(train=[1_000_000], validation=[], test=[100_005])
    with pytest.raises(ValueError, match="it is a selection seed"):
        SeedSplit(train=[250_000], validation=[], test=[1_000_001])
    with pytest.raises(SeedRangeError, match="outside every range"):
        check_calibration_seeds([7])
    check_calibration_seeds([CALIBRATION.first, CALIBRATION.last])


def test_tuning_a_baseline_controller_draws_only_calibration_seeds():
    """The shipped baselines are picked by tune_baseline, so its seeds are held to the split too."""
    pytest.importorskip("nevergrad")
    from encephagen.body.baselines import tune_baseline

    with pytest.raises(SeedRangeError, match=r"tuning the constant baseline: seed 100000 .* report seed"):
        tune_baseline("constant", budget=1, weight=0.0, train_seeds=[100_000])
    with pytest.raises(SeedRangeError, match="selection seed"):
        tune_baseline("sine", budget=1, weight=0.0, validation_seeds=[200_001])


def test_describe_names_the_range_a_run_used():
    assert REPORT.describe(range(100_000, 100_100)) == "report seeds 100000-100099"
    assert REPORT.describe([3, 4]) == "seeds (outside the report range 100000-199999) 3-4"
    assert REPORT.consecutive(100_000, 3) == [100_000, 100_001, 100_002]
    with pytest.raises(SeedRangeError):
        REPORT.consecutive(199_999, 2)
    assert seed_ranges.range_of(250_000) is SELECTION and seed_ranges.range_of(5) is None
    assert seed_ranges.describe_seeds([3, 4]) == "seeds 3-4 (outside every range: report seeds start at 100000)"
    assert seed_ranges.describe_seeds([100_000, 200_000]).startswith("seeds 100000-200000 (outside")


def test_run_defaults_to_report_seeds_and_prints_the_range():
    result = CliRunner().invoke(cli, ["run", "walker2d_cpg", "--episodes", "2", "--max-steps", "5"])
    assert result.exit_code == 0, result.output
    assert "2 episodes on report seeds 100000-100001" in result.output
