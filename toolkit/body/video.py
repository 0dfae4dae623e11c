"""Video of a recorded episode: side view (and front view for a 3-D body), with the circuit's population activity beside it.

The episode is replayed from its recorded ``qpos``/``qvel`` (the loop does not render while
it runs, so recording costs nothing and rendering can be redone), drawn with MuJoCo's
offscreen renderer (``MUJOCO_GL=egl`` works headless; :mod:`encephagen.body` selects it
when no backend is set, before MuJoCo is first imported) and encoded to H.264 mp4 with the ffmpeg binary that the
``imageio-ffmpeg`` wheel ships. The panel on the right is a scrolling heat map of every
population's rate over the last two seconds, so a reader sees the rhythm that drives the
legs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..atomic_files import atomic_output
from ..errors import BodyError, MissingDependencyError
from ..extras import require
from ..progress import Progress, progress_callback

log = logging.getLogger(__name__)


def _ffmpeg_writer():
    try:
        import imageio_ffmpeg
    except ImportError:
        raise MissingDependencyError("imageio-ffmpeg", "writing mp4 video", extra="video") from None
    return imageio_ffmpeg


def write_video(
    body,
    trajectory: dict[str, np.ndarray],
    path: str | os.PathLike,
    *,
    population_names: Sequence[str] = (),
    stride: int = 4,
    size: tuple[int, int] = (320, 240),
    window_ms: float = 2000.0,
    progress: Progress = False,
) -> Path:
    """Render a recorded episode to an mp4 file (written atomically).

    Parameters
    ----------
    body
        A body of the kind that ran the episode (its model is used to draw).
    trajectory
        An :class:`~encephagen.body.loop.Episode` trajectory: 'qpos', 'qvel' (T+1 rows) and,
        for the activity panel, 'population_rates_hz' (T, P).
    path
        Output .mp4 file.
    population_names
        Labels of the rate columns (the circuit's populations, in order).
    stride
        Render every ``stride``-th body step; the video plays in real time
        (fps = 1000 / (stride * body.dt_ms)).
    size
        (width, height) of each body view in pixels (side, and front for a body free in 3-D:
        ``body.cameras()``); the panel is as tall.
    window_ms
        Time span shown by the activity panel.
    progress
        A callback ``progress(frames_done, frames_total)``, or True for a ``tqdm.auto`` bar
        (:mod:`encephagen.progress`).
    """
    ffmpeg = _ffmpeg_writer()
    mujoco = require("mujoco", "filming a body")

    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise BodyError(f"{path}: the video is written as H.264 mp4; give a path ending in .mp4")
    qpos, qvel = trajectory["qpos"], trajectory["qvel"]
    rates = trajectory.get("population_rates_hz")
    width, height = size
    try:
        renderer = mujoco.Renderer(body.model, height, width)
    except Exception as exc:  # a missing GL stack surfaces as many different errors
        raise BodyError(
            f"MuJoCo offscreen rendering failed ({exc}); with no display set MUJOCO_GL=egl (or osmesa) and install libegl1"
        ) from None
    panel = (
        _ActivityPanel(list(population_names), rates, body.dt_ms, window_ms, height)
        if rates is not None and rates.size
        else None
    )
    frames = range(0, len(qpos), stride)
    fps = 1000.0 / (stride * body.dt_ms)
    cameras = [camera for _, camera in body.cameras()]
    total_width = width * len(cameras) + (panel.width if panel else 0)
    try:
        with atomic_output(path) as tmp:
            writer = ffmpeg.write_frames(
                tmp,
                (total_width, height),
                fps=fps,
                codec="libx264",
                pix_fmt_out="yuv420p",
                macro_block_size=1,
                quality=6,
            )
            writer.send(None)

            def frame(t: int) -> np.ndarray:
                body.data.qpos[:] = qpos[t]
                body.data.qvel[:] = qvel[t]
                mujoco.mj_forward(body.model, body.data)
                views = []
                for camera in cameras:
                    renderer.update_scene(body.data, camera=camera)
                    views.append(renderer.render())
                return np.ascontiguousarray(np.hstack(views + ([panel.draw(t)] if panel else [])))

            report = progress_callback(progress, f"rendering {path.name}")
            for k, t in enumerate(frames):
                writer.send(frame(t))
                if report is not None:
                    report(k + 1, len(frames))
            writer.close()
    finally:
        renderer.close()
    log.info("wrote %s (%d frames, %.1f fps)", path, len(frames), fps)
    return path


class _ActivityPanel:
    """A matplotlib heat map of population rates (rows) over a sliding time window."""

    def __init__(self, names: list[str], rates: np.ndarray, dt_ms: float, window_ms: float, height: int):
        require("matplotlib", "the video's activity panel")
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.rates, self.dt_ms = rates, dt_ms
        self.window = max(1, int(round(window_ms / dt_ms)))
        self.width = int(height * 1.25) // 2 * 2
        dpi = 100
        self.figure = Figure(figsize=(self.width / dpi, height / dpi), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        axes = self.figure.add_axes((0.3, 0.12, 0.62, 0.8))
        n = rates.shape[1]
        vmax = max(1.0, float(np.percentile(rates, 99)))
        self.image = axes.imshow(
            np.zeros((n, self.window)),
            aspect="auto",
            cmap="magma",
            vmin=0,
            vmax=vmax,
            extent=(-window_ms / 1000, 0, n - 0.5, -0.5),
            interpolation="nearest",
        )
        labels = names if len(names) == n else [str(i) for i in range(n)]
        axes.set_yticks(range(n), labels, fontsize=6)
        axes.set_xlabel("time (s)", fontsize=7)
        axes.tick_params(axis="x", labelsize=6)
        axes.set_title("population rate (Hz)", fontsize=7)

    def draw(self, t: int) -> np.ndarray:
        """The panel at body step t (rates of the steps before t, newest on the right)."""
        block = np.zeros((self.rates.shape[1], self.window))
        recent = self.rates[max(0, t - self.window) : t]
        if len(recent):
            block[:, -len(recent) :] = recent.T
        self.image.set_data(block)
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())[:, :, :3]
