"""Calibrate a circuit's free parameters against an objective: ask/tell over nevergrad.

What the research code got wrong, and what this module does instead:

* **Lucky noise draws.** Its CMA-ES kept the best single noisy evaluation and called it the
  optimum (search 5.5, verified 2.4, noise alone 1.5 +- 1.5). Here every candidate is scored
  on several *training* noise seeds; the best few are compared on *validation* seeds; the
  pick and the starting values are then scored on *held-out test* seeds that neither the
  search nor the pick saw, and only those figures are reported and recorded.
* **Unclamped bounds.** It clamped inside the evaluator and saved the raw, out-of-bounds
  vector. Here the search space is the circuit's declared bounds (nevergrad folds samples
  back inside), so every evaluated and written value lies within them.
* **One isotropic sigma** over parameters spanning 1 to 100. Here each parameter is its own
  ``ng.p.Scalar`` (or ``ng.p.Log`` where the file says ``"scale": "log"``) whose step is a
  sixth of its own range.

A run is deterministic from its seed: the optimizer's random state is seeded, every
candidate is scored on the same seeds, and the loss of a lane does not depend on which
other lanes share its batch. So the JSON-lines log of told losses *is* the optimizer state:
``resume`` rebuilds the optimizer by asking the same candidates again and telling it the
logged losses (checking that each re-asked candidate equals the logged one), then carries
on. No pickle is read. A checkpoint file, replaced atomically after each generation,
records how many bytes of the log are complete; anything after that is cut off on resume.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import itertools
import json
import logging
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .atomic_files import atomic_write_bytes
from .errors import CalibrationError, MissingDependencyError, UnknownNameError
from .extras import require
from .json_codec import dumps_canonical
from .objectives import BatchEvaluator, Loss, Objective, get_objective
from .plots import save_figure
from .schema import Circuit, HistoryEntry, Parameter, bump_version
from .seeds import check_calibration_seeds, draw_calibration_seeds
from .storage import circuit_from_tree, circuit_tree

log = logging.getLogger(__name__)

LOG_NAME = "log.jsonl"
CHECKPOINT_NAME = "checkpoint.json"
FAILED_LOSS = 1e6
"""Told to the optimizer for a candidate whose loss is not a finite number."""
SIGNIFICANT_DIGITS = 6
"""Finalists are rounded to this many significant digits, so the written file diffs cleanly;
the rounded values are the ones scored on validation and test seeds."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class CalibrationSettings:
    """What to optimise and how; everything that decides the result."""

    objective: str
    budget: int
    """Number of candidates the search evaluates (each on every training seed)."""
    seed: int = 0
    targets: Mapping[str, float] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    optimizer: str = "CMA"
    """Any name in ``nevergrad.optimizers.registry``."""
    popsize: int | None = None
    """Candidates per generation (asked, evaluated together, told); default 4 + 3 ln(dimension)."""
    train_seeds: int = 3
    validation_seeds: int = 5
    test_seeds: int = 10
    finalists: int = 5
    """How many of the best training candidates are compared on the validation seeds."""
    restarts: int = 1
    """Independent optimizer runs sharing the budget (one CMA-ES run is not a result: runs from
    different seeds end far apart); each restart's recommendation becomes a finalist."""


@dataclass(frozen=True)
class SeedSplit:
    """Disjoint noise seeds: searched on, picked on, reported on."""

    train: list[int]
    validation: list[int]
    test: list[int]

    def __post_init__(self) -> None:
        for part in ("train", "validation", "test"):  # a report seed must never select (encephagen.seeds)
            check_calibration_seeds(getattr(self, part), f"SeedSplit({part}=...)")

    @classmethod
    def from_seed(cls, seed: int, n_train: int, n_validation: int, n_test: int) -> SeedSplit:
        """Distinct seeds drawn from ``seed`` in the calibration range only: the same seed always gives the same split."""
        seeds = draw_calibration_seeds(seed, n_train + n_validation + n_test)
        return cls(seeds[:n_train], seeds[n_train : n_train + n_validation], seeds[n_train + n_validation :])


@dataclass(frozen=True)
class Progress:
    """Where a run is, for progress bars; sent after every generation and after validation."""

    stage: str
    """'search' (``replayed`` true while resuming) or 'validation' (best and median over the finalists)."""
    generation: int
    generations: int
    evaluations: int
    budget: int
    best: float
    """Lowest mean training loss so far."""
    median: float
    """Median mean training loss of the last generation."""
    best_terms: Mapping[str, float]
    elapsed_s: float
    eta_s: float | None
    replayed: bool = False


