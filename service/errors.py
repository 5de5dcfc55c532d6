"""One base error and the RFC 9457 problem-details renderer for every error response."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from service.head import allowed_methods
from service.problems_zh import catalog, wants_chinese

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("settlecheck.errors")


class FieldProblem(BaseModel):
    field: str
    message: str
    code: str


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable `code` and the fields at fault."""

    type: str
    title: str
    status: int
    detail: str
    detail_en: str | None = Field(
        default=None, description="The English detail, when `detail` is in another language"
    )
    instance: str | None = None
    code: str
    request_id: str | None = None
    errors: list[FieldProblem] = []


class ServiceError(Exception):
    """Base of every error the service raises on purpose. Subclasses set status, code, title."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        errors: Sequence[FieldProblem] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        if field is not None:
            self.errors.insert(0, FieldProblem(field=field, message=detail, code=self.code))
        self.headers = headers or {}


class NotFound(ServiceError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ServiceError):
    status, code, title = 409, "conflict", "Conflict"


class Unprocessable(ServiceError):
    status, code, title = 422, "unprocessable", "Unprocessable request"


class Unauthenticated(ServiceError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class Forbidden(ServiceError):
    status, code, title = 403, "forbidden", "Forbidden"


class UnsupportedMediaType(ServiceError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class ServiceUnavailable(ServiceError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class RateLimited(ServiceError):
    status, code, title = 429, "rate_limited", "Too many requests"


@dataclass(frozen=True, slots=True)
class ProblemFacts:
    """What a problem answer says, whichever format renders it: problem+json here
    (`problem_response`), an OperationOutcome under /fhir (service.fhir.outcome)."""

    status: int
    code: str
    title: str
    detail: str
    errors: Sequence[FieldProblem] = ()
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, exc: ServiceError) -> ProblemFacts:
        return cls(exc.status, exc.code, exc.title, exc.detail, exc.errors, exc.headers)


REQUEST_PARTS = frozenset({"body", "query", "path", "header", "cookie"})


def field_name(loc: Sequence[str | int]) -> str:
    """The field a problem names, as the caller wrote it (ADR 0032): a body member by its path
    (`bill.total`, `instalments.1.due_on`), a parameter by its name, `body` the body as a whole.
    A service raising `field="discharged_at"` names the same field the same way."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in REQUEST_PARTS:
        parts = parts[1:]
    return ".".join(parts)


def invalid_request(exc: RequestValidationError, *, what: str = "field") -> ProblemFacts:
    """A request FastAPI refused, one error per failing `what`; never its input, which may
    hold a resident ID number."""
    errors = [
        FieldProblem(field=field_name(e["loc"]), message=e["msg"], code=e["type"])
        for e in exc.errors()
    ]
    detail = f"{len(errors)} {what}(s) failed validation"
    return ProblemFacts(422, "validation_error", "The request is not valid", detail, errors)


# SQLSTATE class 22 (sqlalchemy's DataError): the database refused a value the request sent.
INVALID_VALUE = ProblemFacts(
    422,
    "invalid_value",
    "The request is not valid",
    "A value in the request cannot be stored or compared "
    "(for example a NUL character or a number out of range).",
)

DATABASE_UNAVAILABLE = ProblemFacts(
    503,
    "database_unavailable",
    "Service unavailable",
    "The database cannot be reached; retry shortly.",
    headers={"Retry-After": "2"},
)


def problem_response(request: Request | None, facts: ProblemFacts) -> JSONResponse:
    # Imported here: identity (which idtext uses) subclasses this module's errors.
    from service.idtext import redact

    request_id = getattr(request.state, "request_id", None) if request is not None else None
    # No problem repeats a resident ID number it was given, in a path, a body or a message.
    body = Problem(
        type=f"urn:settlecheck:problem:{facts.code}",
        title=facts.title,
        status=facts.status,
        detail=redact(facts.detail),
        instance=redact(request.url.path) if request is not None else None,
        code=facts.code,
        request_id=request_id,
        errors=[
            FieldProblem(field=redact(e.field), message=redact(e.message), code=e.code)
            for e in facts.errors
        ],
    )
    headers = {**facts.headers, "vary": "Accept-Language"}
    if _wants_chinese(request):
        body = in_chinese(body)
        headers["content-language"] = "zh-CN"
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=facts.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


