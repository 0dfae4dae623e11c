"""Figures a person reads at a glance: rasters, population rates, phase histograms, sweeps.

The panel helpers (:func:`plot_raster`, :func:`plot_rates`, :func:`plot_phase_histogram`)
draw into a given matplotlib axes and know nothing about gaits, so every command can share
them; :func:`gait_figure` and :func:`sweep_figure` compose them. Figures are made with
:func:`new_figure` (a ``matplotlib.figure.Figure``, not pyplot), so no module here touches
matplotlib's global back end or pyplot's figure list: a notebook keeps its inline back end
and shows a returned figure; :func:`save_figure` writes one atomically. matplotlib is
imported inside the functions so that importing encephagen stays light.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .atomic_files import atomic_write_bytes
from .extras import require

POOL_STYLE = {
    "left_flexor": ("tab:blue", "-"),
    "left_extensor": ("tab:red", "-"),
    "right_flexor": ("tab:blue", "--"),
    "right_extensor": ("tab:red", "--"),
}
"""Colour (flexor blue, extensor red) and line style (left solid, right dashed) of each pool."""


def new_figure(**kwargs):
    """A ``matplotlib.figure.Figure`` not registered with pyplot, so no back end is chosen or changed (keyword arguments as Figure's)."""
    require("matplotlib", "drawing figures")
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _colours() -> list[str]:
    matplotlib = require("matplotlib", "drawing figures")

    return matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]


def save_figure(fig, path: str | Path, *, dpi: int = 120) -> Path:
    """Write a figure atomically; the format follows the suffix (.png, .pdf, .svg)."""
    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=(path.suffix.lstrip(".") or "png"), dpi=dpi, bbox_inches="tight")
    if "matplotlib.pyplot" in sys.modules:  # a figure a caller made with pyplot: free it
        sys.modules["matplotlib.pyplot"].close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def plot_raster(
    ax,
    result,
    lane: int = 0,
    *,
    populations: Sequence[str] | None = None,
    t_range_ms: tuple[float, float] | None = None,
    marker_size: float = 2.0,
) -> None:
    """Spike raster of one lane, one colour band per population, labelled on the y axis.

    Parameters
    ----------
    ax
        Matplotlib axes to draw into.
    result
        A :class:`~encephagen.results.SimulationResult` recorded with spikes.
    lane
        Which lane to draw.
    populations
        Populations to show, in this order from the top; default all, in file order.
    t_range_ms
        Time window (ms); default the whole run.
    marker_size
        Size of each spike tick.
    """
    names = list(result.population_names)
    sizes = np.asarray(result.population_sizes, dtype=int)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    shown = list(populations) if populations is not None else names
    times = np.asarray(result.spike_times_ms[lane])
    neurons = np.asarray(result.spike_neurons[lane])
    if t_range_ms is not None:
        keep = (times >= t_range_ms[0]) & (times < t_range_ms[1])
        times, neurons = times[keep], neurons[keep]
    colours = _colours()
    row, ticks = 0, []
    for k, name in enumerate(reversed(shown)):
        p = names.index(name)
        pick = (neurons >= starts[p]) & (neurons < starts[p + 1])
        ax.scatter(
            times[pick],
            row + neurons[pick] - starts[p],
            s=marker_size,
            marker="|",
            color=colours[k % len(colours)],
            linewidths=0.8,
        )
        ticks.append((row + (sizes[p] - 1) / 2, name))
        row += sizes[p] + 1
    ax.set_yticks([t for t, _ in ticks], [n for _, n in ticks], fontsize=6 if len(ticks) > 12 else 8)
    ax.set_ylim(-1, row)
    ax.set_xlabel("time (ms)")
    if t_range_ms is not None:
        ax.set_xlim(*t_range_ms)


def plot_rates(
    ax,
    times_ms: np.ndarray,
    traces: Mapping[str, np.ndarray],
    *,
    styles: Mapping[str, tuple[str, str]] | None = None,
    ylabel: str = "rate (Hz)",
) -> None:
    """Rate traces sharing one time axis; ``styles`` maps a label to (colour, line style)."""
    for label, trace in traces.items():
        colour, line = (styles or {}).get(label, (None, "-"))
        ax.plot(times_ms, trace, color=colour, linestyle=line, linewidth=1.0, label=label.replace("_", " "))
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)