@dataclass(frozen=True)
class CalibrationResult:
    """The calibrated circuit and the held-out figures that describe it."""

    circuit: Circuit
    """New version: calibrated values, bumped version, a 'calibrated' history entry."""
    values_before: dict[str, float]
    values_after: dict[str, float]
    loss_before: Loss
    """Mean loss of the starting values on the held-out test seeds."""
    loss_after: Loss
    """Mean loss of the calibrated values on the held-out test seeds."""
    train_best: Loss
    seeds: SeedSplit
    evaluations: int
    generations: int
    elapsed_s: float
    log_path: Path

    def __repr__(self) -> str:
        """One line: the new version and its held-out losses (the circuit itself is large)."""
        return (
            f"<CalibrationResult {self.circuit.name} {self.circuit.version}: held-out loss {self.loss_before.total:.4g} -> "
            f"{self.loss_after.total:.4g}, {self.evaluations} evaluations, {self.elapsed_s:.0f} s>"
        )

    def _repr_html_(self) -> str:
        """The held-out losses and each free parameter's value before and after."""
        import html

        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{self.values_before.get(k, float('nan')):.5g}</td><td>{v:.5g}</td></tr>"
            for k, v in self.values_after.items()
        )
        return f"<p>{html.escape(repr(self))}</p><table><tr><th>parameter</th><th>before</th><th>after</th></tr>{rows}</table>"

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (what ``--json`` prints)."""
        return {
            "circuit": self.circuit.name,
            "version": self.circuit.version,
            "loss_before": self.loss_before.as_dict(),
            "loss_after": self.loss_after.as_dict(),
            "train_best": self.train_best.as_dict(),
            "values_before": self.values_before,
            "values_after": self.values_after,
            "seeds": {"train": self.seeds.train, "validation": self.seeds.validation, "test": self.seeds.test},
            "evaluations": self.evaluations,
            "generations": self.generations,
            "elapsed_s": self.elapsed_s,
            "log": str(self.log_path),
        }


# --------------------------------------------------------------------------- search space


def parameter_space(circuit: Circuit, file: str = ""):
    """The nevergrad parametrization of exactly the circuit's free parameters.

    Each parameter starts at its current value and moves within its bounds, linearly or
    (``scale: "log"``) in log space, with a step of a sixth of its own range.
    """
    ng = require("nevergrad", "calibration")

    free = circuit.free_parameters
    if not free:
        raise CalibrationError(
            f'{file or circuit.name}:/parameters: no free parameters to calibrate. Mark some with "free": true and "bounds": [low, high]'
        )
    params = {}
    for name, p in free.items():
        low, high = _bounds(p)
        if not low <= p.value <= high:
            raise CalibrationError(
                f"{file or circuit.name}:/parameters/{name}/value: value lies outside its bounds [{low:g}, {high:g}]; got {p.value:g}. Move the value inside the bounds or widen them"
            )
        if p.scale == "log":
            params[name] = ng.p.Log(init=p.value, lower=low, upper=high, mutable_sigma=False)
        else:
            params[name] = ng.p.Scalar(init=p.value, lower=low, upper=high, mutable_sigma=False)
    return ng.p.Dict(**params)


def make_optimizer(circuit: Circuit, name: str, seed: int, budget: int, popsize: int):
    """A seeded nevergrad optimizer over the free parameters, starting at their current values."""
    ng = require("nevergrad", "calibration")

    space = parameter_space(circuit)
    space.random_state = np.random.RandomState(seed)
    # A few nevergrad optimizers draw from numpy's global generator; seed it so they replay too.
    np.random.seed(seed)  # noqa: NPY002 (it is numpy's global generator that those optimizers use)
    return ng.optimizers.registry[name](parametrization=space, budget=budget, num_workers=popsize)


def restart_plan(settings: CalibrationSettings) -> list[tuple[int, int]]:
    """(optimizer seed, budget) of each restart: the budget split evenly, restart 0 seeded by ``seed``."""
    share, extra = divmod(settings.budget, settings.restarts)
    seeds = [settings.seed] + [
        int(np.random.SeedSequence([settings.seed, r]).generate_state(1)[0]) for r in range(1, settings.restarts)
    ]
    return [(seed, share + (r < extra)) for r, seed in enumerate(seeds)]


def default_popsize(n_free: int) -> int:
    """CMA-ES's own default population, 4 + 3 ln(d)."""
    return 4 + int(3 * math.log(n_free))


