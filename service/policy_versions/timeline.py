"""The stored versions laid out in time, and inheritance by date (ADR 0018).

A stored version is its text plus the window it is in force, which succession may have closed
before the end its text names (the text, and so its hash, never changes). A county version is
compiled once per parent version whose window meets its own: for a date D the county version in
force at D is layered over the province version in force at D. Each compiled piece is in force
on the intersection of the windows; the piece over the parent in force on the county version's
first day has the hash stored with the version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from service.policy import (
    CompiledPolicy,
    PolicyDocument,
    PolicyError,
    PolicyProblem,
    check_versions,
    inherit,
    parse_policy,
    resolve,
)
from service.policy_versions.errors import refused_as_policy_problems

__all__ = ["Piece", "Stored", "compile_timeline", "in_succession", "pieces_of"]

_MAX_DEPTH = 5


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored version: its text, under a source name, in force from..to (inclusive)."""

    source: str
    text: str
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True, slots=True)
class Piece:
    """A compiled policy in force over a window, and the stored versions it was layered from
    (the version itself first, then its parents)."""

    policy: CompiledPolicy
    sources: tuple[str, ...]


def _overlap(
    a: tuple[date, date | None], b: tuple[date, date | None]
) -> tuple[date, date | None] | None:
    start = max(a[0], b[0])
    ends = [e for e in (a[1], b[1]) if e is not None]
    end = min(ends) if ends else None
    return None if end is not None and end < start else (start, end)


def _window(doc: PolicyDocument) -> tuple[date, date | None]:
    return doc.effective_from, doc.effective_to


def _layers(
    doc: PolicyDocument, docs: Sequence[PolicyDocument], depth: int = 0
) -> list[tuple[PolicyDocument, tuple[date, date | None], tuple[str, ...]]]:
    """(flattened document, window, sources) for every parent version meeting ``doc``."""
    if doc.inherits is None:
        return [(doc, _window(doc), (doc.source,))]
    out = []
    covered_first_day = False
    if depth <= _MAX_DEPTH:
        for parent in (d for d in docs if d.region_code == doc.inherits):
            for flat, window, sources in _layers(parent, docs, depth + 1):
                both = _overlap(_window(doc), window)
                if both is None:
                    continue
                covered_first_day |= both[0] == doc.effective_from
                out.append((inherit(doc, flat), both, (doc.source, *sources)))
    if not covered_first_day:
        line = doc.data.lines.get("inherits", (doc.source, None))[1]
        message = f"no version of parent {doc.inherits} is in force on {doc.effective_from}"
        raise PolicyError([PolicyProblem(line, "inherits", message, doc.source)])
    return out


def pieces_of(stored: Sequence[Stored]) -> list[Piece]:
    """Every compiled piece of the stored set; all problems are raised together."""
    docs: list[PolicyDocument] = []
    problems: list[PolicyProblem] = []
    for entry in stored:
        try:
            doc = parse_policy(entry.text, source=entry.source)
        except PolicyError as e:
            problems.extend(e.problems)
            continue
        docs.append(
            dataclasses.replace(
                doc, effective_from=entry.effective_from, effective_to=entry.effective_to
            )
        )
    problems.extend(check_versions(docs))
    pieces: list[Piece] = []
    for doc in docs:
        try:
            for flat, (start, end), sources in _layers(doc, docs):
                policy = resolve(flat, None)
                policy.effective_from, policy.effective_to = start, end
                pieces.append(Piece(policy, sources))
        except PolicyError as e:
            problems.extend(e.problems)
    if problems:
        raise PolicyError(problems)
    return pieces


@lru_cache(maxsize=8)
def _cached(stored: tuple[Stored, ...]) -> tuple[Piece, ...]:
    return tuple(pieces_of(stored))


def compile_timeline(stored: Sequence[Stored]) -> list[Piece]:
    """`pieces_of`, shared by every caller with the same set, problems as a 422."""
    with refused_as_policy_problems():
        return list(_cached(tuple(sorted(stored, key=lambda s: (s.source, s.effective_from)))))


def in_succession(texts: Mapping[str, str]) -> list[Stored]:
    """Texts as they would stand once loaded one after another: each version covering the start
    of a later one of its region is closed the day before it (what `store_policy` does). A text
    that does not parse keeps its name, so its problems are reported."""
    parsed: list[tuple[str, str, PolicyDocument | None]] = []
    for source, text in texts.items():
        try:
            parsed.append((source, text, parse_policy(text, source=source)))
        except PolicyError:
            parsed.append((source, text, None))
    starts: dict[str, list[date]] = {}
    for _, _, doc in parsed:
        if doc is not None:
            starts.setdefault(doc.region_code, []).append(doc.effective_from)
    out = []
    for source, text, doc in parsed:
        if doc is None:
            out.append(Stored(source, text, date.min, None))
            continue
        later = [d for d in starts[doc.region_code] if d > doc.effective_from]
        end = doc.effective_to
        if later and (end is None or end >= min(later)):
            end = min(later) - timedelta(days=1)
        out.append(Stored(source, text, doc.effective_from, end))
    return out
