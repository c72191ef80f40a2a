"""Real ids for schemathesis to use some of the time.

Random strings almost never name the demo organizer, a live cart or a paid
order, so a fuzzer left alone would test little but the 404 paths. Before
the run this module reads the demo's events, items and quotas from the API,
makes a live cart, a pending order and a paid order through the API, reads
the check-in lists from the (admin) check-in page, and writes a
`schemathesis.toml` whose dictionaries bind those values to the matching
path, query and body parameters with a probability below 1: the fuzzer
then reaches the handlers' real work (holds, checkouts, payments, scans)
and still tries unknown ids the rest of the time.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from shopproc import ADMIN_PASSWORD

# Organizer the shop's demo data lives under.
DEMO_ORGANIZER = "demo"
# How often a bound parameter takes a real value instead of a generated one.
REAL_VALUE_PROBABILITY = 0.7
# Deadline of one set-up request, in seconds.
REQUEST_TIMEOUT_S = 10


class Client:
    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method: str, path: str, body=None, form=None) -> tuple[int, str, str]:
        """(status, body text, final URL after redirects)."""
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", "X-Idempotency-Key": f"e2e-{uuid.uuid4()}"}
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT_S) as answer:
                return answer.status, answer.read().decode(errors="replace"), answer.url
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), error.url

    def json(self, method: str, path: str, body=None, expect: int = 200) -> dict:
        status, text, _ = self.call(method, path, body=body)
        if status != expect:
            raise RuntimeError(
                f"setting up schemathesis: {method} {path} answered {status}, not {expect}: {text[:300]}"
            )
        return json.loads(text) if text else {}


def collect(base_url: str) -> dict[str, list]:
    """Real values of each parameter, from the demo data and a few purchases."""
    client = Client(base_url)
    api = f"/api/v1/organizers/{DEMO_ORGANIZER}/events"
    events = [e["slug"] for e in client.json("GET", f"{api}/")["results"]]
    if not events:
        raise RuntimeError(f"setting up schemathesis: organizer {DEMO_ORGANIZER} has no events")
    values: dict[str, list] = {"events": events, "items": [], "quotas": [], "carts": [], "orders": [], "tokens": []}
    values["secrets"] = []
    values["lists"] = []
    for event in events:
        items = client.json("GET", f"{api}/{event}/items/")["results"]
        values["items"] += [item["id"] for item in items]
        values["quotas"] += sorted({quota for item in items for quota in item["quotas"]})
        on_sale = [item["id"] for item in items if item["available"]]
        if not on_sale:
            continue
        lines = [{"item": on_sale[0], "quantity": 1}]
        # A live cart, a pending order and a paid order (whose secret shows).
        values["carts"].append(client.json("POST", f"{api}/{event}/carts/", {"lines": lines}, expect=201)["id"])
        for pay in (False, True):
            cart = client.json("POST", f"{api}/{event}/carts/", {"lines": lines}, expect=201)["id"]
            contact = {"cart": cart, "name": "Schema Thesis", "email": "st@example.org"}
            order = client.json("POST", f"{api}/{event}/orders/", contact, expect=201)
            values["orders"].append(order["id"])
            values["tokens"].append(order["token"])
            if pay:
                client.json("POST", f"{api}/{event}/orders/{order['id']}/pay/?token={order['token']}", {})
                paid = client.json("GET", f"{api}/{event}/orders/{order['id']}/?token={order['token']}")
                values["secrets"] += [p["secret"] for p in paid["positions"] if p.get("secret")]
    values["lists"] = checkin_lists(client, events)
    return values


def checkin_lists(client: Client, events: list[str]) -> list[int]:
    """The check-in list ids shown on each event's check-in page, after an admin login."""
    status, html, _ = client.call("GET", "/admin/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    if status != 200 or not csrf:
        raise RuntimeError(f"setting up schemathesis: no login form at /admin/login ({status})")
    status, _, url = client.call(
        "POST", "/admin/login", form={"csrf": csrf.group(1), "next": "/admin/", "password": ADMIN_PASSWORD}
    )
    if status != 200 or "/admin/login" in url:
        raise RuntimeError(f"setting up schemathesis: the admin login failed ({status}, at {url})")
    lists: list[int] = []
    for event in events:
        _, html, _ = client.call("GET", f"/{DEMO_ORGANIZER}/{event}/checkin")
        lists += [int(v) for v in re.findall(r'<option value="(\d+)"', html)]
    return lists


def toml_list(values: list) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def write_config(values: dict[str, list], path: Path) -> Path:
    """A schemathesis.toml binding the real values to the API's parameter names."""
    dictionaries = {
        "organizers": [DEMO_ORGANIZER],
        "events": values["events"],
        "items": values["items"],
        "quotas": values["quotas"],
        "carts": values["carts"],
        "orders": values["orders"],
        "tokens": values["tokens"],
        "secrets": values["secrets"],
        "lists": values["lists"],
        # A few tickets, which the demo's quotas can still sell; a random
        # u32 is nearly always "sold out".
        "quantities": [1, 2],
    }
    bindings = {
        "path.organizer": "organizers",
        "path.event": "events",
        "path.quota": "quotas",
        "path.cart": "carts",
        "path.order": "orders",
        "path.list": "lists",
        "query.token": "tokens",
        "body.lines[*].item": "items",
        "body.lines[*].quantity": "quantities",
        "body.cart": "carts",
        "body.secret": "secrets",
    }
    lines = ["# Written by shop/e2e/api_fixtures.py for one run; see its docstring.", ""]
    for name, entries in dictionaries.items():
        if entries:
            lines += [f"[dictionaries.{name}]", f"values = {toml_list(entries)}", ""]
    lines.append("[parameters]")
    for key, name in bindings.items():
        if dictionaries[name]:
            lines.append(f'"{key}" = {{ dictionary = "{name}", probability = {REAL_VALUE_PROBABILITY} }}')
    path.write_text("\n".join(lines) + "\n")
    return path
