"""Load on a boxoffice shop: people browsing, buying and being let in.

Why Locust: a load test of a shop is a story of people (browse, then maybe
buy, then arrive at the door), and Locust writes each kind of person as a
small Python class with a weight, runs thousands of them on gevent, and
reports requests per second and percentiles per route, headless or in a web
UI. wrk or oha measure one URL; this measures the whole purchase.

Three kinds of user, weighted 6 : 3 : 1:

- `Browser` looks at the organizer's events, the event page (the HTML a
  buyer sees, with live availability) and the items API.
- `Buyer` buys through the JSON API: cart -> order -> pay -> read the
  tickets. Every write carries a fresh `X-Idempotency-Key`; a 503 `try_again`
  or a dropped connection is retried with the same key (bounded), as the API
  asks, so a retry never buys twice. Sold out (409) and the waiting room
  (429) are answers, not failures; they are counted and printed at the end.
- `DoorStaff` redeems the secrets the buyers were given at the check-in API
  (bearer token), and scans some a second time, which must be refused as
  `already_redeemed`.

Configure with environment variables (all optional but the two secrets
needed for check-in and for --setup):

    BOXOFFICE_ORG              organizer slug (default demo)
    BOXOFFICE_EVENT            event slug (default: the organizer's first event)
    BOXOFFICE_CHECKIN_LIST     check-in list id (default: the event's first,
                               from GET .../checkinlists/ with the API token)
    BOXOFFICE_API_TOKEN        the shop's API token (check-in needs it)
    BOXOFFICE_ADMIN_PASSWORD   the shop's admin password
    BOXOFFICE_THINK_SCALE      scale of the pauses between a user's tasks
                               (default 1; 0 measures throughput)
    BOXOFFICE_LOCUST_SETUP=1   before the run, create a fresh event with one
                               item in a quota of BOXOFFICE_QUOTA_SIZE (default
                               1000000) and a check-in list, through the admin
                               pages, so a run measures selling, not "sold out"
    BOXOFFICE_RESCAN_PERCENT   share of scans repeated to check refusal (default 20)

See README.md for the command lines.
"""

from __future__ import annotations

import collections
import os
import random
import re
import threading
import time
import uuid

from locust import HttpUser, between, events, task
from locust.exception import StopUser

ORG = os.environ.get("BOXOFFICE_ORG", "demo")
EVENT = os.environ.get("BOXOFFICE_EVENT", "")
CHECKIN_LIST = os.environ.get("BOXOFFICE_CHECKIN_LIST", "")
API_TOKEN = os.environ.get("BOXOFFICE_API_TOKEN", "")
ADMIN_PASSWORD = os.environ.get("BOXOFFICE_ADMIN_PASSWORD", "")
SETUP = os.environ.get("BOXOFFICE_LOCUST_SETUP", "") not in ("", "0")
QUOTA_SIZE = int(os.environ.get("BOXOFFICE_QUOTA_SIZE", "1000000"))
RESCAN_PERCENT = int(os.environ.get("BOXOFFICE_RESCAN_PERCENT", "20"))

# How often one write is retried with the same idempotency key after an
# unknown outcome (503 try_again, a dropped connection), and the pause between.
WRITE_RETRIES_MAX = 3
WRITE_RETRY_PAUSE_S = 0.5
# Tickets per purchase, chosen uniformly from 1 to this.
TICKETS_PER_ORDER_MAX = 2
# Secrets waiting for the door; the oldest are dropped past this, so a run
# without door staff does not grow without bound.
SECRETS_WAITING_MAX = 100_000
# How long a user waits for another user to finish the shared setup.
SETUP_WAIT_S = 60
# Scale of every user's think time between tasks (1: people; 0: no pause, to
# measure how many purchases a second the shop sustains).
THINK_SCALE = float(os.environ.get("BOXOFFICE_THINK_SCALE", "1"))

API = "/api/v1/organizers"

# Shared by the users of this Locust process (each worker process has its own).
secrets_waiting: collections.deque[str] = collections.deque(maxlen=SECRETS_WAITING_MAX)
outcomes: collections.Counter[str] = collections.Counter()
target: dict = {}  # "event": slug, "items": [ids], "list": id
target_lock = threading.Lock()


def api(path: str) -> str:
    return f"{API}/{ORG}/events/{target['event']}/{path}"


def idempotency_key() -> str:
    return f"locust-{uuid.uuid4()}"


def error_code(response) -> str:
    try:
        return response.json().get("code", "") or response.json().get("reason", "")
    except ValueError:
        return ""


