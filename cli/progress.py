"""The command line's progress bar: a library ``progress(done, total)`` callback drawn by click on stderr."""

from __future__ import annotations

import sys
from typing import Any

import click


def progress_bar(label: str):
    """A ``progress(done, total)`` callback that draws a click bar on stderr, opened on the first call, closed at the end."""
    state: dict[str, Any] = {}

    def report(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr, show_eta=True)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    return report
