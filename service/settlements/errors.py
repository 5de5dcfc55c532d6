"""The problems settlement can answer with, each with a stable code."""

from __future__ import annotations

from service.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable


class VisitNotFound(NotFound):
    code = "visit_not_found"
    title = "Visit not found"


class VisitNotAdmitted(Conflict):
    code = "visit_not_admitted"
    title = "The visit is not admitted"


class SettlementNotFound(NotFound):
    code = "settlement_not_found"
    title = "Settlement not found"


class SettlementConflict(Conflict):
    code = "settlement_conflict"
    title = "A different settlement was already made under these keys"


class VisitAlreadySettled(Conflict):
    code = "visit_already_settled"
    title = "The visit already has an active settlement"


class AlreadyReversed(Conflict):
    code = "settlement_already_reversed"
    title = "The settlement has already been reversed"


class SettlementReversed(Conflict):
    """A 2304 (NHSA) resent after its settlement was reversed (2305 or any interface's 冲销). The
    JSON API and FHIR answer the replay with the reversed state (`status: reversed`, a
    cancelled ClaimResponse); the platform's setlinfo has no field that could say so, and a
    HIS reads infcode 0 as "settled". ADR 0030, amendment "a 2304 replayed after its 2305"."""

    code = "settlement_reversed"
    title = "This settlement was reversed"


class InvalidBill(Unprocessable):
    code = "invalid_bill"
    title = "The bill does not add up"


class DischargeBeforeAdmission(Unprocessable):
    code = "discharge_before_admission"
    title = "Discharged before admitted"


class InvalidExternalAmounts(Unprocessable):
    code = "invalid_external_amounts"
    title = "Amounts of layers settled elsewhere are missing or invalid"


class SettlementBusy(ServiceUnavailable):
    """Retries of a lock conflict ran out; the caller may retry with the same keys."""

    code = "settlement_busy"
    title = "Too many concurrent settlements for this person"


class StageOutOfOrder(Unprocessable):
    code = "settlement_stage_out_of_order"
    title = "A stage must end after the previous stage"


class LaterStageActive(Conflict):
    code = "later_stage_active"
    title = "A later stage of the stay is still settled"


class StagesChanged(Conflict):
    code = "settlement_stages_changed"
    title = "The stay's stages changed while settling"


class PoliciesChanged(Conflict):
    code = "settlement_policies_changed"
    title = "The policy versions changed while settling"


class UnknownBillCategory(Unprocessable):
    code = "unknown_bill_category"
    title = "The bill line's category is not one the policy knows"


class UnknownDisease(Unprocessable):
    code = "unknown_disease"
    title = "The designated disease is not one the policy knows"


class VisitOfAnotherPerson(Unprocessable):
    """The message names a person (NHSA's credential, a FHIR Claim's patient) who is not the
    one admitted under the visit: settling it would charge the bill to the wrong person."""

    code = "visit_of_another_person"
    title = "The visit is another person's"
