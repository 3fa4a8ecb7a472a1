"""YAML with line numbers, for config files people edit by hand (alert rules,
segments): every validation error can then name the line it is about.

PyYAML's node marks give the lines; scalars are typed by its safe resolver.
"""

from __future__ import annotations

from typing import Any

import yaml


class Marked:
    """A value and the 1-based line it was written on. Mappings hold
    ``{key: Marked}``, lists ``[Marked]``."""

    __slots__ = ("value", "line")

    def __init__(self, value: Any, line: int):
        self.value = value
        self.line = line


def _construct(node: yaml.Node, source: str, error: type[Exception]) -> Marked:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Marked] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, source, error)
            if not isinstance(key.value, str):
                raise error(f"{source}:{key.line}: keys must be strings, got {key.value!r}")
            if key.value in out:
                raise error(f"{source}:{key.line}: duplicate key {key.value!r}")
            out[key.value] = _construct(value_node, source, error)
        return Marked(out, line)
    if isinstance(node, yaml.SequenceNode):
        return Marked([_construct(item, source, error) for item in node.value], line)
    # Scalars: PyYAML's safe resolver types them (int, float, bool, null, date, str).
    return Marked(yaml.SafeLoader("").construct_object(node, deep=True), line)


def compose(text: str, source: str, error: type[Exception]) -> Marked | None:
    """The document as Marked values (None for an empty one). Syntax errors,
    duplicate and non-string keys raise ``error`` with ``source:line:``."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else "?"
        opened = ""
        if exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            opened = f" ({exc.context} on line {exc.context_mark.line + 1})"
        raise error(f"{source}:{line}: YAML syntax error: {exc.problem or exc}{opened}") from None
    if node is None:
        return None
    try:
        return _construct(node, source, error)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else "?"
        raise error(f"{source}:{line}: {exc.problem or exc}") from None


def describe(value: Any) -> str:
    """A value as an error message names it."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)