def plot_phase_histogram(ax, phases: Mapping[str, np.ndarray], *, bins: int = 24) -> None:
    """Polar histogram of phases given in cycles (0.5 = alternation), one colour per label.

    ``ax`` must be a polar axes (``projection="polar"``); each label's circular mean is drawn
    as an arrow whose length is the concentration R.
    """
    edges = np.linspace(0.0, 2 * np.pi, bins + 1)
    for label, values in phases.items():
        values = np.asarray(values, dtype=float)
        if values.size == 0:
            continue
        counts, _ = np.histogram(2 * np.pi * (values % 1.0), bins=edges)
        ax.bar(edges[:-1], counts / counts.max(), width=edges[1] - edges[0], align="edge", alpha=0.5, label=label)
        z = np.exp(2j * np.pi * values).mean()
        ax.annotate("", xy=(np.angle(z), abs(z)), xytext=(0, 0), arrowprops={"arrowstyle": "->", "linewidth": 1.5})
    ax.set_yticks([])
    ax.set_xticks(np.linspace(0, 2 * np.pi, 4, endpoint=False), ["0", "0.25", "0.5", "0.75"])
    ax.legend(loc="upper left", bbox_to_anchor=(1.05, 1.0), fontsize=7, frameon=False)


def gait_figure(result, analysis, *, lane: int = 0, title: str = "", window_ms: float = 2000.0):
    """Motor-pool rates of both sides, a raster and the phase histogram of one run.

    Parameters
    ----------
    result
        The simulation result (with spikes for the raster; without them the raster is left out).
    analysis
        The :class:`~encephagen.gait.GaitAnalysis` of the same lane.
    lane
        Lane of ``result`` to draw.
    title
        Figure title.
    window_ms
        Length of the time window shown in the rate and raster panels, from the end of the warm-up.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(figsize=(11, 7.5))
    grid = fig.add_gridspec(3, 3, height_ratios=[1, 1.6, 1.3], hspace=0.45, wspace=0.35)
    n = max(len(s) for s in analysis.signals.values()) if analysis.signals else 0
    shown = min(n, int(window_ms / analysis.bin_ms))
    times = analysis.start_ms + np.arange(shown) * analysis.bin_ms
    rates_ax = fig.add_subplot(grid[0, :])
    plot_rates(
        rates_ax,
        times,
        {role: s[:shown] for role, s in analysis.signals.items()},
        styles=POOL_STYLE,
        ylabel="motor pool (Hz)",
    )
    for role, (onsets, _) in analysis.bursts.items():
        visible = onsets[onsets < shown * analysis.bin_ms] + analysis.start_ms
        rates_ax.plot(visible, np.zeros_like(visible), "|", color=POOL_STYLE.get(role, ("k", "-"))[0], markersize=8)
    rates_ax.set_xlim(times[0] if shown else 0, times[-1] if shown else 1)
    if result.spike_steps is not None:
        raster_ax = fig.add_subplot(grid[1, :], sharex=rates_ax)
        plot_raster(
            raster_ax, result, lane, t_range_ms=(analysis.start_ms, analysis.start_ms + shown * analysis.bin_ms)
        )
    phase_ax = fig.add_subplot(grid[2, 0], projection="polar")
    plot_phase_histogram(
        phase_ax, {"left-right": analysis.phases.get("lr", []), "flexor-extensor": analysis.phases.get("fe", [])}
    )
    text_ax = fig.add_subplot(grid[2, 1:])
    text_ax.axis("off")
    text_ax.text(0, 1, _metrics_text(analysis.metrics), va="top", family="monospace", fontsize=9)
    fig.suptitle(title)
    return fig


def _metrics_text(metrics: Mapping[str, float]) -> str:
    return "\n".join(f"{key:<20s} {value:9.3f}" for key, value in metrics.items())


def sweep_figure(
    parameter: str, values: Sequence[float], summaries: Sequence[Mapping[str, Mapping[str, float]]], *, title: str = ""
):
    """Gait metrics (mean ± sd over seeds) against the swept parameter's values.

    ``summaries`` are :func:`encephagen.gait.aggregate` outputs, one per value.
    """
    fig = new_figure(figsize=(12, 3.6))
    axes = fig.subplots(1, 3)
    x = np.asarray(values, dtype=float)

    def series(key: str) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.array([s.get(key, {}).get("mean", np.nan) for s in summaries]),
            np.array([s.get(key, {}).get("sd", np.nan) for s in summaries]),
        )

    mean, sd = series("frequency_hz")
    axes[0].errorbar(x, mean, yerr=sd, marker="o", capsize=3)
    axes[0].set_ylabel("frequency (Hz)")
    for key, label in (("lr_phase", "left-right"), ("fe_phase", "flexor-extensor")):
        mean, sd = series(key)
        axes[1].errorbar(x, mean, yerr=sd, marker="o", capsize=3, label=label)
    axes[1].axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    axes[1].set_ylim(0, 1)
    axes[1].set_ylabel("phase (cycles)")
    axes[1].legend(fontsize=7, frameon=False)
    for key, label in (("rhythmic_fraction", "rhythmic fraction"), ("period_cv", "period CV")):
        mean, sd = series(key)
        axes[2].errorbar(x, mean, yerr=sd, marker="o", capsize=3, label=label)
    axes[2].set_ylim(0, 1.05)
    axes[2].legend(fontsize=7, frameon=False)
    for ax in axes:
        ax.set_xlabel(parameter)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
