"""The admitted visit a settlement is for, with the visit's settlements so far
(`SettlementStore.read_visit` reads it in one statement).

One read answers everything a settlement asks before it locks anything: is the visit admitted
at the calling hospital, who is the patient, was this HIS message already settled (idempotency),
and is the visit still settled. A visit has a handful of settlements at most, so the join
returns a handful of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Earlier:
    """One settlement of the visit: enough to replay it or to see that it is still active."""

    id: int
    visit_id: str
    his_settlement_id: str
    visit_seq: int
    request_hash: str
    reversal_id: int | None
    mid_settlement: bool = False
    stage_end: datetime | None = None  # its discharged_at: the end of the stage it settled

    @property
    def active(self) -> bool:
        return self.reversal_id is None


@dataclass(frozen=True, slots=True)
class AdmittedVisit:
    id: int
    hospital_code: str
    county_code: str
    visit_id: str
    state: str
    person_key: str
    person_masked: str
    insured_county: str
    visit_type: str
    admitted_at: datetime
    location: str
    referred: bool
    categories: frozenset[str]
    history: tuple[Earlier, ...]  # newest first
    # What the admission judged: pay-after-treatment eligibility (None: status unknown) and
    # the version it judged under (service/admissions).
    eligible: bool | None = None
    policy_hash: str | None = None

    def earlier(self, his_settlement_id: str) -> Earlier | None:
        return next((e for e in self.history if e.his_settlement_id == his_settlement_id), None)

    @property
    def latest(self) -> Earlier | None:
        return self.history[0] if self.history else None

    @property
    def stages(self) -> tuple[Earlier, ...]:
        """The stay's stages still settled (中途结算), oldest first: while a visit is being
        settled in stages every active settlement of it is a mid-settlement."""
        return tuple(e for e in reversed(self.history) if e.active and e.mid_settlement)

    @property
    def next_seq(self) -> int:
        return self.history[0].visit_seq + 1 if self.history else 1
