"""A serving worker keeps what start-up built out of the garbage collector (settings.gc_freeze,
on by default): nothing of it is ever garbage, and a full collection over it is a pause."""

from __future__ import annotations

import gc
from pathlib import Path

from service.app import create_app
from service.settings import Settings
from tests import factories


async def test_a_started_app_freezes_what_start_up_built(tmp_path: Path) -> None:
    assert Settings(id_hash_key="k" * 32).gc_freeze is True  # the default a worker runs with
    url = f"sqlite+aiosqlite:///{tmp_path / 'gc.db'}"
    app = create_app(factories.make_settings(url, gc_freeze=True, auto_migrate=True))
    assert gc.get_freeze_count() == 0  # the suite runs with it off (factories.make_settings)
    try:
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count()
            assert frozen > 10_000  # the modules, models and policies, out of reach
            gc.collect()
            assert gc.get_freeze_count() == frozen  # a collection neither sees nor frees them
    finally:
        gc.unfreeze()


async def test_the_suite_leaves_the_collector_alone(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gc.db'}"
    app = create_app(factories.make_settings(url, auto_migrate=True))
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() == 0
