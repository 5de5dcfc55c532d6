"""Who may use which console page: one table, enforced for every console route.

Each page shares the role rule of the API route that serves the same data (its `api` twin), and
its services apply the same scope (a hospital's own objects, an auditor's region). The router's
guard looks the matched route up here on every request and fails closed: a console route missing
from this table cannot be reached, and tests/console/test_console_access.py walks every route
with every role against its twin. Unsafe methods must also come from the console's own origin
(login CSRF; ADR 0016).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request

from service.auth import Principal, Role
from service.errors import Forbidden


class CrossSiteForm(Forbidden):
    code = "cross_site_form"
    title = "Form posted from another site"


class ConsolePageForbidden(Forbidden):
    code = "console_page_forbidden"


class ConsoleRouteUndeclared(Forbidden):
    code = "console_route_undeclared"


@dataclass(frozen=True, slots=True)
class Access:
    roles: frozenset[Role] | None  # None: public (no sign-in)
    api: str | None = None  # the API route whose role rule this page shares
    label: str = ""
    # A form's route (a POST, or a page's GET filters): the page that shows the form (the
    # route's path parameters fill it in), shown again, without the query, with what was typed
    # when the form is refused (service/console/answers.py).
    form: str | None = None


SIGNED_IN = frozenset(Role)
LEDGER_READERS = frozenset({Role.HOSPITAL, Role.AUDITOR, Role.ADMIN})  # /v1/violations
REGION_READERS = frozenset({Role.AUDITOR, Role.ADMIN})  # /v1/indicators, verify
ADMINS = frozenset({Role.ADMIN})  # /v1/keys
# /v1/clearing/statement: a fund key reads its own fund (in its region) and nothing else here
CLEARING_READERS = frozenset({Role.HOSPITAL, Role.AUDITOR, Role.FUND, Role.ADMIN})
RECEIVABLE_READERS = frozenset({Role.HOSPITAL, Role.AUDITOR, Role.ADMIN})  # /v1/receivables
PUBLIC = Access(None)

CONSOLE_ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/console"): PUBLIC,
    ("GET", "/console/"): PUBLIC,
    ("GET", "/console/static/console.css"): PUBLIC,
    ("GET", "/console/login"): PUBLIC,
    ("POST", "/console/login"): Access(None, form="/console/login"),
    ("POST", "/console/logout"): Access(SIGNED_IN),
    ("GET", "/console/violations"): Access(
        LEDGER_READERS, "GET /v1/violations", "问题台账", form="/console/violations"
    ),
    ("GET", "/console/violations/export.{fmt}"): Access(
        LEDGER_READERS, "GET /v1/violations/export.{fmt}", form="/console/violations"
    ),
    ("GET", "/console/violations/{violation_id}"): Access(
        LEDGER_READERS, "GET /v1/violations/{violation_id}"
    ),
    ("POST", "/console/violations/{violation_id}/transitions"): Access(
        LEDGER_READERS,
        "POST /v1/violations/{violation_id}/transitions",
        form="/console/violations/{violation_id}",
    ),
    ("GET", "/console/scoreboard"): Access(
        LEDGER_READERS, "GET /v1/violations/scoreboard", "考核扣分", form="/console/scoreboard"
    ),
    ("GET", "/console/scoreboard/export.{fmt}"): Access(
        LEDGER_READERS, "GET /v1/violations/scoreboard/export.{fmt}", form="/console/scoreboard"
    ),
    ("GET", "/console/indicators"): Access(
        REGION_READERS, "GET /v1/indicators", "指标监测", form="/console/indicators"
    ),
    # Month by month indicators (and findings): region-wide figures, so the indicators' rule.
    ("GET", "/console/trends"): Access(
        REGION_READERS, "GET /v1/indicators", "月度趋势", form="/console/trends"
    ),
    # After the slip (issue 13): a fund's statement for a hospital and month with its stored
    # reconciliations, and the patients' shares under pay-after-treatment.
    ("GET", "/console/clearing"): Access(
        CLEARING_READERS, "GET /v1/clearing/statement", "基金清算", form="/console/clearing"
    ),
    ("GET", "/console/clearing/statements/{statement_id}/export.{fmt}"): Access(
        CLEARING_READERS, "GET /v1/clearing/statements/{statement_id}/export"
    ),
    ("GET", "/console/receivables"): Access(
        RECEIVABLE_READERS, "GET /v1/receivables/overdue", "先诊疗后付费"
    ),
    ("GET", "/console/keys"): Access(ADMINS, "GET /v1/keys", "密钥管理"),
    ("POST", "/console/keys"): Access(ADMINS, "POST /v1/keys", form="/console/keys"),
    ("POST", "/console/keys/{key_id}/revoke"): Access(
        ADMINS, "POST /v1/keys/{key_id}/revoke", form="/console/keys"
    ),
    # The policy texts are readable by every key through the API; the pages are the admin's
    # desk for them (loading stays with the CLI and the API).
    ("GET", "/console/policies"): Access(ADMINS, None, "政策版本"),
    ("GET", "/console/policies/{content_hash}"): Access(ADMINS),
    # 医院名录 (ADR 0023): the regions and hospitals, and an admin's registration of a hospital.
    ("GET", "/console/hospitals"): Access(ADMINS, None, "医院名录"),
    ("POST", "/console/hospitals"): Access(
        ADMINS, "PUT /v1/hospitals/{hospital_code}", form="/console/hospitals"
    ),
    # What-if (政策测算): re-settles the region's year under a proposal; stores nothing.
    ("GET", "/console/whatif"): Access(REGION_READERS, "POST /v1/policies/whatif", "政策测算"),
    ("POST", "/console/whatif"): Access(
        REGION_READERS, "POST /v1/policies/whatif", form="/console/whatif"
    ),
    # 年度补足 (service/routers/console_yearend.py): run (试算 / 确认入账) and read the year-end
    # top-up; the year-end API's rule, auditors within their region and admins (ADR 0021).
    ("GET", "/console/yearend"): Access(REGION_READERS, "GET /v1/year-end/payments", "年度补足"),
    ("POST", "/console/yearend"): Access(
        REGION_READERS, "POST /v1/year-end/runs", form="/console/yearend"
    ),
    ("GET", "/console/yearend/export.{fmt}"): Access(
        REGION_READERS, "GET /v1/year-end/payments/export.{fmt}"
    ),
    # 核验台账 (service/routers/console_verify.py): the verify API's rule, auditors and admins.
    ("GET", "/console/verify"): Access(REGION_READERS, "GET /v1/violations/verify", "核验台账"),
    ("POST", "/console/verify"): Access(
        REGION_READERS, "POST /v1/violations/verify", form="/console/verify"
    ),
    ("GET", "/console/verify/heads.json"): Access(REGION_READERS, "GET /v1/violations/chain-heads"),
}

NAV = (
    "violations",
    "scoreboard",
    "indicators",
    "trends",
    "clearing",
    "receivables",
    "verify",
    "keys",
    "policies",
    "hospitals",
    "whatif",
    "yearend",
)
"""The menu, in order: each page is /console/<name>, shown to the roles its GET entry admits."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def access_of(request: Request) -> Access:
    """The matched route's entry; an undeclared route is refused, never let through."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    method = "GET" if request.method == "HEAD" else request.method
    found = CONSOLE_ACCESS.get((method, str(path)))
    if found is None:
        raise ConsoleRouteUndeclared(f"{method} {path} is not in the console's access table")
    return found


def check_role(access: Access, principal: Principal) -> None:
    if access.roles is not None and principal.role not in access.roles:
        names = ", ".join(sorted(r.value for r in access.roles))
        raise ConsolePageForbidden(
            f"this page is for {names} keys; yours is {principal.role.value}"
        )


def nav_for(principal: Principal) -> list[tuple[str, str, str]]:
    """(name, url, label) of the pages this principal may open."""
    shown = []
    for name in NAV:
        url = f"/console/{name}"
        access = CONSOLE_ACCESS[("GET", url)]
        if access.roles is None or principal.role in access.roles:
            shown.append((name, url, access.label))
    return shown


def landing_for(principal: Principal) -> str:
    """The first page this principal may open: where signing in leads (a fund key's is its
    clearing page; it may open no other)."""
    shown = nav_for(principal)
    return shown[0][1] if shown else "/console/login"


def _host_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts.netloc.lower() if parts.scheme in ("http", "https") and parts.netloc else None


def check_same_origin(request: Request) -> None:
    """A state-changing console request must come from a console page: its Origin (or, when a
    browser sends none, its Referer) names this host. Browsers send Origin on every POST, and a
    page on another site cannot set it, nor Host or X-Forwarded-Host; requests naming neither
    are refused too, because nothing but a browser posts these forms."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    source = _host_of(claimed) if claimed and claimed != "null" else None
    hosts = {request.headers.get("host", "").lower()}
    forwarded = request.headers.get("x-forwarded-host")
    if forwarded:
        hosts.add(forwarded.split(",")[0].strip().lower())
    if source is None or source not in hosts:
        raise CrossSiteForm(
            "console forms are accepted only from the console's own pages "
            "(the Origin or Referer header must name this host)"
        )
