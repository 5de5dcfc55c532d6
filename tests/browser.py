"""Real headless Chromium (Debian's package, driven by Selenium) against the app served on a
loopback port. Under CI a missing browser fails the run; elsewhere the tests skip and say how to
install it (see the README)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
REQUIRED = bool(os.environ.get("CI"))
INSTALL = "apt-get install chromium chromium-driver (Debian's packages), then scripts/test again"

needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(
        (CHROMIUM is None or CHROMEDRIVER is None) and not REQUIRED,
        reason=f"needs Chromium and its driver: {INSTALL}",
    ),
]

# With this flag Chromium resolves no host name: a page that needs the internet (a CDN, web
# fonts) fails as it would on a hospital intranet, while the service on 127.0.0.1 still answers.
NO_NETWORK = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium(profile: Path, *flags: str, downloads: Path | None = None) -> Iterator[Any]:
    """Headless Chromium; with `downloads`, files it downloads land there without asking."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
        *flags,
    ):
        options.add_argument(flag)
    if downloads is not None:
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, css: str, seconds: float = 15) -> Any:
    """The element, once the page shows it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(lambda d: d.find_element(By.CSS_SELECTOR, css))


def sign_in(driver: Any, url: str, key: str) -> list[str]:
    """Sign in to the console with an API key; the labels of the menu it shows."""
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/console/login")
    wait_for(driver, "#api_key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#login button").click()
    wait_for(driver, "#who")
    return [a.text for a in driver.find_elements(By.CSS_SELECTOR, "header nav a")]


def wait_until_replaced(driver: Any, page: Any, seconds: float = 15) -> None:
    """Wait until `page` (the old document's <html>) is gone: the form's answer has loaded.
    Chromium reports a node of a document being replaced either as stale or, mid-navigation,
    as "does not belong to the document" (a plain WebDriverException): both mean gone.
    (Selenium's `staleness_of` knows only the first, and failed a CI run on the second.)"""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_: Any) -> bool:
        try:
            page.is_enabled()
        except WebDriverException:  # StaleElementReferenceException is one too
            return True
        return False

    WebDriverWait(driver, seconds).until(gone)
