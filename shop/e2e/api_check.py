"""schemathesis against the OpenAPI document a running shop serves.

Why schemathesis: the API's document is generated from the code (utoipa), so
it can drift from what the handlers really answer. schemathesis reads the
served document, generates requests from it (valid ones and broken ones), and
checks every answer: no 5xx, the body matches the schema declared for its
status, and the status is one the document lists. It finds the gap between
the two without anyone writing a case by hand.

The run is bounded in examples per operation and in wall time, so it fits in
CI on 2 cores; `--seed` makes it repeatable, and the seed is printed. Real
ids (demo events, a live cart, orders, a ticket secret) are bound to the
parameters part of the time (`api_fixtures.py`), so requests reach the
handlers' real work and not only their 404s.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import api_fixtures
from shopproc import API_TOKEN

# Checks that must pass; the bar is 0 server errors and 0 schema mismatches.
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"
# Examples per API operation and phase; 40 finds the usual edge cases
# (empty, huge, unicode, negative numbers) without running for long.
MAX_EXAMPLES = int(os.environ.get("E2E_API_MAX_EXAMPLES", "40"))
# The whole run's time budget; schemathesis stops generating when it is spent.
MAX_TIME_S = int(os.environ.get("E2E_API_MAX_TIME_S", "240"))
# Past the budget, this much more for schemathesis to finish and write reports
# before it is killed.
KILL_GRACE_S = 120
# A fixed seed, so a CI failure replays the same requests; override to explore.
SEED = int(os.environ.get("E2E_API_SEED", "20261101"))
# Concurrent workers: the machine has 2 cores and the shop needs one.
WORKERS = os.environ.get("E2E_API_WORKERS", "2")
# Most lines of schemathesis' failure report printed (the log has them all).
FAILURE_LINES_SHOWN_MAX = 300
# One answer may take this long before it counts as a failure of the run.
REQUEST_TIMEOUT_S = 10


def schemathesis_bin() -> str:
    """schemathesis from the same venv as this interpreter, else from PATH."""
    beside = Path(sys.executable).parent / "schemathesis"
    return str(beside) if beside.exists() else "schemathesis"


def run(base_url: str, artifacts: Path) -> tuple[bool, str]:
    """Runs schemathesis; returns (passed, one-line detail). Output goes to a log file."""
    artifacts.mkdir(parents=True, exist_ok=True)
    log_path = artifacts / "schemathesis.log"
    report_dir = artifacts / "schemathesis-report"
    values = api_fixtures.collect(base_url)
    config = api_fixtures.write_config(values, artifacts / "schemathesis.toml")
    print("api: real values bound: " + ", ".join(f"{len(v)} {k}" for k, v in values.items()), flush=True)
    args = [
        schemathesis_bin(),
        "--config-file",
        str(config),
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--url",
        base_url,
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(MAX_TIME_S),
        "--seed",
        str(SEED),
        "--workers",
        WORKERS,
        # Check-in needs the API token; with it the fuzzer reaches the handler.
        "--header",
        f"Authorization: Bearer {API_TOKEN}",
        "--request-timeout",
        str(REQUEST_TIMEOUT_S),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--generation-database",
        "none",
        "--report",
        "junit,ndjson",
        "--report-dir",
        str(report_dir),
        "--no-color",
        "--output-truncate",
        "false",
        # The token is this run's own; unsanitized, each failure's curl line replays as is.
        "--output-sanitize",
        "false",
        "--warnings",
        "off",
        "--suppress-health-check",
        "too_slow,filter_too_much",
    ]
    print("$ " + " ".join(args), flush=True)
    with open(log_path, "w") as log:
        try:
            done = subprocess.run(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=artifacts,  # schemathesis keeps replay data in ./.schemathesis
                timeout=MAX_TIME_S + KILL_GRACE_S,
            )
        except subprocess.TimeoutExpired:
            return False, f"schemathesis ran past {MAX_TIME_S + KILL_GRACE_S} s and was killed; see {log_path}"
    tail = log_path.read_text(errors="replace").splitlines()
    summary = next((line for line in reversed(tail) if line.strip().startswith("=")), tail[-1] if tail else "")
    if done.returncode != 0:
        # CI keeps only what is printed: show the failures with their curl lines.
        text = "\n".join(tail)
        start, end = text.find("= FAILURES ="), text.find("= SUMMARY =")
        excerpt = (
            text[text.rfind("\n", 0, start) + 1 : text.rfind("\n", 0, end)]
            if 0 <= start < end
            else "\n".join(tail[-40:])
        )
        lines = excerpt.splitlines()
        print("\n".join(lines[:FAILURE_LINES_SHOWN_MAX]), flush=True)
        if len(lines) > FAILURE_LINES_SHOWN_MAX:
            print(f"[... {len(lines) - FAILURE_LINES_SHOWN_MAX} more lines in {log_path}]", flush=True)
        return False, f"schemathesis exited {done.returncode}: {summary.strip(' =')}; see {log_path}"
    return True, summary.strip(" =")
