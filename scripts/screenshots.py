"""Screenshots of the main pages for docs/screenshots/ (described in the README).

Serves the app on a loopback port with a fresh SQLite database and the demo data, walks one
visit through the API (the OpenAPI examples: admission, a deposit from an eligible patient,
settlement), and has headless Chromium photograph the pages a desk, an auditor and a newcomer
see. Needs Debian's chromium, chromium-driver and fonts-noto-cjk (for the Chinese).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.app import create_app  # noqa: E402
from service.china_time import today  # noqa: E402
from service.openapi_examples import request_bodies  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.browser import chromium, served  # noqa: E402

PAGES = [
    ("docs", "/docs", None),
    ("console-violations", "/console/violations", "auditor"),
    ("console-violation", "/console/violations/1", "auditor"),
    ("console-scoreboard", "/console/scoreboard", "auditor"),
    ("console-indicators", "/console/indicators", "auditor"),
    ("console-trends", "/console/trends", "auditor"),
    ("console-whatif", "/console/whatif", "auditor"),
    ("console-keys", "/console/keys", "admin"),
    ("console-policies", "/console/policies", "admin"),
    ("slip-a4", "/v1/settlements/1/slip", "hospital"),
    ("slip-receipt", "/v1/settlements/1/slip?layout=receipt", "hospital"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
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

    os.chdir(work)  # the demo keys file is written beside the working directory
    app = create_app(settings)
    with served(app) as url, chromium(work / "profile", "--window-size=1280,1000") as driver:
        keys = json.loads((work / "settlecheck-demo-keys.json").read_text())["keys"]
        by_role = {label.split(" ")[0]: token for label, token in keys.items()}
        asyncio.run(_one_visit(url, by_role["hospital"]))
        for name, path, role in PAGES:
            if role is not None and path.startswith("/console"):
                driver.get(f"{url}/console/login")
                driver.find_element("css selector", "#api_key").send_keys(by_role[role])
                driver.find_element("css selector", "#login button").click()
            if path.startswith("/v1/"):
                html = httpx.get(f"{url}{path}", headers={"X-API-Key": by_role[role]}).text
                (work / f"{name}.html").write_text(html, encoding="utf-8")
                driver.get((work / f"{name}.html").as_uri())
            else:
                driver.get(f"{url}{path}")
            driver.implicitly_wait(2)
            driver.save_screenshot(str(args.out / f"{name}.png"))
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


if __name__ == "__main__":
    raise SystemExit(main())
