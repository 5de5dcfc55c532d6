"""A stand-in registry for local runs: `settlecheck registry standin --port 8100`.

Serves docs/registry-api.md over the demo roster (or a roster file), so the service can be run
against something that speaks the real protocol, including its 404 body.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from service.identity import IdHasher, InvalidResidentId, normalise_resident_id
from service.registry.schemas import PersonRecord
from service.roster.models import ENTRY_COLUMNS, RosterEntry
from service.roster.rows import COLUMNS, RosterPerson, RowRejected, header_index, parse_row
from service.roster.service import record_from_entries
from service.roster.sources import RosterFile


class _Plain(IdHasher):
    """Keys entries by the normalised number itself: the stand-in is the registry, it may."""

    def __init__(self) -> None:
        super().__init__(b"")

    def key_of(self, normalised: str) -> str:
        return normalised


def records_from_rows(rows: Any) -> dict[str, PersonRecord]:
    entries: dict[str, list[RosterEntry]] = defaultdict(list)
    index: dict[str, int] | None = None
    hasher = _Plain()
    for line_no, values in rows:
        if index is None:
            index = header_index(values)
            continue
        try:
            entry = parse_row(values, index, hasher, line_no)
        except RowRejected:
            continue
        row = dict(zip(ENTRY_COLUMNS, (0, *entry), strict=True))
        entries[entry[0]].append(RosterEntry.model_validate(row))
    return {key: record_from_entries(group) for key, group in entries.items()}


def records_of(people: list[RosterPerson]) -> dict[str, PersonRecord]:
    rows: list[tuple[int, list[Any]]] = [(1, list(COLUMNS))]
    for person in people:
        rows.extend((len(rows) + 1, values) for values in person.csv_rows())
    return records_from_rows(rows)


def create_standin_app(records: dict[str, PersonRecord]) -> FastAPI:
    app = FastAPI(title="registry stand-in", version="1")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/persons/{id_number}")
    async def person(id_number: str) -> JSONResponse:
        try:
            normalised = normalise_resident_id(id_number)
        except InvalidResidentId as exc:
            return JSONResponse({"code": "invalid_id_number", "detail": exc.detail}, 400)
        record = records.get(normalised)
        if record is None:
            return JSONResponse({"code": "not_registered"}, 404)
        return JSONResponse(record.model_dump(mode="json"))

    return app


def standin_app(roster: Path | None = None) -> FastAPI:
    if roster is not None:
        return create_standin_app(records_from_rows(RosterFile(roster).rows()))
    from service.roster.demo import demo_people

    return create_standin_app(records_of(demo_people()))
