"""A real Dask cluster calibrates exactly as local worker processes do, also over TLS.

Each cluster is a ``dask scheduler`` and two ``dask worker --nthreads 1`` processes on
127.0.0.1 with free ports, started for the test and always stopped after it. The calibration
is a small real one (the half-centre's gait objective, 12 evaluations), run by the installed
``encephagen calibrate`` command, whose result must equal ``--workers 2``'s bit for bit.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from encephagen.calibration import open_address_warning

distributed = pytest.importorskip("distributed", reason="dask is an optional extra: pip install 'encephagen[dask]'")

ENCEPHAGEN = [sys.executable, "-c", "from encephagen.cli.main import main; main()"]
CALIBRATION = [
    "calibrate",
    "half_centre",
    "--objective",
    "gait",
    "--target",
    "frequency_hz=4.5",
    "--option",
    "duration_ms=1000",
    "--budget",
    "12",
    "--popsize",
    "6",
    "--train-seeds",
    "2",
    "--validation-seeds",
    "2",
    "--test-seeds",
    "2",
    "--finalists",
    "2",
    "--seed",
    "1000001",
    "--json",
]
ONE_THREAD = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def _calibrate(out: Path, *options: str) -> tuple[dict, dict]:
    """Run the calibration; return (its JSON summary, the new file's parameters and history details)."""
    child = subprocess.run(
        [*ENCEPHAGEN, *CALIBRATION, "--out", str(out), *options],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=out.parent,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    summary = json.loads(child.stdout)
    tree = json.loads(out.read_text())
    return summary, {
        "parameters": {k: p["value"] for k, p in tree["parameters"].items()},
        "details": tree["history"][-1]["details"],
    }


# Runs `python -m dask ...` after asking Linux to end the process when pytest dies
# (PR_SET_PDEATHSIG), so that a killed test run leaves no cluster behind.
DASK_DYING_WITH_PARENT = (
    "import ctypes, runpy, signal, sys\n"
    "if sys.platform.startswith('linux'):\n"
    "    ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
    "sys.argv[0] = 'dask'\n"
    "runpy.run_module('dask', run_name='__main__', alter_sys=True)\n"
)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The reference: the same calibration on two local worker processes."""
    return _calibrate(tmp_path_factory.mktemp("local") / "cal.json", "--workers", "2")


@contextlib.contextmanager
def dask_cluster(folder: Path, tls: list[str] | None = None):
    """Scheduler + two single-threaded workers on loopback; yields the scheduler's address."""
    protocol = ["--protocol", "tls", *tls] if tls else ["--protocol", "tcp"]
    scheduler_file = folder / "scheduler.json"
    children: list[subprocess.Popen] = []
    logs = []

    def start(name: str, *args: str) -> None:
        log = open(folder / f"{name}.log", "w")  # noqa: SIM115 (outlives start(); closed when the cluster stops)
        logs.append(log)
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", DASK_DYING_WITH_PARENT, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **ONE_THREAD},
            )
        )

    try:
        start(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
            *protocol,
        )
        _wait(
            lambda: scheduler_file.is_file() and scheduler_file.stat().st_size > 0,
            children,
            folder,
            "the scheduler file",
        )
        address = json.loads(scheduler_file.read_text())["address"]
        for k in range(2):
            start(
                f"worker{k}",
                "worker",
                address,
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--no-nanny",
                *(tls or []),
            )
        with distributed.Client(address, timeout="30s", security=_security(tls)) as client:
            _wait(lambda: len(client.nthreads()) == 2, children, folder, "two workers")
            assert sorted(client.nthreads().values()) == [1, 1]
        yield address
    finally:
        for child in reversed(children):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
        for child in reversed(children):
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        for log in logs:
            log.close()


def _security(tls: list[str] | None):
    if not tls:
        return None
    files = dict(zip(tls[::2], tls[1::2]))
    return distributed.Security(
        tls_ca_file=files["--tls-ca-file"],
        tls_client_cert=files["--tls-cert"],
        tls_client_key=files["--tls-key"],
        require_encryption=True,
    )


