"""Problems of the NHSA-style interface itself; the services' own problems pass through with
their codes. All of them are answered in the envelope (infcode -1), see service/routers/nhsa."""

from __future__ import annotations

from service.errors import Conflict, ServiceError, Unprocessable


class UnknownTransaction(Unprocessable):
    code = "nhsa_unknown_transaction"
    title = "This transaction number is not offered here"


class InvalidInput(Unprocessable):
    code = "nhsa_invalid_input"
    title = "The transaction input is not valid"


class UnsupportedValue(Unprocessable):
    code = "nhsa_unsupported_value"
    title = "A code in the message is not one this service can settle"


class WrongArea(Unprocessable):
    """The envelope's place of treatment (`mdtrtarea_admvs`, 就医地医保区划) is not where the
    key's hospital is: its county, prefecture or province."""

    code = "nhsa_wrong_area"
    title = "mdtrtarea_admvs is not where your hospital is"


class WrongInstitution(ServiceError):
    """The message names another institution than the key's hospital."""

    # A 403 but not a Forbidden: routers/nhsa answers those (the key's) at the HTTP level,
    # and this one, about the message, in the envelope.
    status = 403
    code = "nhsa_wrong_institution"
    title = "fixmedins_code is not your hospital"


class SettlementReversed(Conflict):
    """A 2304 resent after its settlement was reversed (2305 or any interface's 冲销). The
    JSON API and FHIR answer the replay with the reversed state (`status: reversed`, a
    cancelled ClaimResponse); the platform's setlinfo has no field that could say so, and a
    HIS reads infcode 0 as "settled". ADR 0030, amendment "a 2304 replayed after its 2305"."""

    code = "nhsa_settlement_reversed"
    title = "This settlement was reversed"
