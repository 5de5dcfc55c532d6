"""The indicators a county reports (健康扶贫指标), computed instead of filled in by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field


class Share(BaseModel):
    """A ratio with the counts or amounts it was computed from; None when nothing to divide."""

    value: Decimal | None = Field(description="numerator / denominator, four decimals")
    numerator: int
    denominator: int
    target: Decimal | None = Field(
        default=None,
        description="The policy's target; for a period across a change of target, each part's "
        "target weighted by that part's cost",
    )
    meets_target: bool | None = None


class LevelShare(BaseModel):
    level: str = Field(description="primary | secondary | tertiary (一级/二级/三级)")
    share: Share


class Problems(BaseModel):
    open: int = Field(description="Not yet closed: open, rectifying or rectified")
    closed: int = Field(description="Verified and written off (已销号)")
    by_status: dict[str, int]


class Indicators(BaseModel):
    region: str | None
    period_from: date | None
    period_to: date | None
    eligible_inpatients: int = Field(
        description="Inpatient admissions eligible for pay-after-treatment (先诊疗后付费), "
        "whatever covered category made them so (脱贫人口, 低保, 特困, 监测对象 …), "
        "not only 建档立卡"
    )
    one_stop_share: Share = Field(
        description="Inpatient settlements of covered patients settled one-stop (一站式结算率)"
    )
    no_deposit_share: Share = Field(description="Eligible admitted without deposit (先诊疗后付费)")
    actual_ratio_inpatient: Share = Field(
        description="实际报销比例 of covered patients' inpatient settlements, by fen"
    )
    actual_ratio_chronic_outpatient: Share = Field(
        description="实际报销比例 of covered patients' 门诊慢特病 settlements, by fen"
    )
    out_of_catalogue_by_level: list[LevelShare] = Field(description="目录外费用占比, fen")
    in_county_rate: Share = Field(description="县域内就诊率: residents treated in their county")
    problems: Problems
