"""API shapes of the ledger: what a caller sends and what it gets back."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Row

from service.idtext import Identifier, Prose
from service.schemas import InputModel, Whole
from service.violations.models import Violation, ViolationTransition

StatusName = Literal["open", "rectifying", "rectified", "verified"]


def points_of(hundredths: int) -> Decimal:
    """Deduction points as a two-decimal number (stored as integer hundredths)."""
    return (Decimal(hundredths) / 100).quantize(Decimal("0.01"))


class ViolationPublic(BaseModel):
    id: int
    rule_code: str
    severity: str
    hospital_code: str
    county_code: str
    visit_id: str | None
    person_masked: str | None
    source: str
    source_ref: str | None
    points: Decimal = Field(description="Deduction points (扣分), two decimals")
    detected_at: datetime = Field(description="When the finding was booked")
    event_on: date = Field(description="The date of the deposit, admission or discharge")
    status: StatusName
    status_changed_at: datetime
    chain: str
    chain_seq: int

    @classmethod
    def of(cls, v: Violation | Row[Any]) -> ViolationPublic:
        """From the model or from a row of the table's columns (query.ViolationRow)."""
        data = dict(v._mapping) if isinstance(v, Row) else v.model_dump()
        return cls.model_validate(data | {"points": points_of(data["points_hundredths"])})


class TransitionPublic(BaseModel):
    id: int
    from_status: str
    to_status: str
    actor: str
    note: str
    evidence_ref: str | None
    at: datetime
    chain_seq: int
    entry_hash: str

    @classmethod
    def of(cls, t: ViolationTransition) -> TransitionPublic:
        return cls.model_validate(t, from_attributes=True)


class ViolationDetail(ViolationPublic):
    evidence: dict[str, Any]
    policy_hash: str | None
    prev_hash: str
    entry_hash: str
    transitions: list[TransitionPublic]
    allowed_transitions: list[str] = Field(
        description="The status changes this caller may make now"
    )


class ViolationPage(BaseModel):
    items: list[ViolationPublic]
    total: int = Field(
        description="Rows matching the filters when total_exact; otherwise more than this many"
    )
    total_exact: bool = Field(
        description=(
            "False when total is a floor: more than total_cap rows match (total is then"
            " total_cap), or counting them would have outrun the page's time budget (total is"
            " then the number of rows on this page)"
        )
    )
    total_cap: int = Field(description="The count stops here")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")
    page_size: int


class TransitionCreate(InputModel):
    to_status: StatusName
    note: Prose = Field(default="", max_length=2000)
    evidence_ref: Identifier | None = Field(default=None, max_length=256)


class ChainHeadPublic(BaseModel):
    chain: str
    seq: int
    head_hash: str


class ChainHeads(BaseModel):
    exported_at: datetime
    heads: list[ChainHeadPublic]


class ChainHeadIn(ChainHeadPublic):
    model_config = ConfigDict(extra="forbid")

    chain: str = Field(pattern=r"^[0-9A-Za-z]{1,16}$")
    seq: Whole = Field(ge=0, le=2**53 - 1)  # exact in every JSON reader
    head_hash: str = Field(pattern=r"^[0-9a-f]{64}$")


MAX_UPLOADED_HEADS = 10_000


class ChainHeadsUpload(InputModel):
    """A document from `GET /v1/violations/chain-heads` (or `ledger export-head`), as kept."""

    exported_at: datetime | None = None
    heads: list[ChainHeadIn] = Field(
        max_length=MAX_UPLOADED_HEADS, description="One head per chain; a chain twice is a 422"
    )

    @field_validator("heads")
    @classmethod
    def _one_head_per_chain(cls, heads: list[ChainHeadIn]) -> list[ChainHeadIn]:
        chains = [h.chain for h in heads]
        if len(set(chains)) != len(chains):
            raise ValueError("each chain appears once in a heads document")
        return heads


class BrokenRecord(BaseModel):
    chain: str
    seq: int
    kind: Literal["violation", "transition", "head"]
    id: int | None
    reason: str


class ChainVerdict(BaseModel):
    chain: str
    records: int
    legacy_records: int = Field(
        default=0,
        description="Records hashed in format 1 (before ids were hashed): ids checked by order",
    )
    intact: bool
    first_broken: BrokenRecord | None = None


class VerifyReport(BaseModel):
    intact: bool
    chains_checked: int
    records_checked: int
    first_broken: BrokenRecord | None = Field(description="The first broken record of any chain")
    chains: list[ChainVerdict]
    heads_checked: int = Field(
        default=0, description="Exported heads compared with the chains (a truncation shows here)"
    )
    heads_outside_scope: list[str] = Field(
        default_factory=list,
        description="Chains of the uploaded heads outside the caller's region: not judged",
    )


class ScoreRow(BaseModel):
    rank: int
    code: str
    name: str
    county_code: str
    points: Decimal = Field(description="Deduction points summed (扣分合计)")
    count: int
    by_rule: dict[str, int]
    by_status: dict[str, int]


class Scoreboard(BaseModel):
    region: str | None
    detected_from: date | None
    detected_to: date | None
    total_points: Decimal
    total_count: int
    counties: list[ScoreRow]
    hospitals: list[ScoreRow]
