"""Problems of the NHSA-style interface itself; the services' own problems pass through with
their codes. All of them are answered in the envelope (infcode -1), see service/routers/nhsa."""

from __future__ import annotations

from service.errors import ServiceError, Unprocessable


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
