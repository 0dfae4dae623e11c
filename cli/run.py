"""``encephagen run CIRCUIT --body walker2d``: drive a body with a circuit, beside its baselines."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("run")
@click.argument("circuit")
@click.option("--body", "body_name", default=None, help="Body to drive (walker2d, humanoid, mjcf); default: the binding's.")
@click.option("--binding", "binding_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Binding file (default: next to CIRCUIT, NAME.BODY.binding.json if it exists, else NAME.binding.json).")
@click.option("--episodes", type=click.IntRange(min=1), default=10, show_default=True, help="Episodes, on seeds S .. S+N-1.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="First seed (body reset noise and circuit noise).")
@click.option("--dt", type=float, default=0.1, show_default=True, help="Circuit time step (ms); must divide the body step.")
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Cut episodes shorter than the body's limit (1000).")
@click.option("--video", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the first episode as an mp4 (side view + population activity).")
@click.option("--force", is_flag=True, help="Replace --video if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def run(circuit: str, body_name: str | None, binding_file: Path | None, episodes: int, seed: int, dt: float,
        max_steps: int | None, video: Path | None, force: bool, as_json: bool) -> None:
    """Run CIRCUIT in closed loop with a body; report it beside the baselines it must beat.

    Every episode reports steps survived, forward distance (m), mean speed (m/s) and
    reward. On the same seeds run the binding's offsets alone, zero action and, on
    Walker2d, the best constant action and a tuned sine walker with torso-pitch feedback:
    surviving alone proves nothing (a constant action stands for 1000 steps), and a
    12-number controller is the bar for distance.

    \b
    Examples:
      encephagen run walker2d_cpg --body walker2d --episodes 10 --seed 0
      encephagen run walker2d_cpg --episodes 1 --video walk.mp4
      encephagen run walker2d_cpg --body humanoid     # walker2d_cpg.humanoid.binding.json
      encephagen run my_cpg.json --binding my_cpg.binding.json --json
    """
    from encephagen.body.binding import binding_path_for, load_binding
    from encephagen.body.loop import ClosedLoop, run_with_baselines
    from encephagen.compile import compile_circuit
    from encephagen.errors import BodyError
    from encephagen.storage import check_output_file, load_circuit, resolve_circuit_path

    if video is not None:
        check_output_file(video, overwrite=force)
    circuit_path = resolve_circuit_path(circuit)
    loaded = load_circuit(circuit_path)
    binding_file = binding_file or binding_path_for(circuit_path, body_name)
    if not binding_file.exists():
        raise BodyError(f"{binding_file}: no binding file; write one (see encephagen.body.binding) or pass --binding")
    binding = load_binding(binding_file)
    if body_name is not None and body_name != binding.body.kind:
        raise BodyError(f"{binding_file}:/body/kind: the binding drives {binding.body.kind!r}, not {body_name!r}; use a binding written for {body_name}")
    loop = ClosedLoop(compile_circuit(loaded, dt=dt), binding, base_dir=binding_file.parent, file=str(binding_file))
    seeds = list(range(seed, seed + episodes))
    report = run_with_baselines(loop, seeds, max_steps=max_steps, record_first=video is not None)
    if video is not None:
        from encephagen.body.binding import make_bound_body
        from encephagen.body.video import write_video

        write_video(make_bound_body(binding, binding_file.parent), report["trajectory"], video,
                    population_names=loop.network.population_names, progress=not as_json)
    summary = {"circuit": loaded.name, "version": loaded.version, "binding": str(binding_file), "body": binding.body.kind,
               "dt_ms": dt, "neural_steps_per_body_step": loop.steps_per_body_step, "seeds": seeds,
               "controllers": report["controllers"], "video": str(video) if video else None}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(_table(summary))


def _table(summary: dict) -> str:
    controllers = summary["controllers"]
    names = list(controllers)
    lines = [f"{summary['circuit']} {summary['version']} on {summary['body']} "
             f"(dt {summary['dt_ms']} ms, {summary['neural_steps_per_body_step']} circuit steps per body step)",
             "seed  " + "  ".join(f"{n + ' steps':>14} {'dist m':>7}" for n in names) + "  circuit episode ended"]
    for i, seed in enumerate(summary["seeds"]):
        cells = [f"{controllers[n]['episodes'][i]['steps']:>14d} {controllers[n]['episodes'][i]['distance']:>7.2f}" for n in names]
        lines.append(f"{seed:>4}  " + "  ".join(cells) + "  " + _ending(controllers["circuit"]["episodes"][i]))
    lines.append("")
    lines.append(f"{'':10} {'steps':>16} {'full':>6} {'distance m':>14} {'speed m/s':>14} {'reward':>16}")
    for n in names:
        a = controllers[n]["aggregate"]
        lines.append(f"{n:10} {a['steps_mean']:>8.1f} ± {a['steps_sd']:<5.1f} {a['full']:>3}/{a['episodes']:<2} "
                     f"{a['distance_mean']:>6.2f} ± {a['distance_sd']:<5.2f} {a['speed_mean']:>6.3f} ± {a['speed_sd']:<5.3f} "
                     f"{a['reward_mean']:>7.1f} ± {a['reward_sd']:<6.1f}")
    if summary["video"]:
        lines.append(f"wrote {summary['video']}")
    return "\n".join(lines)


def _ending(episode: dict) -> str:
    """How an episode ended: the time limit, or a fall told apart by the torso's last pitch and height."""
    if not episode["fell"]:
        return "time limit"
    pitch, height = episode.get("end_pitch", 0.0), episode.get("end_height", 0.0)
    way = "forward" if pitch >= 0.9 else "backward" if pitch <= -0.9 else "down"
    return f"fell {way} (pitch {pitch:+.2f} rad, height {height:.2f} m)"
