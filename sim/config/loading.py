"""Loading a config: YAML (safe, YAML 1.2 booleans) to a validated :class:`ExperimentConfig`.

Every problem (unreadable file, malformed YAML, invalid value) becomes a :class:`ConfigError`
whose message names the file, the key path, the line and what is allowed.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
import warnings
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..core.distributions import Constant
from . import limits
from .base import ConfigError, ConfigWarning, locate, magnitude
from .faults import FAULT_KINDS
from .models import ExperimentConfig


class ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 scalars, and bounded.

    - Booleans are only true/false: in YAML 1.1 the fault key ``on:`` (and yes/no/off) would
      silently turn into a boolean. ``1e-3`` is a number, as in YAML 1.2 (1.1 wants ``1.0e-3``).
    - Nesting deeper than ``MAX_YAML_DEPTH`` is refused while composing (PyYAML composes
      recursively, so 5,000 nested lists would end in a RecursionError).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > limits.MAX_YAML_DEPTH:
                raise Refused(
                    f"the config nests deeper than {limits.MAX_YAML_DEPTH} levels "
                    "(a config is about 5 deep)",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


class Refused(yaml.YAMLError):
    """A YAML document msgsim will not build: too deep, too big once its aliases are
    expanded, recursive, or with a key given twice."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.mark = mark


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_keys(node: yaml.MappingNode) -> None:
    """A key given twice in one mapping (YAML would silently keep the last)."""
    seen: dict[Any, int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        line = key.start_mark.line + 1
        first = seen.setdefault((key.tag, key.value), line)
        if first != line:
            raise Refused(
                f"key {key.value!r} is given twice in the same mapping (first at line {first}); "
                "YAML would silently keep only the last one: remove one of them",
                key.start_mark,
            )


def check_document(root: yaml.Node) -> None:
    """Refuse, before anything is built, a document whose aliases expand to more than
    ``MAX_YAML_NODES`` values or deeper than ``MAX_YAML_DEPTH``, refer to themselves, or
    that gives a key twice. Iterative: the walk itself never recurses."""
    size: dict[int, tuple[int, int]] = {}  # id -> (expanded values, expanded depth)
    path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            path.discard(id(node))
            parts = [size[id(c)] for c in _children(node)]
            count = 1 + sum(n for n, _ in parts)
            depth = 1 + max((d for _, d in parts), default=0)
            size[id(node)] = (count, depth)
            if count > limits.MAX_YAML_NODES or depth > limits.MAX_YAML_DEPTH:
                what = (
                    f"more than {limits.number(limits.MAX_YAML_NODES)} values"
                    if count > limits.MAX_YAML_NODES
                    else f"deeper than {limits.MAX_YAML_DEPTH} levels"
                )
                raise Refused(f"its aliases (*name) expand to {what}", node.start_mark)
            continue
        if id(node) in size:
            continue
        if isinstance(node, yaml.MappingNode):
            _check_keys(node)
        path.add(id(node))
        stack.append((node, True))
        for child in _children(node):
            if id(child) in path:
                raise Refused(
                    "an alias (*name) refers to a value that contains it", node.start_mark
                )
            if id(child) not in size:
                stack.append((child, False))


def parse_yaml(text: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """The data of a YAML document and the line of each key path (bounded, see
    :class:`ConfigLoader` and :func:`check_document`)."""
    loader = ConfigLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, {}
        check_document(root)
        return loader.construct_document(root), _key_lines(root)
    finally:
        loader.dispose()


def read_config_text(path: Path) -> str:
    """The text of a config file, at most ``MAX_CONFIG_BYTES`` (read no further: the path may
    be a device that never ends)."""
    try:
        with path.open("rb") as f:
            raw = f.read(limits.MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file. Give the path of an experiment config (YAML), "
            "e.g. experiments/compare_semantics.yaml."
        ) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        why = getattr(exc, "strerror", None) or exc
        raise ConfigError(
            f"{path}: cannot be read ({exc.__class__.__name__}: {why}). "
            "An experiment config is a UTF-8 YAML file."
        ) from None
    if len(raw) > limits.MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: larger than {limits.MAX_CONFIG_BYTES // 2**20} MB; an experiment config "
            "is a few kilobytes of YAML. Is it the right file?"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: cannot be read (not UTF-8 text: {exc.reason} at byte {exc.start}). "
            "An experiment config is a UTF-8 YAML file."
        ) from None


def load_config(source: str | Path | dict[str, Any] | ExperimentConfig) -> ExperimentConfig:
    """Read and validate a config from a YAML path, a dict or an existing config.

    A config that runs but probably does not do what was meant (a fault after the end of the
    run, arrivals after ``duration``) also gives a :class:`ConfigWarning` naming the key.
    """
    if isinstance(source, ExperimentConfig):
        return source
    if isinstance(source, dict):
        return validate_dict(source, origin="<dict>", warn=True)
    path = Path(source)
    text = read_config_text(path)
    try:
        data, lines = parse_yaml(text)
    except Refused as exc:
        where = f", line {exc.mark.line + 1}" if exc.mark is not None else ""
        raise ConfigError(f"{path}{where}: {exc.problem}.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{path}: malformed YAML{where}: {problem}. "
            "Fix the syntax (indentation, colons, brackets) and try again."
        ) from None
    if data is None:
        raise ConfigError(
            f"{path}: the config is empty (nothing but comments or blank lines). Write at least "
            "the keys you mean to set, e.g. `strategies: [at-most-once, at-least-once]`; an "
            "empty file never runs the default experiment."
        )
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of config keys (name, seed, strategies, "
            f"...), not a {type(data).__name__}."
        )
    return validate_dict(data, origin=str(path), lines=lines, warn=True)


def resolve(
    config: str | Path | dict[str, Any] | ExperimentConfig, **overrides: Any
) -> ExperimentConfig:
    """Load a config and apply the command-line / keyword overrides (validated like the file)."""
    cfg = load_config(config)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if not changes:
        return cfg
    data = cfg.model_dump(mode="json")
    if "strategies" in changes:  # a name composed in the config keeps its composition
        mine = {e["name"]: e for e in data["strategies"] if isinstance(e, dict)}
        changes["strategies"] = [mine.get(s, s) for s in changes["strategies"]]
    data.update(changes)
    return validate_dict(data, origin=f"{cfg.origin} with the command-line overrides")


def validate_dict(
    data: dict[str, Any],
    origin: str = "<dict>",
    text: str | None = None,
    *,
    lines: dict[tuple[Any, ...], int] | None = None,
    warn: bool = False,
) -> ExperimentConfig:
    """Validate ``data``; every problem at once in one :class:`ConfigError`. With ``warn``,
    what runs but is probably not meant is a :class:`ConfigWarning` (``where: message``)."""
    if lines is None:
        lines = {} if text is None else _text_lines(text)
    try:
        cfg = ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, data, origin, lines)) from None
    except RecursionError:
        raise ConfigError(f"{origin}: the config nests too deep to read.") from None
    cfg.located(origin, lines)
    if warn:
        for key, message in cfg.warnings():
            warnings.warn(ConfigWarning(f"{locate(origin, lines, key)}: {message}"), stacklevel=2)
    return cfg


