"""``encephagen show``: what a circuit holds, as tables, JSON, or canonical JSON for git."""

from __future__ import annotations

import json
from typing import Any

import click


@click.command()
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the overview as JSON.")
@click.option(
    "--textconv", is_flag=True, help="Print the file's canonical JSON (for git diff of .h5 circuits); no validation."
)
def show(file: str, as_json: bool, textconv: bool) -> None:
    """Show populations, projections, free parameters and readouts of a circuit.

    FILE is a JSON or HDF5 circuit, or the name of a shipped circuit. Synapse counts are
    expectations from sizes, rules and probabilities; nothing is compiled.

    \b
    Examples:
      encephagen show half_centre
      encephagen show my_cpg.h5 --json
      encephagen show --textconv my_cpg.h5      # what git diff shows for .h5 circuits

    \b
    To make git diff readable for HDF5 circuits:
      echo '*.h5 diff=encephagen' >> .gitattributes
      git config diff.encephagen.textconv 'encephagen show --textconv'
    """
    if textconv:
        from encephagen.storage import textconv_text

        click.echo(textconv_text(file), nl=False)
        return
    from encephagen.locations import resolve_circuit_path
    from encephagen.storage import load_circuit

    path = resolve_circuit_path(file)
    overview = circuit_overview(load_circuit(path), str(path))
    if as_json:
        click.echo(json.dumps(overview, indent=2, ensure_ascii=False))
    else:
        click.echo(render_overview(overview), nl=False)


def circuit_overview(circuit: Any, file: str) -> dict[str, Any]:
    """Everything ``show`` reports, as plain data (what ``--json`` prints)."""
    from encephagen.rules import estimate_size
    from encephagen.schema import ParamRef

    estimate = estimate_size(circuit)

    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, list):
            return {"value": circuit.resolve(v), "terms": [value(term) for term in v]}
        if isinstance(v, ParamRef):
            return {"value": circuit.resolve(v), "param": v.param, "factor": v.factor}
        return {"value": v}

    populations = []
    for name, pop in circuit.populations.items():
        cell = circuit.cell_classes[pop.cell_class]
        populations.append(
            {
                "name": name,
                "size": int(circuit.resolve(pop.size)),
                "cell_class": pop.cell_class,
                "transmitter": cell.transmitter,
                "sign": cell.effective_sign,
                "neuron_model": pop.neuron_model,
                "drive": value(pop.drive),
                "side": pop.side,
                "region": pop.region,
            }
        )
    projections = [
        {
            "name": name,
            "source": p.source,
            "target": p.target,
            "rule": p.rule.kind,
            "weight": value(p.weight),
            "weight_mode": p.weight_mode,
            "delay": value(p.delay),
            "synapses": estimate.per_projection.get(name),
        }
        for name, p in circuit.projections.items()
    ]
    matrix_projections = [
        {
            "name": name,
            "sources": len(m.sources),
            "targets": len(m.targets),
            "synapses": estimate.per_projection.get(name),
        }
        for name, m in circuit.matrix_projections.items()
    ]
    parameters = [
        {
            "name": name,
            "value": p.value,
            "unit": p.unit,
            "free": p.free,
            "bounds": p.bounds,
            "scale": p.scale,
            "source": p.source.kind if p.source else None,
        }
        for name, p in circuit.parameters.items()
    ]
    readouts = [
        {
            "name": name,
            "terms": [{"population": t.population, "coefficient": t.coefficient} for t in r.terms],
            "tau": r.tau,
            "unit": r.unit,
        }
        for name, r in circuit.readouts.items()
    ]
    return {
        "file": file,
        "name": circuit.name,
        "version": circuit.version,
        "schema_version": circuit.schema_version,
        "description": circuit.description,
        "neurons": estimate.neurons,
        "synapses": estimate.synapses,
        "compiled_bytes": estimate.compiled_bytes,
        "populations": populations,
        "projections": projections,
        "matrix_projections": matrix_projections,
        "parameters": parameters,
        "readouts": readouts,
        "sources": circuit.source_counts(),
    }


def render_overview(o: dict[str, Any]) -> str:
    """The overview as aligned text tables."""
    lines = [
        f"{o['name']} {o['version']} (schema {o['schema_version']}) — {o['file']}",
        f"{o['neurons']:,} neurons in {len(o['populations'])} populations; about {o['synapses']:,.0f} synapses "
        f"in {len(o['projections']) + len(o['matrix_projections'])} projections; ~{_bytes(o['compiled_bytes'])} compiled",
    ]
    sources = o["sources"]
    lines.append(
        f"value sources: {sources['literature']} literature, {sources['calibrated']} calibrated, "
        f"{sources['hand-set']} hand-set, {sources['unsourced']} unsourced "
        "(each named parameter, and each number a neuron model sets, counts once)"
    )
    if o["description"]:
        lines.append(o["description"])
    lines += _table(
        "populations",
        ["name", "size", "cell class", "sign", "neuron model", "drive (mV)", "side"],
        [
            [p["name"], p["size"], p["cell_class"], p["sign"], p["neuron_model"], _value(p["drive"]), p["side"] or ""]
            for p in o["populations"]
        ],
    )
    lines += _table(
        "projections",
        ["name", "source → target", "rule", "weight (mV)", "mode", "delay (ms)", "synapses"],
        [
            [
                p["name"],
                f"{p['source']} → {p['target']}",
                p["rule"],
                _value(p["weight"]),
                p["weight_mode"],
                _value(p["delay"]),
                f"{p['synapses']:,.0f}",
            ]
            for p in o["projections"]
        ],
    )
    lines += _table(
        "matrix projections",
        ["name", "sources", "targets", "synapses (expected)"],
        [[m["name"], m["sources"], m["targets"], f"{m['synapses']:,.0f}"] for m in o["matrix_projections"]],
    )
    lines += _table(
        "free parameters",
        ["name", "value", "unit", "bounds", "scale", "source"],
        [
            [
                p["name"],
                f"{p['value']:g}",
                p["unit"],
                f"[{p['bounds'][0]:g}, {p['bounds'][1]:g}]",
                p["scale"],
                p["source"] or "",
            ]
            for p in o["parameters"]
            if p["free"]
        ],
    )
    lines += _table(
        "readouts",
        ["name", "signal", "tau (ms)", "unit"],
        [
            [
                r["name"],
                " ".join(f"{t['coefficient']:+g}·{t['population']}" for t in r["terms"]),
                f"{r['tau']:g}",
                r["unit"],
            ]
            for r in o["readouts"]
        ],
    )
    return "\n".join(lines) + "\n"


def _value(v: dict[str, Any]) -> str:
    text = f"{v['value']:g}"
    if "terms" in v:
        return text + " (" + " + ".join(_value(t) for t in v["terms"]) + ")"
    if "param" in v:
        factor = f"{v['factor']:g}×" if v["factor"] != 1 else ""
        text += f" ({factor}{v['param']})"
    return text


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _table(title: str, header: list[str], rows: list[list[Any]]) -> list[str]:
    """Aligned columns, numbers to the right; nothing for an empty table."""
    if not rows:
        return []
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    numeric = [all(_looks_numeric(r[i]) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric)).rstrip()

    return ["", title, line(header), *(line(r) for r in cells)]


def _looks_numeric(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True
