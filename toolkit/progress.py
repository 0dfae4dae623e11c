"""Progress of long work, reported through a callback (as Brian2's ``report=``), never drawn by the library.

A long function takes ``progress``: a callable ``progress(done, total)`` called as the work
advances (``done == total`` at the end), ``True`` for a ready-made bar, or ``False``/``None``
for silence. The ready-made bar is ``tqdm.auto``'s: a widget in a notebook, text on stderr in
a terminal. The command line draws its own bar from the same callback (``encephagen.cli``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

ProgressCallback = Callable[[int, int], None]
"""``progress(done, total)``: units of work done so far, out of ``total``."""
Progress = bool | ProgressCallback | None
"""What a ``progress=`` argument accepts."""


def tqdm_progress(label: str) -> ProgressCallback:
    """A callback that draws a ``tqdm.auto`` bar (a widget in Jupyter), opened on the first call, closed at the end."""
    state: dict[str, Any] = {}

    def report(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            from tqdm.auto import tqdm

            bar = state["bar"] = tqdm(total=total, desc=label, unit_scale=True, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return report


def progress_callback(progress: Progress, label: str) -> ProgressCallback | None:
    """The callback a ``progress=`` argument stands for (None for no reporting)."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return tqdm_progress(label)
    if callable(progress):
        return progress
    raise TypeError(f"progress must be True, False or a callable progress(done, total); got {progress!r}")


@contextmanager
def reporting(items: Sequence[T], progress: Progress, label: str) -> Iterator[Iterator[T]]:
    """Iterate over ``items``, reporting ``progress(k, len(items))`` after the k-th (like ``click.progressbar(items)``)."""
    report = progress_callback(progress, label)

    def iterate() -> Iterator[T]:
        for k, item in enumerate(items, start=1):
            yield item
            if report is not None:
                report(k, len(items))

    yield iterate()
