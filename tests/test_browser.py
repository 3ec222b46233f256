"""The sandbox page in a real browser: headless Chromium walks the README's five-minute tour.

`warroom serve` runs as `make demo` runs it (SQLite, no SLACK_BOT_TOKEN, so the built-in Slack
sandbox); Debian's Chromium, driven through Debian's chromedriver by Selenium, clicks through
``/sandbox`` as a person would: fire the sample critical alert, open the war room that appears,
press Acknowledge and I'm Incident Commander, type ``/incident status`` and the rest of the tour.

Screenshots of each step go to ``$WARROOM_ARTEFACTS`` (default ``tests/artefacts/``); with
``WARROOM_UPDATE_SCREENSHOTS=1`` (``make screenshots``) they are also copied to
``docs/screenshots/`` for the README. Without Chromium the test is skipped, except in CI.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.wait import WebDriverWait

from tests.cli import serving_sandbox
from tests.environment import IN_CI

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WINDOW = (1400, 1000)
WAIT = 20.0  # seconds for anything the bot does in the background
ARTEFACTS = Path(os.environ.get("WARROOM_ARTEFACTS") or ROOT / "tests" / "artefacts")
SCREENSHOTS = ROOT / "docs" / "screenshots"  # the README's pictures
UPDATE_SCREENSHOTS = os.environ.get("WARROOM_UPDATE_SCREENSHOTS", "") in ("1", "true", "yes")
# The page reloads itself when the workspace changes, so an element may go stale under us
# (or be missing for a moment); on a busy machine a driver command may also time out waiting
# for the renderer. A wait tries again on any of these rather than giving up at once.
RETRIED = (NoSuchElementException, StaleElementReferenceException, WebDriverException)


def _missing_browser() -> str | None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if not missing:
        return None
    return f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`warroom serve` in sandbox mode on a free port; its base URL. Stopped with SIGTERM,
    as an operator would."""
    with serving_sandbox(tmp_path) as (url, proc):
        yield url
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):  # else serving_sandbox kills it
            proc.wait(10)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    """Headless Debian Chromium. The driver's path is given, so Selenium Manager never runs
    (and SE_OFFLINE forbids it any download should it run all the same)."""
    missing = _missing_browser()
    if missing:
        if IN_CI:
            pytest.fail(f"{missing}; CI=true requires it (.ci/run installs it)", pytrace=False)
        pytest.skip(f"{missing}: browser test skipped")
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--lang=en-US",
    ):
        options.add_argument(arg)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    try:
        driver = webdriver.Chrome(options=options, service=service)
    except WebDriverException as exc:
        pytest.fail(f"Chromium did not start: {exc.msg}", pytrace=False)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


class Person:
    """Looks at the page and acts on it the way a person at the keyboard would."""

    def __init__(self, driver: WebDriver, base: str) -> None:
        self.driver = driver
        self.base = base
        self.shots: list[Path] = []
        ARTEFACTS.mkdir(parents=True, exist_ok=True)

    def until(self, what: str, check: Callable[[WebDriver], object]) -> None:
        try:
            WebDriverWait(self.driver, WAIT, 0.1, ignored_exceptions=RETRIED).until(check)
        except Exception as exc:
            self.screenshot("failed")
            raise AssertionError(
                f"{what} never happened ({type(exc).__name__}: {exc}); page text:\n{self.text()}"
            ) from None

    def text(self) -> str:
        try:
            return str(self.driver.find_element(By.TAG_NAME, "body").text)
        except RETRIED:
            return ""

    def sees(self, pattern: str) -> None:
        """Wait until the visible text matches ``pattern`` (a regular expression)."""
        self.until(f"seeing {pattern!r}", lambda d: re.search(pattern, self.text()))

    def settled(self) -> None:
        """Wait until the page shows the workspace as it is now (no reload pending)."""

        def current(driver: WebDriver) -> bool:
            shown = re.search(r'var version = "([^"]*)"', driver.page_source)
            try:
                now = httpx.get(f"{self.base}/sandbox/version", timeout=5).text
            except httpx.HTTPError:  # a busy server: ask again at the next poll
                return False
            return shown is not None and shown.group(1) == now

        self.until("the page settling", current)

    def act(self, what: str, action: Callable[[WebDriver], object]) -> None:
        """Do ``action`` on a settled page, then wait for the page it leads to."""
        self.settled()
        old = self.driver.find_element(By.TAG_NAME, "html")
        self.until(what, lambda d: action(d) is None)
        self.until(f"the page after {what}", staleness_of(old))

    def press(self, label: str) -> None:
        """Press the (last) button whose visible text is ``label``."""
        xpath = f"(//button[normalize-space()={_xpath_literal(label)}])[last()]"
        self.act(f"pressing {label!r}", lambda d: d.find_element(By.XPATH, xpath).click())

    def open_channel(self, name_part: str) -> None:
        """Wait for the channel to appear in the sidebar, then open it."""
        link = f"//aside//a[contains(normalize-space(), {_xpath_literal(name_part)})]"
        self.until(
            f"channel {name_part!r} in the sidebar", lambda d: d.find_element(By.XPATH, link)
        )
        self.act(f"opening {name_part!r}", lambda d: d.find_element(By.XPATH, link).click())
        self.until(
            f"channel {name_part!r} open",
            lambda d: name_part in d.find_element(By.CSS_SELECTOR, "header.top h2").text,
        )

    def type_command(self, text: str) -> None:
        """Type a slash command in the command box and press Enter."""

        def type_and_send(driver: WebDriver) -> None:
            box = driver.find_element(By.CSS_SELECTOR, "footer input[name=text]")
            box.clear()
            box.send_keys(text)  # focused: the page does not reload while someone types
            box.send_keys(Keys.ENTER)

        self.act(f"typing {text!r}", type_and_send)

    def screenshot(self, name: str) -> Path:
        path = ARTEFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        self.shots.append(path)
        return path


