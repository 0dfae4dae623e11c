"""The JSON form of circuit files: a strict parser (no duplicate keys, no NaN, no numbers out of
range) and the canonical writer, so that changing one value changes one line of ``git diff``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .errors import CircuitError, CircuitFileError, Problem, json_pointer
from .locations import open_regular
from .validation_messages import clipped


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class _BadNumber:
    """Stands in for a number JSON text may hold but a circuit may not (NaN, Infinity, 1e999)."""

    def __init__(self, text: str):
        self.text = text


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _parse_float(text: str) -> float | _BadNumber:
    value = float(text)
    return value if math.isfinite(value) else _BadNumber(text)


def _parse_int(text: str) -> int | _BadNumber:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        return _BadNumber(text)


def read_json_tree(path: Path) -> Any:
    try:
        with open_regular(path) as handle:
            text = handle.read().decode("utf-8")
    except CircuitFileError:
        raise
    except UnicodeDecodeError as exc:
        raise CircuitFileError(f"{path}: not UTF-8 text (byte {exc.start}); is it a binary file?") from None
    except OSError as exc:
        raise CircuitFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_json_text(text, str(path))


def parse_json_text(text: str, file: str) -> Any:
    """Parse circuit JSON, refusing duplicate keys, NaN, Infinity and numbers a float64 cannot hold."""
    try:
        tree = json.loads(
            text,
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_BadNumber,
            parse_float=_parse_float,
            parse_int=_parse_int,
        )
    except json.JSONDecodeError as exc:
        raise CircuitError(
            [
                Problem(
                    file,
                    "",
                    f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                    "Fix the syntax there (a missing comma, quote or bracket is the usual cause)",
                )
            ]
        ) from None
    except _DuplicateKey as exc:
        raise CircuitError(
            [
                Problem(
                    file,
                    "",
                    f"duplicate key {exc.key!r}",
                    "Every name must appear once in its object; rename or merge the two entries",
                )
            ]
        ) from None
    except RecursionError:
        raise CircuitError(
            [Problem(file, "", "JSON nested too deeply", "A circuit file is at most a few levels deep")]
        ) from None
    problems = [_bad_number_problem(file, path, bad) for path, bad in find_instances(tree, _BadNumber)]
    if problems:
        raise CircuitError(problems)
    return tree


def find_instances(node: Any, cls: type, path: list[Any] | None = None) -> Iterator[tuple[list[Any], Any]]:
    """(path, object) of every instance of ``cls`` in a tree or model, paths as in the file (aliases)."""
    path = path or []
    if isinstance(node, cls):
        yield path, node
    elif isinstance(node, BaseModel):
        for name, field in type(node).model_fields.items():
            yield from find_instances(getattr(node, name), cls, path + [field.alias or name])
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from find_instances(value, cls, path + [key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from find_instances(value, cls, path + [i])


def _bad_number_problem(file: str, path: list[Any], bad: _BadNumber) -> Problem:
    if bad.text in ("NaN", "Infinity", "-Infinity"):
        return Problem(
            file,
            json_pointer(path),
            f"not a finite number; got {bad.text}",
            "A circuit holds finite numbers only (JSON itself has no NaN or Infinity)",
        )
    return Problem(
        file,
        json_pointer(path),
        f"number out of range; got {clipped(bad.text)}",
        "Use a number a 64-bit float can hold (magnitude below 1.8e308)",
    )


ONE_LINE_WIDTH = 120
"""An object or list whose one-line form, indented, fits this many characters is written on one line
(``{"param": "drive", "factor": -1.5}``, ``"references": [{"ref": "rybak2015"}]``); lists of scalars always are."""


def dumps_canonical(tree: Any) -> str:
    """Canonical JSON text: 2-space indent, numeric arrays and small flat objects on one line, trailing newline.

    >>> print(dumps_canonical({"b": [1, 2.5], "a": {"x": 1e-07}, "c": {"y": {"z": [1], "w": "long " * 30}}}), end="")
    {
      "b": [1, 2.5],
      "a": {"x": 1e-07},
      "c": {
        "y": {
          "z": [1],
          "w": "long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long "
        }
      }
    }
    """
    return _encode(tree, 0) + "\n"


def _encode(node: Any, depth: int, key: str = "") -> str:
    pad = "  " * (depth + 1)
    if key == "details" and depth == 3 and isinstance(node, dict) and node and _one_line(node) is None:
        # a history entry's machine-readable particulars: appended once, never edited, one line per item
        items = [
            f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
            for k, v in node.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    if isinstance(node, (dict, list)) and node and (depth > 0 or isinstance(node, list)):
        line = _one_line(node)
        if line is not None and len(line) + 2 * depth <= ONE_LINE_WIDTH:
            return line
    if isinstance(node, dict):
        if not node:
            return "{}"
        items = [
            f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_encode(v, depth + 1, str(k))}" for k, v in node.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    if isinstance(node, list):
        if not node:
            return "[]"
        if all(_is_scalar(x) for x in node):
            return "[" + ", ".join(_encode(x, depth + 1) for x in node) + "]"
        items = [pad + _encode(x, depth + 1) for x in node]
        return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"
    if isinstance(node, float):
        if not math.isfinite(node):
            raise ValueError(f"refusing to write a non-finite number {node!r}")
        return repr(node)
    return json.dumps(node, ensure_ascii=False)


def _one_line(node: Any) -> str | None:
    """``node`` as one line of JSON (", " and ": " separators), or None when it is long."""
    if isinstance(node, dict):
        parts = []
        for k, v in node.items():
            text = _one_line(v)
            if text is None:
                return None
            parts.append(f"{json.dumps(str(k), ensure_ascii=False)}: {text}")
        text = "{" + ", ".join(parts) + "}"
    elif isinstance(node, list):
        items = [_one_line(x) for x in node]
        known = [item for item in items if item is not None]
        if len(known) < len(items):
            return None
        text = "[" + ", ".join(known) + "]"
    else:
        text = _encode(node, 0)
    return text if len(text) <= ONE_LINE_WIDTH else None


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
