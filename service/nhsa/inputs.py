"""The transactions' input nodes: the fields this service reads.

The platform's nodes carry many clinical and administrative fields we do not read (diagnoses,
doctors, wards, invoice numbers ...). Those are ignored, not refused, so a HIS can send the
message it already sends to the platform. None of them can set an id, a status or an amount we
compute: such values are never read from a message. Our own additions ride in `exp_content`
(扩展字段), the platform's place for local extensions, and are strictly checked.

An optional field sent empty (`""` or `null`, as HIS code fills the platform's nodes; an
`exp_content` also `[]`, the empty list some HIS model it as) is an absent field: its default
applies. A required field sent empty is refused as before, naming it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from service.idtext import holds_resident_id
from service.money import Amount, TotalAmount
from service.nhsa.envelope import PlatformDate, PlatformTime
from service.policy.schema import Code
from service.schemas import Flag, Whole

Text30 = Annotated[str, Field(min_length=1, max_length=30)]


def _no_resident_id(value: str) -> str:
    # The answer repeats these (setlinfo.psn_no, 3101 result[].patn_id): a resident ID number
    # in one would be answered in full. Refused as an identifier of the JSON API is (ADR 0012);
    # only that, since a HIS's padding or spelling of its own ids is not ours to police here.
    if holds_resident_id(value):
        raise PydanticCustomError(
            "resident_id_in_text", "holds a resident ID number; identifiers must not carry one"
        )
    return value


PersonNumber = Annotated[str, Field(max_length=30), AfterValidator(_no_resident_id)]
"""人员编号 (psn_no), as 1101 answers it (our keyed hash), or the HIS's own: never an ID number."""
PatientId = Annotated[str, Field(max_length=50), AfterValidator(_no_resident_id)]
VisitId = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9._:/-]+$")]


def _is_blank(name: str, value: Any) -> bool:
    return value is None or value == "" or (name == "exp_content" and value == [])


class _Optional(BaseModel):
    """A node whose optional fields sent empty take their defaults."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        fields = cls.model_fields
        return {
            name: value
            for name, value in values.items()
            if not (name in fields and not fields[name].is_required() and _is_blank(name, value))
        }


class _Node(_Optional):
    model_config = ConfigDict(extra="ignore")


class _Strict(_Optional):
    model_config = ConfigDict(extra="forbid")


class Credential(_Node):
    """就诊凭证: only a resident ID card (类型 02, or 人员证件类型 01 with certno) identifies a
    person here; an electronic voucher (01) or a social-security card (03) cannot be resolved."""

    mdtrt_cert_type: str | None = Field(default=None, max_length=3)
    mdtrt_cert_no: str | None = Field(default=None, max_length=50)
    psn_cert_type: str | None = Field(default=None, max_length=6)
    certno: str | None = Field(default=None, max_length=50)


class Data1101(Credential):
    begntime: PlatformTime | None = Field(default=None, description="as-of time (default now)")
    psn_name: str | None = Field(default=None, max_length=50)


class Input1101(_Node):
    data: Data1101


class Exp2401(_Strict):
    psn_name: str | None = Field(default=None, min_length=1, max_length=50)
    referred: Flag = False
    referral_no: str | None = Field(default=None, max_length=64)
    deposit_intended: Amount = Decimal(0)


class Mdtrtinfo(Credential):
    psn_no: PersonNumber | None = None
    insutype: str | None = Field(default=None, max_length=6)
    begntime: PlatformTime = Field(description="入院时间")
    med_type: str = Field(
        min_length=1, max_length=6, description="医疗类别: 21 住院, 14 门诊慢特病"
    )
    ipt_no: VisitId = Field(description="住院号: the visit id (就诊ID) from here on")
    exp_content: Exp2401 = Exp2401()


class Input2401(_Node):
    mdtrtinfo: Mdtrtinfo


class Data2404(_Node):
    mdtrt_id: VisitId
    psn_no: PersonNumber | None = None


class Input2404(_Node):
    data: Data2404


class Exp2304(_Strict):
    dscg_time: PlatformTime | None = Field(default=None, description="出院时间 (default inf_time)")
    settlement_mode: Literal["one_stop", "insurance_only"] = "one_stop"
    external_amounts: dict[str, Amount] = Field(default={}, max_length=20)
    disease: Code | None = Field(
        default=None,
        max_length=64,
        description="The designated disease or package (大病专项救治病种, 单病种): one of the "
        "policy's `diseases` (the JSON API's `disease`)",
    )


class Data2304(Credential):
    psn_no: PersonNumber | None = None
    mdtrt_id: VisitId
    medfee_sumamt: Amount = Field(description="医疗费总额")
    fulamt_ownpay_amt: Amount = Decimal(0)
    overlmt_selfpay: Amount = Decimal(0)
    preselfpay_amt: Amount = Decimal(0)
    inscp_scp_amt: Amount = Field(description="符合政策范围金额")
    mid_setl_flag: Literal["0", "1"] = "0"
    acct_used_flag: Literal["0", "1"] = "0"
    medins_setl_id: Text30 | None = Field(
        default=None, description="医药机构结算ID (default msgid)"
    )
    exp_content: Exp2304 = Exp2304()


class Input2304(_Node):
    data: Data2304


class Data2305(_Node):
    mdtrt_id: VisitId
    setl_id: str = Field(min_length=1, max_length=30)
    psn_no: PersonNumber | None = None


class Input2305(_Node):
    data: Data2305


class Encounter3101(_Node):
    mdtrt_id: VisitId
    dscg_date: PlatformTime | None = None
    medfee_sumamt: Amount
    ownpay_amt: Amount = Decimal(0)


class Patient3101(_Node):
    patn_id: PatientId | None = None
    curr_mdtrt_id: VisitId
    fsi_encounter_dtos: list[Encounter3101] = Field(min_length=1, max_length=50)


class Data3101(_Node):
    patient_dtos: list[Patient3101] = Field(min_length=1, max_length=20)


class Input3101(_Node):
    data: Data3101


class Data3201(_Node):
    """对总账: the HIS's totals of the days; ours are compared with them (docs/nhsa.md)."""

    insutype: str = Field(min_length=1, max_length=6, description="险种类型")
    clr_type: str = Field(min_length=1, max_length=30, description="清算类别 (not a filter)")
    setl_optins: str = Field(min_length=1, max_length=30, description="清算经办机构")
    stmt_begndate: PlatformDate = Field(description="对账开始日期 yyyy-MM-dd")
    stmt_enddate: PlatformDate = Field(description="对账结束日期 yyyy-MM-dd, inclusive")
    medfee_sumamt: TotalAmount = Field(description="医疗费总额")
    fund_pay_sumamt: TotalAmount = Field(description="基金支付总额")
    acct_pay: TotalAmount = Field(description="个人账户支付 (ours is always 0.00)")
    fixmedins_setl_cnt: Whole = Field(
        ge=-(10**9), le=10**9, description="结算笔数: settlements less reversals"
    )
    refd_setl_flag: Literal["0", "1"] | None = Field(
        default=None, description="退费结算标志 (accepted; every reversal counts)"
    )


class Input3201(_Node):
    data: Data3201
