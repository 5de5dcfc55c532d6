"""The directory's problems (regions and hospitals), each with a stable code."""

from __future__ import annotations

from service.errors import Conflict, NotFound, Unprocessable


class HospitalNotFound(NotFound):
    code = "hospital_not_found"


class RegionNotFound(NotFound):
    code = "region_not_found"
    title = "Region not registered"


class RegionLevelMismatch(Unprocessable):
    """A province's code ends in 0000, a prefecture's in 00, a county's in neither."""

    code = "region_level_mismatch"
    title = "The region code does not fit its level"


class RegionCodeUnknown(Unprocessable):
    """A region's two leading digits are a province of GB/T 2260 (rules.PROVINCES)."""

    code = "region_code_unknown"
    title = "The region code names no province"


class RegionParentMismatch(Unprocessable):
    """The parent a region must have follows from its code (`region_chain`)."""

    code = "region_parent_mismatch"
    title = "The parent region does not fit the region code"


class RegionNotCounty(Unprocessable):
    code = "region_not_county"
    title = "A hospital's region must be a county"


class HospitalInUse(Conflict):
    """A hospital with admissions keeps its county: each stay was judged in or out of county
    (and pooling region) by it, and the judgement is kept with the stay (ADR 0023)."""

    code = "hospital_in_use"
    title = "The hospital has admissions"


class HospitalCodeCaseTwin(Conflict):
    """A hospital is stored under the same code in another case (`h990102002`, let in before
    codes were upper case): the database refuses the twin (migration 0017), and which of the
    two is right, with everything that names the stored one, is an operator's decision."""

    code = "hospital_code_case_twin"
    title = "A hospital is stored under this code in another case"
