"""Pydantic errors turned into located problems: ``file:/json/pointer: what is wrong; got X. hint``.

Pydantic reports a value that fits no member of a union once per member and words its messages
for Python programmers; here every error is placed on the real JSON pointer and the members'
errors are folded into one line that says what the field accepts.
"""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import Problem, did_you_mean, json_pointer
from .schema import SCHEMA_FILENAME, ArrayFile, Circuit, Name, Reference, SemVer


def first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    return f"{'/'.join(map(str, error['loc']))}: {error['msg']}"


def relocate(problems: list[Problem], circuit: Circuit) -> list[Problem]:
    """Point problems found on the expanded circuit at the declarations written in the file."""
    origins = circuit.origins
    if not origins:
        return problems
    out = []
    for p in problems:
        parts = p.pointer.split("/")
        for n in range(len(parts), 2, -1):
            head = "/".join(parts[:n])
            if head in origins:
                p = Problem(p.file, origins[head] + "/".join([""] + parts[n:]), p.message, p.hint)
                break
        out.append(p)
    return out


# --------------------------------------------------------------------------- pydantic errors -> problems
#
# Pydantic reports a value that fits no member of a union once per member (with the member's
# name in the location) and words its messages for Python programmers. Here every error is
# placed on the real JSON pointer, the members' errors are folded into one line that says
# what the field accepts ('expected a number or {"param": NAME}; got "abc"'), and an object
# written for one member (e.g. {"parm": ...} for a parameter reference) is judged as that
# member only.


def _pattern(metadata: Iterable[Any]) -> str:
    return next(m.pattern for m in metadata if getattr(m, "pattern", None))


_PATTERNS = {
    _pattern(
        typing.get_args(Name)[1].metadata
    ): "a name: letters, digits and _ . : + - < >, starting with a letter or _",
    _pattern(typing.get_args(SemVer)[1].metadata): "a semantic version MAJOR.MINOR.PATCH such as '1.2.0'",
    _pattern(
        Reference.model_fields["doi"].metadata
    ): "a DOI such as '10.1016/j.neuron.2013.08.015' (without https://doi.org/)",
    _pattern(ArrayFile.model_fields["sha256"].metadata): "a SHA-256 digest: 64 lowercase hexadecimal digits",
}


_SHAPES = {
    "ParamRef": '{"param": NAME}',
    "UniformRange": '{"uniform": [LOW, HIGH]}',
    "ArrayFile": '{"file": ..., "dataset": ..., "sha256": ..., "shape": [...]}',
    "MatrixValue": '{"array": ...}',
}


_CONSTRAINT_ERRORS = {
    "finite_number",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_short",
    "too_long",
    "string_pattern_mismatch",
}
"""Errors of a value whose type fits but whose value does not: these are said as they are."""


_TYPE_ERRORS = _CONSTRAINT_ERRORS | {
    "float_type",
    "float_parsing",
    "int_type",
    "int_parsing",
    "int_from_float",
    "string_type",
    "bool_type",
    "bool_parsing",
    "list_type",
    "dict_type",
    "model_type",
    "none_required",
    "is_instance_of",
    "literal_error",
}
"""Errors that say 'this member of the union does not take this value' (folded into one line)."""


def problems_from_validation(exc: ValidationError, tree: Any, file: str, *, root: type = Circuit) -> list[Problem]:
    """Turn pydantic errors into located problems, one per thing the author has to fix.

    ``root`` is the model the whole tree was validated against (a circuit, a body binding...).
    """
    groups: dict[str, list[_Located]] = {}
    for error in exc.errors(include_url=False):
        located = _locate(tree, dict(error), root)
        groups.setdefault(located.pointer, []).append(located)
    problems: list[Problem] = []
    for pointer, errors in groups.items():
        if (
            isinstance(errors[0].node, dict)
            and _models(errors[0].annotation)
            and any(p.startswith(pointer + "/") for p in groups)
        ):
            errors = [e for e in errors if e.type not in _TYPE_ERRORS]  # the object's own errors say it better
            if not errors:
                continue
        for problem in _describe_group(file, pointer, errors):
            if problem not in problems:
                problems.append(problem)
    return problems


class _Located:
    """One pydantic error placed in the tree: pointer, the value there, what the schema expects."""

    def __init__(
        self,
        error: dict[str, Any],
        path: list[Any],
        tags: list[Any],
        node: Any,
        annotation: Any,
        owner: type[BaseModel] | None,
    ):
        self.error, self.path, self.tags, self.node, self.annotation, self.owner = (
            error,
            path,
            tags,
            node,
            annotation,
            owner,
        )
        self.pointer = json_pointer(path)
        self.type: str = error["type"]


