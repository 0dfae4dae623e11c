"""Optional dependencies: which extra installs each one, and one way to import it.

``pip install encephagen`` is the core (validate, show, diff, convert, migrate, simulate, gait,
sweep, lesions, import, export, view). Calibration, bodies, figures, video and the comparison with
empirical FC (scipy's filters, statistics and MATLAB reader) need more; a feature
that needs a package that is absent raises :class:`~encephagen.errors.MissingDependencyError`
naming the extra, e.g. ``calibration needs the package 'nevergrad'; install it with: pip
install 'encephagen[calibrate]'``, as Gymnasium does for its optional environments.

>>> EXTRAS["mujoco"]
'body'
>>> require("json", "reading JSON").__name__
'json'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

EXTRAS: dict[str, str] = {
    "nevergrad": "calibrate",
    "mujoco": "body",
    "gymnasium": "body",
    "matplotlib": "plot",
    "imageio_ffmpeg": "video",
    "dask": "dask",
    "brian2": "peers",
    "libsonata": "sonata",
    "nest": "nest",
    "scipy": "fc",
}
"""Top-level module -> the extra of ``pyproject.toml`` that installs it."""
PACKAGES: dict[str, str] = {
    "imageio_ffmpeg": "imageio-ffmpeg",
    "gymnasium": "gymnasium[mujoco]",
    "nest": "nest-simulator",
    "dask": "dask[distributed]",
}
"""Module -> distribution name where the two differ."""


def require(module: str, feature: str, extra: str | None = None) -> ModuleType:
    """Import ``module`` (dotted names allowed) or raise :class:`MissingDependencyError` naming the extra.

    Parameters
    ----------
    module
        What to import, e.g. ``"matplotlib.pyplot"``.
    feature
        What needs it, in the user's words (``"drawing figures"``); it starts the error message.
    extra
        The extra to name instead of :data:`EXTRAS`'s, for a package that several extras install
        (scipy comes with ``[fc]`` and with ``[body]``, whose LQR stander needs it).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        missing = (exc.name or top).split(".")[0]
        if missing != top and missing not in EXTRAS:
            raise  # a broken install of a package that is present: a bug, not a missing extra
        name = missing if missing in EXTRAS else top
        raise MissingDependencyError(PACKAGES.get(name, name), feature, extra or EXTRAS.get(name)) from None
