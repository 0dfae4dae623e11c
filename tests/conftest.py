"""Shared fixtures: small circuits built in code, so tests state exactly what they use."""

from __future__ import annotations

from typing import Any

import pytest

from encephagen.schema import Circuit


def make_circuit(
    populations: dict[str, dict[str, Any]], projections: dict[str, dict[str, Any]] | None = None, **extra: Any
) -> Circuit:
    """A circuit with one excitatory and one inhibitory class and a plain LIF model."""
    tree: dict[str, Any] = {
        "schema_version": "1",
        "name": "test",
        "version": "1.0.0",
        "neuron_models": {"lif": {"tau_m": 10.0, "v_threshold": 10.0, "t_ref": 2.0}},
        "cell_classes": {"exc": {"transmitter": "glutamate"}, "inh": {"transmitter": "GABA"}},
        "populations": {
            name: {"cell_class": "exc", "neuron_model": "lif", "size": 1, **spec} for name, spec in populations.items()
        },
        "projections": projections or {},
    }
    for key, value in extra.items():
        tree[key] = {**tree.get(key, {}), **value} if isinstance(value, dict) else value
    return Circuit.model_validate(tree)


@pytest.fixture
def circuit_factory():
    return make_circuit
