"""A Task with code `cancel` (R4 financial task codes) → the settlement's reversal (冲销)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from fhir.resources.R4B.task import Task

from service.base import row_id
from service.fhir import systems
from service.fhir.errors import UnsupportedContent
from service.fhir.patients import resident_id_named
from service.idtext import mask_resident_ids_in
from service.settlements.errors import SettlementNotFound
from service.settlements.schemas import SettlementPublic

FIELDS = {
    "visit_id": "Task.encounter.identifier",
    "person": "Task.for.identifier",
    "reason": "Task.reasonCode",
    "his_reversal_id": "Task.identifier[0].value",
}
# A Task asks us to act when it is an order and requested (or past that, on its way): a
# `draft`, a `proposal` or a Task `cancelled` or `rejected` asks for nothing yet, or no more.
ACTING = ("requested", "received", "accepted", "ready", "in-progress")
ORDERS = ("order", "original-order", "reflex-order", "filler-order", "instance-order")
FOCUS_TYPES = ("ClaimResponse",)  # our answer names the settlement; a Claim id is theirs
DEFAULT_REASON = "FHIR Task cancel"


def settlement_to_cancel(task: Task) -> int:
    """The settlement id the Task's focus names (`ClaimResponse/{id}` as we answered it)."""
    codes = list((task.code.coding if task.code else None) or [])
    if not any(c.system == systems.FINANCIAL_TASK and c.code == "cancel" for c in codes):
        raise UnsupportedContent(
            f"only Task.code {systems.FINANCIAL_TASK}#cancel is offered", field="Task.code"
        )
    if task.status not in ACTING:
        raise UnsupportedContent(
            f"Task.status {str(task.status)[:40]} asks for nothing to be done: send the cancel "
            "as " + " or ".join(ACTING),
            field="Task.status",
        )
    if task.intent not in ORDERS:
        raise UnsupportedContent(
            f"Task.intent {str(task.intent)[:40]} is not an order: send intent order",
            field="Task.intent",
        )
    reference = task.focus.reference if task.focus else None
    kind, _, ident = (reference or "").partition("/")
    if kind not in FOCUS_TYPES or not ident:
        raise UnsupportedContent(
            "Task.focus.reference must be ClaimResponse/{id} as this service answered it",
            field="Task.focus.reference",
        )
    settlement_id = row_id(ident)
    if settlement_id is None:
        raise SettlementNotFound(
            f"no settlement {ident} at your hospital", field="Task.focus.reference"
        )
    return settlement_id


def named_visit(task: Task) -> str | None:
    """The visit `Task.encounter` names by our visit system, if it does: it must be the
    settlement's, as 2305's mdtrt_id must be."""
    found = task.encounter.identifier if task.encounter else None
    if found is None or found.system != systems.VISIT or not found.value:
        return None
    return str(found.value)


def named_resident_id(task: Task) -> str | None:
    """The resident ID number `Task.for` names the patient by, if it does: it must be the
    settlement's person."""
    return resident_id_named(task.for_fhir, task.contained)


def reversal_request(task: Task) -> dict[str, Any]:
    """ReversalCreate's fields: the reason and the Task's identifier as the HIS reversal id."""
    reason = None
    if task.reasonCode is not None:
        reason = task.reasonCode.text
    identifier = task.identifier[0].value if task.identifier else None
    return {
        "reason": (reason or task.description or DEFAULT_REASON)[:500],
        "his_reversal_id": str(identifier) if identifier else None,
    }


def completed(task: Task, reversed_: SettlementPublic) -> Task:
    # The Task as sent, echoed: no resident ID number in it is repeated (`for`, text; ADR 0015).
    body = mask_resident_ids_in(task.model_dump(mode="json", exclude_none=True))
    assert reversed_.reversal is not None
    done_at = reversed_.reversal.created_at.astimezone(UTC).isoformat()
    body.update(
        {
            "id": str(reversed_.reversal.id),
            "status": "completed",
            "lastModified": done_at,
            # The Task is not stored: a Task without its own authoredOn was authored when the
            # reversal was made, so its replay answers the same (not the moment of the replay).
            "authoredOn": body.get("authoredOn") or done_at,
            "businessStatus": {"text": "reversed"},
            "output": [
                {
                    "type": {"text": "the cancelled ClaimResponse"},
                    "valueReference": {"reference": f"ClaimResponse/{reversed_.id}"},
                }
            ],
        }
    )
    return Task.model_validate(body)
