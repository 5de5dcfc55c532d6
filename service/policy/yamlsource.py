"""Read YAML into plain dicts and lists that remember the line of every key and item.

Scalars keep their exact text for decimals (never ``float``): ``300.00`` is read as the
string ``"300.00"`` and converted to ``Decimal`` by the schema.

A document is bounded before anything is built from it (ADR 0016): its length, its nesting
depth, its aliases, and its nodes counted as built, every alias expanded. An alias bomb
("billion laughs") composes to a few dozen shared nodes and expands to billions; it stops here
at ``LIMITS.nodes`` built nodes, in a few megabytes. The shipped policies use a few hundred nodes.
The nesting is bounded as built too, aliases expanded, and an alias inside the node it names
(``a: &a [*a]``, endless) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml

__all__ = [
    "LIMITS",
    "DocumentTooComplex",
    "LDict",
    "LList",
    "Limits",
    "Where",
    "line_of",
    "load_yaml",
]


@dataclass(frozen=True, slots=True)
class Limits:
    characters: int = 512_000
    depth: int = 32
    aliases: int = 100
    nodes: int = 5_000  # as built: an alias counts every node it repeats (shipped: at most 352)


LIMITS = Limits()


class DocumentTooComplex(ValueError):
    """The document is past one of the limits; ``limit`` names which."""

    def __init__(self, limit: str, message: str, line: int | None = None) -> None:
        self.limit = limit
        self.line = line
        super().__init__(message)


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
        # YAML 1.1 also reads 0x10, 0b101 and 1:30 as integers; no policy number is written so,
        # and the text goes on to the schema, which names the field it does not fit.
        try:
            return int(text.replace("_", ""))
        except ValueError:
            return text
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


class _BoundedComposer(yaml.composer.Composer, yaml.resolver.Resolver):
    """PyYAML's composer and resolver over libyaml's events (the C parser: ten times the pure
    Python one), with the limits checked as nodes are composed, so a deep nesting never reaches
    Python's recursion limit and a flood of nodes stops at the limit."""

    def __init__(self, text: str, limits: Limits) -> None:
        parser = getattr(yaml, "CParser", None)
        self.events: Any = parser(text) if parser is not None else yaml.SafeLoader(text)
        yaml.composer.Composer.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self.limits = limits
        self.depth = 0
        self.aliases = 0
        self.composed = 0

    def check_event(self, *choices: Any) -> bool:
        return bool(self.events.check_event(*choices))

    def peek_event(self) -> Any:
        return self.events.peek_event()

    def get_event(self) -> Any:
        return self.events.get_event()

    def dispose(self) -> None:
        self.events.dispose()

    def _refuse(self, limit: str, message: str) -> DocumentTooComplex:
        return DocumentTooComplex(limit, message, self.peek_event().start_mark.line + 1)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > self.limits.aliases:
                raise self._refuse("aliases", f"more than {self.limits.aliases} aliases (*name)")
        self.composed += 1
        if self.composed > self.limits.nodes:
            raise self._refuse("nodes", f"more than {self.limits.nodes} nodes (nodes)")
        self.depth += 1
        try:
            if self.depth > self.limits.depth:
                raise self._refuse(
                    "depth", f"nested deeper than {self.limits.depth} levels (depth)"
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Builder:
    """Plain LDict / LList / scalars from composed nodes, counting every node built."""

    def __init__(self, source: str, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.built = 0
        # The collections being built, innermost last. The composer bounds the text's nesting,
        # but an alias nests what it names wherever it stands: one inside the node it names
        # (`a: &a [*a]`) is infinitely deep, and aliases of deep nodes nest each other deeper
        # than the text; either would end in Python's RecursionError.
        self.open: list[yaml.Node] = []

    def build(self, node: yaml.Node) -> Any:
        self.built += 1
        line = node.start_mark.line + 1
        if self.built > self.limits.nodes:
            raise DocumentTooComplex(
                "nodes", f"more than {self.limits.nodes} nodes, aliases expanded (nodes)", line
            )
        if isinstance(node, yaml.CollectionNode):
            if any(node is outer for outer in self.open):
                raise DocumentTooComplex(
                    "aliases", "an alias (*name) inside the node it names: endless (aliases)", line
                )
            if len(self.open) >= self.limits.depth:
                raise DocumentTooComplex(
                    "depth",
                    f"nested deeper than {self.limits.depth} levels, aliases expanded (depth)",
                    line,
                )
            self.open.append(node)
            try:
                return self._collection(node)
            finally:
                self.open.pop()
        assert isinstance(node, yaml.ScalarNode)
        return _scalar(node)

    def _collection(self, node: yaml.CollectionNode) -> LDict | LList:
        if isinstance(node, yaml.MappingNode):
            out = LDict()
            out.line = (self.source, node.start_mark.line + 1)
            for key_node, value_node in node.value:
                key = str(self.build(key_node))
                if key in out:
                    # YAML readers keep the last of a repeated key, silently: a second
                    # `ratio_by_level` lower in a file would decide what a fund pays.
                    raise yaml.MarkedYAMLError(
                        problem=f"the key {key!r} is repeated (first on line "
                        f"{out.lines[key][1]}); write each key once",
                        problem_mark=key_node.start_mark,
                    )
                out[key] = self.build(value_node)
                out.lines[key] = (self.source, key_node.start_mark.line + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            seq = LList()
            seq.line = (self.source, node.start_mark.line + 1)
            for item in node.value:
                seq.append(self.build(item))
                seq.lines.append((self.source, item.start_mark.line + 1))
            return seq
        raise AssertionError(f"a collection node is a mapping or a sequence, not {node!r}")


def load_yaml(text: str, source: str = "<string>", *, limits: Limits = LIMITS) -> Any:
    """Parse one YAML document; mappings and sequences come back as LDict / LList.
    Raises DocumentTooComplex past a limit, yaml.YAMLError on text that is not YAML."""
    if len(text) > limits.characters:
        raise DocumentTooComplex("characters", f"longer than {limits.characters} characters", None)
    composer = _BoundedComposer(text, limits)
    try:
        node = composer.get_single_node()
    finally:
        composer.dispose()
    if node is None:
        return None
    return _Builder(source, limits).build(node)


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