def _text_lines(text: str) -> dict[tuple[Any, ...], int]:
    try:
        return parse_yaml(text)[1]
    except yaml.YAMLError:
        return {}


def format_validation_error(
    exc: ValidationError, data: Any, origin: str, lines: dict[tuple[Any, ...], int]
) -> str:
    parts = []
    errors = exc.errors(include_url=False)
    paths = [tuple(_data_path(e["loc"], data)) for e in errors]
    for err, path in zip(errors, paths, strict=True):
        if err["type"].endswith("_type") and any(
            len(p) > len(path) and p[: len(path)] == path for p in paths
        ):  # a union member that did not fit, where another one got further: not the point
            continue
        if err["type"] == "config_problems":  # cross-field checks: one part per (key path, message)
            for key, message in err["ctx"]["problems"]:
                parts.append(f"{locate(origin, lines, key)}: {message}")
            continue
        key = ".".join(str(p) for p in path) or "(top level)"
        line = lines.get(path)
        where = f"{origin}, line {line}, key {key}" if line else f"{origin}, key {key}"
        parts.append(f"{where}: {_explain(err, list(path), data)}")
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
        shown = magnitude(got) if isinstance(got, int) and not isinstance(got, bool) else repr(got)
        if len(shown) > 80:
            shown = shown[:60] + f"... ({len(shown)} characters)"
        msg += f" (got {shown})"
    return msg


def _key_lines(root: yaml.Node) -> dict[tuple[Any, ...], int]:
    """Map each key path of a composed YAML document to its 1-based line number (iterative;
    the document was bounded by :func:`check_document`)."""
    out: dict[tuple[Any, ...], int] = {}
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, prefix = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                path = prefix + (k.value,)
                out.setdefault(path, k.start_mark.line + 1)
                stack.append((v, path))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                out[prefix + (i,)] = v.start_mark.line + 1
                stack.append((v, prefix + (i,)))
    return out


def config_yaml(cfg: ExperimentConfig) -> str:
    """The fully defaulted config as YAML (the results folder's ``config.yaml``)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, default_flow_style=None)
