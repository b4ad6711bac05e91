"""A real headless Chromium (Debian's chromium + chromium-driver) driven by selenium."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=1400,1000")


def skip_reason() -> str | None:
    """Why the browser tests cannot run here (``None``: they can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e .[dev])"
    if CHROMIUM is None or DRIVER is None:
        return "chromium and chromium-driver are not installed (apt-get install chromium " \
               "chromium-driver)"
    return None


def start_browser(profile: Path):
    """A headless Chromium with a fresh profile in ``profile``, logging the console."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def console_errors(driver) -> list[str]:
    """The browser console's errors so far (JavaScript exceptions, failed loads, CSP)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def wait_for(predicate, timeout: float = 20.0, what: str = "condition", driver=None):
    """Poll ``predicate`` until it returns something true; that value. A timeout says what
    the browser console holds (when ``driver`` is given)."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            errors = console_errors(driver) if driver is not None else []
            raise AssertionError(f"timed out waiting for {what}; console: {errors}")
        time.sleep(0.2)


def screenshot(driver, path: Path) -> Path:
    """Save a PNG of the page, or of one element (a driver or an element: both have
    ``screenshot``); also into $DRONESENSE_SCREENSHOTS when that is set."""
    driver.screenshot(str(path)) if not hasattr(driver, "save_screenshot") \
        else driver.save_screenshot(str(path))
    extra = os.environ.get("DRONESENSE_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)
    return path