def _bounds(parameter: Parameter) -> tuple[float, float]:
    """A free parameter's [low, high] (the schema requires bounds on every free parameter)."""
    if parameter.bounds is None:
        raise CalibrationError('a free parameter has no bounds; give it "bounds": [low, high]')
    low, high = parameter.bounds
    return low, high


def _rounded(values: Mapping[str, float], circuit: Circuit) -> dict[str, float]:
    out = {}
    for name, value in values.items():
        low, high = _bounds(circuit.parameters[name])
        out[name] = min(high, max(low, float(f"{value:.{SIGNIFICANT_DIGITS}g}")))
    return out


def check_request(
    circuit: Circuit, settings: CalibrationSettings, *, custom_evaluator: bool = False, file: str = ""
) -> tuple[Objective | None, dict[str, float], dict[str, Any]]:
    """Refuse a request that cannot run, before any work: the objective and its targets and
    options, the optimizer, the budget and seed counts, the free parameters and their bounds.

    Returns the objective (None with a custom evaluator) and the resolved targets and options.
    """
    ng = require("nevergrad", "calibration")

    parameter_space(circuit, file)
    if settings.optimizer not in ng.optimizers.registry:
        raise UnknownNameError("nevergrad optimizer", settings.optimizer, ng.optimizers.registry)
    if settings.restarts < 1:
        raise CalibrationError(f"restarts must be at least 1; got {settings.restarts}")
    if settings.budget < settings.restarts:
        raise CalibrationError(
            f"budget must be at least 1 candidate evaluation per restart; got {settings.budget} for {settings.restarts} restart(s)"
        )
    if settings.popsize is not None and settings.popsize < 1:
        raise CalibrationError(f"popsize must be at least 1; got {settings.popsize}")
    if settings.train_seeds < 1 or settings.test_seeds < 1 or settings.validation_seeds < 0 or settings.finalists < 1:
        raise CalibrationError("need at least 1 training seed, 1 test seed, 0 or more validation seeds and 1 finalist")
    if custom_evaluator:
        return None, dict(settings.targets), dict(settings.options)
    objective = get_objective(settings.objective)
    targets, options = objective.resolve_targets(settings.targets), objective.resolve_options(settings.options)
    return objective, targets, options


def evaluation_job(
    circuit: Circuit,
    objective: Objective,
    targets: Mapping[str, float],
    options: Mapping[str, Any],
    base_dir: str | os.PathLike | None,
) -> EvaluationJob:
    """The job of a registered objective, with its evaluator built here once, so that a
    circuit the objective cannot score is refused before any work (and the build is cached)."""
    job = EvaluationJob(
        objective.name,
        objective.module,
        dumps_canonical(circuit_tree(circuit)),
        dict(targets),
        dict(options),
        str(base_dir) if base_dir else None,
    )
    job.evaluator()
    return job


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class EvaluationJob:
    """Everything a worker process needs to build the evaluator of a registered objective."""

    objective: str
    module: str
    circuit_json: str
    targets: Mapping[str, float]
    options: Mapping[str, Any]
    base_dir: str | None

    def evaluator(self) -> BatchEvaluator:
        """This process's evaluator for the job: built on first use, then cached."""
        text = json.dumps(
            [self.objective, self.module, self.circuit_json, dict(self.targets), dict(self.options), self.base_dir],
            sort_keys=True,
        )
        key = hashlib.sha256(text.encode()).hexdigest()
        if key not in _EVALUATORS:
            objective = get_objective(self.objective, self.module)
            circuit = circuit_from_tree(json.loads(self.circuit_json), "<calibration job>")
            _EVALUATORS[key] = objective.factory(
                circuit, self.targets, self.options, base_dir=Path(self.base_dir) if self.base_dir else None
            )
        return _EVALUATORS[key]


_EVALUATORS: dict[str, BatchEvaluator] = {}
"""Per-process cache: a worker compiles the circuit once, not once per generation."""


def evaluate_chunk(
    job: EvaluationJob | BatchEvaluator, parameter_sets: list[dict[str, float]], seeds: list[int]
) -> list[list[Loss]]:
    """Score candidates on seeds, in this process (the unit of work sent to executors)."""
    evaluator = job.evaluator() if isinstance(job, EvaluationJob) else job
    losses = evaluator(parameter_sets, seeds)
    if len(losses) != len(parameter_sets) or any(len(row) != len(seeds) for row in losses):
        raise CalibrationError(
            f"the evaluator returned {len(losses)} rows for {len(parameter_sets)} candidates x {len(seeds)} seeds; it must return one Loss per (candidate, seed)"
        )
    return losses


