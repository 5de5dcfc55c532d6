"""`settlecheck ledger verify` and `settlecheck ledger export-head`."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from pathlib import Path
from typing import Any

from service.auth import Principal, Role
from service.schemas import LEVEL_PREFIX
from service.settings import Settings
from service.violations.schemas import ChainHeadPublic, ChainHeads, VerifyReport

OPERATOR = Principal(key_id=0, role=Role.ADMIN)


async def _in_session(settings: Settings, work: Any) -> Any:
    from service.db import create_engine, create_sessionmaker

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


def _principal(region: str | None) -> Principal:
    return Principal(key_id=0, role=Role.AUDITOR, region_prefix=region) if region else OPERATOR


def _region(text: str) -> str:
    """A province's, prefecture's or county's prefix (as a key's): a typo named no chain, and
    verify answered 'intact: 0 chains' (exit 0) for ever after."""
    if re.fullmatch(LEVEL_PREFIX, text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a region prefix: 2, 4 or 6 digits (99, 9901, 990102)"
        )
    return text


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from service.violations.verify import verify_ledger

    exported: list[ChainHeadPublic] = []
    if args.heads:
        exported = ChainHeads.model_validate_json(Path(args.heads).read_text()).heads
    report: VerifyReport = asyncio.run(
        _in_session(
            settings,
            lambda s: verify_ledger(s, principal=_principal(args.region), exported=exported),
        )
    )
    for chain in report.chains:
        state = "intact" if chain.intact else "BROKEN"
        print(f"{chain.chain:<8} {chain.records:>10} records  {state}")
    if report.first_broken is None:
        print(f"ledger intact: {report.chains_checked} chains, {report.records_checked} records")
        return 0
    b = report.first_broken
    print(f"first broken record: chain {b.chain} seq {b.seq} {b.kind} id {b.id}: {b.reason}")
    return 1


def cmd_export_head(args: argparse.Namespace, settings: Settings) -> int:
    from service.violations.verify import chain_heads

    heads: ChainHeads = asyncio.run(
        _in_session(settings, lambda s: chain_heads(s, principal=_principal(args.region)))
    )
    text = json.dumps(heads.model_dump(mode="json"), ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
        print(f"{len(heads.heads)} chain heads written to {args.out}")
    else:
        print(text)
    return 0


def register(subparsers: Any) -> None:
    ledger = subparsers.add_parser("ledger", help="the violation ledger's tamper evidence")
    sub = ledger.add_subparsers(dest="action", required=True)
    verify = sub.add_parser("verify", help="recompute every chain; exit 1 at the first break")
    verify.add_argument("--region", type=_region, help="only chains of this region prefix")
    verify.add_argument("--heads", help="a file from export-head: also catch truncation")
    verify.set_defaults(handler=cmd_verify)
    export = sub.add_parser("export-head", help="print or save each chain's head (seq, hash)")
    export.add_argument("--region", type=_region, help="only chains of this region prefix")
    export.add_argument("--out", help="write to this file instead of stdout")
    export.set_defaults(handler=cmd_export_head)
