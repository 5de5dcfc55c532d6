from __future__ import annotations

from service.errors import Conflict, NotFound, Unprocessable


class PlanYearNotOver(Unprocessable):
    """The plan year has days left: a settlement may still be added to it."""

    code = "plan_year_not_over"


class PlanYearOutOfRange(Unprocessable):
    code = "plan_year_out_of_range"


class PlanYearBeforeRecords(Unprocessable):
    """The service holds no stay of the region in the plan year: a run would read as "checked,
    nothing owed" for a year it knows nothing of (a typo, a year before the county joined)."""

    code = "plan_year_before_records"


class RegionNotFound(NotFound):
    code = "region_not_found"


class YearEndRunRaced(Conflict):
    """Other runs of the same year kept booking the same positions first (every retry lost)."""

    code = "year_end_run_raced"