class _Evaluate:
    """Split a batch of candidates over an executor's workers and gather the results in order."""

    def __init__(self, job: EvaluationJob | BatchEvaluator, executor: concurrent.futures.Executor | None, chunks: int):
        self.job, self.executor, self.chunks = job, executor, max(1, chunks)

    def __call__(self, parameter_sets: list[dict[str, float]], seeds: list[int]) -> list[list[Loss]]:
        if self.executor is None or self.chunks == 1 or len(parameter_sets) == 1:
            return evaluate_chunk(self.job, parameter_sets, seeds)
        bounds = np.linspace(0, len(parameter_sets), min(self.chunks, len(parameter_sets)) + 1).round().astype(int)
        futures = [
            self.executor.submit(evaluate_chunk, self.job, parameter_sets[a:b], seeds)
            for a, b in itertools.pairwise(bounds)
        ]
        return [row for future in futures for row in future.result()]


def _one_thread_per_worker() -> None:
    """Worker processes already split the machine; the simulator's lane threads would oversubscribe it."""
    import numba

    numba.set_num_threads(1)


def dask_security(
    ca_file: str | os.PathLike | None = None,
    cert: str | os.PathLike | None = None,
    key: str | os.PathLike | None = None,
) -> Any:
    """A ``distributed.Security`` for a ``tls://`` scheduler: mutual TLS, as ``dask scheduler --tls-*`` expects.

    Dask pickles every task, so whoever can talk to a scheduler can run code on its workers;
    TLS with a private CA lets in only holders of a certificate it signed. Files left out
    come from the Dask config (``distributed.comm.tls.ca-file``, ``.client.cert``,
    ``.client.key``); ``key`` may be left out when ``cert`` holds the key too.
    """
    try:
        from distributed.security import Security
    except ImportError:
        raise MissingDependencyError(
            "dask[distributed]", "--executor tls://... (a Dask scheduler)", extra="dask"
        ) from None
    for name, path, what in (
        ("ca_file", ca_file, "CA certificate"),
        ("cert", cert, "certificate"),
        ("key", key, "private key"),
    ):
        if path is not None and not Path(path).is_file():
            raise CalibrationError(f"{path}: no such file (given as {name}=); give the PEM file of the TLS {what}")
    security = Security(
        **{
            k: str(v)
            for k, v in (("tls_ca_file", ca_file), ("tls_client_cert", cert), ("tls_client_key", key))
            if v is not None
        },
        require_encryption=True,
    )
    # Security sets its tls_* attributes from the arguments and the Dask config at run time
    if getattr(security, "tls_ca_file", None) is None or getattr(security, "tls_client_cert", None) is None:
        raise CalibrationError(
            "a tls:// scheduler needs a CA file and a client certificate: give ca_file= and cert= "
            "(--tls-ca-file, --tls-cert, --tls-key) or set distributed.comm.tls.ca-file and .client.cert in the Dask config"
        )
    return security


def open_address_warning(address: str) -> str | None:
    """Why connecting to ``address`` is unsafe (plain ``tcp://`` beyond this machine), or None.

    A Dask scheduler runs whatever pickled task it is sent, so a plain-TCP scheduler on a
    network address is an open door to its workers; loopback addresses reach only this machine.
    """
    import ipaddress
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)  # no scheme means tcp
        host = parse_host_port(location)[0]
    except ValueError:
        return None  # not a host:port address: Client reports it
    if scheme not in ("tcp", "ws"):
        return None
    try:
        loopback = all(
            ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (OSError, ValueError):
        loopback = False
    if loopback:
        return None
    return (
        f"--executor {address}: plain {scheme}:// beyond loopback is neither encrypted nor authenticated, and Dask "
        "runs any pickled task it is sent: anyone who can reach the scheduler can run code on its workers. "
        "Use tls:// with certificates (--tls-ca-file, --tls-cert, --tls-key), or a private network"
    )


@contextlib.contextmanager
def open_executor(
    workers: int = 1, address: str | None = None, *, security: Any = None
) -> Iterator[tuple[concurrent.futures.Executor | None, int]]:
    """An executor and the number of chunks to split each generation into.

    ``address`` connects to a Dask distributed scheduler: ``tls://host:port`` with ``security``
    (see :func:`dask_security`; None takes the TLS files from the Dask config), or plain
    ``tcp://host:port``, which is logged as a warning unless the host is a loopback address
    (see :func:`open_address_warning`). Otherwise ``workers > 1`` starts a local process pool;
    otherwise evaluation stays in this process.
    """
    if address is not None:
        try:
            from dask.distributed import Client
        except ImportError:
            raise MissingDependencyError(
                "dask[distributed]", "--executor (a Dask scheduler address)", extra="dask"
            ) from None
        if address.startswith(("tls://", "wss://")):
            security = security if security is not None else dask_security()
        elif security is not None:
            raise CalibrationError(
                f"executor {address!r}: TLS files were given for a scheduler address that is not tls://; "
                "start the scheduler with --protocol tls and give its tls:// address"
            )
        warning = open_address_warning(address)
        if warning is not None:
            log.warning("%s", warning)
        try:
            client = Client(address, timeout="10s", security=security)
        except (OSError, TimeoutError) as exc:
            raise CalibrationError(
                f"cannot reach the Dask scheduler at {address}: {exc}. Start one with 'dask scheduler' or check the address"
            ) from None
        with client:
            threads = sum(client.nthreads().values()) or 1
            log.info("dask scheduler %s: %d worker threads", address, threads)
            yield client.get_executor(pure=False), threads
    elif workers > 1:
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers, initializer=_one_thread_per_worker) as pool:
            yield pool, workers
    else:
        yield None, 1


