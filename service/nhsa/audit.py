"""3101 明细审核事前事中分析: the findings a settlement of the current visit would book, from
the settlement service's preview (nothing is stored, nothing is booked)."""

from __future__ import annotations

from typing import Any

from service.nhsa.call import Call, build, fields_named, parse
from service.nhsa.errors import InvalidInput
from service.nhsa.inputs import Encounter3101, Input3101, Patient3101
from service.settlements.schemas import FindingPublic, SettlementPreviewCreate, SettlementPublic


async def audit(call: Call) -> dict[str, Any]:
    data = parse(Input3101, call).data
    results: list[dict[str, Any]] = []
    previews = []
    for index, patient in enumerate(data.patient_dtos):
        at, encounter = _current(patient, index)
        previewed = await _preview(call, encounter, f"input.data.patient_dtos.{index}.{at}")
        previews.append(previewed)
        results.extend(_results(call, patient, previewed))
    return {
        "result": results,
        "judge_result_detail_dtos": [],
        "settlecheck": [
            {
                "mdtrt_id": p.visit_id,
                "findings": [f.model_dump() for f in p.findings],
                "policy": p.policy.model_dump(),
            }
            for p in previews
        ],
    }


def _current(patient: Patient3101, index: int) -> tuple[str, Encounter3101]:
    """The current encounter, and where it is in the patient's node."""
    for at, encounter in enumerate(patient.fsi_encounter_dtos):
        if encounter.mdtrt_id == patient.curr_mdtrt_id:
            return f"fsi_encounter_dtos.{at}", encounter
    raise InvalidInput(
        f"no encounter {patient.curr_mdtrt_id} (curr_mdtrt_id) among fsi_encounter_dtos",
        field=f"input.data.patient_dtos.{index}.curr_mdtrt_id",
    )


async def _preview(call: Call, encounter: Encounter3101, where: str) -> SettlementPublic:
    if encounter.ownpay_amt > encounter.medfee_sumamt:
        raise InvalidInput("ownpay_amt is more than medfee_sumamt", field=f"{where}.ownpay_amt")
    names = {
        "visit_id": f"{where}.mdtrt_id",
        # a default names the field it came from, not one the caller never sent
        "discharged_at": f"{where}.dscg_date" if encounter.dscg_date else "inf_time",
        "bill": f"{where}.medfee_sumamt",
    }
    body = build(
        SettlementPreviewCreate,
        where,
        names=names,
        visit_id=encounter.mdtrt_id,
        discharged_at=encounter.dscg_date or call.default_discharge(),
        bill={
            "total": encounter.medfee_sumamt,
            "in_policy": encounter.medfee_sumamt - encounter.ownpay_amt,
            "out_of_policy": encounter.ownpay_amt,
        },
    )
    with fields_named(names):
        return await call.desk.preview(call.uow, body)


def _results(call: Call, patient: Patient3101, previewed: SettlementPublic) -> list[dict[str, Any]]:
    rules = call.mapping(previewed.insured_county).rules
    found = {f.rule: f for f in previewed.findings}
    policy = previewed.policy
    return [
        {
            "jr_id": f"{previewed.visit_id}:{rule}",
            "rule_id": rule,
            "rule_name": rules.get(rule, rule),
            "vola_cont": _content(found.get(rule), rules.get(rule, rule)),
            "patn_id": patient.patn_id,
            "mdtrt_id": previewed.visit_id,
            "vola_amt": None,
            "vola_amt_stas": None,
            "sev_deg": None,
            "vola_evid": _evidence(found.get(rule), f"{policy.name} {policy.version}"),
            "vola_bhvr_type": None,
            "task_id": call.envelope.msgid,
        }
        for rule in previewed.violation_findings
    ]


def _content(finding: FindingPublic | None, name: str) -> str:
    return finding.detail if finding is not None and finding.detail else name


def _evidence(finding: FindingPublic | None, policy: str) -> str:
    if finding is None:
        return f"政策 {policy}"
    return f"实测 {finding.measured}，限值 {finding.limit}；政策 {policy}"
