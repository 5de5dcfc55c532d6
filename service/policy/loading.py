"""Load a set of policy texts: parse, check versions, resolve inheritance chains."""

from __future__ import annotations

from collections.abc import Mapping

from service.policy.compiled import CompiledPolicy
from service.policy.document import PolicyDocument, check_versions, parse_policy
from service.policy.errors import PolicyError, PolicyProblem
from service.policy.resolution import inherit, resolve

__all__ = ["load_policies"]


def load_policies(texts: Mapping[str, str]) -> list[CompiledPolicy]:
    """Compile every document in ``texts`` (source name -> YAML text).

    A child is merged over the parent version in force on the child's ``effective_from``;
    chains (county -> prefecture -> province) are followed. All problems are collected
    and raised together.
    """
    docs: list[PolicyDocument] = []
    problems: list[PolicyProblem] = []
    for source, text in texts.items():
        try:
            docs.append(parse_policy(text, source=source))
        except PolicyError as e:
            problems.extend(e.problems)
    problems.extend(check_versions(docs))
    compiled = []
    for doc in docs:
        try:
            compiled.append(resolve(_flatten(doc, docs), None))
        except PolicyError as e:
            problems.extend(e.problems)
    if problems:
        raise PolicyError(problems)
    return compiled


def _flatten(doc: PolicyDocument, docs: list[PolicyDocument], depth: int = 0) -> PolicyDocument:
    if doc.inherits is None:
        return doc
    parents = [
        d for d in docs if d.region_code == doc.inherits and d.in_force_on(doc.effective_from)
    ]
    if not parents or depth > 5:
        line = doc.data.lines.get("inherits", (doc.source, None))[1]
        message = f"no version of parent {doc.inherits} is in force on {doc.effective_from}"
        raise PolicyError([PolicyProblem(line, "inherits", message, doc.source)])
    return _flatten(inherit(doc, _flatten(parents[0], docs, depth + 1)), docs, depth + 1)