# --------------------------------------------------------------------------- the run


def _jsonable(value: Any) -> Any:
    """Non-finite floats become None, so logs and circuit files stay valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value


def _dumps(record: Mapping[str, Any]) -> str:
    return json.dumps(_jsonable(record), allow_nan=False, separators=(",", ":"))


def circuit_digest(circuit: Circuit) -> str:
    return hashlib.sha256(dumps_canonical(circuit_tree(circuit)).encode()).hexdigest()


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("encephagen", "nevergrad", "numpy", "scipy", "numba"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _now_iso() -> str:
    """UTC now, or SOURCE_DATE_EPOCH when set (reproducible files)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


class _Log:
    """The append-only JSON-lines log and the checkpoint that says how much of it is complete."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / LOG_NAME
        self.checkpoint = run_dir / CHECKPOINT_NAME

    def start(self, config: Mapping[str, Any]) -> None:
        atomic_write_bytes(self.path, (_dumps({"type": "start", "config": config}) + "\n").encode())
        self.commit(config, generations=0, evaluations=0)

    def append(self, records: Sequence[Mapping[str, Any]]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write("".join(_dumps(r) + "\n" for r in records))
            handle.flush()
            os.fsync(handle.fileno())

    def commit(self, config: Mapping[str, Any], generations: int, evaluations: int) -> None:
        state = {
            "format": "encephagen calibration checkpoint",
            "config": config,
            "generations": generations,
            "evaluations": evaluations,
            "log_bytes": self.path.stat().st_size,
        }
        atomic_write_bytes(self.checkpoint, (json.dumps(state, indent=1) + "\n").encode())

    def recover(
        self, config: Mapping[str, Any], option_defaults: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]] | None:
        """The complete evaluation records of an earlier run with this config (None: nothing to resume).

        An option the earlier run does not record was added to the objective since; that run used what is
        now its default (``option_defaults``), so it resumes."""
        if not self.checkpoint.exists():
            return None
        state = json.loads(self.checkpoint.read_text(encoding="utf-8"))
        old, new = state.get("config", {}), json.loads(_dumps(config))
        if isinstance(old.get("options"), dict):
            old = {**old, "options": {**json.loads(_dumps(option_defaults or {})), **old["options"]}}
        if old != new:
            changed = _changed_keys(old, new)
            raise CalibrationError(
                f"{self.checkpoint}: the run there used different settings ({', '.join(changed)}); resume with the same ones or choose another run_dir"
            )
        with open(self.path, "r+b") as handle:
            handle.truncate(state["log_bytes"])
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [r for r in map(json.loads, lines) if r["type"] == "evaluation"]


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The keys whose values differ, nested ones as ``options.perturb`` (a run written by an older
    version may record an option in an older form, such as text where a list is now expected).

    >>> _changed_keys({"seed": 1, "options": {"perturb": "push=3", "dt": 0.1}}, {"seed": 1, "options": {"perturb": [], "dt": 0.1}})
    ['options.perturb']
    """
    changed = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            changed += _changed_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            changed.append(f"{prefix}{key}")
    return changed