def _locate(tree: Any, error: dict[str, Any], root: type[BaseModel]) -> _Located:
    """Follow an error location through the tree: the real keys and indices become the
    path, the rest (union member names, missing or unknown keys) are kept as tags."""
    path: list[Any] = []
    tags: list[Any] = []
    node, annotation = tree, root
    owner: type[BaseModel] | None = root
    for item in error["loc"]:
        present = (isinstance(node, dict) and item in node) or (
            isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node)
        )
        if not present:
            tags.append(item)
            continue
        owner = _model_for(annotation, node)
        annotation = _child_annotation(annotation, item, node)
        path.append(item)
        node = node[item]
    return _Located(error, path, tags, node, annotation, owner)


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a (possibly Annotated, possibly nested) union, keeping each one's Annotated constraints."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner = typing.get_args(annotation)[0]
        return _members(inner) if _is_union(inner) else [annotation]
    if _is_union(annotation):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) is typing.Union or type(annotation).__name__ == "UnionType"


def _bare(annotation: Any) -> Any:
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [m for m in map(_bare, _members(annotation)) if isinstance(m, type) and issubclass(m, BaseModel)]


def _model_for(annotation: Any, value: Any) -> type[BaseModel] | None:
    """The model a value is meant as: by its 'kind' tag, else the one sharing most keys."""
    candidates = _models(annotation)
    if not candidates:
        return None
    if isinstance(value, dict) and "kind" in value:
        for candidate in candidates:
            kind = candidate.model_fields.get("kind")
            if kind is not None and value["kind"] in typing.get_args(kind.annotation):
                return candidate
    if isinstance(value, dict):

        def overlap(model: type[BaseModel]) -> int:
            return len(set(value) & {f.alias or n for n, f in model.model_fields.items()})

        return max(candidates, key=overlap)
    return candidates[0]


def _child_annotation(annotation: Any, item: Any, node: Any) -> Any:
    model = _model_for(annotation, node)
    if model is not None and isinstance(node, dict):
        for name, field in model.model_fields.items():
            if item in (name, field.alias):
                return _with_constraints(field)
        return Any
    for option in map(_bare, _members(annotation)):
        origin = typing.get_origin(option)
        if origin is dict and isinstance(node, dict):
            return typing.get_args(option)[1]
        if origin is list and isinstance(node, list):
            return typing.get_args(option)[0]
    return Any


def _with_constraints(field: Any) -> Any:
    """A field's annotation with the field's own constraints (Field(ge=0)) attached."""
    if field.metadata and not _is_union(field.annotation):
        params = (field.annotation, *field.metadata)
        return typing.Annotated[params]
    return field.annotation


def _expected(annotation: Any) -> str:
    """What a field accepts, in the words of a circuit file: 'a number or {"param": NAME}'."""
    phrases: list[str] = []
    for member in _members(annotation):
        phrase = _phrase(member)
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    if not phrases:
        return "a valid value"
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _phrase(member: Any) -> str:
    bare = _bare(member)
    bound = ""
    if typing.get_origin(member) is typing.Annotated:
        for meta in _flat_metadata(typing.get_args(member)[1:]):
            for attr, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
                if getattr(meta, attr, None) is not None:
                    bound += f" {symbol} {getattr(meta, attr)}"
    if bare is float:
        return "a number" + bound
    if bare is int:
        return "a whole number" + bound
    if bare is bool:
        return "true or false"
    if bare is str:
        return "a string"
    if bare is type(None):
        return "null"
    if bare is Any:
        return ""
    origin = typing.get_origin(bare)
    if origin is typing.Literal:
        options = ", ".join(repr(o) for o in typing.get_args(bare))
        return options if len(typing.get_args(bare)) == 1 else f"one of {options}"
    if origin is list:
        return "a list"
    if origin is dict:
        return "an object"
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return _SHAPES.get(bare.__name__, f"an object ({bare.__name__})")
    return ""


def _flat_metadata(metadata: Iterable[Any]) -> Iterator[Any]:
    for meta in metadata:
        yield meta
        yield from getattr(meta, "metadata", [])


def _describe_group(file: str, pointer: str, errors: list[_Located]) -> list[Problem]:
    first = errors[0]
    union = len(_members(first.annotation)) > 1 and first.annotation is not Any
    if union and all(e.type in _TYPE_ERRORS for e in errors):
        narrowed = [e for e in errors if e.type in _CONSTRAINT_ERRORS]
        if narrowed:  # the value has the right type for one member but breaks its constraint
            return [_describe(file, pointer, e) for e in narrowed]
        return [_problem(file, pointer, f"expected {_expected(first.annotation)}", first.node)]
    if union:
        # an object written for one member: judge it as that member only
        errors = [e for e in errors if e.type not in _TYPE_ERRORS] or errors
    return [_describe(file, pointer, e) for e in errors]


