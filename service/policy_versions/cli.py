"""`settlecheck policy check|explain|load`."""

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

    load = actions.add_parser("load", help="check and store files in the database")
    load.add_argument("files", nargs="+", type=Path)
    policy.set_defaults(handler=handle)


def _texts_with_shipped(files: list[Path]) -> dict[str, str]:
    from service.policy_versions.shipped import shipped_policy_texts

    texts = {f"shipped:{k}": v for k, v in shipped_policy_texts().items()}
    own = {str(f): f.read_text(encoding="utf-8") for f in files}
    shipped_names = {f.name for f in files}
    texts = {k: v for k, v in texts.items() if k.split(":", 1)[1] not in shipped_names}
    texts.update(own)
    return texts


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from service.policy import PolicyError, format_problems, load_policies

    if args.action == "check":
        try:
            compiled = load_policies(_texts_with_shipped(args.files))
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
    return _load(args, settings)


def _explain(args: argparse.Namespace) -> int:
    from service.policy import (
        Bill,
        PolicyError,
        Visit,
        explain,
        format_problems,
        load_policies,
        parse_policy,
        select_policy,
        settle,
        yuan_to_fen,
    )

    try:
        compiled = load_policies(_texts_with_shipped([args.file]))
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
    )
    try:
        result = settle(
            policy,
            visit=visit,
            categories=frozenset(c for c in args.categories.split(",") if c),
            bill=Bill(
                total_fen=total,
                in_policy_fen=in_policy,
                out_of_policy_fen=out_policy,
                lines=_lines(args.line),
            ),
            year=_amounts(args.year),
            trace=True,
            given=given,
        )
    except ValueError as exc:  # the engine refuses the inputs (an amount, a line, a bill)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(explain(result))
    return 0


def _amounts(pairs: list[str]) -> dict[str, int]:
    """`KEY=YUAN` options as fen by key."""
    from service.money import yuan_to_fen

    out = {}
    for pair in pairs:
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


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli import _run, _with_session
    from service.policy_versions.service import store_policy

    async def work(session: Any) -> None:
        for path in args.files:
            version, created = await store_policy(
                session, text=path.read_text(encoding="utf-8"), source=str(path), loaded_by="cli"
            )
            state = "stored" if created else "already stored"
            print(f"{state}: {version.region_code} {version.version} hash {version.content_hash}")

    _run(_with_session(settings, work))
    return 0
