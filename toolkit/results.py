"""What a simulation produced: spikes, population counts, readouts, traces, and where they came from.

A :class:`SimulationResult` holds B lanes; :meth:`SimulationResult.lane` gives one. It is
saved to HDF5 with a unit on every dataset and the provenance (circuit, version, seeds,
parameter values, software versions, wall time) in the file, and loads back unchanged.

HDF5 layout (format ``encephagen.simulation``, version 1)::

    /                       attrs: format, format_version, dt (ms), duration_ms, bin_ms, provenance (JSON)
    /seeds                  (B,) uint64
    /parameters             attr json: list of B parameter mappings
    /populations/names      (P,) str;  /populations/sizes (P,) int64
    /spikes/step            (S,) int64, all lanes concatenated (time = step * dt, ms)
    /spikes/neuron          (S,) int32
    /spikes/lane_start      (B + 1,) int64 offsets into the two arrays above
    /population_counts      (B, n_bins, P) int32, spikes per bin
    /traces                 (B, T, K) float64, attr labels (K,), sample t at (t + 1) * dt
    /readouts               attr json: name -> {terms, tau, unit}
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .atomic_files import atomic_output
from .errors import SimulationError, UnknownNameError

FORMAT = "encephagen.simulation"
FORMAT_VERSION = 1
TRACE_UNITS = {"v": "mV", "I_exc": "mV", "I_inh": "mV", "w": "mV"}


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Recorded output of a run of B lanes (see :mod:`encephagen.simulation` for time stamps)."""

    dt: float
    """Integration step (ms)."""
    duration_ms: float
    seeds: list[int]
    population_names: list[str]
    population_sizes: np.ndarray
    bin_ms: float
    """Width of a population-count bin (ms)."""
    spike_steps: list[np.ndarray] | None
    """Per lane, the step of every spike (int64), in time order; None when spikes were not kept."""
    spike_neurons: list[np.ndarray] | None
    """Per lane, the neuron index of every spike (int32), aligned with spike_steps."""
    population_counts: np.ndarray
    """(B, n_bins, P) spikes per bin and population (int32)."""
    traces: np.ndarray
    """(B, T, K) recorded state, column k named by trace_labels[k] (mV)."""
    trace_labels: list[str]
    readouts: Mapping[str, Any] = field(default_factory=dict)
    """Readout definitions (terms, tau) from the circuit."""
    parameters: list[dict[str, float]] = field(default_factory=list)
    """Per lane, the parameter values that differ from the compiled circuit."""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def n_lanes(self) -> int:
        return len(self.seeds)

    @property
    def spike_times_ms(self) -> list[np.ndarray]:
        """Per lane, spike times in ms (``step * dt``)."""
        return [steps * self.dt for steps in self._need_spikes()]

    @property
    def trace_times_ms(self) -> np.ndarray:
        """Time of each trace sample: the state after step t, at ``(t + 1) * dt``."""
        return (np.arange(self.traces.shape[1]) + 1) * self.dt

    @property
    def bin_times_ms(self) -> np.ndarray:
        """Start time of each population-count bin (ms)."""
        return np.arange(self.population_counts.shape[1]) * self.bin_ms

    def population_rates_hz(self) -> np.ndarray:
        """(B, P) mean firing rate of each population over the whole run (Hz)."""
        seconds = self.duration_ms / 1000.0
        if seconds <= 0:
            return np.zeros((self.n_lanes, len(self.population_names)))
        return self.population_counts.sum(axis=1) / (self.population_sizes[None, :] * seconds)

    def rate_traces_hz(self) -> np.ndarray:
        """(B, n_bins, P) population rate in each bin (Hz); a partial last bin is scaled as a full one."""
        return self.population_counts / (self.population_sizes[None, None, :] * self.bin_ms / 1000.0)

    def readout(self, name: str) -> np.ndarray:
        """(B, n_bins) the named readout: weighted population rates, low-pass filtered (Hz)."""
        from .readouts import filter_readout

        if name not in self.readouts:
            raise UnknownNameError("readout", name, self.readouts)
        values, _ = filter_readout(
            self.readouts[name], self.population_counts, self.population_names, self.population_sizes, self.bin_ms
        )
        return values

    def trace(self, label: str) -> np.ndarray:
        """(B, T) one recorded trace by its label, e.g. ``'v:flex_rg[0]'``."""
        if label not in self.trace_labels:
            raise UnknownNameError("trace", label, self.trace_labels)
        return self.traces[:, :, self.trace_labels.index(label)]

    def lane(self, i: int) -> SimulationResult:
        """The single-lane result of lane i (identical to running that lane alone)."""
        if not -self.n_lanes <= i < self.n_lanes:
            raise IndexError(f"lane {i} out of range for {self.n_lanes} lanes")
        i = i % self.n_lanes
        return replace(
            self,
            seeds=[self.seeds[i]],
            spike_steps=None if self.spike_steps is None else [self.spike_steps[i]],
            spike_neurons=None if self.spike_neurons is None else [self.spike_neurons[i]],
            population_counts=self.population_counts[i : i + 1],
            traces=self.traces[i : i + 1],
            parameters=self.parameters[i : i + 1],
        )

    def __repr__(self) -> str:
        """One line, not the spike arrays."""
        spikes = "counts only" if self.spike_steps is None else f"{sum(len(s) for s in self.spike_steps):,} spikes"
        circuit = self.provenance.get("circuit", "?")
        return (
            f"<SimulationResult {circuit} {self.provenance.get('circuit_version', '')}: {self.n_lanes} lane(s), "
            f"{self.duration_ms:g} ms at dt {self.dt:g} ms, {len(self.population_names)} populations, {spikes}>"
        )

    def _repr_html_(self) -> str:
        """A table of the mean rate of each population per lane (the first 20 populations)."""
        import html

        rates = self.population_rates_hz()
        head = "".join(f"<th>seed {s}</th>" for s in self.seeds[:8])
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{r:.2f}</td>" for r in rates[:8, p]) + "</tr>"
            for p, name in enumerate(self.population_names[:20])
        )
        more = f"<p>… {len(self.population_names) - 20} more populations</p>" if len(self.population_names) > 20 else ""
        return f"<p>{html.escape(repr(self))}</p><table><tr><th>population (Hz)</th>{head}</tr>{rows}</table>{more}"

    def _need_spikes(self) -> list[np.ndarray]:
        """The per-lane spike steps, or an error saying that they were not recorded."""
        if self.spike_steps is None:
            raise SimulationError("spikes were not recorded in this run (record_spikes=False); use population_counts")
        return self.spike_steps

    # ------------------------------------------------------------------ HDF5

    def save(self, path: str | os.PathLike) -> Path:
        """Write the result to HDF5 atomically (temporary file + rename); returns the path."""
        import h5py

        path = Path(path)
        with atomic_output(path) as tmp, h5py.File(tmp, "w") as h5:
            h5.attrs.update(
                {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "dt": self.dt,
                    "duration_ms": self.duration_ms,
                    "bin_ms": self.bin_ms,
                    "provenance": json.dumps(self.provenance, sort_keys=True),
                }
            )
            for key, unit in (("dt", "ms"), ("duration_ms", "ms"), ("bin_ms", "ms")):
                h5.attrs[f"{key}_unit"] = unit
            h5.create_dataset("seeds", data=np.asarray(self.seeds, dtype=np.uint64))
            h5.attrs["parameters"] = json.dumps(self.parameters, sort_keys=True)
            pops = h5.create_group("populations")
            pops.create_dataset(
                "names", data=np.asarray(self.population_names, dtype=object), dtype=h5py.string_dtype()
            )
            pops.create_dataset("sizes", data=self.population_sizes)
            if self.spike_steps is not None and self.spike_neurons is not None:
                spikes = h5.create_group("spikes")
                starts = np.concatenate([[0], np.cumsum([s.size for s in self.spike_steps])]).astype(np.int64)
                step = spikes.create_dataset("step", data=_cat(self.spike_steps, np.int64), compression="gzip")
                step.attrs["unit"] = "steps of dt (time = step * dt ms)"
                spikes.create_dataset("neuron", data=_cat(self.spike_neurons, np.int32), compression="gzip").attrs[
                    "unit"
                ] = "neuron index"
                spikes.create_dataset("lane_start", data=starts)
            counts = h5.create_dataset("population_counts", data=self.population_counts, compression="gzip")
            counts.attrs["unit"] = "spikes per bin"
            counts.attrs["dims"] = "lane, bin, population"
            traces = h5.create_dataset("traces", data=self.traces)
            traces.attrs["labels"] = (
                np.asarray(self.trace_labels, dtype=object) if self.trace_labels else np.zeros(0, "S1")
            )
            traces.attrs["unit"] = "mV"
            traces.attrs["dims"] = "lane, step, trace"
            h5.attrs["readouts"] = json.dumps({k: _readout_dict(r) for k, r in self.readouts.items()}, sort_keys=True)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> SimulationResult:
        """Read a result written by :meth:`save`."""
        import h5py

        from .schema import Readout

        try:
            h5 = h5py.File(path, "r")
        except OSError as exc:
            raise SimulationError(f"{path}: cannot open as HDF5: {exc}") from None
        with h5:
            if h5.attrs.get("format") != FORMAT:
                raise SimulationError(
                    f"{path}: not an encephagen simulation result (format attribute {h5.attrs.get('format')!r})"
                )
            if int(h5.attrs["format_version"]) > FORMAT_VERSION:
                raise SimulationError(
                    f"{path}: result format version {h5.attrs['format_version']} is newer than this encephagen reads ({FORMAT_VERSION}); upgrade encephagen"
                )
            seeds = [int(s) for s in h5["seeds"][()]]
            steps = neurons = None
            if "spikes" in h5:
                starts = h5["spikes/lane_start"][()]
                all_steps, all_neurons = h5["spikes/step"][()], h5["spikes/neuron"][()]
                steps = [all_steps[a:b] for a, b in itertools.pairwise(starts)]
                neurons = [all_neurons[a:b] for a, b in itertools.pairwise(starts)]
            labels = [x.decode() if isinstance(x, bytes) else str(x) for x in h5["traces"].attrs["labels"]]
            return cls(
                dt=float(h5.attrs["dt"]),
                duration_ms=float(h5.attrs["duration_ms"]),
                seeds=seeds,
                population_names=[x.decode() if isinstance(x, bytes) else str(x) for x in h5["populations/names"][()]],
                population_sizes=h5["populations/sizes"][()],
                bin_ms=float(h5.attrs["bin_ms"]),
                spike_steps=steps,
                spike_neurons=neurons,
                population_counts=h5["population_counts"][()],
                traces=h5["traces"][()],
                trace_labels=labels,
                readouts={k: Readout.model_validate(v) for k, v in json.loads(h5.attrs["readouts"]).items()},
                parameters=json.loads(h5.attrs["parameters"]),
                provenance=json.loads(h5.attrs["provenance"]),
            )


def _cat(arrays: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)


def _readout_dict(readout: Any) -> dict[str, Any]:
    return readout.model_dump(mode="json") if hasattr(readout, "model_dump") else dict(readout)


def provenance(network, *, wall_seconds: float | None, n_steps: int, n_lanes: int) -> dict[str, Any]:
    """Where a result came from: circuit identity, sizes, software versions, time and host."""
    import numba

    from ._version import __version__

    circuit = network.circuit
    digest = hashlib.sha256(circuit.model_dump_json(by_alias=True).encode()).hexdigest()
    return {
        "circuit": circuit.name,
        "circuit_version": circuit.version,
        "circuit_sha256": digest,
        "circuit_file": str(circuit.source_path) if getattr(circuit, "source_path", None) else None,
        "n_neurons": int(network.n_neurons),
        "n_synapses": int(network.n_synapses),
        "n_steps": int(n_steps),
        "n_lanes": int(n_lanes),
        "wall_seconds": wall_seconds,
        "encephagen": __version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
