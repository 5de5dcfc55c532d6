"""Read YAML into plain dicts and lists that remember the line of every key and item.

Scalars keep their exact text for decimals (never ``float``): ``300.00`` is read as the
string ``"300.00"`` and converted to ``Decimal`` by the schema.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml

__all__ = ["LDict", "LList", "Where", "line_of", "load_yaml"]

Where = tuple[str, int | None]
"""(source, 1-based line)"""


class LDict(dict[str, Any]):
    """A mapping that remembers the YAML line of each key."""

    lines: dict[str, Where]
    line: Where

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = {}
        self.line = ("<string>", None)


class LList(list[Any]):
    """A sequence that remembers the YAML line of each item."""

    lines: list[Where]
    line: Where

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lines = []
        self.line = ("<string>", None)


_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_DATE = "tag:yaml.org,2002:timestamp"


def _scalar(node: yaml.ScalarNode) -> Any:
    text = str(node.value)
    if node.tag == _INT:
        return int(text.replace("_", ""))
    if node.tag == _FLOAT:
        return text.replace("_", "")
    if node.tag == _BOOL:
        return text.lower() in ("true", "yes", "on")
    if node.tag == _NULL:
        return None
    if node.tag == _DATE:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return text
    return text


def _build(node: yaml.Node, source: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = LDict()
        out.line = (source, node.start_mark.line + 1)
        for key_node, value_node in node.value:
            key = str(_build(key_node, source))
            out[key] = _build(value_node, source)
            out.lines[key] = (source, key_node.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = LList()
        seq.line = (source, node.start_mark.line + 1)
        for item in node.value:
            seq.append(_build(item, source))
            seq.lines.append((source, item.start_mark.line + 1))
        return seq
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node)


def load_yaml(text: str, source: str = "<string>") -> Any:
    """Parse one YAML document; mappings and sequences come back as LDict / LList."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        return None
    return _build(node, source)


def line_of(data: Any, path: tuple[str | int, ...]) -> Where:
    """(source, line) of the deepest element of ``path`` found in ``data``."""
    line: Where = getattr(data, "line", ("<string>", None))
    current = data
    for part in path:
        if isinstance(current, LDict) and isinstance(part, str) and part in current:
            line = current.lines.get(part, line)
            current = current[part]
        elif isinstance(current, LList) and isinstance(part, int) and 0 <= part < len(current):
            line = current.lines[part]
            current = current[part]
        else:
            break
    return line
