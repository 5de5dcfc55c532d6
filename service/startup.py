"""What the service does once connected: migrate (embedded default), seed demo data, load policy."""

from __future__ import annotations

import gc
import logging

from fastapi import FastAPI

from service.settings import Settings

log = logging.getLogger("settlecheck.startup")


async def on_startup(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    if settings.should_auto_migrate:
        from service.migrations import upgrade_to_head

        await upgrade_to_head(app.state.engine)
    if settings.should_seed_demo:
        from service.demo import demo_keys_file, seed_demo_data
        from service.unit_of_work import unit_of_work

        keys_file = demo_keys_file(settings.database_url)
        async with unit_of_work(app.state.sessionmaker) as uow:
            report = await seed_demo_data(
                uow.session, hasher=app.state.id_hasher, keys_file=keys_file
            )
        if report is not None:
            report.print_banner(settings.public_url)


def freeze_startup_objects() -> None:
    """Move everything built at start-up (modules, the OpenAPI models, the policies compiled,
    about 200,000 objects) out of the garbage collector's reach: a full collection over them
    stopped a worker for about 110 ms (a request's tail), and none of them is ever garbage."""
    gc.collect()
    gc.freeze()
