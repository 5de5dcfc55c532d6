"""The auditors' web console (督查台账): sign in, page the ledger, rectify, score, indicators.

Server-rendered pages; every action is a plain form (POST + CSRF token, then a 303 back). Who may
open which page is one table, service/console/access.py, enforced by the router's guard.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypedDict
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from service.auth.keys import key_labels
from service.china_time import today
from service.console import access, carry, return_to
from service.console import session as console
from service.console.answers import REFUSAL, ConsoleRoute
from service.console.trends import TrendQuery, counties_under, trends
from service.console.views import (
    LEVEL_LABELS,
    bars,
    line_chart,
    page,
    stacked_bars,
    tone,
)
from service.dates import FIRST_YEAR, LAST_YEAR
from service.deps import CatalogDep, SessionmakerDep
from service.indicators.service import indicators_for
from service.routers.params import RowId
from service.schemas import PlainDigits
from service.unit_of_work import SessionDep, UnitOfWorkDep
from service.violations import export
from service.violations.detail import violation_detail
from service.violations.evidence import actor_words, evidence_rows, key_ids
from service.violations.params import LedgerQuery, PageQuery, PeriodQuery, parse_form
from service.violations.query import get_violation, list_violations
from service.violations.rectification import STEPS, move
from service.violations.schemas import TransitionCreate
from service.violations.scoreboard import names, scoreboard
from service.whatif.schemas import WhatIfCreate
from service.whatif.service import run_what_if


async def guard(request: Request, sessionmaker: SessionmakerDep) -> console.ConsoleUser | None:
    """Every console request: the route's entry in the access table, the origin of a form, the
    session, the role. Public routes get None. The user is read in a session closed at once,
    not the request's: an export reads its first rows in a session of its own before the
    response starts, and on SQLite an open request transaction holds the write lock."""
    rule = access.access_of(request)
    if request.method not in access.SAFE_METHODS:
        access.check_same_origin(request)
    if rule.roles is None:
        return None
    async with sessionmaker() as session:
        user = await console.current_user(request, session)
    if user is None:
        raise console.sign_in_first()
    request.state.console_user = user  # a refusal's page shows the menu too (ConsoleRoute)
    if REFUSAL.get() is None:  # a refused form's page, rendered again, is the same request
        # The key's one budget, as its API requests spend it (ADR 0006): a session would
        # otherwise run exports, what-if and verify runs without any limit.
        await request.app.state.rate_limiter.hit(user.principal.key_id)
    access.check_role(rule, user.principal)
    return user


async def _user(
    user: Annotated[console.ConsoleUser | None, Depends(guard)],
) -> console.ConsoleUser:
    if user is None:  # a public route asked for a user: treat it as signed out
        raise console.sign_in_first()
    return user


UserDep = Annotated[console.ConsoleUser, Depends(_user)]


async def _form_user(user: UserDep, csrf: Annotated[str, Form()] = "") -> console.ConsoleUser:
    """The signed-in user of a posted form whose CSRF token is their session's."""
    console.check_csrf(user, csrf)
    return user


FormUserDep = Annotated[console.ConsoleUser, Depends(_form_user)]
"""A console form's user: the form's `csrf` field is checked before anything else it sent."""


def console_router() -> APIRouter:
    """A console router: the guard (access table, same-origin forms, session, role) on every
    route, and refusals answered as pages (service/console/answers.py)."""
    return APIRouter(
        prefix="/console",
        include_in_schema=False,
        dependencies=[Depends(guard)],
        route_class=ConsoleRoute,
    )


router = console_router()
STATIC = Path(__file__).resolve().parent.parent / "console" / "static"


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


class Flashed(TypedDict):
    message: str | None
    error: str | None


