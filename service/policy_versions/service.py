"""Storing checked policy versions. A version is accepted only if the whole set — the new text
with every stored one, in the windows succession gives them — still parses, resolves its
inheritance by date and has no overlapping dates (ADR 0018)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from functools import lru_cache, partial

from anyio import to_thread
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.visibility import prefix_of_region
from service.china_time import today
from service.dates import documented_day
from service.policy import (
    CompiledPolicy,
    PolicyDocument,
    load_policies,
    parse_policy,
    region_chain,
    select_policy,
)
from service.policy.plan_year import plan_year_of, rules_of
from service.policy_versions.errors import (
    PolicyPlanYearMoved,
    PolicySuccessionOutOfOrder,
    PolicySuccessionRetroactive,
    PolicyVersionExists,
    PolicyVersionHasSettled,
    PolicyVersionInEffect,
    PolicyVersionNotFound,
    refused_as_policy_problems,
)
from service.policy_versions.models import PolicyVersion, PolicyVersionEvent
from service.policy_versions.store import SqlPolicyVersionStore
from service.policy_versions.timeline import Piece, Stored, compile_timeline
from service.recorded import Recorded


async def list_versions(session: AsyncSession, *, region: str | None = None) -> list[PolicyVersion]:
    """Every stored version, or those of a region and the regions within it."""
    return await SqlPolicyVersionStore(session).all(region)


async def get_version(session: AsyncSession, content_hash: str) -> PolicyVersion:
    version = await SqlPolicyVersionStore(session).by_hash(content_hash)
    if version is None:
        raise PolicyVersionNotFound(f"no policy version with hash {content_hash}")
    return version


def compile_all(texts: dict[str, str]) -> list[CompiledPolicy]:
    with refused_as_policy_problems():
        return list(_compile_set(tuple(sorted(texts.items()))))


def check_document(text: str, *, source: str) -> PolicyDocument:
    with refused_as_policy_problems():
        return parse_policy(text, source=source)


@lru_cache(maxsize=8)
def _compile_set(items: tuple[tuple[str, str], ...]) -> tuple[CompiledPolicy, ...]:
    # Compiled policies are immutable; replicas, tests and reloads of one set share them.
    return tuple(load_policies(dict(items)))


def source_of(version: PolicyVersion) -> str:
    """The name a stored version goes by in a compiled set (and in its problems)."""
    return f"{version.region_code}@{version.effective_from}"


def stored_of(versions: list[PolicyVersion]) -> list[Stored]:
    return [Stored(source_of(v), v.source_text, v.effective_from, v.effective_to) for v in versions]


def _hashes_from(pieces: list[Piece], source: str) -> set[str]:
    """Every compiled hash a stored version is part of (its own and its children's pieces)."""
    return {p.policy.content_hash for p in pieces if source in p.sources}


async def store_policy(
    session: AsyncSession,
    *,
    text: str,
    source: str,
    loaded_by: str,
    reason: str = "",
) -> Recorded[PolicyVersion]:
    """Check and store one version; the same text twice is a replay (nothing written).

    A version starting after the region's latest one succeeds it (ADR 0018): the latest is
    closed the day before, in the same transaction, and both steps go into the version history.
    Refused: a second text for the same start date, a version before the latest one, and a
    succession that would change the version of settlements already made.

    Parsing and compiling are CPU work on text an admin sent: they run in a worker thread, so a
    large document delays its own request, never the event loop's other requests."""
    document = await to_thread.run_sync(partial(check_document, text, source=source))
    documented_day(document.effective_from, field="effective_from")
    if document.effective_to is not None:
        documented_day(document.effective_to, field="effective_to")
    store = SqlPolicyVersionStore(session)
    await store.lock()  # a twin waits here, then finds this text stored
    stored = await store.all()
    for existing in stored:
        if existing.source_text == text:
            return Recorded(existing, replayed=True)
        same_slot = (existing.region_code, existing.effective_from) == (
            document.region_code,
            document.effective_from,
        )
        if same_slot and existing.source_text != text:
            raise PolicyVersionExists(
                f"region {document.region_code} already has a version from "
                f"{document.effective_from}; versions are never edited: withdraw it if it is "
                "not yet in effect, or add a new one with a later effective_from",
                field="effective_from",
            )
    region = [v for v in stored if v.region_code == document.region_code]
    later = [v for v in region if v.effective_from > document.effective_from]
    if later:
        raise PolicySuccessionOutOfOrder(
            f"region {document.region_code} already has version {later[0].version!r} from "
            f"{later[0].effective_from}; withdraw it first if it is not yet in effect",
            field="effective_from",
        )
    before = [
        v for v in region if v.effective_to is None or v.effective_to >= document.effective_from
    ]
    predecessor = before[-1] if before else None
    closes_on = document.effective_from - timedelta(days=1)
    windows = stored_of(stored)
    now = await to_thread.run_sync(compile_timeline, windows)
    await store.hold(document.region_code)  # the checks below see every settlement in flight
    taken = await _first_settled_by_parents(
        store, now, region=document.region_code, start=document.effective_from
    )
    if taken is not None:
        raise PolicySuccessionRetroactive(
            f"region {document.region_code}'s insured were settled under version {taken[2]!r} "
            f"of a parent region on a visit dated {taken[0]} (by {taken[1]} date); a version of "
            "the region itself takes over from its first day, so it must start after the last "
            "settlement it would change",
            field="effective_from",
        )
    if predecessor is not None:
        own = [p for p in now if p.sources[0] == source_of(predecessor)]
        by = rules_of(own[0].policy).version_date if own else "discharge"
        hashes = _hashes_from(now, source_of(predecessor))
        first = await store.settled_from(hashes, document.effective_from, by)
        if first is not None:
            raise PolicySuccessionRetroactive(
                f"version {predecessor.version!r} of region {predecessor.region_code} settled a "
                f"visit dated {first} (by {by} date); a successor must start after the last "
                "settlement it would change",
                field="effective_from",
            )
        windows = [
            dataclasses.replace(w, effective_to=closes_on)
            if w.source == source_of(predecessor)
            else w
            for w in windows
        ]
    mine_source = f"{document.region_code}@{document.effective_from}"
    windows.append(Stored(mine_source, text, document.effective_from, document.effective_to))
    every = await to_thread.run_sync(compile_timeline, windows)
    _keep_plan_year(now, every, start=document.effective_from, today=today())
    mine = next(
        p.policy
        for p in every
        if p.sources[0] == mine_source and p.policy.effective_from == document.effective_from
    )
    if predecessor is not None:
        await store.set_window_end(predecessor, closes_on)
        await store.record(_event(predecessor, "closed", actor=loaded_by, reason=reason))
    version = version_row(mine, inherits=document.inherits, text=text, loaded_by=loaded_by)
    version.effective_to = document.effective_to
    await store.add(version)
    await store.record(_event(version, "loaded", actor=loaded_by, reason=reason))
    return Recorded(version, replayed=False)


async def _first_settled_by_parents(
    store: SqlPolicyVersionStore, pieces: list[Piece], *, region: str, start: date
) -> tuple[date, str, str] | None:
    """A region's own version takes its insured over from the parents' pieces that governed
    them (a county's first version over the province's): the first settlement of those pools
    made under a parent's piece and dated on or after ``start``, with the date rule that dated
    it and the parent's version, if there is one."""
    parents = set(region_chain(region)[1:])
    by_rule: dict[str, dict[str, str]] = {}
    for piece in pieces:
        if piece.policy.region_code in parents:
            rule = rules_of(piece.policy).version_date
            by_rule.setdefault(rule, {})[piece.policy.content_hash] = piece.policy.version
    found = []
    for by, versions in sorted(by_rule.items()):
        first = await store.settled_from(versions, start, by, pools=prefix_of_region(region))
        if first is not None:
            found.append((first, by, ", ".join(sorted(set(versions.values())))))
    return min(found) if found else None


def _keep_plan_year(
    before: list[Piece],
    after: list[Piece],
    *,
    start: date,
    today: date,
) -> None:
    """Refuse a version that moves the plan year's start for a region it governs from `start`
    (its own, or a county's compiled over it) when the new rules name a plan year again.
    Accumulators, caps and year-end runs are keyed by the plan year's name, the calendar year
    it starts in: 10-01 from 2026-01-01 names January to September 2026 plan year 2025, so they
    would share 2025's caps and come after 2025's year-end run.

    It is refused when the old rules still name that year (or a later one) on the day before
    `start`, whatever has been settled so far and whenever it is loaded: the old version
    settles every day until then in that year, a late bill of a past day as much as a day
    still to come (ADR 0018, amendments). `today` words the refusal."""
    day_before = start - timedelta(days=1)
    earlier = [piece.policy for piece in before]
    for piece in after:
        if piece.policy.effective_from != start:
            continue
        region = piece.policy.region_code
        governed = select_policy(earlier, insured_region=region, on=day_before)
        if governed is None:
            continue
        was, will = rules_of(governed).starts, rules_of(piece.policy).starts
        if was == will:
            continue
        named = plan_year_of(rules_of(piece.policy), start)
        still = plan_year_of(rules_of(governed), day_before)
        if still < named:
            continue
        late = "" if start > today else ", a late bill of a day before it too"
        why = (
            f"the old rules still name plan year {still} on {day_before}, so the settlements "
            f"under them until the move{late} fall in a year the new rules name again"
        )
        raise PolicyPlanYearMoved(
            f"region {region}'s plan year starts on {was} under version {governed.version!r} "
            f"(in force on {day_before}) and would start on {will} from {start}, naming it "
            f"plan year {named} again: {why}, whose caps and year-end run the months from then "
            "would join; keep plan_year.starts unchanged",
            field="plan_year",
        )


async def withdraw_policy(
    session: AsyncSession, *, content_hash: str, actor: str, reason: str, today: date
) -> PolicyVersion:
    """Withdraw a version that is not yet in effect and has settled nothing; the version it
    succeeded is reopened to where it ran before (its text's end, or the next version)."""
    store = SqlPolicyVersionStore(session)
    await store.lock()  # before any read: a load that succeeds this version commits first
    version = await get_version(session, content_hash)
    if version.effective_from <= today:
        raise PolicyVersionInEffect(
            f"version {version.version!r} of region {version.region_code} is in effect since "
            f"{version.effective_from}; it can only be succeeded by a later version"
        )
    await store.hold(version.region_code)
    stored = await store.all()
    pieces = await to_thread.run_sync(compile_timeline, stored_of(stored))
    if await store.used(_hashes_from(pieces, source_of(version))):
        raise PolicyVersionHasSettled(
            f"version {version.version!r} of region {version.region_code} has admitted or "
            "settled visits; it can only be succeeded"
        )
    region = [v for v in stored if v.region_code == version.region_code]
    earlier = [v for v in region if v.effective_from < version.effective_from]
    after = [v for v in region if v.effective_from > version.effective_from]
    predecessor = earlier[-1] if earlier else None
    reopened: tuple[PolicyVersion, date | None] | None = None
    if predecessor is not None and predecessor.effective_to == version.effective_from - timedelta(
        days=1
    ):
        text_end = check_document(predecessor.source_text, source=source_of(predecessor))
        ends = [e for e in (text_end.effective_to,) if e is not None]
        ends += [after[0].effective_from - timedelta(days=1)] if after else []
        reopened = (predecessor, min(ends) if ends else None)
    windows = [
        dataclasses.replace(w, effective_to=reopened[1])
        if reopened is not None and w.source == source_of(reopened[0])
        else w
        for w in stored_of(stored)
        if w.source != source_of(version)
    ]
    await to_thread.run_sync(compile_timeline, windows)  # children keep a parent, or 422
    await store.remove(version)
    await store.record(_event(version, "withdrawn", actor=actor, reason=reason))
    if reopened is not None:
        await store.set_window_end(reopened[0], reopened[1])
        await store.record(_event(reopened[0], "reopened", actor=actor, reason=reason))
    return version


async def history(session: AsyncSession, *, region: str | None = None) -> list[PolicyVersionEvent]:
    return await SqlPolicyVersionStore(session).history(region)


def _event(version: PolicyVersion, action: str, *, actor: str, reason: str) -> PolicyVersionEvent:
    return PolicyVersionEvent(
        region_code=version.region_code,
        version=version.version,
        content_hash=version.content_hash,
        action=action,
        effective_from=version.effective_from,
        effective_to=None if action == "withdrawn" else version.effective_to,
        actor=actor,
        reason=reason,
    )


def version_row(
    policy: CompiledPolicy, *, inherits: str | None, text: str, loaded_by: str
) -> PolicyVersion:
    """The stored row of a compiled policy version, with the text it was compiled from."""
    return PolicyVersion.model_validate(
        policy,
        from_attributes=True,
        update={"inherits": inherits, "source_text": text, "loaded_by": loaded_by},
    )
