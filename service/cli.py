"""The `settlecheck` command: serve, migrate, seed, and the operators' tools."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from service.settings import Settings, load_settings

Handler = Callable[[argparse.Namespace, Settings], int]


def _run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


async def _with_unit(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run ``work(uow)`` in one unit of work on a fresh engine (committed when it returns)."""
    from service.db import create_engine, create_sessionmaker
    from service.unit_of_work import unit_of_work

    engine = create_engine(settings)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as uow:
            return await work(uow)
    finally:
        await engine.dispose()


async def _with_session(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    return await _with_unit(settings, lambda uow: work(uow.session))


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import os

    import uvicorn

    # The workers read their settings anew: this tells them where they are served (the banner).
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host  # noqa: S104
    os.environ.setdefault("SETTLECHECK_PUBLIC_URL", f"http://{shown_host}:{args.port}")

    uvicorn.run(
        "service.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=settings.keep_alive_seconds,
    )
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from alembic import command
    from service.migrations import alembic_config

    cfg = alembic_config(settings.database_url)
    try:
        if args.action == "upgrade":
            command.upgrade(cfg, args.revision or "head")
        elif args.action == "downgrade":
            command.downgrade(cfg, args.revision or "base")
        elif args.action == "check":
            command.check(cfg)
        elif args.action == "current":
            command.current(cfg)
    except RuntimeError as exc:
        # A migration that stops on data it must not guess about (0017: codes that differ
        # only by case) says what to do; the revision before it stays the current one.
        print(f"error (migration_stopped): {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from service.demo import demo_keys_file, seed_demo_data
    from service.identity import IdHasher

    if settings.environment == "production":
        print(
            "error (demo_data_in_production): demo data is refused when "
            "SETTLECHECK_ENVIRONMENT=production; it issues keys and writes their secrets in "
            "plain text beside the database",
            file=sys.stderr,
        )
        return 2
    hasher = IdHasher(settings.id_hash_key.get_secret_value().encode())
    keys_file = demo_keys_file(settings.database_url)
    report = _run(
        _with_session(settings, lambda s: seed_demo_data(s, hasher=hasher, keys_file=keys_file))
    )
    if report is not None:
        report.print_banner(settings.public_url)
    return 0


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    from service.auth import Role
    from service.auth.issuing import issue_checked_key
    from service.auth.keys import list_keys, revoke_key
    from service.china_time import shown

    if args.action == "create":
        issued = _run(
            _with_unit(
                settings,
                lambda uow: issue_checked_key(
                    uow,
                    role=Role(args.role),
                    hospital_code=args.hospital,
                    region_prefix=args.region,
                    fund_code=args.fund,
                    label=args.label,
                ),
            )
        )
        print(f"key {issued.id} ({issued.principal.label}): {issued.token}")
        print("Store it now: only its hash is kept.")
    elif args.action == "revoke":
        key = _run(_with_session(settings, lambda s: revoke_key(s, args.id)))
        print(f"key {key.id} revoked at {shown(key.revoked_at)}")
    else:
        for key in _run(_with_session(settings, list_keys)):
            state = "revoked" if key.revoked_at else "active"
            scope = key.hospital_code or key.region_prefix or "*"
            if key.fund_code:
                scope = f"{key.fund_code}@{scope}"
            print(f"{key.id:>5}  {key.role:<8} {scope:<12} {state:<8} {key.label}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="settlecheck", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=cmd_serve)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "check", "current"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(handler=cmd_db)

    demo = sub.add_parser("demo-data", help="seed the demo region, hospitals, roster and keys")
    demo.set_defaults(handler=cmd_demo)

    keys = sub.add_parser("keys", help="create, list and revoke API keys")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    create = keys_sub.add_parser("create")
    create.add_argument("--role", required=True, choices=["hospital", "auditor", "fund", "admin"])
    create.add_argument("--fund", help="fund code (fund keys; see /v1/clearing/funds)")
    create.add_argument("--hospital", help="hospital code (hospital keys)")
    create.add_argument("--region", help="region code prefix (auditor and fund keys)")
    create.add_argument("--label", default="")
    revoke = keys_sub.add_parser("revoke")
    revoke.add_argument("id", type=int)
    keys_sub.add_parser("list")
    keys.set_defaults(handler=cmd_keys)

    for register in _extensions():
        register(sub)
    return parser


def concept_hooks(name: str, modules: Iterable[str]) -> list[Any]:
    """`name` from each of `modules` that is there: a concept module that is missing adds
    nothing, but a missing import inside one that is there is still an error."""
    import importlib

    found = []
    for module in modules:
        try:
            found.append(getattr(importlib.import_module(module), name))
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
    return found


def _extensions() -> list[Callable[[Any], None]]:
    """Subcommands that live beside their concept (policy, roster, ledger, ...)."""
    return concept_hooks(
        "register",
        (
            "service.policy_versions.cli",
            "service.regions.cli",
            "service.roster.cli",
            "service.violations.cli",
            "service.yearend.cli",
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    from service.cli_refusals import operator_refusal
    from service.errors import ServiceError

    try:
        return int(args.handler(args, settings))
    except ServiceError as exc:
        print(f"error ({exc.code}): {exc.detail}", file=sys.stderr)
        for problem in exc.errors:  # e.g. every problem of a policy document, as `check` shows
            print(f"  {problem.field}: {problem.message}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - an operator's slip is a message, not a traceback
        refusal = operator_refusal(exc)
        if refusal is None:
            raise
        print(refusal.message, file=sys.stderr)
        return refusal.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
