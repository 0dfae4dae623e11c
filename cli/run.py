"""``encephagen run CIRCUIT --body walker2d``: drive a body with a circuit, beside its baselines."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import click

from encephagen.seeds import REPORT_FIRST

if TYPE_CHECKING:  # the body stack loads only when a command runs
    from encephagen.body.runs import DelayTolerance, PushTolerance, Tolerance


@click.command("run")
@click.argument("circuit")
@click.option(
    "--body", "body_name", default=None, help="Body to drive (walker2d, humanoid, mjcf); default: the binding's."
)
@click.option(
    "--binding",
    "binding_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Binding file (default: next to CIRCUIT, NAME.BODY.binding.json if it exists, else NAME.binding.json).",
)
@click.option(
    "--episodes", type=click.IntRange(min=1), default=10, show_default=True, help="Episodes, on seeds S .. S+N-1."
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=REPORT_FIRST,
    show_default=True,
    help="First seed (body reset, circuit noise, perturbation draws); the default starts the report seeds (encephagen.seeds).",
)
@click.option(
    "--dt",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Circuit time step (ms); must divide the body step. Default: the binding's dt_ms, else 0.1.",
)
@click.option(
    "--max-steps", type=click.IntRange(min=1), default=None, help="Cut episodes shorter than the body's limit (1000)."
)
@click.option(
    "--perturb",
    "perturb",
    multiple=True,
    metavar="KIND[=SIZE]",
    help="Perturb every episode (repeatable): push=N·s, mass=SCALE, friction=SCALE, slope=DEGREES, noise=SD, delay=STEPS.",
)
@click.option(
    "--sweep",
    is_flag=True,
    help="With --perturb push: bisect the push impulse at which half of the episodes finish; with --perturb delay (and no push): the longest motor delay in body steps (circuit, no afferents, sensors at rest, sine walker).",
)
@click.option(
    "--drive",
    "drive_values",
    default=None,
    metavar="V1,V2,...",
    help="Run at each value of the descending drive and print speed against drive: each episode's mean "
    "speed and its settled speed (from 2 s on, after the start from rest), and the span of each.",
)
@click.option(
    "--drive-param",
    default="drive",
    show_default=True,
    help="The circuit parameter --drive and --drive-schedule command.",
)
@click.option(
    "--drive-schedule",
    default=None,
    metavar="S:V,S:V",
    help="Change the drive within each episode, seconds:value from 0 s (e.g. 0:21,4:25).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --drive: write speed against drive (PNG).",
)
@click.option(
    "--video",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the first episode as an mp4 (side view + population activity).",
)
@click.option("--force", is_flag=True, help="Replace --video / --plot files that exist.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def run(
    circuit: str,
    body_name: str | None,
    binding_file: Path | None,
    episodes: int,
    seed: int,
    dt: float | None,
    max_steps: int | None,
    perturb: tuple[str, ...],
    sweep: bool,
    drive_values: str | None,
    drive_param: str,
    drive_schedule: str | None,
    plot: Path | None,
    video: Path | None,
    force: bool,
    as_json: bool,
) -> None:
    """Run CIRCUIT in closed loop with a body; report it beside the baselines it must beat.

    Every episode reports steps survived, forward distance (m), mean speed (m/s) and
    reward. On the same seeds run the binding's offsets alone, zero action and, on
    Walker2d, the best constant action and a tuned sine walker with torso-pitch feedback:
    surviving alone proves nothing (a constant action stands for 1000 steps), and a
    12-number controller is the bar for distance. Seeds start at 100000, the report range
    that no calibration draws from; the range used is printed.

    With --perturb every controller meets the same pushes and noise (drawn from each
    episode's seed); beside the circuit run the circuit without its afferent populations and
    the circuit with its sensors read as 0 (afferents keep their tonic input, lose the body).

    \b
    Examples:
      encephagen run walker2d_cpg --body walker2d --episodes 100
      encephagen run walker2d_cpg --episodes 20 --perturb push=6 --perturb noise=0.05
      encephagen run walker2d_cpg --episodes 20 --perturb push --sweep
      encephagen run walker2d_cpg --episodes 20 --perturb delay --sweep
      encephagen run walker2d_cpg --episodes 10 --drive 20,22.5,25 --plot speed.png
      encephagen run walker2d_cpg --episodes 10 --drive-schedule 0:20,4:25
      encephagen run walker2d_cpg --episodes 1 --video walk.mp4
    """
    from encephagen.atomic_files import check_output_file
    from encephagen.body.loop import DriveSchedule
    from encephagen.body.perturbations import MotorDelay, Push, parse_perturbations
    from encephagen.body.runs import bind, delay_tolerance, push_tolerance, run_body, run_with_schedule, speed_by_drive
    from encephagen.errors import BodyError

    for path in (video, plot):
        if path is not None:
            check_output_file(path, overwrite=force)
    try:
        loop = bind(circuit, body_name, binding=binding_file, dt=dt)
    except BodyError as exc:
        raise BodyError(str(exc).replace("give binding=", "pass --binding")) from None
    try:
        perturbations = parse_perturbations(perturb)
    except BodyError as exc:
        raise BodyError(f"--perturb: {exc}") from None
    swept = next((p for p in perturbations if isinstance(p, Push)), None) or next(
        (p for p in perturbations if isinstance(p, MotorDelay)), None
    )
    if sweep and swept is None:
        raise BodyError(
            "--sweep bisects a push impulse or a motor delay: add --perturb push or --perturb delay "
            "(its size is where the bisection starts)"
        )
    if plot is not None and drive_values is None:
        raise BodyError("--plot draws speed against drive: add --drive V1,V2,...")
    common = dict(episodes=episodes, first_seed=seed, perturbations=perturbations)
    as_given = {"perturbations": list(perturb)}  # the report names the perturbations as the flags did
    if sweep and isinstance(swept, Push):
        pushes = push_tolerance(loop, progress=None if as_json else _sweep_progress, **common)
        _print_push_tolerance(pushes, as_given, as_json)
    elif sweep:
        delays = delay_tolerance(loop, progress=None if as_json else _delay_progress, **common)
        _print_delay_tolerance(delays, as_given, as_json)
    elif drive_values is not None:
        values = _drive_values(drive_values)
        result = speed_by_drive(loop, values, parameter=drive_param, max_steps=max_steps, **common)
        _print_speeds(result, as_given, plot, as_json)
    elif drive_schedule is not None:
        try:
            schedule = DriveSchedule.parse(drive_schedule, drive_param)
        except BodyError as exc:
            raise BodyError(f"--drive-schedule: {exc}") from None
        _print_schedule(run_with_schedule(loop, schedule, max_steps=max_steps, **common), as_given, as_json)
    else:
        result = run_body(loop, max_steps=max_steps, record_first=video is not None, **common)
        if video is not None:
            from encephagen.body.binding import make_bound_body
            from encephagen.body.video import write_video

            write_video(
                make_bound_body(loop.binding, loop.base_dir),
                result.trajectory,
                video,
                population_names=loop.network.population_names,
                progress=not as_json,
            )
        summary = {**result.to_dict(), **as_given, "video": str(video) if video else None}
        click.echo(json.dumps(summary, indent=2) if as_json else _table(summary))


def _title(summary: dict) -> str:
    perturbed = f", perturbed: {' '.join(summary['perturbations'])}" if summary["perturbations"] else ""
    return (
        f"{summary['circuit']} {summary['version']} on {summary['body']} "
        f"(dt {summary['dt_ms']} ms, {summary['neural_steps_per_body_step']} circuit steps per body step), "
        f"{len(summary['seeds'])} episodes on {summary['seed_range']}{perturbed}"
    )


def _table(summary: dict) -> str:
    controllers = summary["controllers"]
    names = list(controllers)
    lines = [
        _title(summary),
        "seed    " + "  ".join(f"{n + ' steps':>18} {'dist m':>7}" for n in names) + "  circuit episode ended",
    ]
    for i, seed in enumerate(summary["seeds"]):
        cells = [
            f"{controllers[n]['episodes'][i]['steps']:>18d} {controllers[n]['episodes'][i]['distance']:>7.2f}"
            for n in names
        ]
        lines.append(f"{seed:>6}  " + "  ".join(cells) + "  " + _ending(controllers["circuit"]["episodes"][i]))
    lines.append("")
    lines.append(
        f"{'':15} {'steps':>16} {'full':>8} {'95 % interval':>14} {'distance m':>14} {'speed m/s':>14} {'reward':>16}"
    )
    for n in names:
        a = controllers[n]["aggregate"]
        lines.append(
            f"{n:15} {a['steps_mean']:>8.1f} ± {a['steps_sd']:<5.1f} {a['full']:>4}/{a['episodes']:<3} {_interval(a)} "
            f"{a['distance_mean']:>6.2f} ± {a['distance_sd']:<5.2f} {a['speed_mean']:>6.3f} ± {a['speed_sd']:<5.3f} "
            f"{a['reward_mean']:>7.1f} ± {a['reward_sd']:<6.1f}"
        )
    paired = summary.get("paired")
    if paired:
        lines.append(
            f"same draws, circuit against {paired['against']}: {paired['only_circuit']} episodes only the circuit "
            f"finished, {paired['only_other']} only {paired['against']} (exact McNemar p = {paired['p']:.2g})"
        )
    if summary.get("video"):
        lines.append(f"wrote {summary['video']}")
    return "\n".join(lines)


def _interval(aggregate: dict) -> str:
    """The 95 % interval of the full-episode share, in per cent, 14 characters wide."""
    text = f"{100 * aggregate['full_low']:.1f}-{100 * aggregate['full_high']:.1f} %"
    return f"{text:>14}"


def _sweep_progress(name: str, size: float, fraction: float) -> None:
    click.echo(f"  {name:15} push {size:7.3f} N·s: {fraction:.0%} full", err=True)


def _delay_progress(name: str, steps: float, fraction: float) -> None:
    click.echo(f"  {name:15} delay {steps:3.0f} body steps: {fraction:.0%} full", err=True)


def _print_push_tolerance(result: PushTolerance, as_given: dict, as_json: bool) -> None:
    """A push sweep's result (:class:`~encephagen.body.runs.PushTolerance`)."""
    if _json_or_title(result, as_given, as_json):
        return
    click.echo(
        f"push impulse at which half of the episodes finish (one push per {result.push_every_s:g} s, {result.push_duration_ms:g} ms each, "
        f"forward or backward at random; same draws for every controller):"
    )
    for name, t in result.tolerance.items():
        click.echo(
            f"  {name:15} {t.size:7.2f} N·s   (finished >= 50 % at {t.low:.2f}, < 50 % at {t.high:.2f}; {len(t.tried)} sizes tried)"
        )
    _print_tolerance_ratios(result.tolerance, "without pushes")


def _print_delay_tolerance(result: DelayTolerance, as_given: dict, as_json: bool) -> None:
    """A delay sweep's result (:class:`~encephagen.body.runs.DelayTolerance`)."""
    if _json_or_title(result, as_given, as_json):
        return
    click.echo(
        f"longest motor delay at which half of the episodes still finish (body steps of {result.body_dt_ms:g} ms):"
    )
    for name, t in result.tolerance.items():
        if t.high == 0:
            reach = "fewer than half finish even without a delay"
        else:
            reach = f"< 50 % at {t.high:g}" if math.isfinite(t.high) else "never < 50 % up to the ceiling"
        click.echo(
            f"  {name:15} {t.size:3g} steps = {t.size * result.body_dt_ms:5g} ms   ({reach}; {len(t.tried)} delays tried)"
        )
    _print_tolerance_ratios(result.tolerance, "without a delay")


def _json_or_title(result: PushTolerance | DelayTolerance, as_given: dict, as_json: bool) -> bool:
    """Print the sweep as JSON (True: nothing more to print) or the title line its text report starts with."""
    summary = {**result.to_dict(), **as_given}
    click.echo(json.dumps(summary, indent=2) if as_json else _title(summary))
    return as_json


def _print_tolerance_ratios(tolerance: dict[str, Tolerance], unperturbed: str) -> None:
    """The circuit's tolerance over each comparison controller's that ran."""
    circuit = tolerance["circuit"].size
    for name in ("sine_pitch", "no afferents", "sensors at rest"):
        if name in tolerance:
            other = tolerance[name].size
            if other > 0:
                click.echo(f"  circuit / {name}: {circuit / other:.2f}x")
            else:
                click.echo(f"  circuit / {name}: {name} finishes fewer than half of its episodes even {unperturbed}")


def _drive_values(text: str) -> list[float]:
    from encephagen.errors import BodyError

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise BodyError(f"--drive takes comma-separated numbers, e.g. 20,22.5,25; got {text!r}") from None
    if not values:
        raise BodyError("--drive takes at least one value, e.g. 20,22.5,25")
    return values


def _print_speeds(result, as_given: dict, plot: Path | None, as_json: bool) -> None:
    from encephagen.body.loop import SETTLED_FROM_S

    summary = {**result.to_dict(), **as_given}
    parameter = result.parameter
    if plot is not None:
        _plot_speed(result.by_value, parameter, f"{result.circuit} {result.version}: {result.seed_range}", plot)
        summary["plot"] = str(plot)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(_title(summary))
    click.echo(
        f"{parameter:>10} {'full':>8} {'95 % interval':>14} {'distance m':>14} {'speed m/s':>14} {'settled m/s':>14}"
    )
    for r in result.by_value:
        a = r["aggregate"]
        click.echo(
            f"{r['value']:>10g} {a['full']:>4}/{a['episodes']:<3} {_interval(a)} {a['distance_mean']:>6.2f} ± {a['distance_sd']:<5.2f} "
            f"{a['speed_mean']:>6.3f} ± {a['speed_sd']:<5.3f} {a['speed_settled_mean']:>6.3f} ± {a['speed_settled_sd']:<5.3f}"
        )
    click.echo(
        f"speed: over the whole episode, its start from rest included; settled: from {SETTLED_FROM_S:g} s on "
        "(episodes that lasted that long)"
    )
    for speed, label in (("speed", "speed span"), ("speed_settled", "settled speed span")):
        span = result.speed_span(0.9, speed)  # the bar: >= 9/10 full
        if span is None:
            click.echo(
                f"no {label}: fewer than two {parameter} values finish >= 90 % of their episodes walking forward"
            )
            continue
        slowest, fastest, counted = span
        click.echo(
            f"{label} over the {counted} values with >= 90 % full episodes: {fastest / slowest:.2f}x "
            f"({slowest:.3f} -> {fastest:.3f} m/s)"
        )
    if plot is not None:
        click.echo(f"wrote {plot}")


def _plot_speed(rows, parameter, title, path) -> None:
    from encephagen.body.loop import SETTLED_FROM_S
    from encephagen.plots import new_figure, save_figure

    fig = new_figure(figsize=(5, 3.6))
    ax = fig.subplots()
    values = [r["value"] for r in rows]
    beside = 0.015 * (max(values) - min(values))  # each episode's two speeds side by side, not on top
    for speed, marker, line, label, shift in (
        ("speed", "o", "k-o", "whole episode", -beside),
        ("speed_settled", "s", "k--s", f"from {SETTLED_FROM_S:g} s on", beside),
    ):
        for r in rows:
            shown = [e for e in r["episodes"] if math.isfinite(e[speed])]
            colours = ["tab:blue" if e["full"] else "tab:red" for e in shown]
            x = [r["value"] + shift] * len(shown)
            ax.scatter(x, [e[speed] for e in shown], c=colours, s=10, alpha=0.5, marker=marker)
        ax.plot(values, [r["aggregate"][f"{speed}_mean"] for r in rows], line, label=f"mean, {label}")
    ax.set_xlabel(f"{parameter} (mV)")
    ax.set_ylabel("speed (m/s)")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=8, title="episodes: blue full, red fell", title_fontsize=7)
    save_figure(fig, path)


