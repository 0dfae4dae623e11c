"""`encephagen gait` prints, beside an intact circuit, the same seeds without wiring and with shuffled wiring."""

import json

from click.testing import CliRunner

from encephagen.cli.main import cli


def gait_json(*args):
    result = CliRunner().invoke(cli, ["gait", "spinal_cpg", "--seeds", "1", "--duration-ms", "3000", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_baselines_run_the_same_seeds_and_lose_the_rhythm():
    report = gait_json()
    circuit_rhythm = report["summary"]["rhythmic_fraction"]["mean"]
    assert circuit_rhythm > 0.9
    assert set(report["baselines"]) == {"drive only (no projections)", "shuffled wiring (seed 0)"}
    for label, summary in report["baselines"].items():
        assert summary["rhythmic_fraction"]["mean"] < 0.5 * circuit_rhythm, label


def test_no_baselines_for_lesioned_runs_or_on_request():
    assert gait_json("--no-baselines")["baselines"] == {}
    assert gait_json("--lesion", "V0d")["baselines"] == {}