class Answered(Exception):
    """A route's own answer to a problem (`ProblemRoute`), raised past the route's
    dependencies so that they close as for any refusal (the unit of work rolls back), then
    sent by the app's handler for it (`install_error_handlers`)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class ProblemRoute(APIRoute):
    """A route class that answers the problems its routes raise (auth included) and the
    requests FastAPI refuses itself, through `answer`, rather than leaving them to the app's
    handlers: for a path that must be masked, or a format of its own (an OperationOutcome).

    The answer leaves the handler as an exception (`Answered`): returned from it, the
    request's unit of work would commit what the refused request wrote before the refusal."""

    refused: ClassVar[str] = "field"  # what a refused request's problems are counted in

    def problem_of(self, exc: Exception) -> ProblemFacts | None:
        """What the route answers for `exc`; None leaves it to the app's handlers."""
        if isinstance(exc, ServiceError):
            return ProblemFacts.of(exc)
        if isinstance(exc, RequestValidationError):
            return invalid_request(exc, what=self.refused)
        return None

    def answer(self, request: Request, facts: ProblemFacts) -> Response:
        return problem_response(request, facts)

    async def refuse(self, request: Request, refusal: ServiceError) -> Response:
        """The answer to a refusal met before the route's handler (by a wrapper: a repeated
        key, a media type), as the handler's own refusals are answered below: counted against
        the key, and raised to the app's handlers where `problem_of` leaves it to them."""
        limited = await limit_refused(request, refusal)
        refused = refusal if limited is None else limited
        facts = self.problem_of(refused)
        if facts is None:
            raise refused
        return self.answer(request, facts)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        problem_of, answer = self.problem_of, self.answer

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                limited = await limit_refused(request, exc)
                refusal = exc if limited is None else limited
                facts = problem_of(refusal)
                if facts is None:
                    if refusal is exc:
                        raise
                    raise refusal from exc
                raise Answered(answer(request, facts)) from refusal

        return answered


def _wants_chinese(request: Request | None) -> bool:
    header: str = getattr(request, "headers", {}).get("accept-language", "") if request else ""
    return bool(header) and wants_chinese(header[:200])


def in_chinese(problem: Problem) -> Problem:
    """The same problem with its title, detail and field messages in Chinese, where the
    catalogue has them; the English detail is kept in `detail_en`."""
    words = catalog()
    title, detail = words.problems.get(problem.code, (problem.title, problem.detail))
    errors = [
        e.model_copy(update={"message": words.field_message(e.code, e.message)})
        for e in problem.errors
    ]
    return problem.model_copy(
        update={"title": title, "detail": detail, "detail_en": problem.detail, "errors": errors}
    )


_HTTP_CODES = {
    # Starlette's own 401, 403, 404 and 415 are the same problems as ours.
    **{
        e.status: (e.code, e.title)
        for e in (Unauthenticated, Forbidden, NotFound, UnsupportedMediaType)
    },
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    413: ("payload_too_large", "Payload too large"),
}