def write(user: HttpUser, method: str, path: str, name: str, ok: tuple[int, ...], answers: tuple[int, ...] = (), **kw):
    """A write with an idempotency key, retried with the same key while its outcome is unknown.

    `ok` statuses and `answers` (a decided "no", such as sold out) count as
    successes; the response is returned either way, or None if every try
    failed.
    """
    headers = {"X-Idempotency-Key": idempotency_key(), **kw.pop("headers", {})}
    for attempt in range(WRITE_RETRIES_MAX + 1):
        with user.client.request(method, path, name=name, headers=headers, catch_response=True, **kw) as response:
            unknown = response.status_code == 0 or (response.status_code == 503 and error_code(response) == "try_again")
            if response.status_code in ok or response.status_code in answers:
                response.success()
                return response
            if unknown and attempt < WRITE_RETRIES_MAX:
                outcomes["retried with the same key"] += 1
                response.success()  # counted once it is decided
                time.sleep(WRITE_RETRY_PAUSE_S)
                continue
            response.failure(f"{response.status_code} {error_code(response) or response.text[:120]}")
            return None
    return None


def discover(user: HttpUser) -> None:
    """Finds (or, with BOXOFFICE_LOCUST_SETUP, makes) the event, its items and its check-in list, once."""
    with target_lock:
        if target.get("ready"):
            return
        if SETUP:
            setup_event(user)
        event = target.get("event") or EVENT
        if not event:
            answer = user.client.get(f"{API}/{ORG}/events/", name="setup: events")
            answer.raise_for_status()
            results = answer.json()["results"]
            if not results:
                raise RuntimeError(f"organizer {ORG} has no events")
            event = results[0]["slug"]
        target["event"] = event
        answer = user.client.get(api("items/"), name="setup: items")
        answer.raise_for_status()
        target["items"] = [item["id"] for item in answer.json()["results"]]
        if not target.get("list"):
            target["list"] = CHECKIN_LIST or find_checkin_list(user)
        target["ready"] = True
        print(f"locust: {ORG}/{event}, items {target['items']}, check-in list {target['list'] or '(none)'}")


def admin_login(user: HttpUser) -> None:
    if not ADMIN_PASSWORD:
        raise RuntimeError("BOXOFFICE_ADMIN_PASSWORD is needed to read the check-in list or to set up an event")
    form = user.client.get("/admin/login", name="setup: admin login form")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    answer = user.client.post(
        "/admin/login",
        data={"csrf": csrf.group(1) if csrf else "", "next": "/admin/", "password": ADMIN_PASSWORD},
        name="setup: admin login",
    )
    if "/admin/login" in answer.url:
        raise RuntimeError("the admin login failed: check BOXOFFICE_ADMIN_PASSWORD")


def admin_form(user: HttpUser, page: str, action: str, fields: list[tuple[str, str]]):
    """Posts an admin form found on `page` with its CSRF token and a fresh idem field."""
    html = user.client.get(page, name="setup: admin page").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    data = [("csrf", csrf.group(1) if csrf else ""), ("idem", uuid.uuid4().hex), *fields]
    answer = user.client.post(action, data=data, name="setup: admin form")
    answer.raise_for_status()
    return answer


def setup_event(user: HttpUser) -> None:
    admin_login(user)
    slug = f"load-{int(time.time())}-{random.randint(0, 999):03d}"
    answer = admin_form(user, "/admin/", "/admin/events", [("org", ORG), ("name", f"Load test {slug}"), ("slug", slug)])
    match = re.search(r"/admin/events/(\d+)/", answer.url)
    if not match:
        raise RuntimeError(f"creating event {slug} did not lead to its admin page ({answer.url})")
    event_id = match.group(1)
    page = f"/admin/events/{event_id}/"
    admin_form(user, page, f"/admin/events/{event_id}/items", [("name", "Load ticket"), ("price_cents", "1000")])
    item = re.search(r'name="item" value="(\d+)"', user.client.get(page, name="setup: admin page").text)
    if not item:
        raise RuntimeError("the new item does not show on the event's admin page")
    admin_form(
        user,
        page,
        f"/admin/events/{event_id}/quotas",
        [("name", "Load quota"), ("size", str(QUOTA_SIZE)), ("item", item.group(1))],
    )
    admin_form(user, page, f"/admin/events/{event_id}/checkinlists", [("name", "Load door")])
    target["event"] = slug
    print(f"locust: set up event {ORG}/{slug} with a quota of {QUOTA_SIZE}")


def find_checkin_list(user: HttpUser) -> str:
    """The first check-in list of the event, from the API (needs the token)."""
    if not API_TOKEN:
        return ""  # no door staff without the token anyway
    answer = user.client.get(
        api("checkinlists/"), headers={"Authorization": f"Bearer {API_TOKEN}"}, name="setup: check-in lists"
    )
    answer.raise_for_status()
    results = answer.json()["results"]
    return str(results[0]["id"]) if results else ""


class ShopUser(HttpUser):
    abstract = True

    def on_start(self) -> None:
        deadline = time.monotonic() + SETUP_WAIT_S
        while True:
            try:
                discover(self)
                return
            except Exception as error:  # noqa: BLE001 - told once, then this user stops
                if time.monotonic() > deadline:
                    print(f"locust: cannot find the event to load: {error}")
                    raise StopUser() from error
                time.sleep(1)


