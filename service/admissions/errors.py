from __future__ import annotations

from service.errors import Conflict, NotFound, Unprocessable


class AdmissionNotFound(NotFound):
    code = "admission_not_found"


class AdmissionConflict(Conflict):
    code = "admission_conflict"
    title = "The visit id was already used with a different body"


class DepositConflict(Conflict):
    code = "deposit_conflict"
    title = "The receipt number was already reported with a different body"


class InvalidDeposit(Unprocessable):
    """A deposit of 0.00 took nothing: recorded, it would read as a deposit taken."""

    code = "invalid_deposit"
    title = "A deposit is more than 0.00"


class AdmissionReversed(Conflict):
    code = "admission_reversed"
    title = "The admission has been reversed"


class AdmissionSettled(Conflict):
    code = "admission_settled"
    title = "The admission has an active settlement"


class HospitalCodeRequired(Unprocessable):
    code = "hospital_code_required"