def _flash_seal(user: console.ConsoleUser, words: dict[str, str]) -> str:
    text = "\n".join(f"{k}={words[k]}" for k in sorted(words))
    return hmac.new(user.csrf.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def flash_back(url: str, user: console.ConsoleUser, **words: str) -> RedirectResponse:
    """303 to `url` with a notice (`msg=`) or an error (`error=`) for the page to show, sealed
    with the session's CSRF secret so that only this console's own redirect can set them."""
    return _see_other(f"{url}?{urlencode({**words, 'seal': _flash_seal(user, words)})}")


def flashed(request: Request, user: console.ConsoleUser) -> Flashed:
    """The notice and error a form's redirect back to its page carried (flash_back). Anything
    else in the address is not shown: a link to a real console page with ?error=请将密钥发送至…
    would put a stranger's words on the page as the console's own."""
    query = request.query_params
    words = {k: query[k] for k in ("msg", "error") if k in query}
    if not words or not hmac.compare_digest(query.get("seal", ""), _flash_seal(user, words)):
        return Flashed(message=None, error=None)
    return Flashed(message=words.get("msg"), error=words.get("error"))


def _query_string(values: dict[str, Any]) -> str:
    return urlencode({k: str(v) for k, v in values.items() if v not in (None, "")})


@router.get("/static/console.css")
async def stylesheet() -> FileResponse:
    # Kept, but asked again each time (its ETag answers 304): a new release's style shows at once.
    return FileResponse(
        STATIC / "console.css", media_type="text/css", headers={"Cache-Control": "no-cache"}
    )


@router.get("")
@router.get("/")
async def home(request: Request, sessionmaker: SessionmakerDep) -> RedirectResponse:
    """The first page the signed-in user may open (a fund key's is its clearing page), or
    the sign-in page."""
    async with sessionmaker() as session:
        user = await console.current_user(request, session)
    return _see_other(access.landing_for(user.principal) if user else "/console/login")


@router.get("/login")
async def login_form(request: Request) -> Response:
    # The page a signed-out request asked for, checked before it is put in the form.
    found = return_to.target(request, request.query_params.get(return_to.NEXT))
    return page("login.html", user=None, carried={return_to.NEXT: found[0]} if found else {})


@router.post("/login")
async def login(
    request: Request, session: SessionDep, api_key: Annotated[str, Form(max_length=200)]
) -> Response:
    # A form that outlived its session rides along (service/console/carry.py).
    carried = carry.carried_of(await request.form())
    principal = await console.authenticate(request, api_key)
    if principal is None:
        return page(
            "login.html", status_code=401, user=None, error="密钥无效或已停用", carried=carried
        )
    previous = console.cookie_token(request)
    if previous:  # the browser's earlier session ends: one live session per cookie jar
        await console.end(session, previous)
    token = await console.start(session, key_id=principal.key_id)
    landing = return_to.after_sign_in(
        request, carried.get(return_to.NEXT), principal
    ) or access.landing_for(principal)
    response = carry.resumed(
        request, key_id=principal.key_id, carried=carried, token=token, landing=landing
    ) or _see_other(landing)
    response.set_cookie(
        console.COOKIE,
        token,
        # The cookie outlives the session (which the server ends after LIFETIME_SECONDS), so a
        # form posted after the expiry is known to be this key's and can be carried.
        max_age=console.COOKIE_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.https_only,
        path="/console",
    )
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep, user: FormUserDep) -> Response:
    await console.end(session, console.cookie_token(request))
    response = _see_other("/console/login")
    response.delete_cookie(console.COOKIE, path="/console")
    return response


@router.get("/violations")
async def ledger(request: Request, session: SessionDep, user: UserDep) -> Response:
    q = parse_form(PageQuery, request.query_params)
    limit = min(50, request.app.state.settings.max_page_size)
    result = await list_violations(
        session,
        principal=user.principal,
        wanted=q.filter(),
        page_size=limit,
        sort=q.sort,
        cursor=q.cursor,
    )
    return page(
        "violations.html",
        user=user,
        nav="violations",
        q=q,
        page=result,
        cursor=q.cursor,
        names=await names(session),
        query_string=_query_string(q.model_dump(exclude={"cursor", "page_size"})),
        message=flashed(request, user)["message"],
    )


@router.get("/violations/export.{fmt}")
async def ledger_export(
    fmt: export.ExportFormat, request: Request, user: UserDep
) -> StreamingResponse:
    q = parse_form(LedgerQuery, request.query_params)
    return await export.ledger_download(
        fmt,
        request.app.state.sessionmaker,
        principal=user.principal,
        wanted=q.filter(),
        sort=q.sort,
    )


@router.get("/violations/{violation_id}")
async def one(
    request: Request, violation_id: RowId, session: SessionDep, user: UserDep
) -> Response:
    violation = await get_violation(session, principal=user.principal, violation_id=violation_id)
    detail = await violation_detail(session, principal=user.principal, violation=violation)
    known = await names(session)
    labels = await key_labels(session, key_ids([t.actor for t in detail.transitions]))
    return page(
        "violation.html",
        user=user,
        nav="violations",
        v=detail,
        evidence=evidence_rows(detail.evidence),
        actors={
            t.actor: actor_words(t.actor, names=known, key_labels=labels)
            for t in detail.transitions
        },
        names=known,
        steps={key: step.label for key, step in STEPS.items()},
        **flashed(request, user),
    )