def _wait(ready, children, folder: Path, what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        dead = [c for c in children if c.poll() is not None]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(p.read_text()[-1500:] for p in folder.glob("*.log"))
            pytest.fail(f"{'a Dask process exited' if dead else 'timed out'} waiting for {what}:\n{logs}")
        time.sleep(0.5)


def _self_signed(folder: Path) -> list[str]:
    """A private CA and one certificate it signs for 127.0.0.1 (scheduler, workers and client share it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def certificate(subject: str, key, issuer: str, issuer_key, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("encephagen test CA", ca_key, "encephagen test CA", ca_key, True)
    leaf = certificate("127.0.0.1", key, "encephagen test CA", ca_key, False)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "cert.pem").write_bytes(leaf.public_bytes(pem))
    (folder / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return [
        "--tls-ca-file",
        str(folder / "ca.pem"),
        "--tls-cert",
        str(folder / "cert.pem"),
        "--tls-key",
        str(folder / "key.pem"),
    ]


@pytest.mark.slow
def test_a_dask_cluster_calibrates_exactly_as_two_local_workers(tmp_path, local):
    with dask_cluster(tmp_path) as address:
        assert address.startswith("tcp://127.0.0.1:")
        summary, result = _calibrate(tmp_path / "cal.json", "--executor", address)
    assert result == local[1]
    assert summary["values_after"] == local[0]["values_after"] and summary["loss_after"] == local[0]["loss_after"]
    assert summary["values_after"] != summary["values_before"], "a calibration that moved nothing proves little"


@pytest.mark.slow
def test_a_tls_cluster_with_self_signed_certificates_calibrates_the_same(tmp_path, local):
    tls = _self_signed(tmp_path)
    with dask_cluster(tmp_path, tls) as address:
        assert address.startswith("tls://127.0.0.1:")
        _, result = _calibrate(tmp_path / "cal.json", "--executor", address, *tls)
        assert result == local[1]
        # a client whose certificate our CA did not sign is not let in
        (tmp_path / "stranger").mkdir()
        own = _self_signed(tmp_path / "stranger")
        stranger = distributed.Security(
            tls_ca_file=tls[1], tls_client_cert=own[3], tls_client_key=own[5], require_encryption=True
        )
        with pytest.raises((OSError, TimeoutError)):
            distributed.Client(address, timeout="5s", security=stranger)


def _invoke(*args: str):
    from click.testing import CliRunner

    from encephagen.cli.main import cli

    return CliRunner().invoke(cli, [*CALIBRATION, *args], catch_exceptions=False)


def test_tls_without_certificates_is_one_line(tmp_path):
    import dask

    with dask.config.set({"distributed.comm.tls.ca-file": None, "distributed.comm.tls.client.cert": None}):
        result = _invoke("--out", str(tmp_path / "c.json"), "--executor", "tls://127.0.0.1:9")
    assert result.exit_code == 1
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith("error: a tls:// scheduler needs a CA file and a client certificate")
    )
    missing = _invoke(
        "--out",
        str(tmp_path / "c.json"),
        "--executor",
        "tls://127.0.0.1:9",
        "--tls-ca-file",
        str(tmp_path / "none.pem"),
        "--tls-cert",
        str(tmp_path / "none.pem"),
    )
    assert missing.exit_code == 1 and "none.pem: no such file (given as ca_file=)" in missing.output
    plain = _invoke(
        "--out", str(tmp_path / "c.json"), "--executor", "tcp://127.0.0.1:9", "--tls-cert", str(tmp_path / "none.pem")
    )
    assert plain.exit_code == 1 and "go with --executor tls://HOST:PORT" in plain.output


@pytest.mark.parametrize(
    ("address", "warned"),
    [
        ("tcp://127.0.0.1:8786", False),
        ("127.0.0.1:8786", False),
        ("tcp://localhost:8786", False),
        ("tcp://[::1]:8786", False),
        ("tcp://10.0.0.5:8786", True),
        ("10.0.0.5:8786", True),
        ("tcp://0.0.0.0:8786", True),
        ("tcp://no-such-host.invalid:8786", True),
        ("tls://10.0.0.5:8786", False),
    ],
)
def test_plain_tcp_beyond_loopback_is_warned_about(address, warned):
    warning = open_address_warning(address)
    assert (warning is not None) == warned
    if warned:
        assert "anyone who can reach the scheduler can run code on its workers" in warning and "tls://" in warning


def test_the_cli_warns_before_connecting(tmp_path, caplog, monkeypatch):
    """192.0.2.1 is TEST-NET-1 (RFC 5737): never routed, so the run stops at the connection.

    The client really tries to connect, but gives up after 1 s instead of the library's 10 s: what is
    tested is the warning before and the one line after, not how long the wait is."""
    import dask.distributed

    real = dask.distributed.Client
    monkeypatch.setattr(
        dask.distributed, "Client", lambda address, **kwargs: real(address, **{**kwargs, "timeout": "1s"})
    )
    result = _invoke("--out", str(tmp_path / "c.json"), "--executor", "tcp://192.0.2.1:8786")
    assert result.exit_code == 1
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith("error: cannot reach the Dask scheduler at tcp://192.0.2.1:8786")
    )
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING" and r.name == "encephagen.calibration"]
    assert warning.getMessage().startswith("--executor tcp://192.0.2.1:8786: plain tcp:// beyond loopback")
