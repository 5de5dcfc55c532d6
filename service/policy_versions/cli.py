"""`settlecheck policy check|explain|load|withdraw|history`."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from service.settings import Settings


def register(sub: Any) -> None:
    policy = sub.add_parser("policy", help="check, explain and load policy documents")
    actions = policy.add_subparsers(dest="action", required=True)

    check = actions.add_parser("check", help="validate files (with the shipped set as parents)")
    check.add_argument("files", nargs="+", type=Path)

    explain = actions.add_parser("explain", help="settle one bill and print the trace")
    explain.add_argument("file", type=Path)
    explain.add_argument("--bill", required=True, help="TOTAL,IN_POLICY,OUT_OF_POLICY in yuan")
    explain.add_argument("--categories", default="registered_poor")
    explain.add_argument("--visit-type", default="inpatient")
    explain.add_argument("--level", default="secondary")
    explain.add_argument("--tier", default="county")
    explain.add_argument("--location", default="in_county")
    explain.add_argument(
        "--in-pooling-region",
        choices=("yes", "no"),
        default=None,
        help="is the hospital inside the pooling region (统筹区)? default: only in_county is",
    )
    explain.add_argument("--disease", default=None, help="designated disease / package code")
    explain.add_argument(
        "--prior",
        default="0,0,0",
        help="earlier admissions this plan year: IN_YEAR,AT_THIS_HOSPITAL,IN_QUARTER",
    )
    explain.add_argument("--not-referred", action="store_true")
    explain.add_argument("--on", type=date.fromisoformat, default=None)
    explain.add_argument(
        "--given",
        action="append",
        default=[],
        metavar="LAYER=YUAN",
        help="the amount an external layer settled elsewhere (repeat; missing: 0.00, noted)",
    )
    explain.add_argument(
        "--year",
        action="append",
        default=[],
        metavar="KEY=YUAN",
        help="the year so far, e.g. critical_illness.eligible=20000 (repeat; docs/policy.md)",
    )
    explain.add_argument(
        "--line",
        action="append",
        default=[],
        metavar="ITEM=YUAN[:out]",
        help="a bill line for fee waivers, e.g. bed=200 or drug=50:out (repeat)",
    )

    whatif = actions.add_parser(
        "whatif", help="re-settle a stored year under a proposed policy and compare (政策测算)"
    )
    whatif.add_argument("file", type=Path, help="the proposed policy (YAML)")
    whatif.add_argument("--over", type=int, required=True, help="the year to re-settle")
    whatif.add_argument("--top", type=int, default=10, help="patients whose share rises most")
    whatif.add_argument("--json", action="store_true", help="print the report as JSON")

    load = actions.add_parser(
        "load", help="check and store files; a later start succeeds the region's open version"
    )
    load.add_argument("files", nargs="+", type=Path)
    load.add_argument("--reason", default="", help="why (kept in the version history)")
    load.add_argument("--by", default="cli", help="who (kept in the version history)")

    withdraw = actions.add_parser(
        "withdraw", help="withdraw a version not yet in effect that has settled nothing"
    )
    withdraw.add_argument("content_hash")
    withdraw.add_argument("--reason", required=True, help="why (kept in the version history)")
    withdraw.add_argument("--by", default="cli", help="who (kept in the version history)")

    history = actions.add_parser("history", help="print the version history (who, when, why)")
    history.add_argument("--region", default=None, help="a region code or prefix")
    policy.set_defaults(handler=handle)


def _texts_with_shipped(files: list[Path]) -> dict[str, str]:
    from service.policy_versions.shipped import shipped_policy_texts

    texts = {f"shipped:{k}": v for k, v in shipped_policy_texts().items()}
    own = {str(f): f.read_text(encoding="utf-8") for f in files}
    shipped_names = {f.name for f in files}
    texts = {k: v for k, v in texts.items() if k.split(":", 1)[1] not in shipped_names}
    texts.update(own)
    return texts


def _compiled(files: list[Path]) -> list[Any]:
    """The shipped set with ``files``, each later version succeeding the one before it (as
    loading them would), compiled by date."""
    from service.policy_versions.timeline import in_succession, pieces_of

    return [piece.policy for piece in pieces_of(in_succession(_texts_with_shipped(files)))]


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from service.policy import PolicyError, format_problems

    if args.action == "check":
        try:
            compiled = _compiled(args.files)
        except PolicyError as exc:
            print(format_problems(exc.problems), file=sys.stderr)
            return 1
        names = {str(f) for f in args.files}
        for p in compiled:
            digest = p.content_hash[:16]
            print(f"ok  {p.region_code} {p.version} from {p.effective_from} hash {digest}")
        print(f"{len(args.files)} file(s) checked ({len(names)} given, {len(compiled)} versions)")
        return 0
    if args.action == "explain":
        return _explain(args)
    if args.action == "withdraw":
        return _withdraw(args, settings)
    if args.action == "history":
        return _history(args, settings)
    if args.action == "whatif":
        return _whatif(args, settings)
    return _load(args, settings)


def _whatif(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli import _run, _with_session
    from service.errors import ServiceError
    from service.policy_versions.catalog import PolicyCatalog
    from service.whatif.render import text_report
    from service.whatif.schemas import WhatIfCreate
    from service.whatif.service import what_if_over

    body = WhatIfCreate(
        source_text=args.file.read_text(encoding="utf-8"), over=args.over, top=args.top
    )

    def progress(done: int) -> None:
        print(f"\rre-settled {done:,}", end="", file=sys.stderr, flush=True)

    async def work(session: Any) -> Any:
        return await what_if_over(session, PolicyCatalog(), body=body, progress=progress)

    try:
        report = _run(_with_session(settings, work))
    except ServiceError as exc:
        print(f"\n{exc}", file=sys.stderr)
        for problem in getattr(exc, "errors", None) or []:
            print(f"  {problem.field}: {problem.message}", file=sys.stderr)
        return 1
    print(file=sys.stderr)
    print(report.model_dump_json(indent=2) if args.json else text_report(report))
    return 0


def _explain(args: argparse.Namespace) -> int:
    from service.policy import (
        Bill,
        PolicyError,
        PriorAdmissions,
        Visit,
        explain,
        fen_to_yuan,
        format_problems,
        parse_policy,
        select_policy,
        settle,
        settle_year_end,
        yuan_to_fen,
    )

    try:
        compiled = _compiled([args.file])
        doc = parse_policy(args.file.read_text(encoding="utf-8"), source=str(args.file))
    except PolicyError as exc:
        print(format_problems(exc.problems), file=sys.stderr)
        return 1
    on = args.on or doc.effective_from
    policy = select_policy(compiled, insured_region=doc.region_code, on=on)
    if policy is None:
        print(f"no version in force on {on}", file=sys.stderr)
        return 1
    total, in_policy, out_policy = (yuan_to_fen(Decimal(x)) for x in args.bill.split(","))
    given = _amounts(args.given)
    for layer in policy.document.layers:
        if layer.kind == "external" and layer.code not in given:
            given[layer.code] = 0
            print(f"note: {layer.code} is external; no --given {layer.code}=YUAN, taken as 0.00")
    visit = Visit(
        visit_type=args.visit_type,
        hospital_level=args.level,
        hospital_tier=args.tier,
        location=args.location,
        referred=not args.not_referred,
        designated=True,
        admitted_on=on,
        discharged_on=on,
        in_pooling_region=_yes_no(args.in_pooling_region),
        disease=args.disease,
    )
    categories = frozenset(c for c in args.categories.split(",") if c)
    this_year, at_hospital, this_quarter = (int(n) for n in args.prior.split(","))
    try:
        result = settle(
            policy,
            visit=visit,
            categories=categories,
            bill=Bill(
                total_fen=total,
                in_policy_fen=in_policy,
                out_of_policy_fen=out_policy,
                lines=_lines(args.line),
            ),
            year=_amounts(args.year),
            trace=True,
            given=given,
            prior=PriorAdmissions(this_year, at_hospital, this_quarter),
        )
    except ValueError as exc:  # the engine refuses the inputs (an amount, a line, a bill)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(explain(result))
    bill = Bill(total_fen=total, in_policy_fen=in_policy, out_of_policy_fen=out_policy)
    for paid in settle_year_end(policy, categories=categories, stays=[(visit, bill, result)]):
        print(
            f"year end {paid.code} ({paid.name}), were this the year's only stay: "
            f"self-pay {fen_to_yuan(paid.self_pay_fen)} above {fen_to_yuan(paid.deductible_fen)}"
            f" -> {fen_to_yuan(paid.amount_fen)}"
        )
    return 0


def _amounts(pairs: list[str]) -> dict[str, int]:
    """`KEY=YUAN` options (repeated, or comma-separated in one) as fen by key."""
    from service.money import yuan_to_fen

    out = {}
    for pair in (p for option in pairs for p in option.split(",") if p):
        key, _, amount = pair.partition("=")
        out[key.strip()] = yuan_to_fen(Decimal(amount))
    return out


def _lines(pairs: list[str]) -> tuple[Any, ...]:
    """`ITEM=YUAN[:out]` options as bill lines (in-policy unless `:out`)."""
    from service.money import yuan_to_fen
    from service.policy import BillLine

    lines = []
    for pair in pairs:
        item, _, rest = pair.partition("=")
        amount, _, where = rest.partition(":")
        lines.append(BillLine(item.strip(), yuan_to_fen(Decimal(amount)), where != "out"))
    return tuple(lines)


def _yes_no(value: str | None) -> bool | None:
    return None if value is None else value == "yes"


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli import _run, _with_session
    from service.policy_versions.service import history, store_policy

    async def work(session: Any) -> None:
        for path in args.files:
            recorded = await store_policy(
                session,
                text=path.read_text(encoding="utf-8"),
                source=str(path),
                loaded_by=args.by,
                reason=args.reason,
            )
            version, created = recorded.entry, not recorded.replayed
            state = "stored" if created else "already stored"
            print(f"{state}: {version.region_code} {version.version} hash {version.content_hash}")
            for event in await history(session, region=version.region_code):
                if event.action == "closed" and created and event.reason == args.reason:
                    ends = event.effective_to
                    print(f"  closed: {event.version} now ends {ends}")

    _run(_with_session(settings, work))
    return 0


def _withdraw(args: argparse.Namespace, settings: Settings) -> int:
    from service.china_time import today
    from service.cli import _run, _with_session
    from service.policy_versions.service import withdraw_policy

    async def work(session: Any) -> None:
        version = await withdraw_policy(
            session,
            content_hash=args.content_hash,
            actor=args.by,
            reason=args.reason,
            today=today(),
        )
        print(f"withdrawn: {version.region_code} {version.version} from {version.effective_from}")

    _run(_with_session(settings, work))
    return 0


def _history(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli import _run, _with_session
    from service.policy_versions.service import history

    async def work(session: Any) -> None:
        for e in await history(session, region=args.region):
            window = f"{e.effective_from} to {e.effective_to or 'open'}"
            print(
                f"{e.created_at:%Y-%m-%d %H:%M} {e.action:9} {e.region_code} {e.version} "
                f"({window}) by {e.actor}: {e.reason}"
            )

    _run(_with_session(settings, work))
    return 0
