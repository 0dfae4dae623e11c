"""Options several commands share, defined once."""

from __future__ import annotations

import click

from encephagen.seeds import REPORT


def first_report_seed(help_text: str = "Seeds run from this one upwards") -> click.decorators.FC:
    """``--first-seed``, defaulting to the first report seed (:data:`encephagen.seeds.REPORT`)."""
    return click.option(
        "--first-seed",
        type=click.IntRange(min=0),
        default=REPORT.first,
        show_default=True,
        help=f"{help_text} (default: the first report seed; see encephagen.seeds).",
    )
