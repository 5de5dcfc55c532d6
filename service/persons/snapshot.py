"""What a roster snapshot may say when the registry cannot answer (ADR 0011).

A snapshot can confirm that someone is registered: the offices listed them. Its silence proves
nothing: the person may be insured in a county the snapshot does not cover, or have been
enrolled after it was taken. So a person missing from it is `unknown`, with the snapshot's date
and the reason, never "not registered". Nor does a snapshot older than the policy allows confirm
anything (`snapshot_in_date`): the person may have left the covered categories since.
"""

from __future__ import annotations

from datetime import date

from service.china_time import local_date
from service.persons.person_status import PersonStatus, Source
from service.policy import CompiledPolicy, snapshot_max_age_days
from service.roster.service import SnapshotAnswer

COUNTY_NOT_COVERED = "SNAPSHOT_COUNTY_NOT_COVERED"
NOT_IN_SNAPSHOT = "NOT_IN_SNAPSHOT"
TOO_OLD = "SNAPSHOT_TOO_OLD"


def status_from_snapshot(
    answer: SnapshotAnswer, *, problem: str, insured_county: str | None
) -> PersonStatus:
    """The snapshot's answer; `insured_county` is the county the caller reported, if any."""
    if answer.record is not None:
        return PersonStatus(
            source=Source.SNAPSHOT,
            registered=True,
            record=answer.record,
            answered_at=answer.taken_at,
            snapshot_taken_at=answer.taken_at,
            registry_problem=problem,
        )
    code, why = _silence(answer, insured_county)
    taken = local_date(answer.taken_at).isoformat()
    return PersonStatus(
        source=Source.UNKNOWN,
        registered=None,
        snapshot_taken_at=answer.taken_at,
        registry_problem=problem,
        unknown_code=code,
        unknown_reason=f"the registry did not answer ({problem}) and the roster snapshot taken "
        f"{taken} {why}",
    )


def _silence(answer: SnapshotAnswer, insured_county: str | None) -> tuple[str, str]:
    counties = answer.counties
    listed = ", ".join(counties) if counties else "unknown"
    if counties and insured_county is not None and insured_county not in counties:
        return COUNTY_NOT_COVERED, (
            f"covers counties {listed}, not {insured_county}: it cannot say whether this "
            "person is covered"
        )
    if counties and insured_county is not None:
        return NOT_IN_SNAPSHOT, (
            f"covers county {insured_county} but does not list this person, who may have been "
            "enrolled after it was taken; a snapshot can confirm cover, not its absence"
        )
    return NOT_IN_SNAPSHOT, (
        f"(counties {listed}) does not list this person: a snapshot can confirm cover, not its "
        "absence; the person may be insured in a county it does not cover, or have been "
        "enrolled after it was taken"
    )


def snapshot_in_date(status: PersonStatus, *, policy: CompiledPolicy, on: date) -> PersonStatus:
    """The status, unless it is the snapshot's confirmation and the snapshot is older on `on`
    (the visit day, in China) than the policy's `pay_after_treatment.snapshot_max_age_days`:
    then it confirms nothing, and the person is `unknown` as if it did not list them (ADR
    0011, addendum). No limit in the policy: the status as it is."""
    limit = snapshot_max_age_days(policy)
    taken_at = status.snapshot_taken_at
    if status.source is not Source.SNAPSHOT or limit is None or taken_at is None:
        return status
    taken = local_date(taken_at)
    age = (on - taken).days
    if age <= limit:
        return status
    return PersonStatus(
        source=Source.UNKNOWN,
        registered=None,
        snapshot_taken_at=taken_at,
        registry_problem=status.registry_problem,
        unknown_code=TOO_OLD,
        unknown_reason=f"the registry did not answer ({status.registry_problem}) and the "
        f"roster snapshot taken {taken.isoformat()} is {age} days old on {on.isoformat()}, "
        f"older than the {limit} days policy {policy.version} lets a snapshot confirm cover: "
        "the person may have left the covered categories since",
    )
