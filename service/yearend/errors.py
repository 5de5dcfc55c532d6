from __future__ import annotations

from service.errors import Conflict, NotFound, Unprocessable


class PlanYearNotOver(Unprocessable):
    """The plan year has days left: a settlement may still be added to it."""

    code = "plan_year_not_over"


class PlanYearOutOfRange(Unprocessable):
    code = "plan_year_out_of_range"


class RegionNotFound(NotFound):
    code = "region_not_found"


class YearEndRunRaced(Conflict):
    """Other runs of the same year kept booking the same positions first (every retry lost)."""

    code = "year_end_run_raced"
