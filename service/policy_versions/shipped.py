"""The policy files shipped with the service (service/policy/data)."""

from __future__ import annotations

from importlib import resources

from service.policy import parse_policy
from service.policy_versions.models import PolicyVersion
from service.policy_versions.service import compile_all, version_row


def shipped_policy_texts() -> dict[str, str]:
    folder = resources.files("service.policy") / "data"
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }


def shipped_versions(*, loaded_by: str) -> list[PolicyVersion]:
    """Rows for every shipped version, checked together as one set."""
    texts = shipped_policy_texts()
    compiled = {(p.region_code, p.effective_from): p for p in compile_all(texts)}
    rows = []
    for name, text in texts.items():
        doc = parse_policy(text, source=name)
        policy = compiled[(doc.region_code, doc.effective_from)]
        rows.append(version_row(policy, inherits=doc.inherits, text=text, loaded_by=loaded_by))
    return rows
