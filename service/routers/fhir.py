"""`/fhir`: the HL7 FHIR R4 interface (docs/fhir.md). Every answer is application/fhir+json,
every problem an OperationOutcome; the services do the work."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.types import DecoratedCallable
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.coverageeligibilityrequest import CoverageEligibilityRequest
from fhir.resources.R4B.task import Task
from pydantic import BaseModel, ValidationError

from service.auth.deps import AuditorOrHospitalDep, HospitalDep
from service.base import row_id
from service.deps import AdmissionContextDep
from service.errors import FieldProblem, ServiceError
from service.fhir import claims, eligibility, tasks
from service.fhir.capability import capability_statement
from service.fhir.errors import InvalidResource, UnknownInteraction, UnsupportedContent
from service.fhir.formats import acceptable
from service.fhir.institution import refuse_another_hospital
from service.fhir.outcome import FhirRoute, resource_response
from service.fhir.reading import read_resource
from service.fhir.systems import FHIR_JSON
from service.identity import identify
from service.routers.replays import replay_headers
from service.settlements import service as settlements
from service.settlements.desk import Desk
from service.settlements.schemas import ReversalCreate, SettlementCreate, SettlementPreviewCreate
from service.unit_of_work import UnitOfWorkDep

M = TypeVar("M", bound=BaseModel)
# `_format`/`Accept` asking for anything but JSON is a 406, before anything else is read.
router = APIRouter(
    prefix="/fhir", tags=["fhir"], route_class=FhirRoute, dependencies=[Depends(acceptable)]
)

_RESOURCE = {"type": "object", "required": ["resourceType"]}
_CONTENT = {FHIR_JSON: {"schema": _RESOURCE}}
BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FHIR_JSON: {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Each status a route answers, as FHIR JSON (OperationOutcome for problems)."""
    every = {*statuses, 401, 403, 406, 422, 429}
    return {
        s: {"description": "FHIR resource or OperationOutcome", "content": _CONTENT}
        for s in sorted(every)
    }


