"""A finding's evidence and its operators as people read them in the console: labelled Chinese
fields, amounts in yuan, and the hospital's and the key's names instead of `hospital:H…#3`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.policy.money import fen_to_yuan
from service.violations.labels import EVIDENCE_LABELS, VALUE_LABELS


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    label: str
    value: str
    key: str  # as stored, for an auditor who needs it


def evidence_rows(evidence: dict[str, Any]) -> list[EvidenceRow]:
    return [_row(key, value) for key, value in evidence.items()]


def _row(key: str, value: Any) -> EvidenceRow:
    if key.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
        name = key.removesuffix("_fen")
        return EvidenceRow(EVIDENCE_LABELS.get(name, name), f"{fen_to_yuan(value)} 元", key)
    return EvidenceRow(EVIDENCE_LABELS.get(key, key), _words(value), key)


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None:
        return "—"
    if isinstance(value, list):
        return "、".join(_words(v) for v in value) or "—"
    if isinstance(value, dict):
        return "；".join(f"{EVIDENCE_LABELS.get(k, k)}：{_words(v)}" for k, v in value.items())
    return VALUE_LABELS.get(str(value), str(value))


ROLE_WORDS = {"hospital": "医院", "auditor": "督查", "admin": "管理员"}


def actor_words(actor: str, *, names: dict[str, str], key_labels: dict[int, str]) -> str:
    """'hospital:H990102002#3' -> '演示县人民医院（医院，密钥 #3 收费处HIS）'."""
    role, _, rest = actor.partition(":")
    scope, _, key = rest.partition("#")
    if role not in ROLE_WORDS or not key.isdigit():
        return actor
    who = names.get(scope, "全部" if scope == "*" else scope)
    key_label = key_labels.get(int(key), "")
    return f"{who}（{ROLE_WORDS[role]}，密钥 #{key}{' ' + key_label if key_label else ''}）"


def key_ids(actors: list[str]) -> set[int]:
    found = set()
    for actor in actors:
        key = actor.rpartition("#")[2]
        if key.isdigit():
            found.add(int(key))
    return found
