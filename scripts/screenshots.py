"""Screenshots of the main pages for docs/screenshots/ (described in the README).

Serves the app on a loopback port with a fresh SQLite database and the demo data, walks one
visit through the API (the OpenAPI examples: admission, a deposit from an eligible patient,
settlement), and has headless Chromium photograph the pages a desk, an auditor and a newcomer
see. Needs Debian's chromium, chromium-driver and fonts-noto-cjk (for the Chinese).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--only console-yearend]

The year-end page (年度补足) needs a region whose policy has a year-end rule: the S7 worked
example's prefecture (320200) is added with three people's stays of last year, as the tests
set it up (tests/factories.py), and an auditor of it dry-runs and then books the year.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.app import create_app  # noqa: E402
from service.china_time import today  # noqa: E402
from service.demo import demo_keys_file  # noqa: E402
from service.openapi_examples import request_bodies  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests import factories  # noqa: E402
from tests.browser import chromium, served, sign_in  # noqa: E402

PAGES = [
    ("docs", "/docs", None),
    ("console-violations", "/console/violations", "auditor"),
    ("console-violation", "/console/violations/1", "auditor"),
    ("console-scoreboard", "/console/scoreboard", "auditor"),
    ("console-indicators", "/console/indicators", "auditor"),
    ("console-trends", "/console/trends", "auditor"),
    ("console-whatif", "/console/whatif", "auditor"),
    ("console-yearend", "/console/yearend", "year-end auditor"),
    ("console-keys", "/console/keys", "admin"),
    ("console-policies", "/console/policies", "admin"),
    ("slip-a4", "/v1/settlements/1/slip", "hospital"),
    ("slip-receipt", "/v1/settlements/1/slip?layout=receipt", "hospital"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="just this image (repeat for more)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sck-shots-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{work / 'shots.db'}",
        environment="development",
        demo_data=True,
        auto_migrate=True,
    )
    import os

    os.chdir(work)
    app = create_app(settings)
    with served(app) as url, chromium(work / "profile", "--window-size=1280,1000") as driver:
        keys = json.loads(demo_keys_file(settings.database_url).read_text())["keys"]
        by_role = {label.split(" ")[0]: token for label, token in keys.items()}
        asyncio.run(_one_visit(url, by_role["hospital"]))
        by_role["year-end auditor"] = asyncio.run(
            _a_year_end(url, by_role["admin"], settings.database_url)
        )
        for name, path, role in PAGES:
            if args.only and name not in args.only:
                continue
            if role is not None and path.startswith("/console"):
                sign_in(driver, url, by_role[role])
            if path.startswith("/v1/"):
                html = httpx.get(f"{url}{path}", headers={"X-API-Key": by_role[role]}).text
                (work / f"{name}.html").write_text(html, encoding="utf-8")
                driver.get((work / f"{name}.html").as_uri())
            else:
                driver.get(f"{url}{path}")
            if name == "console-yearend":
                _dry_run_and_book(driver)
                driver.set_window_size(1280, 1450)  # the run and the booked rows below it
            driver.implicitly_wait(2)
            driver.save_screenshot(str(args.out / f"{name}.png"))
            driver.set_window_size(1280, 1000)
            print(f"wrote {args.out / name}.png")
    return 0


async def _one_visit(url: str, key: str) -> None:
    bodies = request_bodies(today())
    headers = {"X-API-Key": key}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        for method, path in (
            ("post", "/v1/admissions"),
            ("post", "/v1/admissions/{visit_id}/deposits"),
            ("post", "/v1/settlements"),
        ):
            body = bodies[(method, path)]
            answer = await client.post(path.replace("{visit_id}", "ZY2026-000123"), json=body)
            answer.raise_for_status()


async def _a_year_end(url: str, admin_key: str, database_url: str) -> str:
    """The S7 prefecture with three people's stays of last year; an auditor key for it."""
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from sqlmodel.ext.asyncio.session import AsyncSession

    engine = create_async_engine(database_url)
    maker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    admin = {"X-API-Key": admin_key}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client, maker() as session:
        await factories.seed_s7_region(maker, client, admin)

        async def key(**body: str) -> str:
            issued = await client.post("/v1/keys", json=body, headers=admin)
            issued.raise_for_status()
            return str(issued.json()["token"])

        hospital = {"X-API-Key": await key(role="hospital", hospital_code=factories.S7_HOSPITAL)}
        await factories.s7_year(client, session, hospital, people=3)
        auditor = await key(role="auditor", region_prefix="3202", label="无锡市医保局")
    await engine.dispose()
    return auditor


def _dry_run_and_book(driver: Any) -> None:
    from selenium.webdriver.support.expected_conditions import staleness_of
    from selenium.webdriver.support.ui import WebDriverWait

    for button in ("dry-run", "book"):
        form = "#yearend-run input[name={}]"
        for field, value in (("region_code", factories.S7_PREFECTURE), ("plan_year", "2025")):
            box = driver.find_element("css selector", form.format(field))
            box.clear()
            box.send_keys(value)
        page = driver.find_element("tag name", "html")
        driver.find_element("id", button).click()
        WebDriverWait(driver, 15).until(staleness_of(page))


if __name__ == "__main__":
    raise SystemExit(main())
