"""Seeds by purpose: report, selection and calibration ranges that never overlap.

A behaviour that holds only on the seeds it was chosen on is not a result. So every seed
belongs to one range, named here once, and the code that selects (``calibrate``) can draw
only from its own range, while the commands that report (``encephagen run``, ``gait``,
``sweep``) start in the report range by default:

=============  ======================  ==================================================
range          seeds                   used by
=============  ======================  ==================================================
report         100000 -- 199999        figures in the README, notes and tests; ``run``,
                                       ``gait`` and ``sweep`` defaults. Nothing that picks
                                       a version, a parameter or a threshold sees them.
selection      200000 -- 999999        choosing by hand between versions or settings (to
                                       299999 until 2026-12-06, when sessions had used
                                       most of it; the rest was unassigned).
calibration    1000000 -- 2**31 - 2    ``encephagen calibrate``'s train/validation/test
                                       seeds (drawn, distinct, from ``--seed``).
=============  ======================  ==================================================

>>> REPORT.first, REPORT.last
(100000, 199999)
>>> REPORT.overlaps(CALIBRATION) or REPORT.overlaps(SELECTION) or SELECTION.overlaps(CALIBRATION)
False
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import EncephagenError


class SeedRangeError(EncephagenError, ValueError):
    """A seed used outside the range of its purpose (a report seed in a calibration)."""


@dataclass(frozen=True)
class SeedRange:
    """Seeds ``start <= s < stop`` reserved for one purpose."""

    name: str
    start: int
    stop: int
    purpose: str

    @property
    def first(self) -> int:
        return self.start

    @property
    def last(self) -> int:
        return self.stop - 1

    @property
    def size(self) -> int:
        return self.stop - self.start

    def __contains__(self, seed: object) -> bool:
        if isinstance(seed, bool) or not hasattr(seed, "__index__"):  # ints and numpy integers only
            return False
        return self.start <= seed.__index__() < self.stop

    def overlaps(self, other: SeedRange) -> bool:
        return self.start < other.stop and other.start < self.stop

    def describe(self, seeds: Sequence[int]) -> str:
        """'report seeds 100000-100099' for a run's header (the range a figure comes from)."""
        seeds = [int(s) for s in seeds]
        if not seeds:
            return f"no {self.name} seeds"
        span = f"{min(seeds)}-{max(seeds)}" if len(seeds) > 1 else str(seeds[0])
        inside = all(s in self for s in seeds)
        where = f"{self.name} seeds" if inside else f"seeds (outside the {self.name} range {self.first}-{self.last})"
        return f"{where} {span}"

    def consecutive(self, first: int, count: int) -> list[int]:
        """``count`` seeds from ``first`` upwards, all inside the range; otherwise refused."""
        seeds = list(range(int(first), int(first) + int(count)))
        if count < 1 or seeds[0] not in self or seeds[-1] not in self:
            raise SeedRangeError(f"{self.name} seeds run {self.first}-{self.last}; got {count} seed(s) from {first}")
        return seeds


REPORT = SeedRange(
    "report", 100_000, 200_000, "reported figures (README, notes, tests that quote figures; run/gait/sweep defaults)"
)
SELECTION = SeedRange("selection", 200_000, 1_000_000, "choosing by hand between versions or settings")
CALIBRATION = SeedRange("calibration", 1_000_000, 2**31 - 1, "encephagen calibrate's train, validation and test seeds")
RANGES: tuple[SeedRange, ...] = (REPORT, SELECTION, CALIBRATION)

REPORT_FIRST = REPORT.first
"""Where ``encephagen run``, ``gait`` and ``sweep`` start by default."""


def range_of(seed: int) -> SeedRange | None:
    """The range a seed belongs to, or None (seeds below 100000, as older figures used)."""
    return next((r for r in RANGES if seed in r), None)


def describe_seeds(seeds: Sequence[int]) -> str:
    """'report seeds 100000-100099', 'selection seeds 200000-200019', or 'seeds 0-9 (outside every range)'.

    >>> describe_seeds(range(200000, 200020))
    'selection seeds 200000-200019'
    """
    seeds = [int(s) for s in seeds]
    owner = next((r for r in RANGES if seeds and all(s in r for s in seeds)), None)
    if owner is not None:
        return owner.describe(seeds)
    span = f"{min(seeds)}-{max(seeds)}" if len(seeds) > 1 else (str(seeds[0]) if seeds else "none")
    return f"seeds {span} (outside every range: report seeds start at {REPORT.first})"


def draw_calibration_seeds(seed: int, count: int) -> list[int]:
    """``count`` distinct calibration seeds drawn from ``seed``: same seed, same list.

    The draw is ``CALIBRATION.start + k`` with ``k`` sampled without replacement from
    ``range(CALIBRATION.size)``, so every seed lies in ``[CALIBRATION.start, CALIBRATION.stop)``
    whatever the generator returns; the ranges are disjoint, so no report seed can come out.

    >>> draw_calibration_seeds(1, 3) == draw_calibration_seeds(1, 3)
    True
    >>> all(s in CALIBRATION for s in draw_calibration_seeds(1, 100))
    True
    """
    import numpy as np

    if count < 0:
        raise SeedRangeError(f"count must be 0 or more; got {count}")
    offsets = np.random.default_rng(seed).choice(CALIBRATION.size, size=count, replace=False)
    return [CALIBRATION.start + int(k) for k in offsets]


def check_calibration_seeds(seeds: Sequence[int], what: str = "calibration seeds") -> None:
    """Refuse any seed outside the calibration range, naming the range it belongs to."""
    for seed in seeds:
        if seed in CALIBRATION:
            continue
        owner = range_of(int(seed))
        where = (
            f"it is a {owner.name} seed ({owner.first}-{owner.last}: {owner.purpose})"
            if owner
            else "it lies outside every range"
        )
        raise SeedRangeError(
            f"{what}: seed {seed} cannot be used to calibrate: {where}. Calibration seeds run "
            f"{CALIBRATION.first}-{CALIBRATION.last}; draw them with encephagen.seeds.draw_calibration_seeds(seed, n)"
        )


__all__ = [
    "CALIBRATION",
    "RANGES",
    "REPORT",
    "REPORT_FIRST",
    "SELECTION",
    "SeedRange",
    "SeedRangeError",
    "check_calibration_seeds",
    "describe_seeds",
    "draw_calibration_seeds",
    "range_of",
]
