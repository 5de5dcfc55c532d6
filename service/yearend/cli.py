"""`settlecheck yearend run --region R --plan-year 2025 [--dry-run] [--json]`."""

from __future__ import annotations

import argparse
from typing import Any

from service.settings import Settings


def register(sub: Any) -> None:
    yearend = sub.add_parser("yearend", help="the year-end top-up (二次救助 / 年度补足)")
    actions = yearend.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="book a region's ended plan year (idempotent)")
    run.add_argument("--region", required=True, help="a county, prefecture or province code")
    run.add_argument("--plan-year", type=int, required=True, help="named by its first year")
    run.add_argument("--dry-run", action="store_true", help="compute and print; store nothing")
    run.add_argument("--by", default="cli", help="who runs it (kept on every booked row)")
    run.add_argument("--json", action="store_true", help="print the answer as JSON")
    yearend.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli import _run, _with_unit
    from service.policy_versions.catalog import PolicyCatalog
    from service.yearend.render import text_report
    from service.yearend.schemas import YearEndRunCreate
    from service.yearend.service import run_year_end

    body = YearEndRunCreate(region_code=args.region, plan_year=args.plan_year, dry_run=args.dry_run)

    async def work(uow: Any) -> Any:
        return await run_year_end(
            uow, PolicyCatalog(), principal=None, body=body, booked_by=f"cli:{args.by}"
        )

    answer = _run(_with_unit(settings, work))
    print(answer.model_dump_json(indent=2) if args.json else text_report(answer))
    return 0