@router.post("/violations/{violation_id}/transitions")
async def rectify(
    violation_id: RowId,
    uow: UnitOfWorkDep,
    user: FormUserDep,
    to_status: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=2000)] = "",
    evidence_ref: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    # The API's model: the note's ID numbers masked, an ID number as evidence refused.
    typed = {"to_status": to_status, "note": note, "evidence_ref": evidence_ref.strip()}
    body = parse_form(TransitionCreate, typed, what="the form")
    violation = await get_violation(
        uow.session, principal=user.principal, violation_id=violation_id
    )
    await move(
        uow,
        principal=user.principal,
        violation=violation,
        to_status=body.to_status,
        note=body.note,
        evidence_ref=body.evidence_ref,
    )
    return flash_back(f"/console/violations/{violation_id}", user, msg="已办理")


@router.get("/scoreboard")
async def score(request: Request, session: SessionDep, user: UserDep) -> Response:
    q = parse_form(PeriodQuery, request.query_params)
    board = await scoreboard(session, principal=user.principal, wanted=q.filter())
    chart = [(c.name, c.points, f"{c.points} 分") for c in board.counties]
    return page(
        "scoreboard.html",
        user=user,
        nav="scoreboard",
        q=q,
        board=board,
        county_bars=bars(chart),
        query_string=_query_string(q.model_dump(by_alias=True)),
    )


@router.get("/scoreboard/export.{fmt}")
async def score_export(
    fmt: export.ExportFormat, request: Request, session: SessionDep, user: UserDep
) -> StreamingResponse:
    q = parse_form(PeriodQuery, request.query_params)
    board = await scoreboard(session, principal=user.principal, wanted=q.filter())
    return await export.scoreboard_download(fmt, board, wanted=q.filter())


@router.get("/trends")
async def trend_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    q = parse_form(TrendQuery, request.query_params)
    until = q.until or today()
    found = await trends(
        session,
        principal=user.principal,
        region=q.region,
        until=until,
        catalog=request.app.state.policies,
    )
    labels = [m.label for m in found.months]
    return page(
        "trends.html",
        user=user,
        nav="trends",
        region=q.region,
        until=until.isoformat(),
        months=found.months,
        trends=found,
        names=await names(session),
        counties=await counties_under(session, user.principal, q.region),
        target_runs=[(labels[first], target) for first, _, target in found.target_runs()],
        ratio_chart=line_chart(
            labels, [("住院实际报销比例", "s0", found.actual_ratio)], found.target_runs()
        ),
        deposit_chart=line_chart(labels, [("免押金率", "s1", found.no_deposit)]),
        stacks=stacked_bars(labels, found.by_rule),
        rule_index={rule: i for i, rule in enumerate(sorted(found.by_rule))},
        totals=[sum(c[i] for c in found.by_rule.values()) for i in range(len(labels))],
    )


@router.get("/indicators")
async def indicator_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    q = parse_form(PeriodQuery, request.query_params)
    ind = await indicators_for(
        session,
        principal=user.principal,
        region=q.region,
        start=q.from_,
        end=q.to,
        catalog=request.app.state.policies,
    )
    shares = [
        ("一站式结算率", ind.one_stop_share),
        ("先诊疗后付费（免押金）率", ind.no_deposit_share),
        ("住院实际报销比例", ind.actual_ratio_inpatient),
        ("门诊慢特病实际报销比例", ind.actual_ratio_chronic_outpatient),
        ("县域内就诊率", ind.in_county_rate),
    ] + [
        (f"目录外费用占比（{LEVEL_LABELS.get(x.level, x.level)}医院）", x.share)
        for x in ind.out_of_catalogue_by_level
    ]
    chart = [
        (label, s.value or Decimal(0), "—" if s.value is None else f"{s.value * 100:.1f}%")
        for label, s in shares[:5]
    ]
    tones = [tone(s.meets_target) for _, s in shares[:5]]
    return page(
        "indicators.html",
        user=user,
        nav="indicators",
        q=q,
        ind=ind,
        shares=shares,
        ratio_bars=bars(chart, top=Decimal(1), tones=tones),
    )


@router.get("/whatif")
async def whatif_form(user: UserDep) -> Response:
    return page("whatif.html", user=user, nav="whatif", over=today().year - 1, text="", r=None)


@router.post("/whatif")
async def whatif_run(
    session: SessionDep,
    catalog: CatalogDep,
    user: FormUserDep,
    source_text: Annotated[str, Form(min_length=1, max_length=512_000)],
    over: Annotated[int, Form(ge=FIRST_YEAR, le=LAST_YEAR), PlainDigits],
) -> Response:
    """Runs the what-if and shows it; nothing is stored, so no redirect."""
    body = WhatIfCreate(source_text=source_text, over=over, top=20)
    report = await run_what_if(session, catalog, principal=user.principal, body=body)
    return page("whatif.html", user=user, nav="whatif", over=over, text=source_text, r=report)
