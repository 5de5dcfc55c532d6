"""Inheritance (county over province) and compilation of a policy document."""

from __future__ import annotations

from dataclasses import replace

from service.policy.compiled import CompiledPolicy
from service.policy.document import PolicyDocument, merge, validate_merged
from service.policy.errors import PolicyError, PolicyProblem

__all__ = ["inherit", "resolve"]


def inherit(doc: PolicyDocument, parent: PolicyDocument | None) -> PolicyDocument:
    """The child document merged over its parent (county over province)."""
    if doc.inherits is None:
        return doc
    if parent is None or parent.region_code != doc.inherits:
        found = parent.region_code if parent is not None else "none"
        problem = PolicyProblem(
            line=doc.data.lines.get("inherits", (doc.source, None))[1],
            path="inherits",
            message=f"inherits {doc.inherits} but the parent given is {found}",
            source=doc.source,
        )
        raise PolicyError([problem])
    merged = merge(parent.data, doc.data)
    merged.pop("inherits", None)
    if parent.inherits is not None:
        merged["inherits"] = parent.inherits
    return replace(doc, inherits=parent.inherits, data=merged)


def resolve(doc: PolicyDocument, parent: PolicyDocument | None) -> CompiledPolicy:
    """Apply inheritance, validate the whole policy, and compile it to the fast form."""
    merged = inherit(doc, parent)
    if merged.inherits is not None:
        problem = PolicyProblem(
            line=None,
            path="inherits",
            message=f"parent {merged.inherits} must itself be resolved first (use inherit())",
            source=doc.source,
        )
        raise PolicyError([problem])
    return CompiledPolicy(validate_merged(merged.data))
