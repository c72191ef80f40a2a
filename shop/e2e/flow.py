"""The buyer's and the door steward's way through the shop, in a real browser.

One flow, run once at a desktop size and once at a phone size:

 1. `/` sends the browser to the demo organizer's events.
 2. The demo event's page lists its items with availability.
 3. A quantity of 1 goes into the cart; the cart page shows a countdown.
 4. Checkout with a name and an email makes a pending order.
 5. The pay button marks it paid; the order page then shows each ticket's
    secret and its QR code as an inline <svg>.
 6. An admin logs in and opens the event's check-in page.
 7. The secret is checked in: VALID.
 8. The same secret again: ALREADY USED, refused.
 9. A made-up secret: INVALID.

Every step saves a full-page screenshot, whether it passed or not, named
`<viewport>-<nn>-<step>.png` (and the checkout and login steps one of the
filled form before sending it); a failing step also saves the page's HTML.
A failure says which step, what was expected and what the page showed.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

import browser
from shopproc import ADMIN_PASSWORD

# How long one step may wait for the page it expects.
STEP_WAIT_S = 15
# How many characters of the page's text a failure message quotes.
FAILURE_TEXT_CHARS = 600
# The organizer `/` redirects to.
DEMO_ORGANIZER = "demo"

ORDER_PATH = re.compile(r"^/(?P<org>[^/]+)/(?P<event>[^/]+)/order/(?P<order>[^/]+)/(?P<token>[^/]+)/?$")
# A countdown as a person reads it: "29:58", "0:59" or "1:02:03".
COUNTDOWN_TEXT = re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\b")


class StepFailed(AssertionError):
    pass


@dataclass
class FlowResult:
    viewport: str
    steps: list[tuple[str, bool, str]] = field(default_factory=list)  # (name, passed, detail)
    screenshots: list[Path] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(ok for _, ok, _ in self.steps)


class Flow:
    def __init__(self, base_url: str, artifacts: Path, viewport: dict):
        self.base = base_url.rstrip("/")
        self.artifacts = artifacts
        self.viewport = viewport
        self.result = FlowResult(viewport["name"])
        self.driver = None
        self._profile = None
        self._shot_index = 0
        # Learned along the way.
        self.event_path = ""  # "/demo/<event>"
        self.secret = ""
        self.order_url = ""

    # ------------------------------------------------------------------ helpers

    def url(self, path: str) -> str:
        return self.base + path

    def path(self) -> str:
        return urlparse(self.driver.current_url).path

    def body_text(self) -> str:
        try:
            return self.driver.find_element(By.TAG_NAME, "body").text
        except WebDriverException:
            return ""

    def fail(self, expected: str) -> None:
        text = " ".join(self.body_text().split())[:FAILURE_TEXT_CHARS]
        raise StepFailed(f"expected {expected}; the browser is at {self.driver.current_url}, page text: {text!r}")

    def wait_for(self, what: str, condition, timeout: float = STEP_WAIT_S):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(lambda d: condition())
        except TimeoutException:
            self.fail(what)

    def find(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def one(self, css: str, what: str) -> WebElement:
        found = self.find(css)
        if not found:
            self.fail(f"{what} (CSS {css})")
        return found[0]

    def submit(self, form: WebElement) -> None:
        """Clicks the form's submit button, as a person would, and waits for the next page."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        buttons = form.find_elements(By.CSS_SELECTOR, "button[type=submit], input[type=submit], button:not([type])")
        if buttons:
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", buttons[0])
            buttons[0].click()
        else:
            form.submit()
        self.wait_for("the next page to load after submitting the form", lambda: self._stale(old))
        self.wait_for(
            "the page to finish loading",
            lambda: self.driver.execute_script("return document.readyState") == "complete",
        )

    @staticmethod
    def _stale(element: WebElement) -> bool:
        try:
            element.is_enabled()
            return False
        except WebDriverException:
            return True

    def screenshot(self, step: str) -> Path:
        self._shot_index += 1
        path = self.artifacts / f"{self.viewport['name']}-{self._shot_index:02d}-{step}.png"
        browser.full_page_screenshot(self.driver, path)
        self.result.screenshots.append(path)
        return path

    def step(self, name: str, action) -> None:
        """Runs one step, screenshots the page after it, and records the outcome."""
        started = time.monotonic()
        try:
            detail = action() or ""
        except Exception as error:  # noqa: BLE001 - any failure is this step's
            elapsed = time.monotonic() - started
            detail = f"{type(error).__name__}: {error}".strip()
            try:
                self.screenshot(f"{name}-FAILED")
                html = self.artifacts / f"{self.viewport['name']}-{name}-FAILED.html"
                html.write_text(self.driver.page_source)
            except WebDriverException:
                pass
            self.result.steps.append((name, False, f"{detail} ({elapsed:.1f} s)"))
            raise
        self.screenshot(name)
        self.result.steps.append((name, True, f"{detail} ({time.monotonic() - started:.1f} s)".strip()))

    # -------------------------------------------------------------------- steps
    # Element names and ids are the shop's templates' (shop/templates/*.html).

    def home_redirects_to_demo(self) -> str:
        self.driver.get(self.url("/"))
        self.wait_for(f"/ to redirect to /{DEMO_ORGANIZER}/", lambda: self.path() == f"/{DEMO_ORGANIZER}/")
        links = self.find("a.event-link")
        if not links:
            self.fail(f"links to the events of /{DEMO_ORGANIZER}/ (a.event-link)")
        self.event_path = urlparse(links[0].get_attribute("href")).path.rstrip("/")
        names = ", ".join(link.text for link in links)
        return f"{len(links)} event(s): {names}; first {self.event_path}/"

    def event_page_lists_items(self) -> str:
        self.one("a.event-link", "the first event's link").click()
        self.wait_for(f"the event page {self.event_path}/", lambda: self.path() == self.event_path + "/")
        items = self.wait_for("the event's items (.item)", lambda: self.find(".item"))
        form = self.one(f"form[action='{self.event_path}/cart/add']", "the add-to-cart form")
        csrf = form.find_elements(By.CSS_SELECTOR, "input[type=hidden][name=csrf]")
        if not csrf or not csrf[0].get_attribute("value"):
            self.fail("a hidden, non-empty CSRF field in the add-to-cart form")
        if not form.find_elements(By.CSS_SELECTOR, "input[name^='item_']"):
            self.fail("quantity inputs named item_<id>")
        shown = [" ".join(e.text.split()) for e in self.find(".item .availability")]
        if len(shown) != len(items) or not all(
            re.fullmatch(r"\d+ left|available|sold out|not on sale", t) for t in shown
        ):
            self.fail(f"an availability per item ('N left', 'available', 'sold out'), got {shown}")
        return f"{len(items)} item(s), availability {shown}"

    def add_to_cart_shows_countdown(self) -> str:
        quantity = next((i for i in self.find("input[name^='item_']") if i.is_enabled()), None)
        if quantity is None:
            self.fail("an enabled quantity input (every item sold out?)")
        quantity.clear()
        quantity.send_keys("1")
        self.submit(self.one(f"form[action='{self.event_path}/cart/add']", "the add-to-cart form"))
        self.wait_for("the cart page", lambda: self.path() == self.event_path + "/cart")
        lines = self.find(".cart-line")
        if len(lines) != 1:
            self.fail(f"one line in the cart, found {len(lines)}")
        countdown = self.one("#countdown", "the cart's countdown (#countdown)")
        first = countdown.text.strip()
        if not COUNTDOWN_TEXT.fullmatch(first):
            self.fail(f"a countdown like 29:59, got {first!r}")
        # The page's script ticks it once a second; two ticks prove it runs.
        self.wait_for(
            "the countdown to tick down",
            lambda: countdown.text.strip() != first and COUNTDOWN_TEXT.fullmatch(countdown.text.strip()),
            timeout=5,
        )
        return f"countdown {first} -> {countdown.text.strip()}, total {self.one('#total', 'the total').text}"

    def checkout_makes_pending_order(self) -> str:
        self.one(f"a[href='{self.event_path}/checkout']", "the 'Check out' link").click()
        self.wait_for("the checkout page", lambda: self.path() == self.event_path + "/checkout")
        form = self.one(f"form[action='{self.event_path}/checkout']", "the checkout form")
        form.find_element(By.NAME, "name").send_keys("Ada Lovelace")
        form.find_element(By.NAME, "email").send_keys("ada@example.org")
        self.screenshot("checkout-form")
        self.submit(form)
        self.wait_for("the order page /{org}/{event}/order/{id}/{token}", lambda: ORDER_PATH.match(self.path()))
        self.order_url = self.driver.current_url
        status = self.order_status("pending")
        self.one("#pay", "the pay button (#pay)")
        if self.find(".ticket code.secret"):
            self.fail("no ticket secret before payment")
        return f"{self.path()} status {status!r}"

    def pay_shows_qr_and_secret(self) -> str:
        pay = self.one("#pay", "the pay button (#pay)")
        self.submit(pay.find_element(By.XPATH, "./ancestor::form"))
        self.wait_for("the order page again after paying", lambda: ORDER_PATH.match(self.path()))
        status = self.order_status("paid")
        tickets = self.find(".ticket")
        if len(tickets) != 1:
            self.fail(f"one ticket on the paid order, found {len(tickets)}")
        svg = tickets[0].find_elements(By.CSS_SELECTOR, ".qr svg")
        if not svg:
            self.fail("the ticket's QR code as an inline <svg> (.ticket .qr svg)")
        box = svg[0].size
        if box["width"] < 100 or box["height"] < 100:
            self.fail(f"a QR code at least 100x100 px on screen, it is {box['width']}x{box['height']}")
        secrets = tickets[0].find_elements(By.CSS_SELECTOR, "code.secret")
        self.secret = secrets[0].text.strip() if secrets else ""
        if len(self.secret) < 8:
            self.fail(f"the ticket's secret as text (code.secret), got {self.secret!r}")
        qr = f"{box['width']}x{box['height']} px"
        return f"status {status!r}, QR {qr}, secret {self.secret[:6]}... ({len(self.secret)} chars)"

    def order_status(self, expected: str) -> str:
        """The order page's status text, after checking its class is `status-<expected>`."""
        status = self.one("#order-status", "the order's status (#order-status)")
        classes = (status.get_attribute("class") or "").split()
        if f"status-{expected}" not in classes:
            self.fail(f"the order {expected} (class status-{expected}), it shows {status.text!r} (class {classes})")
        return status.text

    def admin_login(self) -> str:
        checkin = self.event_path + "/checkin"
        self.driver.get(self.url(checkin))
        self.wait_for("the check-in page to send a stranger to /admin/login", lambda: self.path() == "/admin/login")
        form = self.one("form[action='/admin/login']", "the login form")
        form.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(ADMIN_PASSWORD)
        self.screenshot("admin-login-form")
        self.submit(form)
        if self.find("#error-message"):
            self.fail("the login to succeed")
        self.wait_for(f"the login to lead back to {checkin}", lambda: self.path() == checkin)
        self.one(f"form[action='{checkin}'] input[name=secret]", "the secret field")
        return f"logged in, back at {self.path()}"

    def check_in(self, secret: str, word: str, css_class: str) -> str:
        checkin = self.event_path + "/checkin"
        field_ = self.one(f"form[action='{checkin}'] input[name=secret]", "the secret field on the check-in page")
        field_.clear()
        field_.send_keys(secret)
        self.submit(field_.find_element(By.XPATH, "./ancestor::form"))
        result = self.one("#checkin-result", "the door's answer (#checkin-result)")
        shown = result.text.strip()
        classes = (result.get_attribute("class") or "").split()
        if shown != word or css_class not in classes:
            self.fail(f"the answer {word} (class {css_class}), got {shown!r} (class {classes})")
        detail = self.find("#checkin-detail")
        return f"answer {shown!r}: {detail[0].text if detail else ''}"

    # --------------------------------------------------------------------- run

    def run(self) -> FlowResult:
        self.driver, self._profile = browser.start_chromium(self.viewport)
        try:
            self.step("organizer", self.home_redirects_to_demo)
            self.step("event", self.event_page_lists_items)
            self.step("cart", self.add_to_cart_shows_countdown)
            self.step("order-pending", self.checkout_makes_pending_order)
            self.step("order-paid", self.pay_shows_qr_and_secret)
            self.step("admin-login", self.admin_login)
            self.step("checkin-valid", lambda: self.check_in(self.secret, "VALID", "valid"))
            self.step("checkin-again-refused", lambda: self.check_in(self.secret, "ALREADY USED", "used"))
            self.step("checkin-unknown-invalid", lambda: self.check_in("not-a-ticket-secret", "INVALID", "invalid"))
        except Exception:  # noqa: BLE001 - recorded by step(); the caller reads result
            pass
        finally:
            try:
                self.driver.quit()
            finally:
                shutil.rmtree(self._profile, ignore_errors=True)
        return self.result
