"""A county's hospitals from one sheet (CSV or XLSX), by the API's rules, all or nothing.

The first row with a value names the columns: code, name, county_code, level, tier, designated
(each once, no other). Every other row is one hospital, checked as `PUT /v1/hospitals/{code}`
checks it and written in the caller's unit of work; if any row is bad, the import raises
`HospitalImportRefused` with every bad row by its line, and the unit of work stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from service.errors import FieldProblem, ServiceError, Unprocessable
from service.regions.schemas import HospitalCreate, HospitalPublic, HospitalRow
from service.regions.service import Upserted, store_hospital

if TYPE_CHECKING:
    from service.unit_of_work import UnitOfWork

COLUMNS = ("code", "name", "county_code", "level", "tier", "designated")
# What a sheet may say for `designated` (docs/directory.md); a spreadsheet's own TRUE/FALSE
# cell reads as a bool. Anything else ("yes", "1", "no") is refused by the row's flag.
_YES_NO = {"是": True, "否": False, "true": True, "false": False}

Row = tuple[int, list[Any]]  # (the row's line in the file, its cells)


class HospitalImportRefused(Unprocessable):
    code = "hospital_import_refused"
    title = "The hospital sheet has bad rows; nothing was imported"


@dataclass
class ImportReport:
    added: list[HospitalPublic] = field(default_factory=list)
    changed: list[Upserted[HospitalPublic]] = field(default_factory=list)
    unchanged: int = 0

    def count(self, stored: Upserted[HospitalPublic]) -> None:
        if stored.outcome == "created":
            self.added.append(stored.entry)
        elif stored.outcome == "changed":
            self.changed.append(stored)
        else:
            self.unchanged += 1


async def import_hospitals(uow: UnitOfWork, rows: Iterable[Row]) -> ImportReport:
    """Upsert every row's hospital; `HospitalImportRefused` naming every bad row if any is."""
    report, problems, seen = ImportReport(), list[FieldProblem](), dict[str, int]()
    header: list[str] | None = None
    for line, cells in rows:
        if header is None:
            header = _header(line, cells)
            continue
        row = _parse(line, header, cells, seen=seen, problems=problems)
        if row is None:
            continue
        body = HospitalCreate.model_validate(row.model_dump(exclude={"code"}))
        try:
            report.count(await store_hospital(uow, code=row.code, body=body, code_field="code"))
        except ServiceError as exc:  # refused before it wrote anything
            problems.append(_problem(line, exc.errors[0].field if exc.errors else "", exc.detail))
    if header is None:
        raise HospitalImportRefused("the sheet is empty: no header row", field="line 1")
    if problems:
        raise HospitalImportRefused(
            f"{len(problems)} problem(s) in the sheet: nothing was imported", errors=problems
        )
    return report


def _parse(
    line: int,
    header: list[str],
    cells: list[Any],
    *,
    seen: dict[str, int],
    problems: list[FieldProblem],
) -> HospitalRow | None:
    """The row as a hospital, or None with its problems added (a code seen before is one)."""
    try:
        row = HospitalRow.model_validate(_record(header, cells))
    except ValidationError as exc:
        problems += [_problem(line, ".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        return None
    if row.code in seen:
        problems.append(_problem(line, "code", f"{row.code} is on line {seen[row.code]} too"))
        return None
    seen[row.code] = line
    return row


def _header(line: int, cells: list[Any]) -> list[str]:
    names = [str(c or "").strip().lower() for c in cells]
    while names and not names[-1]:
        names.pop()
    if sorted(names) != sorted(COLUMNS):
        raise HospitalImportRefused(
            f"the header row names {', '.join(names)}; it must name each of "
            f"{', '.join(COLUMNS)} once, and nothing else",
            field=f"line {line}",
        )
    return names


def _record(header: list[str], cells: list[Any]) -> dict[str, Any]:
    values = [_text(c) for c in cells]
    values += [""] * (len(header) - len(values))
    record = dict(zip(header, values, strict=False))
    designated = record["designated"]
    if isinstance(designated, str):
        designated = _YES_NO.get(designated.lower(), designated) if designated else None
    record["designated"] = designated
    return record


def _text(cell: Any) -> Any:
    """A cell as the API would receive it: a spreadsheet's 980102 or 980102.0 is "980102"."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _problem(line: int, column: str, message: str) -> FieldProblem:
    where = f"line {line}" + (f" {column}" if column else "")
    return FieldProblem(field=where, message=message, code=HospitalImportRefused.code)