def _xpath_literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in text.split("'")) + ")"


def test_tour_in_a_real_browser(browser: WebDriver, served: str) -> None:
    started = time.monotonic()
    me = Person(browser, served)
    browser.get(f"{served}/sandbox")
    me.sees(r"#general")
    me.sees(r"fire a sample critical alert")
    me.screenshot("tour-0-sandbox")

    # 1. The critical sample alert: WhatsApp outbound queue backlog.
    me.press("fire a sample critical alert")
    me.sees(r"critical alert: accepted — opened \(or joined\) incident #1")
    me.open_channel("whatsapp-sends-failing")
    me.sees(r"CRITICAL · WhatsApp sends failing: backlog 1840 · state: triggered")
    me.sees(r"Incident #1: WhatsApp sends failing: backlog 1840")
    me.sees(r"Clock for incident #1")
    room = browser.find_element(By.CSS_SELECTOR, "header.top h2").text
    assert re.match(r"#inc-\d{8}-whatsapp-sends-failing", room), room
    assert "war room" in room
    me.screenshot("tour-1-war-room")

    # 2. Acknowledge, then take command, with the intro's buttons.
    me.press("Acknowledge")
    me.sees(r"👀 Incident #1 acknowledged by @oncall")  # mrkdwn shown as Slack shows it
    me.until(
        "the acknowledgement in bold",
        lambda d: any(
            b.text == "Incident #1 acknowledged"
            for b in d.find_elements(By.XPATH, "//div[@id='msgs']//b")
        ),
    )
    me.sees(r"⏱️ Clock for incident #1")
    me.sees(r"\d\d:\d\d:\d\d CES?T")  # message times in the bot's zone, Europe/Amsterdam
    me.sees(r"state: acknowledged")
    me.press("I'm Incident Commander")
    me.sees(r"👥 @oncall is now Incident Commander for incident #1")
    me.screenshot("tour-2-acknowledged")

    # 3. /incident status answers with the state and the roles.
    me.type_command("/incident status")
    me.sees(r"State: acknowledged · Severity: critical")
    me.sees(r"Incident Commander: @oncall")
    me.screenshot("tour-3-status")

    # 4. The rest of the tour, as the README tells it.
    me.type_command("/queue-status whatsapp-outbound")
    me.sees(r"whatsapp-outbound critical · backlog 1,840")
    me.type_command("/incident update Restarted the WAHA session; backlog draining")
    me.sees(r"Status update from @oncall")
    me.type_command("/statuspage-draft investigating")
    me.sees(r"Status-page draft v1 for incident #1 — investigating")
    me.type_command("/incident resolve WAHA session restarted; backlog drained")
    me.sees(r"Incident #1 resolved by @oncall: WAHA session restarted")
    me.sees(r"state: resolved")
    me.sees(r"Post-incident checklist")
    me.type_command("/incident export md")
    me.sees(r"Exported incident #1's timeline as incident-1-timeline.md")
    me.sees(r"📎 Incident #1 timeline")
    me.screenshot("tour-4-resolved")

    if UPDATE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for shot in me.shots:
            shutil.copyfile(shot, SCREENSHOTS / shot.name)
    assert time.monotonic() - started < 60
