#!/usr/bin/env python3
"""The shop's out-of-process tests, as CI runs them: browser flow, then schemathesis.

    python3 shop/e2e/run.py --shop-bin target/debug/boxoffice-shop

Each part gets its own `boxoffice-shop` on a fresh data directory and a free
loopback address, so the fuzzer's carts and orders never change what the
browser sees. A part fails if its checks fail, or if the shop died or logged
a panic while it ran. Installs nothing: `.ci/run` installs chromium,
chromium-driver and `requirements.txt`. The whole run is bounded by
`RUN_TIMEOUT_S`; every shop and browser is stopped on the way out.

The last line is `e2e: N passed, N failed`.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_check  # noqa: E402
import browser  # noqa: E402
from flow import Flow  # noqa: E402
from shopproc import ShopProcess  # noqa: E402

# The whole run, browser and API together; past it the run fails and stops
# its shops. The parts' own bounds (page waits, schemathesis' --max-time)
# keep a healthy run at about a third of this.
RUN_TIMEOUT_S = int(os.environ.get("E2E_RUN_TIMEOUT_S", "900"))
# A line the shop's log must never hold: a handler that panicked.
PANIC = re.compile(r"panicked at")


class RunTimeout(BaseException):
    """A BaseException, so no step's `except Exception` swallows it."""

    pass


def on_alarm(signum, frame):  # noqa: ARG001
    raise RunTimeout(f"the e2e run passed its bound of {RUN_TIMEOUT_S} s")


def shop_health(shop: ShopProcess) -> list[str]:
    """What went wrong with the shop process itself while a part ran."""
    problems = []
    if not shop.alive():
        problems.append(f"the shop exited (code {shop.proc.returncode}); its log:\n{shop.log_tail()}")
    log = shop.log_path.read_text(errors="replace") if shop.log_path.exists() else ""
    panics = [line for line in log.splitlines() if PANIC.search(line)]
    if panics:
        problems.append(f"the shop logged {len(panics)} panic(s), first: {panics[0].strip()[:300]}")
    return problems


def run_browser(shop_bin: str, artifacts: Path, results: list) -> None:
    with ShopProcess(shop_bin, artifacts, name="shop-browser") as shop:
        print(f"browser: shop at {shop.base_url} (log {shop.log_path})", flush=True)
        for viewport in (browser.DESKTOP, browser.PHONE):
            flow = Flow(shop.base_url, artifacts, viewport)
            outcome = flow.run()
            for name, ok, detail in outcome.steps:
                print(f"  {viewport['name']:7} {name:24} {'ok  ' if ok else 'FAIL'} {detail}", flush=True)
            problems = shop_health(shop)
            passed = outcome.passed and not problems
            detail = "; ".join(problems) or (
                f"{len(outcome.steps)} steps, {len(outcome.screenshots)} screenshots"
                if outcome.passed
                else next(d for _, ok, d in outcome.steps if not ok)
                if outcome.steps
                else "no step ran"
            )
            results.append(
                (f"browser flow ({viewport['name']} {viewport['width']}x{viewport['height']})", passed, detail)
            )


def run_api(shop_bin: str, artifacts: Path, results: list) -> None:
    with ShopProcess(shop_bin, artifacts, name="shop-api") as shop:
        print(f"api: shop at {shop.base_url} (log {shop.log_path})", flush=True)
        passed, detail = api_check.run(shop.base_url, artifacts)
        problems = shop_health(shop)
        results.append(
            ("schemathesis on /api/v1/openapi.json", passed and not problems, "; ".join([detail, *problems]))
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shop-bin", required=True, help="path to a built boxoffice-shop")
    parser.add_argument(
        "--artifacts",
        default=os.environ.get("E2E_ARTIFACTS", "target/e2e-artifacts"),
        help="where screenshots, shop logs and reports go (default target/e2e-artifacts, or $E2E_ARTIFACTS)",
    )
    parser.add_argument("--only", choices=["browser", "api"], help="run one part only")
    args = parser.parse_args()

    artifacts = Path(args.artifacts).resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "browser"):
        for old in [*artifacts.glob("*.png"), *artifacts.glob("*-FAILED.html")]:
            old.unlink()  # no screenshot of an earlier run may pass for this one's
    print(f"artifacts: {artifacts}", flush=True)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(RUN_TIMEOUT_S)
    started = time.monotonic()
    results: list[tuple[str, bool, str]] = []
    parts = [("browser", run_browser), ("api", run_api)]
    for name, part in parts:
        if args.only and args.only != name:
            continue
        try:
            part(args.shop_bin, artifacts, results)
        except Exception as error:  # noqa: BLE001 - a part that cannot run has failed
            results.append((name, False, f"{type(error).__name__}: {error}"))
    signal.alarm(0)

    print(f"\nshop e2e summary ({time.monotonic() - started:.0f} s, artifacts in {artifacts}):")
    for name, ok, detail in results:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: {detail}")
    passed = sum(1 for _, ok, _ in results if ok)
    failed = len(results) - passed
    print(f"e2e: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