def _print_schedule(result, as_given: dict, as_json: bool) -> None:
    summary = {**result.to_dict(), **as_given}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    pieces, rows = result.segments, result.episodes
    click.echo(_title(summary))
    click.echo(f"{result.schedule.parameter} schedule: " + ", ".join(f"{v:g} from {a:g} s" for a, _, v in pieces))
    click.echo("seed    " + "  ".join(f"{f'{a:g}-{b:g} s':>10}" for a, b, _ in pieces) + "   steps  ended")
    for r in rows:
        cells = "  ".join(f"{r[f'speed_segment_{i}']:>10.3f}" for i in range(len(pieces)))
        click.echo(f"{r['seed']:>6}  {cells}   {r['steps']:>5d}  {_ending(r)}")
    full = sum(int(r["full"]) for r in rows)
    means = result.segment_means()
    click.echo("mean    " + "  ".join(f"{m:>10.3f}" for m in means) + f"   full episodes {full}/{len(rows)}")


def _ending(episode: dict) -> str:
    """How an episode ended: the time limit, or a fall told apart by the torso's last pitch and height."""
    if not episode["fell"]:
        return "time limit"
    pitch, height = episode.get("end_pitch", 0.0), episode.get("end_height", 0.0)
    way = "forward" if pitch >= 0.9 else "backward" if pitch <= -0.9 else "down"
    return f"fell {way} (pitch {pitch:+.2f} rad, height {height:.2f} m)"