def http_problem(exc: StarletteHTTPException, scope: Scope | None = None) -> ProblemFacts:
    """What Starlette's or FastAPI's own refusal says, as our problems do; a 405 to a request
    (`scope`) allows every method of its address, not only the first route's."""
    if exc.status_code == 400:
        # FastAPI's only 400: a body it could not decode (not UTF-8, not JSON). One status
        # for "this body is not acceptable", as for a JSON syntax error: 422.
        return ProblemFacts(
            status=422,
            code="malformed_body",
            title="The request is not valid",
            detail="The request body cannot be decoded as JSON.",
        )
    code, title = _HTTP_CODES.get(exc.status_code, ("http_error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and scope is not None:
        headers["Allow"] = allowed_methods(scope)
    return ProblemFacts(exc.status_code, code, title, detail, headers=headers)


async def limit_refused(request: Request, refusal: Exception) -> RateLimited | None:
    """A request refused before its route checked the key counts against the key as an
    accepted one does: `rate_limited`, to answer instead of `refusal`, when the key is past
    its limit; None otherwise (service.auth.deps.count_refused, ADR 0006)."""
    from service.auth.deps import count_refused  # service.auth imports this module

    return await count_refused(request, refusal)


async def too_large_limited(scope: Scope) -> Response | None:
    """BodySizeLimitMiddleware's answer instead of its 413 when the request's key is past its
    limit, the 413 counted against the key as any refusal is; None: the 413 (ADR 0006)."""
    from service.auth.deps import count_too_large  # service.auth imports this module

    limited = await count_too_large(scope)
    return None if limited is None else problem_response(Request(scope), ProblemFacts.of(limited))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Answered)
    async def _answered(request: Request, exc: Answered) -> Response:
        return exc.response

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return problem_response(request, ProblemFacts.of(await limit_refused(request, exc) or exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if limited := await limit_refused(request, exc):
            return problem_response(request, ProblemFacts.of(limited))
        return problem_response(request, invalid_request(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if limited := await limit_refused(request, exc):
            return problem_response(request, ProblemFacts.of(limited))
        return problem_response(request, http_problem(exc, request.scope))

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # SQLSTATE class 22: a value the database cannot hold or compare (a NUL character,
        # a number out of range). It came from the request; the statement is not logged.
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        return problem_response(request, INVALID_VALUE)

    from service.db import UNAVAILABLE_ERRORS, is_database_unavailable

    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc).__name__)
        return problem_response(request, DATABASE_UNAVAILABLE)

    # Registered per class, not only under `Exception`: Starlette runs the `Exception` handler
    # in its outermost middleware and then re-raises, so uvicorn closes the connection (a
    # keep-alive client's next request on it fails) and our middleware never sees the status.
    for unavailable in UNAVAILABLE_ERRORS:
        app.add_exception_handler(unavailable, _database_unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_database_unavailable(exc):  # a DBAPIError whose connection was invalidated
            return await _database_unavailable(request, exc)
        log.exception("unhandled error")
        return problem_response(
            request,
            ProblemFacts(
                status=500,
                code="internal_error",
                title="Internal server error",
                detail="An unexpected error occurred; it has been logged with the request id.",
            ),
        )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` mapping a route declares for the problems it can return.

    A route that takes a key (declares 401) can also answer 429 (the per-key rate limit)."""
    if 401 in statuses and 429 not in statuses:
        statuses = (*statuses, 429)
    return {
        s: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "Problem details"}
        for s in statuses
    }


def problems_in_openapi(app: FastAPI) -> None:
    """Every 422 in the OpenAPI document is problem+json, as the handler answers: FastAPI adds
    its own `HTTPValidationError` 422 to each route that has parameters and declares none.
    Every operation that takes a body may also answer 413 (BodySizeLimitMiddleware), and every
    `/v1` one whose body is JSON 415 (service/strict_query.py)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        problem = {"$ref": "#/components/schemas/Problem"}
        for path, item in schema.get("paths", {}).items():
            for operation in item.values():
                response = operation.get("responses", {}).get("422")
                content = (response or {}).get("content", {})
                if "application/json" in content and "HTTPValidationError" in str(content):
                    response["content"] = {PROBLEM_JSON: {"schema": problem}}
                if "requestBody" in operation:  # the body limit answers before the route does
                    operation.setdefault("responses", {}).setdefault(
                        "413",
                        {
                            "description": "Problem details: the body is over the size limit",
                            "content": {PROBLEM_JSON: {"schema": problem}},
                        },
                    )
                body = operation.get("requestBody", {}).get("content", {})
                if path.startswith("/v1/") and "application/json" in body:
                    operation["responses"].setdefault(
                        "415",
                        {
                            "description": "Problem details: the body is not sent as JSON",
                            "content": {PROBLEM_JSON: {"schema": problem}},
                        },
                    )
        schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
            "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
