"""The directory (regions and hospitals): where a stay is judged in or out of county, and an
admin's registration of both.

A region's level and parent follow from its code (`rules.py`), and its parent is registered
first; a hospital lies in a registered county. A PUT stores the entry as sent: 201 when new,
200 when it was already so (nothing written) or changed. A hospital with admissions keeps its
county (ADR 0023). Requests see a change within the hospital directory's TTL (directory.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from service.auth.principal import Principal
from service.policy import CompiledPolicy, in_same_pooling_region
from service.regions.errors import (
    HospitalCodeCaseTwin,
    HospitalInUse,
    HospitalNotFound,
    RegionCodeUnknown,
    RegionLevelMismatch,
    RegionNotCounty,
    RegionNotFound,
    RegionParentMismatch,
)
from service.regions.models import Hospital, Region
from service.regions.rules import level_of, parent_of, real_province
from service.regions.schemas import HospitalCreate, HospitalPublic, RegionCreate, RegionPublic

if TYPE_CHECKING:
    from service.unit_of_work import UnitOfWork

__all__ = [
    "HospitalNotFound",
    "Upserted",
    "get_hospital",
    "in_pooling_region",
    "list_hospitals",
    "list_regions",
    "location_of",
    "put_hospital",
    "put_region",
    "require_hospital",
    "store_hospital",
]

P = TypeVar("P", RegionPublic, HospitalPublic)
Outcome = Literal["created", "unchanged", "changed"]


@dataclass(frozen=True, slots=True)
class Upserted(Generic[P]):
    """What a PUT stored: the entry, whether it was new, unchanged or changed, and which
    fields changed (old and new values)."""

    entry: P
    outcome: Outcome
    changes: dict[str, tuple[object, object]]


def location_of(*, hospital_county: str, insured_county: str) -> str:
    """in_county / out_of_county / out_of_province, from the hospital and the insured county."""
    if hospital_county == insured_county:
        return "in_county"
    if hospital_county[:2] == insured_county[:2]:
        return "out_of_county"
    return "out_of_province"


def in_pooling_region(
    policy: CompiledPolicy, *, location: str, hospital_county: str, insured_county: str
) -> bool:
    """Is the hospital inside the patient's pooling region (统筹区)? By the policy's `pooling`
    level (default the prefecture, 市级统筹), from the hospital's and the insured county's
    codes; the admission's own location decides the two cases the engine fixes."""
    if location == "in_county":
        return True
    if location == "out_of_province":
        return False
    pooled_at = policy.document.pooling or "prefecture"
    return in_same_pooling_region(hospital_county, insured_county, pooled_at=pooled_at)


async def require_hospital(uow: UnitOfWork, *, hospital_code: str) -> Hospital:
    """The registered hospital (a key is issued only for one)."""
    row = await uow.regions.hospital(hospital_code)
    if row is None:
        raise HospitalNotFound(f"hospital {hospital_code} is not registered", field="hospital_code")
    return row


async def list_regions(uow: UnitOfWork, *, prefix: str | None) -> list[RegionPublic]:
    return [_region_public(r) for r in await uow.regions.regions(prefix=prefix)]


async def list_hospitals(
    uow: UnitOfWork, *, principal: Principal, prefix: str | None
) -> list[HospitalPublic]:
    rows = await uow.regions.hospitals(principal=principal, prefix=prefix)
    return [_hospital_public(h) for h in rows]


async def get_hospital(uow: UnitOfWork, *, principal: Principal, code: str) -> HospitalPublic:
    row = await uow.regions.hospital(code, principal=principal)
    if row is None:
        raise HospitalNotFound(f"no hospital {code} that you may see", field="hospital_code")
    return _hospital_public(row)