def calibrate(
    circuit: Circuit,
    settings: CalibrationSettings,
    run_dir: str | os.PathLike,
    *,
    evaluator: BatchEvaluator | None = None,
    base_dir: str | os.PathLike | None = None,
    resume: bool = False,
    executor: concurrent.futures.Executor | None = None,
    chunks: int = 1,
    progress: Callable[[Progress], None] | None = None,
    file: str = "",
    keep_worse: bool = False,
) -> CalibrationResult:
    """Search the circuit's free parameters for the lowest objective loss.

    Parameters
    ----------
    circuit
        A circuit with free parameters (``"free": true`` and ``"bounds"``).
    settings
        Objective, targets, budget, seed, optimizer and seed counts.
    run_dir
        Folder for the JSON-lines log and the checkpoint (created if missing).
    evaluator
        A batched evaluator to use instead of the registered objective's (it must be
        picklable to go to an executor). Targets and options are then the caller's affair.
    resume
        Continue the run in ``run_dir`` (same settings required): the logged losses are
        replayed into a fresh optimizer, which ends where an uninterrupted run would.
    executor, chunks
        Where candidates are evaluated: each generation is split into ``chunks`` parts
        submitted to ``executor`` (see :func:`open_executor`); None evaluates in-process.
    progress
        Called with a :class:`Progress` after every generation and final stage.
    keep_worse
        Return a new version even when its held-out loss is worse than the starting values';
        by default that raises :class:`CalibrationError` (the log keeps every figure).

    Returns
    -------
    CalibrationResult
        The new circuit version and the held-out test losses before and after.
    """
    started = time.perf_counter()
    objective, targets, options = check_request(circuit, settings, custom_evaluator=evaluator is not None, file=file)
    free = circuit.free_parameters
    popsize = settings.popsize or default_popsize(len(free))
    if settings.popsize is None:
        log.info("popsize = %s (default)", popsize)
    seeds = SeedSplit.from_seed(settings.seed, settings.train_seeds, settings.validation_seeds, settings.test_seeds)
    config = {
        "circuit": circuit.name,
        "circuit_version": circuit.version,
        "circuit_sha256": circuit_digest(circuit),
        "objective": settings.objective,
        "targets": targets,
        "options": options,
        "optimizer": settings.optimizer,
        "budget": settings.budget,
        "popsize": popsize,
        "seed": settings.seed,
        "seeds": {"train": seeds.train, "validation": seeds.validation, "test": seeds.test},
        "finalists": settings.finalists,
        "restarts": settings.restarts,
        "free_parameters": {n: {"value": p.value, "bounds": p.bounds, "scale": p.scale} for n, p in free.items()},
    }
    job: EvaluationJob | BatchEvaluator
    if evaluator is not None:
        job = evaluator
    else:
        assert objective is not None  # check_request returns the objective unless a custom evaluator is given
        job = evaluation_job(circuit, objective, targets, options, base_dir)
    evaluate = _Evaluate(job, executor, chunks)

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    run_log = _Log(run_dir)
    replay: list[dict[str, Any]] = []
    if resume:
        recovered = run_log.recover(config, objective.options if objective is not None else None)
        if recovered is None:
            log.info("%s: no checkpoint; starting a new run", run_dir)
        replay = recovered or []
    elif run_log.path.exists():
        raise CalibrationError(
            f"{run_dir}: holds an earlier run's log; pass resume=True to continue it, or choose another run_dir"
        )
    if not replay:
        run_log.start(config)

    history, recommendations = _search(
        circuit, settings, popsize, evaluate, seeds, run_log, config, replay, progress, started
    )
    generations = sum(math.ceil(budget / popsize) for _, budget in restart_plan(settings))
    done = len(history)
    start_values = {name: p.value for name, p in free.items()}
    picked, validation = _pick(history, recommendations, circuit, seeds, settings, evaluate, run_log)
    if progress is not None and validation:
        best = min(validation, key=lambda m: _finite(m.total))
        median = statistics.median(_finite(m.total) for m in validation)
        progress(
            Progress(
                "validation",
                generations,
                generations,
                done,
                settings.budget,
                best.total,
                median,
                best.terms,
                time.perf_counter() - started,
                None,
            )
        )
    final = evaluate([start_values, picked], seeds.test)
    loss_before, loss_after = Loss.mean(final[0]), Loss.mean(final[1])
    train_best = min((m for _, m in history), key=lambda m: _finite(m.total))
    run_log.append(
        [
            {
                "type": "test",
                "seeds": seeds.test,
                "before": {"values": start_values, **loss_before.as_dict()},
                "after": {"values": picked, **loss_after.as_dict()},
            }
        ]
    )
    if _finite(loss_after.total) > _finite(loss_before.total) and not keep_worse:
        raise CalibrationError(
            f"the calibrated values are worse than the starting ones on the {len(seeds.test)} held-out test seeds "
            f"(loss {loss_before.total:.4g} -> {loss_after.total:.4g}), so no new version was made (log {run_log.path}); "
            "raise the budget or the training or validation seeds, or keep it anyway with keep_worse=True"
        )

    entry = HistoryEntry(
        version=bump_version(circuit.version, "minor"),
        date=_now_iso(),
        author=f"encephagen calibrate {package_versions().get('encephagen', '')}".strip(),
        action="calibrated",
        parent_version=circuit.version,
        description=f"{settings.optimizer} on objective {settings.objective!r}: held-out loss {loss_before.total:.4g} -> {loss_after.total:.4g} over {len(seeds.test)} test seeds",
        details=_jsonable(
            {
                **{
                    k: config[k]
                    for k in (
                        "objective",
                        "targets",
                        "options",
                        "optimizer",
                        "budget",
                        "popsize",
                        "restarts",
                        "seed",
                        "seeds",
                    )
                },
                "loss_before": loss_before.as_dict(),
                "loss_after": loss_after.as_dict(),
                "train_best": train_best.total,
                "values_before": start_values,
                "packages": package_versions(),
            }
        ),
    )
    calibrated = circuit.with_parameter_values(picked).model_copy(
        update={"version": entry.version, "history": [*circuit.history, entry]}
    )
    return CalibrationResult(
        calibrated,
        start_values,
        picked,
        loss_before,
        loss_after,
        train_best,
        seeds,
        done,
        generations,
        time.perf_counter() - started,
        run_log.path,
    )


