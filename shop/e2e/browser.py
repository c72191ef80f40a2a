"""Headless Debian chromium, driven through chromium-driver by selenium.

Why selenium from Python and not a Rust WebDriver crate: the flow is a script
of what a buyer and a door steward do, not part of the product, and Python
keeps it out of the workspace's build (no extra crates to compile in CI) and
beside the schemathesis and Locust tools that are Python anyway.

Chromium runs with the network switches a closed machine needs: without
`--disable-background-networking` and friends it keeps trying to reach its
vendor's hosts, and every try is refused here.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHROMIUM_BIN = "/usr/bin/chromium"
CHROMEDRIVER_BIN = "/usr/bin/chromedriver"

# How long a page may take to load before the step fails.
PAGE_LOAD_TIMEOUT_S = 20
# The tallest full-page screenshot taken, in CSS pixels; a page longer than
# this is cut (a runaway page must not fill the disk).
SCREENSHOT_HEIGHT_MAX_PX = 6000

DESKTOP = {"name": "desktop", "width": 1280, "height": 900, "mobile": False}
# An iPhone 12-to-15-sized viewport, emulated as a touch device so the page's
# viewport meta tag is honoured the way a phone honours it.
PHONE = {"name": "phone", "width": 390, "height": 844, "mobile": True}


def start_chromium(viewport: dict) -> tuple[webdriver.Chrome, str]:
    """A fresh headless chromium with an empty profile; returns it and the profile dir."""
    for path in (CHROMIUM_BIN, CHROMEDRIVER_BIN):
        if shutil.which(path) is None:
            raise RuntimeError(f"{path} is missing: apt-get install chromium chromium-driver")
    profile = tempfile.mkdtemp(prefix="boxoffice-e2e-chromium-")
    options = Options()
    options.binary_location = CHROMIUM_BIN
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if viewport["mobile"]:
        options.add_experimental_option(
            "mobileEmulation",
            {
                "deviceMetrics": {
                    "width": viewport["width"],
                    "height": viewport["height"],
                    "pixelRatio": 2.0,
                    "touch": True,
                    "mobile": True,
                },
                "userAgent": (
                    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
                ),
            },
        )
    else:
        options.add_argument(f"--window-size={viewport['width']},{viewport['height']}")
    service = Service(executable_path=CHROMEDRIVER_BIN)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
    driver.set_script_timeout(PAGE_LOAD_TIMEOUT_S)
    return driver, profile


def full_page_screenshot(driver: webdriver.Chrome, path: Path) -> None:
    """The whole page, not only the viewport, through the DevTools protocol."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        viewport = metrics.get("cssLayoutViewport") or metrics["layoutViewport"]
        width = max(int(size["width"]), int(viewport["clientWidth"]))
        height = min(max(int(size["height"]), int(viewport["clientHeight"])), SCREENSHOT_HEIGHT_MAX_PX)
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
    except Exception:  # noqa: BLE001 - a viewport shot is still worth having
        driver.save_screenshot(str(path))