async def put_region(
    uow: UnitOfWork, *, code: str, body: RegionCreate, synthetic: bool
) -> Upserted[RegionPublic]:
    """Register region `code`, or bring it to `body`: its province must be one of GB/T 2260
    (or, with `synthetic`, outside production, one of the made-up provinces of the demo and the
    docs), its level and parent the ones its code stands for, and the parent registered."""
    if not real_province(code, synthetic=synthetic):
        raise RegionCodeUnknown(
            f"region code {code}: {code[:2]} is not a province's code (GB/T 2260: 11-65, 71, "
            "81, 82)",
            field="region_code",
        )
    if body.level != level_of(code):
        raise RegionLevelMismatch(
            f"region code {code} is a {level_of(code)} code, not a {body.level}", field="level"
        )
    parent = parent_of(code)
    if body.parent_code != parent:
        wanted = "no parent" if parent is None else f"parent_code {parent}"
        raise RegionParentMismatch(f"region {code} has {wanted}", field="parent_code")

    async def work() -> Upserted[RegionPublic]:
        if parent is not None and await uow.regions.region(parent) is None:
            raise RegionNotFound(
                f"parent region {parent} is not registered: register it first",
                field="parent_code",
            )
        existing = await uow.regions.region(code)
        return await _upsert(uow, existing, Region(code=code, **body.model_dump()), _region_public)

    return await uow.run(work, on_duplicate=work)


async def put_hospital(
    uow: UnitOfWork, *, code: str, body: HospitalCreate, code_field: str = "hospital_code"
) -> Upserted[HospitalPublic]:
    """Register hospital `code` in a registered county, or bring it to `body`; a lost race
    to register it is answered from the winner."""

    async def work() -> Upserted[HospitalPublic]:
        return await store_hospital(uow, code=code, body=body, code_field=code_field)

    return await uow.run(work, on_duplicate=work)


async def store_hospital(
    uow: UnitOfWork, *, code: str, body: HospitalCreate, code_field: str = "hospital_code"
) -> Upserted[HospitalPublic]:
    """One hospital's write, no retry (for a caller that owns a larger unit, the bulk import):
    in a registered county; a hospital with admissions keeps its county (409
    `hospital_in_use`). Every check comes before the write, so a refused hospital writes
    nothing."""
    county = await uow.regions.region(body.county_code)
    if county is None:
        raise RegionNotFound(
            f"county {body.county_code} is not registered: register it first",
            field="county_code",
        )
    if county.level != "county":
        raise RegionNotCounty(
            f"region {county.code} is a {county.level}; a hospital lies in a county",
            field="county_code",
        )
    existing = await uow.regions.hospital(code, lock=True)  # two PUTs at once: one, then the other
    if existing is None and (twin := await uow.regions.case_twin(code)) is not None:
        raise HospitalCodeCaseTwin(
            f"hospital {twin} is stored under this code in lower case (let in before codes "
            f"were upper case); {code} cannot be registered beside it: an operator decides "
            "which is right (docs/directory.md)",
            field=code_field,
        )
    await _county_kept(uow, existing, county_code=body.county_code)
    return await _upsert(uow, existing, Hospital(code=code, **body.model_dump()), _hospital_public)


async def _county_kept(uow: UnitOfWork, existing: Hospital | None, *, county_code: str) -> None:
    """A hospital with admissions keeps its county (ADR 0023)."""
    if existing is None or existing.county_code == county_code:
        return
    if await uow.regions.has_admissions(existing.code):
        raise HospitalInUse(
            f"hospital {existing.code} has admissions judged in or out of county "
            f"{existing.county_code}; its county cannot change (register the new site under "
            "a new code)",
            field="county_code",
        )


R = TypeVar("R", Region, Hospital)


async def _upsert(
    uow: UnitOfWork, existing: R | None, wanted: R, public: Callable[[R], P]
) -> Upserted[P]:
    """Add `wanted`, or bring `existing` to it: what was stored and what changed."""
    if existing is None:
        await uow.regions.add(wanted)
        return Upserted(public(wanted), "created", {})
    fields = wanted.model_dump(exclude={"code", "created_at"})
    changes = {k: (getattr(existing, k), v) for k, v in fields.items() if getattr(existing, k) != v}
    for field, (_, new) in changes.items():
        setattr(existing, field, new)
    if changes:
        await uow.regions.save(existing)
    return Upserted(public(existing), "changed" if changes else "unchanged", changes)


def _region_public(row: Region) -> RegionPublic:
    return RegionPublic.model_validate(row, from_attributes=True)


def _hospital_public(row: Hospital) -> HospitalPublic:
    return HospitalPublic.model_validate(row, from_attributes=True)
