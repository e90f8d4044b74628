"""The page in a real browser: Streamlit served as users get it, driven by headless Chromium.

Answers a mobile-deployment questionnaire through the widgets, checks that the page shows the top
pick `recommend()` gives for the same answers, saves a screenshot (into docs/screenshot.png, the
README's picture, only when ADVISOR_UPDATE_SCREENSHOT=1, so a test run never edits the checkout) and
reports the first-render time (navigation start until the ranking is visible; not asserted).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "ui" / "app.py"
DOCS_SCREENSHOT = ROOT / "docs" / "screenshot.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
        reason="needs /usr/bin/chromium and /usr/bin/chromedriver "
        "(apt-get install chromium chromium-driver)",
    ),
]


RANKING_VISIBLE = """
const chart = document.querySelector(
  '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg');
const top = [...document.querySelectorAll('h3')]
  .find(h => h.textContent.startsWith('Top pick:'));
return Boolean(chart && top && top.getBoundingClientRect().height > 0);
"""
"""True once the top pick and the score chart are drawn (cheap to poll: no full-page text)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"streamlit exited early with code {process.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.25)
    raise AssertionError(f"streamlit did not serve {url} within {timeout_s:.0f} s")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`streamlit run ui/app.py` on a free loopback port, with an empty probe store."""
    port = _free_port()
    env = dict(os.environ)
    env["ADVISOR_STORE"] = str(tmp_path / "store.sqlite")  # absent: advice without measurements
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    log = (tmp_path / "streamlit.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(APP),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
            "--client.showErrorDetails",
            "none",
            "--client.toolbarMode",
            "viewer",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
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
        "--window-size=1500,1700",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


def _widget(browser: Any, testid: str, label: str) -> Any:
    """A sidebar widget by its label, once drawn (the form is drawn after the results)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    xpath = (
        f"//section[@data-testid='stSidebar']//div[@data-testid='{testid}']"
        f"[.//*[@data-testid='stWidgetLabel'][normalize-space()='{label}']]"
    )
    return WebDriverWait(browser, 30, poll_frequency=0.1).until(
        expected_conditions.element_to_be_clickable((By.XPATH, xpath))
    )


def _choose(browser: Any, label: str, typed: str, *, clear: bool = False) -> None:
    """Pick an option of a sidebar multiselect by typing its label (Backspace drops the last)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = _widget(browser, "stMultiSelect", label)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
    field = box.find_element(By.TAG_NAME, "input")
    field.click()
    if clear:
        field.send_keys(Keys.BACKSPACE)
    field.send_keys(typed)
    time.sleep(0.3)
    field.send_keys(Keys.ENTER)
    field.send_keys(Keys.ESCAPE)


def _page_text(browser: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(browser.find_element(By.TAG_NAME, "body").text)


def test_mobile_questionnaire_in_chromium(server: str, driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from advisor.core.engine import recommend
    from advisor.core.questionnaire import Requirements

    answers = Requirements.model_validate(
        {
            "project": {"tasks": ["computer_vision"]},
            "deployment": {"targets": ["mobile"], "latency_critical": True},
            "constraints": {"exclude": ["tensorflow"]},
        }
    )
    expected = recommend(answers)
    top = expected.ranking[0]
    wait = WebDriverWait(driver, 90, poll_frequency=0.1)

    timings = []
    for visit in ("cold server", "warm server"):  # the first visit also imports the library
        started = time.perf_counter()
        driver.get(server)
        wait.until(lambda d: d.execute_script(RANKING_VISIBLE))
        wall_ms = (time.perf_counter() - started) * 1000
        in_page_ms = float(driver.execute_script("return performance.now()"))
        timings.append(f"{visit}: {in_page_ms:.0f} ms in-page ({wall_ms:.0f} ms wall clock)")
    print("\nfirst render (navigation start → ranking visible): " + "; ".join(timings))

    _choose(driver, "Targets", "Mobile", clear=True)
    wait.until(lambda d: "targets mobile" in _page_text(d))
    _choose(driver, "Exclude frameworks", "TensorFlow")
    wait.until(lambda d: "TensorFlow excluded" in _page_text(d))
    toggle = _widget(driver, "stCheckbox", "Latency critical")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", toggle)
    toggle.find_element(By.TAG_NAME, "label").click()
    summary = "targets mobile"
    wait.until(
        lambda d: (
            summary in _page_text(d)
            and f"Top pick: {top.name_with_version}" in _page_text(d)
            and f"{top.score:.1f}/100" in _page_text(d)
        )
    )
    time.sleep(1.0)  # let the charts finish drawing before the screenshot

    text = _page_text(driver)
    assert f"Top pick: {top.name}" in text
    assert "TensorFlow excluded" in text
    assert not driver.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")

    driver.execute_script(
        "window.scrollTo(0, 0);"
        'document.querySelectorAll(\'[data-testid="stMain"], '
        '[data-testid="stSidebarContent"], [data-testid="stSidebarUserContent"]\')'
        ".forEach(e => e.scrollTo(0, 0));"
    )
    update_docs = os.environ.get("ADVISOR_UPDATE_SCREENSHOT") == "1"
    screenshot = DOCS_SCREENSHOT if update_docs else tmp_path / "screenshot.png"
    assert driver.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000