def _resource_post(
    path: str,
    summary: str,
    responses: dict[int | str, dict[str, Any]],
    *,
    status_code: int | None = None,
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A POST of a resource: the route reads and checks it itself (`read_resource`, JSON or
    FHIR JSON), so its body is documented here rather than by a parameter."""
    return router.post(
        path, status_code=status_code, responses=responses, openapi_extra=BODY, summary=summary
    )


@contextmanager
def expressions(names: Mapping[str, str]) -> Iterator[None]:
    """The services' field names, as FHIRPath expressions of the resource sent."""
    try:
        yield
    except ServiceError as exc:
        exc.errors = [e.model_copy(update={"field": _renamed(names, e.field)}) for e in exc.errors]
        raise


def _renamed(names: Mapping[str, str], field: str) -> str:
    for ours, theirs in names.items():
        if field == ours or field.startswith(ours + "."):
            return theirs
    return field


def build(model: type[M], values: dict[str, Any], names: Mapping[str, str]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = [
            FieldProblem(
                field=_renamed(names, ".".join(str(p) for p in e["loc"])),
                message=e["msg"],
                code=e["type"],
            )
            for e in exc.errors(include_input=False)
        ]
        raise InvalidResource(
            f"{len(errors)} value(s) cannot be settled: " + ", ".join(e.field for e in errors),
            errors=errors,
        ) from None


@router.get(
    "/metadata",
    responses=answers(200),
    summary="CapabilityStatement: what this FHIR interface offers",
)
async def metadata(request: Request, principal: AuditorOrHospitalDep) -> Response:
    base = str(request.base_url).rstrip("/") + "/fhir"
    return resource_response(capability_statement(base))


@_resource_post(
    "/CoverageEligibilityRequest",
    "Eligibility (CoverageEligibilityResponse); nothing stored",
    answers(200, 404, 415),
)
async def coverage_eligibility(
    request: Request,
    uow: UnitOfWorkDep,
    principal: AuditorOrHospitalDep,
    admission_context: AdmissionContextDep,
) -> Response:
    asked = await read_resource(request, CoverageEligibilityRequest)
    answer = await eligibility.check(
        uow.session, ctx=admission_context, principal=principal, request=asked
    )
    return resource_response(answer)


def _if_none_exist(header: str | None, claim: Claim) -> None:
    """`If-None-Exist: identifier=[system|]value` must name the Claim's own identifier."""
    if header is None:
        return
    name, _, value = unquote(header).partition("=")
    system, bar, ident = value.rpartition("|")
    first = claim.identifier[0] if claim.identifier else None
    same = (
        name.strip() == "identifier"
        and first is not None
        and ident == first.value
        and (not bar or system == (first.system or ""))
    )
    if not same:
        raise UnsupportedContent(
            "If-None-Exist must be identifier=[system|]value of Claim.identifier[0]",
            field="If-None-Exist",
        )


@_resource_post(
    "/Claim",
    "Claim: use=predetermination (预结算) or use=claim (结算, idempotent on identifier)",
    answers(200, 201, 404, 409, 415, 503),
    status_code=201,
)
async def submit_claim(
    request: Request,
    uow: UnitOfWorkDep,
    principal: HospitalDep,
    admission_context: AdmissionContextDep,
    if_none_exist: Annotated[str | None, Header(max_length=300)] = None,
) -> Response:
    assert principal.hospital_code is not None
    claim = await read_resource(request, Claim)
    refuse_another_hospital(
        claim.provider, hospital_code=principal.hospital_code, field="Claim.provider"
    )
    fields = claims.settlement_request(claim)
    desk = Desk.of(admission_context, principal.hospital_code)
    person_key = claims.patient_key(claim, admission_context.hasher)
    with expressions(claims.FIELDS):
        if claim.use == "predetermination":
            preview = build(SettlementPreviewCreate, fields, claims.FIELDS)
            previewed = await desk.preview(uow, preview, person_key=person_key)
            return resource_response(claims.claim_response(previewed, claim=claim))
        key = claims.claim_key(claim)
        if key is None:
            raise UnsupportedContent(
                "Claim.identifier (the HIS settlement id) is required for use=claim",
                field="Claim.identifier",
            )
        _if_none_exist(if_none_exist, claim)
        body = build(SettlementCreate, {**fields, "his_settlement_id": key}, claims.FIELDS)
        outcome = await desk.settle(uow, body, person_key=person_key)
    settled = outcome.entry
    return resource_response(
        claims.claim_response(settled, claim=claim),
        status=200 if outcome.replayed else 201,
        headers={"Location": f"ClaimResponse/{settled.id}"},
    )


@router.get(
    "/ClaimResponse/{response_id}",
    responses=answers(200, 404),
    summary="A settlement as a ClaimResponse (own hospital; auditors within their region)",
)
async def read_claim_response(
    response_id: Annotated[str, "ClaimResponse id"],
    uow: UnitOfWorkDep,
    principal: AuditorOrHospitalDep,
) -> Response:
    settlement_id = row_id(response_id)
    if settlement_id is None:
        raise UnknownInteraction(f"no ClaimResponse {response_id[:40]}")
    settled = await settlements.get(uow, principal=principal, settlement_id=settlement_id)
    return resource_response(claims.claim_response(settled))


@contextmanager
def _naming_focus() -> Iterator[None]:
    """A refusal of the settlement itself (another hospital's, reversed already, a later stage
    still settled) names the Task's focus, as 2305 names its setl_id."""
    try:
        yield
    except ServiceError as exc:
        if exc.status < 500 and not exc.errors:
            exc.errors = [
                FieldProblem(field="Task.focus.reference", message=exc.detail, code=exc.code)
            ]
        raise


@_resource_post(
    "/Task",
    "Task code=cancel, focus ClaimResponse/{id}: reverse the settlement (冲销)",
    answers(201, 404, 409, 415, 503),
    status_code=201,
)
async def create_task(
    request: Request,
    uow: UnitOfWorkDep,
    principal: HospitalDep,
    admission_context: AdmissionContextDep,
) -> Response:
    assert principal.hospital_code is not None
    task = await read_resource(request, Task)
    for party, field in ((task.requester, "Task.requester"), (task.owner, "Task.owner")):
        refuse_another_hospital(party, hospital_code=principal.hospital_code, field=field)
    settlement_id = tasks.settlement_to_cancel(task)
    reversal = build(ReversalCreate, tasks.reversal_request(task), tasks.FIELDS)
    named = tasks.named_resident_id(task)
    person_key = (
        None
        if named is None
        else identify(admission_context.hasher, named, field=tasks.FIELDS["person"])[1].person_key
    )
    with expressions(tasks.FIELDS), _naming_focus():
        reversed_ = await settlements.reverse(
            uow,
            hospital_code=principal.hospital_code,
            settlement_id=settlement_id,
            body=reversal,
            actor=principal.label,
            visit_id=tasks.named_visit(task),
            person_key=person_key,
        )
    return resource_response(
        tasks.completed(task, reversed_.entry), status=201, headers=replay_headers(reversed_)
    )


@router.api_route(
    "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def not_offered(rest: str) -> Response:
    raise UnknownInteraction(f"{rest[:80]} is not offered here; see /fhir/metadata")
