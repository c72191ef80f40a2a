"""A real `boxoffice-shop` process for one test run, on a fresh data directory.

Why a process and not an in-process server: these tests are what a person
sees, so they run the same binary a person runs, with its own demo data, its
own embedded engine, and its own command line. The process always ends with
the run (`ShopProcess` is a context manager, and `stop()` is idempotent), so
no shop is left listening after a failure.

Each run takes a random loopback address (127.0.0.2 to 127.0.0.254) and a
port the kernel reports free there, so two runs on one machine, or a
developer's own shop on 127.0.0.1:8080, never collide.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

# How long the shop may take from exec to answering /ready. The embedded
# engine opens its log and loads the demo data on first start.
READY_TIMEOUT_S = 60.0
# How long a polite SIGTERM may take before the process is killed.
STOP_GRACE_S = 10.0
# How often /ready is polled while waiting.
READY_POLL_INTERVAL_S = 0.2

# The admin password and the API bearer token, given to the shop through
# the environment variables its --help names; the browser logs in with the
# first, schemathesis and Locust's door staff send the second. Not secrets:
# the shop lives only for this run.
ADMIN_PASSWORD = "e2e-admin-password"
API_TOKEN = "e2e-api-token-for-this-run-only"  # the shop wants at least 16 characters
SECRET_ENV = {
    "BOXOFFICE_SHOP_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "BOXOFFICE_SHOP_API_TOKEN": API_TOKEN,
}


def free_loopback_address() -> tuple[str, int]:
    """A random 127.0.0.x address and a port that was free on it a moment ago."""
    host = f"127.0.0.{random.randint(2, 254)}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return host, probe.getsockname()[1]


class ShopProcess:
    """Starts `binary` on a temp data dir and a free loopback port; stops it on exit."""

    def __init__(self, binary: str, log_dir: Path, name: str = "shop", extra_args: list[str] | None = None):
        self.binary = str(Path(binary).resolve())
        self.log_dir = log_dir
        self.name = name
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen | None = None
        self.data_dir: str | None = None
        self.base_url = ""
        self.log_path = log_dir / f"{name}.log"
        self._log_file = None

    def __enter__(self) -> "ShopProcess":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError(f"shop binary {self.binary} is missing or not executable: build it first")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = tempfile.mkdtemp(prefix="boxoffice-shop-e2e-")
        host, port = free_loopback_address()
        self.base_url = f"http://{host}:{port}"
        args = [
            self.binary,
            "--listen",
            f"{host}:{port}",
            "--data-dir",
            self.data_dir,
            *self.extra_args,
        ]
        env = dict(os.environ)
        env.update(SECRET_ENV)
        env.setdefault("RUST_LOG", "info")
        self._log_file = open(self.log_path, "wb")
        self._log_file.write(("$ " + " ".join(args) + "\n").encode())
        self._log_file.flush()
        # A new session, so stop() can signal the shop and anything it spawned.
        self.proc = subprocess.Popen(
            args,
            cwd=self.data_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the shop exited with code {self.proc.returncode} before it was ready; "
                    f"its log ({self.log_path}) ends with:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.base_url + "/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
                    last_error = f"/ready answered {answer.status}"
            except urllib.error.HTTPError as error:
                last_error = f"/ready answered {error.code}"
            except OSError as error:
                last_error = str(error)
            time.sleep(READY_POLL_INTERVAL_S)
        raise RuntimeError(
            f"the shop was not ready at {self.base_url}/ready within {READY_TIMEOUT_S:.0f} s "
            f"(last: {last_error}); its log ends with:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 12) -> str:
        """The log's first and last `lines` lines: an error sits at the top, above any backtrace."""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        if len(text) <= 2 * lines:
            return "\n".join(text)
        return "\n".join([*text[:lines], f"[... {len(text) - 2 * lines} lines ...]", *text[-lines:]])

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=STOP_GRACE_S)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
