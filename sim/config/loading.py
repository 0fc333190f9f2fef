"""Loading a config: YAML (safe, YAML 1.2 booleans) to a validated :class:`ExperimentConfig`.

Every problem (unreadable file, malformed YAML, invalid value) becomes a :class:`ConfigError`
whose message names the file, the key path, the line and what is allowed.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..core.distributions import Constant
from .base import ConfigError
from .faults import FAULT_KINDS
from .models import ExperimentConfig


class ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 booleans: only true/false. In YAML 1.1 the fault key
    ``on:`` (and yes/no/off) would silently turn into a boolean."""


ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_config(source: str | Path | dict[str, Any] | ExperimentConfig) -> ExperimentConfig:
    """Read and validate a config from a YAML path, a dict or an existing config."""
    if isinstance(source, ExperimentConfig):
        return source
    if isinstance(source, dict):
        return validate_dict(source, origin="<dict>")
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file. Give the path of an experiment config (YAML), "
            "e.g. experiments/compare_semantics.yaml."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot be read ({exc.__class__.__name__}: {exc}). "
            "An experiment config is a UTF-8 YAML file."
        ) from None
    try:
        data = yaml.load(text, Loader=ConfigLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{path}: malformed YAML{where}: {problem}. "
            "Fix the syntax (indentation, colons, brackets) and try again."
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of config keys (name, seed, strategies, "
            f"...), not a {type(data).__name__}."
        )
    return validate_dict(data, origin=str(path), text=text)


def validate_dict(
    data: dict[str, Any], origin: str = "<dict>", text: str | None = None
) -> ExperimentConfig:
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, data, origin, text)) from None


def format_validation_error(exc: ValidationError, data: Any, origin: str, text: str | None) -> str:
    lines = {} if text is None else _key_lines(text)
    parts = []
    for err in exc.errors(include_url=False):
        if err["type"] == "config_problems":  # cross-field checks: one part per (key path, message)
            for key, message in err["ctx"]["problems"]:
                keypath = tuple(int(p) if p.isdigit() else p for p in key.split("."))
                line = lines.get(keypath)
                where = f"{origin}, line {line}, key {key}" if line else f"{origin}, key {key}"
                parts.append(f"{where}: {message}")
            continue
        path = _data_path(err["loc"], data)
        key = ".".join(str(p) for p in path) or "(top level)"
        line = lines.get(tuple(path))
        where = f"{origin}, line {line}, key {key}" if line else f"{origin}, key {key}"
        parts.append(f"{where}: {_explain(err, path, data)}")
    problems = len(parts)
    head = f"invalid config ({problems} problem{'s' if problems > 1 else ''}): "
    return head + " | ".join(parts)


def _data_path(loc: tuple[Any, ...], data: Any) -> list[Any]:
    """Drop pydantic's union/discriminator tags from ``loc`` so it reads as a path in the YAML."""
    path: list[Any] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            path.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            path.append(part)
            cur = cur[part]
        elif (
            isinstance(cur, dict)
            and isinstance(part, str)
            and not part.startswith(("function-", "tagged-union", "union"))
            and part not in _TAGS
        ):
            path.append(part)  # a missing or unknown key under a mapping
            cur = None
    return path


_TAGS = set(FAULT_KINDS) | {
    "constant",
    "uniform",
    "exponential",
    "normal",
    "lognormal",
    "pareto",
    "int",
    "str",
    "float",
    "list",
    "dict",
    "literal['all']",
    "none",
    "bool",
}


def _model_at(path: list[Any], data: Any = None) -> type[BaseModel] | None:
    """The model that owns the last key of ``path`` (to list its allowed keys).

    Walks the config models alongside the data, resolving ``dict[str, Model]`` values,
    list items, optional fields and tagged unions (a fault's ``kind``, a distribution's ``dist``).
    """
    tp: Any = ExperimentConfig
    cur: Any = data
    for part in path[:-1]:
        tp = _resolve(tp, cur)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        else:
            origin, args = typing.get_origin(tp), typing.get_args(tp)
            if origin is dict:
                tp = args[1]
            elif origin is list:
                tp = args[0]
            else:
                return None
        cur = cur[part] if isinstance(cur, dict | list) and _has(cur, part) else None
    tp = _resolve(tp, cur)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _has(container: Any, part: Any) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(part, int) and 0 <= part < len(container)


def _resolve(tp: Any, value: Any) -> Any:
    """Strip Annotated/Optional and pick the union member the value's tag names."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
            if isinstance(value, dict):
                for m in members:
                    if isinstance(m, type) and issubclass(m, BaseModel):
                        for tag in ("kind", "dist"):
                            field = m.model_fields.get(tag)
                            if field is not None and value.get(tag) in typing.get_args(
                                field.annotation
                            ):
                                return m
            if (
                isinstance(value, dict)
                and "dist" not in value
                and any(m is Constant for m in members)
            ):
                return None
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            return models[0] if len(models) == 1 else None
        return tp


def _explain(err: Any, path: list[Any], data: Any = None) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        name = str(path[-1]) if path else "?"
        model = _model_at(path, data)
        allowed = list(model.model_fields) if model is not None else []
        hint = difflib.get_close_matches(name, allowed, n=1) if allowed else []
        msg = f"unknown key {name!r}"
        if hint:
            msg += f" (did you mean {hint[0]!r}?)"
        if allowed:
            msg += f"; allowed here: {', '.join(allowed)}"
        return msg
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tag = ctx.get("discriminator", "tag").strip(chr(39))
        return f"unknown {tag} {ctx.get('tag')!r}; allowed: {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        tag = err.get("ctx", {}).get("discriminator", "tag")
        return f"missing {tag} (e.g. kind: crash, or dist: exponential)"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind in ("missing",):
        msg = "required key is missing"
    got = err.get("input")
    if kind not in ("missing",) and not isinstance(got, dict | list):
        msg += f" (got {got!r})"
    return msg


def _key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Map each key path in a YAML document to its 1-based line number."""
    try:
        root = yaml.compose(text, Loader=ConfigLoader)
    except yaml.YAMLError:
        return {}
    out: dict[tuple[Any, ...], int] = {}

    def walk(node: Any, prefix: tuple[Any, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value
                out[prefix + (key,)] = k.start_mark.line + 1
                walk(v, prefix + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                out[prefix + (i,)] = v.start_mark.line + 1
                walk(v, prefix + (i,))

    if root is not None:
        walk(root, ())
    return out


def config_yaml(cfg: ExperimentConfig) -> str:
    """The fully defaulted config as YAML (the results folder's ``config.yaml``)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, default_flow_style=None)