def _search(
    circuit, settings, popsize, evaluate, seeds, run_log, config, replay, progress, started
) -> tuple[list[tuple[dict[str, float], Loss]], list[dict[str, float]]]:
    """The ask/evaluate/tell loop, one generation at a time, restart after restart; generations
    already in the log are replayed instead of evaluated.

    Returns every candidate's values and mean training loss in the order they were asked,
    and each restart's recommendation.
    """
    plan = restart_plan(settings)
    generations = sum(math.ceil(budget / popsize) for _, budget in plan)
    history: list[tuple[dict[str, float], Loss]] = []
    recommendations: list[dict[str, float]] = []
    generation = fresh = 0
    search_started = time.perf_counter()
    for restart, (seed, budget) in enumerate(plan):
        optimizer = make_optimizer(circuit, settings.optimizer, seed, budget, popsize)
        for start in range(0, budget, popsize):
            done = len(history)
            candidates = [optimizer.ask() for _ in range(min(popsize, budget - start))]
            values = [{k: float(v) for k, v in c.value.items()} for c in candidates]
            replayed = done + len(candidates) <= len(replay)
            if replayed:
                logged = replay[done : done + len(candidates)]
                for value, record in zip(values, logged):
                    if record["values"] != value:
                        raise CalibrationError(
                            f"{run_log.path}: evaluation {record['index']} does not replay (logged {record['values']}, asked {value}); was nevergrad upgraded? Start a new run"
                        )
                means = [Loss(math.inf if r["loss"] is None else r["loss"], r["terms"]) for r in logged]
            else:
                rows = evaluate(values, seeds.train)
                means = [Loss.mean(row) for row in rows]
                run_log.append(
                    [
                        {
                            "type": "evaluation",
                            "restart": restart,
                            "generation": generation,
                            "index": done + i,
                            "values": value,
                            "loss": mean.total,
                            "terms": mean.terms,
                            "seed_losses": [loss.total for loss in row],
                        }
                        for i, (value, mean, row) in enumerate(zip(values, means, rows))
                    ]
                )
                fresh += len(candidates)
            for candidate, mean in zip(candidates, means):
                optimizer.tell(candidate, mean.total if math.isfinite(mean.total) else FAILED_LOSS)
            history.extend(zip(values, means))
            generation += 1
            if not replayed:
                run_log.commit(config, generation, len(history))
            if progress is not None:
                best = min((m for _, m in history), key=lambda m: _finite(m.total))
                elapsed = time.perf_counter() - search_started
                eta = elapsed / fresh * (settings.budget - len(history)) if fresh else None
                median = statistics.median(_finite(m.total) for m in means)
                progress(
                    Progress(
                        "search",
                        generation,
                        generations,
                        len(history),
                        settings.budget,
                        best.total,
                        median,
                        best.terms,
                        time.perf_counter() - started,
                        eta,
                        replayed,
                    )
                )
        recommendations.append({k: float(v) for k, v in optimizer.recommend().value.items()})
    return history, recommendations


