"""The circuit file format: one module per schema version, the current one re-exported here.

As the bioimage.io spec keeps ``model/v0_4.py`` and ``model/v0_5.py``, each version of the
format is a module of its own (:mod:`.v1`, :mod:`.v2`), kept as it was released, with an
explicit converter from the one before (:func:`.v2.convert_from_v1`). ``from
encephagen.schema import Circuit`` gives the current version's models; a version-1 tree
passed to ``Circuit.model_validate`` is converted on the way in.
"""

from . import v1, v2
from .v2 import *  # noqa: F403  (the current version is this package's API)
from .v2 import __all__ as _current

SCHEMA_VERSIONS = {"1": v1, "2": v2}
"""schema_version -> the module that defines it."""

__all__ = ["v1", "v2", "SCHEMA_VERSIONS", *_current]  # noqa: PLE0604 (v2.__all__ is a list of str)