def _describe(file: str, pointer: str, e: _Located) -> Problem:
    error, kind, ctx = e.error, e.type, e.error.get("ctx", {})
    field = str(e.path[-1]) if e.path else ""
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        known = [f.alias or n for n, f in e.owner.model_fields.items()] if e.owner else []
        return Problem(file, pointer, f"unknown field {name!r}{did_you_mean(name, known)}")
    if kind == "missing":
        name = str(error["loc"][-1])
        model = _model_for(e.annotation, e.node)
        accepts = ""
        if model is not None and name in model.model_fields:
            accepts = f" ({_expected(_with_constraints(model.model_fields[name]))})"
        return Problem(file, pointer, f"missing required field {name!r}{accepts}", f"Add it (see {SCHEMA_FILENAME})")
    if kind == "union_tag_invalid":
        tags = _kind_tags(e.annotation)
        return Problem(
            file,
            pointer,
            f"unknown {field or 'object'} kind {ctx.get('tag')!r}{did_you_mean(str(ctx.get('tag')), tags)}",
        )
    if kind == "union_tag_not_found":
        kinds = ", ".join(repr(t) for t in _kind_tags(e.annotation))
        return Problem(file, pointer, "missing required field 'kind'", f"Say which {field or 'kind'}: one of {kinds}")
    if "[key]" in e.tags:
        return _problem(
            file,
            pointer,
            f"invalid name; expected {_PATTERNS.get(ctx.get('pattern'), 'a name')}",
            e.path[-1] if e.path else None,
        )
    if kind == "literal_error" and isinstance(e.node, str):
        options = [str(o) for m in _members(e.annotation) for o in typing.get_args(_bare(m))]
        close = did_you_mean(e.node, options)
        if close.startswith("; did you mean"):
            return Problem(file, pointer, f"unknown {field or 'value'} {e.node!r}{close}")
        return _problem(file, pointer, f"expected {_expected(e.annotation)}", e.node)
    if kind == "value_error":
        message = error["msg"].removeprefix("Value error, ")
        return Problem(file, pointer, message)
    if kind == "string_pattern_mismatch":
        return _problem(
            file,
            pointer,
            f"expected {_PATTERNS.get(ctx.get('pattern'), 'a string matching ' + str(ctx.get('pattern')))}",
            e.node,
        )
    if kind in ("too_short", "too_long"):
        low, high = _length_limits(e)
        what = "entry" if isinstance(e.node, dict) else "item"
        if low is not None and low == high:
            need = f"exactly {low}"
        elif kind == "too_short":
            need = f"at least {low}"
        else:
            need = f"at most {high}"
        plural = "entries" if what == "entry" else "items"
        return _problem(
            file, pointer, f"needs {need} {what if (low if kind == 'too_short' else high) == 1 else plural}", e.node
        )
    bounds = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤"}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return _problem(file, pointer, f"must be {bounds[kind]} {limit}", e.node)
    if kind == "finite_number":
        return _problem(file, pointer, "expected a finite number", e.node)
    if kind in _TYPE_ERRORS:
        return _problem(file, pointer, f"expected {_expected(e.annotation)}", e.node)
    message = error["msg"].replace("Input should be", "expected")
    return _problem(file, pointer, message[:1].lower() + message[1:], e.node)


def _length_limits(e: _Located) -> tuple[int | None, int | None]:
    """The declared length bounds of the list or object at the error (both ends, from the field)."""
    ctx = e.error.get("ctx", {})
    low, high = ctx.get("min_length"), ctx.get("max_length")
    field = e.owner.model_fields.get(str(e.path[-1])) if e.owner is not None and e.path else None
    for meta in field.metadata if field is not None else []:
        low = getattr(meta, "min_length", low)
        high = getattr(meta, "max_length", high)
    return low, high


def _kind_tags(annotation: Any) -> list[str]:
    return [
        str(t)
        for m in _models(annotation)
        if "kind" in m.model_fields
        for t in typing.get_args(m.model_fields["kind"].annotation)
    ]


def _problem(file: str, pointer: str, message: str, got: Any) -> Problem:
    return Problem(file, pointer, f"{message}; got {shown(got)}")


def shown(value: Any) -> str:
    """A value as the author wrote it, compact and cut to one line."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True, separators=(", ", ": "))
    except (TypeError, ValueError):
        text = type(value).__name__
    return clipped(text)


def clipped(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
