"""/docs and /redoc work on a network with no internet: Chromium that can resolve no host name
renders both, and loads nothing from anywhere but the service."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from service.app import create_app
from tests.browser import NO_NETWORK, chromium, needs_chromium, served

RESOURCES = "return performance.getEntriesByType('resource').map(e => e.name)"


async def test_pages_reference_only_the_service(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        assert "http" not in html, f"{page} points outside the service"
    script = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    missing = await client.get("/docs/assets/settings.py")
    assert missing.status_code == 404
    assert missing.json()["code"] == "docs_asset_not_found"
    assert (await client.get("/docs/assets/..%2F..%2Fsettings.py")).status_code == 404


@needs_chromium[0]
@needs_chromium[1]
async def test_swagger_ui_and_redoc_render_offline(app: FastAPI, tmp_path: Path) -> None:
    seen = await asyncio.to_thread(_render_offline, create_app(app.state.settings), tmp_path)
    assert "settlecheck" in seen["swagger_title"]
    assert seen["operations"] > 20  # Swagger UI drew the operations from the local assets
    assert "settlecheck" in seen["redoc_heading"]
    assert seen["outside"] == []  # neither page asked for anything off this server


def _render_offline(app: FastAPI, tmp_path: Path) -> dict[str, Any]:
    with served(app) as url, chromium(tmp_path / "profile", NO_NETWORK) as driver:
        driver.get(f"{url}/docs")
        title = WebDriverWait(driver, 20).until(
            lambda d: d.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title")
        )
        seen: dict[str, Any] = {
            "swagger_title": title.text,
            "operations": len(driver.find_elements(By.CSS_SELECTOR, ".opblock")),
        }
        outside = [n for n in driver.execute_script(RESOURCES) if not n.startswith(url)]

        driver.get(f"{url}/redoc")
        heading = WebDriverWait(driver, 20).until(
            lambda d: d.find_element(By.CSS_SELECTOR, ".api-content h1")
        )
        seen["redoc_heading"] = heading.text
        outside += [n for n in driver.execute_script(RESOURCES) if not n.startswith(url)]
        seen["outside"] = outside
    return seen