class Browser(ShopUser):
    """Someone looking: the event page most, sometimes the events and the items API."""

    weight = 6
    wait_time = between(1 * THINK_SCALE, 3 * THINK_SCALE)

    @task(6)
    def event_page(self) -> None:
        with self.client.get(f"/{ORG}/{target['event']}/", name="GET /[org]/[event]/", catch_response=True) as r:
            if r.status_code == 200 and 'name="csrf"' not in r.text:
                r.failure("the event page has no add-to-cart form")
            elif r.status_code == 429 or (r.status_code == 200 and "waiting room" in r.text.lower()):
                outcomes["browser queued by the waiting room"] += 1
                r.success()

    @task(1)
    def organizer_page(self) -> None:
        self.client.get(f"/{ORG}/", name="GET /[org]/")

    @task(2)
    def items_api(self) -> None:
        self.client.get(api("items/"), name="GET items/")


class Buyer(ShopUser):
    """Someone buying through the API: cart, order, pay, read the tickets."""

    weight = 3
    wait_time = between(1 * THINK_SCALE, 5 * THINK_SCALE)

    @task
    def buy(self) -> None:
        items = self.available_items()
        if not items:
            outcomes["nothing left to buy"] += 1
            return
        lines = [{"item": random.choice(items), "quantity": random.randint(1, TICKETS_PER_ORDER_MAX)}]
        cart = write(self, "POST", api("carts/"), "POST carts/", ok=(201,), answers=(409, 429), json={"lines": lines})
        if cart is None:
            return
        if cart.status_code != 201:
            outcomes[f"cart refused: {error_code(cart)}"] += 1
            return
        cart_id = cart.json()["id"]
        body = {"cart": cart_id, "name": "Locust Buyer", "email": f"buyer-{uuid.uuid4().hex[:8]}@example.org"}
        order = write(self, "POST", api("orders/"), "POST orders/", ok=(201,), answers=(409,), json=body)
        if order is None or order.status_code != 201:
            if order is not None:
                outcomes[f"order refused: {error_code(order)}"] += 1
            return
        placed = order.json()
        token = placed["token"]
        paid = write(self, "POST", api(f"orders/{placed['id']}/pay/?token={token}"), "POST orders/[id]/pay/", ok=(200,))
        if paid is None:
            return
        outcomes[f"payment: {paid.json().get('status')}"] += 1
        got = self.client.get(api(f"orders/{placed['id']}/?token={token}"), name="GET orders/[id]/")
        if got.status_code == 200:
            for position in got.json()["positions"]:
                if position.get("secret"):
                    secrets_waiting.append(position["secret"])
        outcomes["tickets bought"] += sum(line["quantity"] for line in lines)

    def available_items(self) -> list[int]:
        answer = self.client.get(api("items/"), name="GET items/")
        if answer.status_code != 200:
            return []
        return [item["id"] for item in answer.json()["results"] if item["available"]]


class DoorStaff(ShopUser):
    """Scans tickets at the door; rescans some, which must be refused."""

    weight = 1
    wait_time = between(0.5 * THINK_SCALE, 2 * THINK_SCALE)

    def on_start(self) -> None:
        super().on_start()
        if not API_TOKEN or not target.get("list"):
            print("locust: no door staff (set BOXOFFICE_API_TOKEN, and the admin password or BOXOFFICE_CHECKIN_LIST)")
            raise StopUser()

    @task
    def scan(self) -> None:
        try:
            secret = secrets_waiting.popleft()
        except IndexError:
            return  # nobody at the door yet
        self.redeem(secret, expect="ok", name="POST redeem/ (first scan)")
        if random.randrange(100) < RESCAN_PERCENT:
            self.redeem(secret, expect="already_redeemed", name="POST redeem/ (rescan)")

    def redeem(self, secret: str, expect: str, name: str) -> None:
        answer = write(
            self,
            "POST",
            api(f"checkinlists/{target['list']}/redeem/"),
            name,
            ok=(201,),
            answers=(400,),
            json={"secret": secret, "nonce": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        )
        if answer is None:
            return
        got = answer.json().get("reason") or answer.json().get("status")
        outcomes[f"scan: {got}"] += 1
        if got != expect:
            events.request.fire(
                request_type="CHECK",
                name=f"{name}: expected {expect}",
                response_time=0,
                response_length=0,
                exception=AssertionError(f"expected {expect}, got {got}"),
            )


@events.test_stop.add_listener
def print_outcomes(**_kwargs) -> None:
    if outcomes:
        print("\nlocust outcomes (answers, not failures):")
        for what, count in sorted(outcomes.items()):
            print(f"  {what}: {count}")
