"""Policy problems: what is wrong, where (YAML line and field path), and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from service.policy.money import fen_to_yuan

__all__ = [
    "EngineInputError",
    "ExternalAmountMissing",
    "ExternalAmountOutOfRange",
    "PolicyError",
    "PolicyProblem",
    "PolicyTooComplex",
    "format_problems",
]


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One thing wrong with a policy document.

    ``path`` is the field path inside the document, e.g. ``layers[2].bands[1].from``;
    ``line`` is the 1-based YAML line of that field when known.
    """

    line: int | None
    path: str
    message: str
    source: str = "<string>"

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        path = self.path or "<document>"
        return f"{where}: {path}: {self.message}"


class PolicyError(Exception):
    """A policy document was rejected; ``problems`` lists every reason found."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        super().__init__(format_problems(problems))


class PolicyTooComplex(PolicyError):
    """The document is past a length, depth, alias or node limit (yamlsource.LIMITS): refused
    before anything is built from it."""


def format_problems(problems: Iterable[PolicyProblem]) -> str:
    """One line per problem: ``source:line: path: message``."""
    return "\n".join(str(p) for p in problems)


class EngineInputError(ValueError):
    """The engine was handed an input it cannot settle, that the caller supplied and can
    correct. Only these become client errors; any other exception from the engine is a bug."""


class ExternalAmountMissing(EngineInputError):
    """An `external` layer (settled elsewhere, 外部结算) was given no amount."""

    def __init__(self, layer: str) -> None:
        self.layer = layer
        super().__init__(f"layer {layer!r} is external: pass its amount in given={{...}}")


class ExternalAmountOutOfRange(EngineInputError):
    """An external layer's amount is below zero or above the base it could pay from."""

    def __init__(self, layer: str, amount_fen: int, base_fen: int) -> None:
        self.layer = layer
        # In yuan, as the caller wrote it (the engine counts in fen).
        super().__init__(
            f"given amount {fen_to_yuan(amount_fen)} for {layer!r} is outside "
            f"0.00..{fen_to_yuan(base_fen)} (its base)"
        )
