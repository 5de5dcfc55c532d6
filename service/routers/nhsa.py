"""`POST /nhsa`: the NHSA-style message interface (docs/nhsa.md).

Every answer about the message itself is HTTP 200 in the platform's envelope: `infcode` 0, or
-1 with `err_msg` `[code] detail (field: ...)`, our stable problem code first. Only what says
"this call did not happen" keeps its HTTP status with problem+json, as on every other route: no
or a wrong key (401), a key that is not a hospital's (403), the rate limit (429), the database
or a contended lock (503, retry the same message). ADR 0015.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.auth.deps import HospitalDep
from service.base import utcnow
from service.deps import AdmissionContextDep, CatalogDep, HospitalsDep
from service.errors import (
    INVALID_VALUE,
    FieldProblem,
    Forbidden,
    ProblemFacts,
    ProblemRoute,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
    Unauthenticated,
    http_problem,
    problem_responses,
)
from service.idtext import redact
from service.nhsa.call import Call
from service.nhsa.dispatch import dispatch
from service.nhsa.envelope import Answer, Envelope, answer
from service.unit_of_work import UnitOfWorkDep

HTTP_LEVEL = (Unauthenticated, Forbidden, RateLimited, ServiceUnavailable)

# The services' field names, as the message names them.
_SETTLEMENT_FIELDS = {
    "visit_id": "input.data.mdtrt_id",
    "his_settlement_id": "input.data.medins_setl_id",
    "discharged_at": "input.data.exp_content.dscg_time",
    "bill.total": "input.data.medfee_sumamt",
    "bill.out_of_policy_breakdown": "input.data.fulamt_ownpay_amt",
    "external_amounts": "input.data.exp_content.external_amounts",
}
FIELD_NAMES: dict[str, dict[str, str]] = {
    "2303": _SETTLEMENT_FIELDS,
    "2304": _SETTLEMENT_FIELDS,
    "2401": {
        "visit_id": "input.mdtrtinfo.ipt_no",
        "id_number": "input.mdtrtinfo.mdtrt_cert_no",
        "admitted_at": "input.mdtrtinfo.begntime",
        "insured_county": "insuplc_admdvs",
    },
    "2404": {"visit_id": "input.data.mdtrt_id"},
    "1101": {"id_number": "input.data.mdtrt_cert_no"},
}


def _renamed(infno: str | None, field: str) -> str:
    names = FIELD_NAMES.get(infno or "", {})
    for ours, theirs in names.items():
        if field == ours or field.startswith(ours + "."):
            return theirs + field[len(ours) :]
    return field


def _err_msg(infno: str | None, code: str, detail: str, errors: Sequence[FieldProblem]) -> str:
    fields = ", ".join(dict.fromkeys(_renamed(infno, e.field) for e in errors))
    # As in every problem answer: no resident ID number is repeated (service/idtext.py).
    return redact(f"[{code}] {detail}" + (f" (field: {fields})" if fields else ""))


def _failure(request: Request, code: str, detail: str, errors: Sequence[FieldProblem]) -> Response:
    envelope: Envelope | None = getattr(request.state, "nhsa_envelope", None)
    infno = envelope.infno if envelope else None
    body = answer(
        # A body refused before the route ran (service/json_body.py) was received now.
        received_at=getattr(request.state, "nhsa_received_at", None) or utcnow(),
        admvs=envelope.mdtrtarea_admvs if envelope else None,
        error=_err_msg(infno, code, detail, errors),
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200)


_BODY = FieldProblem(field="body", message="not a JSON message", code="malformed_body")


class NhsaRoute(ProblemRoute):
    """Answers the route's problems in the envelope (after the unit of work rolled back); those
    that say the call did not happen (HTTP_LEVEL) are left to the app's handlers."""

    def problem_of(self, exc: Exception) -> ProblemFacts | None:
        if isinstance(exc, DataError):
            # A value the database cannot hold or compare (a NUL on PostgreSQL): about the
            # message, so in the envelope, as the console and FHIR answer it in their formats.
            return INVALID_VALUE
        if isinstance(exc, ServiceError):
            return None if isinstance(exc, HTTP_LEVEL) else ProblemFacts.of(exc)
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 400:
            # FastAPI's only 400: a body that is not UTF-8. A message it could not read.
            return dataclasses.replace(http_problem(exc), errors=[_BODY])
        if isinstance(exc, RequestValidationError):
            if unreadable := [e for e in exc.errors() if e["type"] == "json_invalid"]:
                at = unreadable[0]["loc"][-1]
                return ProblemFacts(
                    422,
                    "malformed_body",
                    "The request is not valid",
                    f"the body is not valid JSON (at character {at})",
                    [_BODY],
                )
            errors = [
                FieldProblem(
                    field=".".join(str(p) for p in e["loc"][1:]) or "body",
                    message=e["msg"],
                    code=e["type"],
                )
                for e in exc.errors()
            ]
            detail = f"{len(errors)} field(s) of the envelope failed validation"
            return ProblemFacts(422, "validation_error", "The request is not valid", detail, errors)
        return None

    def answer(self, request: Request, facts: ProblemFacts) -> Response:
        return _failure(request, facts.code, facts.detail, facts.errors)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def received(request: Request) -> Response:
            request.state.nhsa_received_at = utcnow()
            return await handler(request)

        return received


router = APIRouter(prefix="/nhsa", tags=["nhsa"], route_class=NhsaRoute)


@router.post(
    "",
    responses=problem_responses(401, 403, 422, 503),
    summary="NHSA-style message (1101, 2401, 2404, 2303, 2304, 2305, 3101, 3201)",
    description=(
        "The platform's envelope (`infno`, `msgid`, `fixmedins_code` = your hospital, `input`). "
        "HTTP 200 for every answer about the message: `infcode` 0 with `output`, or -1 with "
        "`err_msg` `[stable code] detail (field: ...)`. 401/403/429/503 are problem+json: "
        "the message was not processed. See docs/nhsa.md."
    ),
)
async def nhsa_message(
    envelope: Envelope,
    request: Request,
    uow: UnitOfWorkDep,
    principal: HospitalDep,
    catalog: CatalogDep,
    hospitals: HospitalsDep,
    admission_context: AdmissionContextDep,
) -> Answer:
    request.state.nhsa_envelope = envelope
    assert principal.hospital_code is not None
    call = Call(
        uow=uow,
        envelope=envelope,
        principal=principal,
        hospital_code=principal.hospital_code,
        catalog=catalog,
        hospitals=hospitals,
        admissions=admission_context,
    )
    output = await dispatch(call)
    return answer(
        received_at=request.state.nhsa_received_at, admvs=envelope.mdtrtarea_admvs, output=output
    )
