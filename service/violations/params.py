"""Query parameters of the ledger's list, export and scoreboard, shared by the API and the
console (whose GET forms send empty strings for empty fields)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from service.admissions.schemas import VisitId
from service.dates import FILTER_FIRST_DAY, FILTER_LAST_DAY, FilterDay, ordered_period
from service.errors import FieldProblem, Unprocessable
from service.schemas import REGION_PREFIX, Code, InputModel, PlainDigits, RuleCode
from service.violations.schemas import StatusName
from service.violations.scope import ViolationFilter

DAYS = f"{FILTER_FIRST_DAY.isoformat()} to {FILTER_LAST_DAY.isoformat()}"


class LedgerQuery(InputModel):
    region: str | None = Field(default=None, pattern=REGION_PREFIX, description="Region prefix")
    hospital_code: Code | None = None
    rule_code: RuleCode | None = None
    status: StatusName | None = None
    severity: str | None = Field(default=None, max_length=16, pattern=r"^[a-z]+$")
    detected_from: FilterDay | None = Field(
        default=None,
        description=f"First day (China time), {DAYS}, by the event's date (deposit, admission "
        "or discharge), not the time the finding was booked",
    )
    detected_to: FilterDay | None = Field(
        default=None,
        description=f"Last day, inclusive, {DAYS}, not before detected_from (event date)",
    )
    visit_id: VisitId | None = None
    sort: Literal["desc", "asc"] = "desc"

    def filter(self) -> ViolationFilter:
        ordered_period(self.detected_from, self.detected_to, field="detected_to")
        return ViolationFilter(**self.model_dump(exclude={"sort", "cursor", "page_size"}))


class PageQuery(LedgerQuery):
    cursor: str | None = Field(default=None, max_length=512, description="From next_cursor")
    page_size: Annotated[int, PlainDigits] = Field(
        default=50, ge=1, description="At most settings.max_page_size"
    )


class PeriodQuery(InputModel):
    region: str | None = Field(default=None, pattern=REGION_PREFIX)
    from_: FilterDay | None = Field(
        default=None,
        alias="from",
        description=f"First day (China time), {DAYS}, by the event's date",
    )
    to: FilterDay | None = Field(
        default=None, description=f"Last day, inclusive, {DAYS}, not before from (event date)"
    )

    def filter(self) -> ViolationFilter:
        ordered_period(self.from_, self.to, field="to")
        return ViolationFilter(region=self.region, detected_from=self.from_, detected_to=self.to)


Q = TypeVar("Q", bound=BaseModel)


def parse_form(model: type[Q], values: Mapping[str, str | bool], *, what: str = "the filter") -> Q:
    """Validate a console form's values: empty fields mean 'not given', others are ignored.
    A yes/no the form's handler has read from its own words arrives as a bool (a model's
    `Flag` takes nothing else)."""
    names = {f.alias or n for n, f in model.model_fields.items()}
    given = {k: v for k, v in values.items() if not isinstance(v, str) or v.strip()}
    try:
        return model.model_validate({k: v for k, v in given.items() if k in names})
    except ValidationError as e:
        problems = [
            FieldProblem(field=".".join(map(str, x["loc"])), message=x["msg"], code=x["type"])
            for x in e.errors()
        ]
        raise Unprocessable(f"{what} is not valid", errors=problems) from e