def _finite(total: float) -> float:
    return total if math.isfinite(total) else math.inf


def _pick(history, recommendations, circuit, seeds, settings, evaluate, run_log) -> tuple[dict[str, float], list[Loss]]:
    """The finalist with the lowest validation loss, and every finalist's validation loss.

    Finalists are the starting values (a search that finds nothing better changes nothing),
    the best training candidates and each restart's recommendation, rounded.
    """
    ranked = sorted(range(len(history)), key=lambda i: (_finite(history[i][1].total), i))
    finalists: list[dict[str, float]] = [{name: p.value for name, p in circuit.free_parameters.items()}]
    for values in [history[i][0] for i in ranked[: settings.finalists]] + recommendations:
        rounded = _rounded(values, circuit)
        if rounded not in finalists:
            finalists.append(rounded)
    if not seeds.validation:
        return _rounded(history[ranked[0]][0], circuit), []
    means = [Loss.mean(row) for row in evaluate(finalists, seeds.validation)]
    run_log.append(
        [{"type": "validation", "values": v, "loss": m.total, "terms": m.terms} for v, m in zip(finalists, means)]
    )
    best = min(range(len(finalists)), key=lambda i: (_finite(means[i].total), i))
    return finalists[best], means


# --------------------------------------------------------------------------- reading logs


def read_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a calibration log; a torn last line (killed mid-write) is skipped."""
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"{path}: no such calibration log")
    records = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise CalibrationError(f"{path}:{number}: not a JSON line; is this a calibration log?") from None
    if not records or records[0].get("type") != "start":
        raise CalibrationError(f"{path}: not a calibration log (its first line is not a 'start' record)")
    return records


def convergence(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per-generation best/median and the running best of a log's evaluations."""
    evaluations = [r for r in records if r["type"] == "evaluation"]
    losses = np.array([FAILED_LOSS if r["loss"] is None else r["loss"] for r in evaluations], dtype=float)
    generations = sorted({r["generation"] for r in evaluations})
    per_gen = {g: [loss for r, loss in zip(evaluations, losses) if r["generation"] == g] for g in generations}
    position = {g: float(np.mean([r["index"] + 1 for r in evaluations if r["generation"] == g])) for g in generations}
    test = next((r for r in records if r["type"] == "test"), None)
    return {
        "config": records[0]["config"],
        "evaluations": len(evaluations),
        "generations": len(generations),
        "loss": losses.tolist(),
        "running_best": np.minimum.accumulate(losses).tolist() if len(losses) else [],
        "generation_position": [position[g] for g in generations],
        "generation_median": [float(np.median(per_gen[g])) for g in generations],
        "restart_starts": [
            r["index"] + 1
            for prev, r in zip([None, *evaluations], evaluations)
            if prev is not None and r.get("restart") != prev.get("restart")
        ],
        "generation_best": [float(np.min(per_gen[g])) for g in generations],
        "best": float(losses.min()) if len(losses) else None,
        "test": test,
    }


def plot_convergence(summary: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Loss of every evaluation, the running best and each generation's median, as a PNG."""
    from .plots import new_figure

    path = Path(path)
    config = summary["config"]
    fig = new_figure(figsize=(7, 4), dpi=120)
    ax = fig.subplots()
    loss = np.asarray(summary["loss"], dtype=float)
    ax.scatter(
        np.arange(1, len(loss) + 1), loss, s=6, alpha=0.35, color="0.4", label="candidate (mean over training seeds)"
    )
    ax.plot(np.arange(1, len(loss) + 1), summary["running_best"], color="C0", label="best so far (training)")
    ax.plot(
        summary["generation_position"], summary["generation_median"], color="C1", marker=".", label="generation median"
    )
    for i, start in enumerate(summary["restart_starts"]):
        ax.axvline(start - 0.5, color="0.7", lw=0.8, label="restart" if i == 0 else None)
    test = summary["test"]
    if test is not None:
        ax.axhline(test["before"]["total"], color="C3", ls=":", label=f"held-out, start: {test['before']['total']:.3g}")
        ax.axhline(
            test["after"]["total"], color="C2", ls="--", label=f"held-out, calibrated: {test['after']['total']:.3g}"
        )
    ax.set_xlabel("candidate evaluations")
    ax.set_ylabel(f"loss ({config['objective']})")
    ax.set_title(f"{config['circuit']} {config['circuit_version']}: {config['optimizer']}, seed {config['seed']}")
    if np.all(loss[np.isfinite(loss)] > 0) and len(loss):
        ax.set_yscale("log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    return path
