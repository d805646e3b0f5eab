"""Real-browser tests: Playwright driving Debian's Chromium, headless, against pytest-django's live server.

Chromium is the system one (`apt-get install chromium`), never Playwright's own download: the
machines reach package registries only. Without it every browser test is skipped, with the reason
printed once at the end, so `make test` still passes on a machine that lacks it (CI installs it).

Fixtures: `page` (a fresh browser context per test, logged out), `new_page` (more pages, each with
its own cookies: a lender and a staff member side by side), `shot` (`shot(page, "name")` saves
var/browser-artifacts/<test>/NN-name.png). A failing test also leaves a screenshot of every page it
opened, the page's console and a Playwright trace (trace.zip, for Playwright's trace viewer) in its
folder. An uncaught JavaScript error on any page fails the test.

Knobs: CHROMIUM=/path/to/chromium, HEADED=1 (watch it, with a display), BROWSER_ARTIFACTS=/folder.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.browser.helpers import Shot

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
INSTALL_HINT = "apt-get install -y --no-install-recommends chromium"
HERE = Path(__file__).resolve().parent
TIMEOUT_MS = 15_000  # a webhook takes about a second; a loaded 2-core CI machine may take several
expect.set_options(timeout=TIMEOUT_MS)


def artifacts_root() -> Path:
    return Path(os.environ.get("BROWSER_ARTIFACTS", str(Path(settings.BASE_DIR) / "var" / "browser-artifacts")))


# --- marking, skipping and the closing note ---------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this folder carries the `browser` marker (`-m "not browser"` leaves them out)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _missing() -> str:
    if not Path(CHROMIUM).exists():
        return f"browser tests skipped: no Chromium at {CHROMIUM} (install it as root: {INSTALL_HINT})"
    return ""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test, so the page fixtures know at teardown whether it failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say once where the screenshots are, or why no browser test ran."""
    mine = [
        report
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) and "browser" in report.keywords  # reports, not deselected items
    ]
    if not mine:
        return
    count = len({report.nodeid for report in mine})
    missing = _missing()
    if missing:
        terminalreporter.write_line(f"{missing}; {count} test(s)", yellow=True)
    else:
        seconds = sum(getattr(report, "duration", 0.0) for report in mine)
        terminalreporter.write_line(
            f"browser tests: {count} in {seconds:.1f} s; screenshots under {artifacts_root()}/<test name>/"
        )


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for this folder's tests, closed when they are done.

    While Playwright's sync API is alive its event loop counts as running in this thread, and
    Django refuses ORM calls from a thread with a running loop. The tests' ORM calls are plain
    synchronous ones, so the check is switched off for exactly as long as Playwright runs.
    """
    missing = _missing()
    if missing:
        pytest.skip(missing)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=os.environ.get("HEADED", "") == "",
            # root (CI) cannot use Chromium's sandbox; /dev/shm is small in containers
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Artifacts:
    """One test's folder of screenshots, numbered in the order they were taken."""

    folder: Path
    count: int = 0

    def shot(self, page: Page, name: str) -> Path:
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "page"
        path = self.folder / f"{self.count:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Artifacts:
    """var/browser-artifacts/<test name>/, emptied first so one run's pictures never mix with another's."""
    folder = artifacts_root() / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Artifacts(folder)


@pytest.fixture
def shot(artifacts: Artifacts) -> Shot:
    """`shot(page, "wallet after deposit")` saves NN-wallet-after-deposit.png in the test's folder."""
    return artifacts.shot


@dataclass
class _Opened:
    label: str
    context: BrowserContext
    page: Page
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def new_page(
    request: pytest.FixtureRequest, browser: Browser, live_server: Any, transactional_db: None, artifacts: Artifacts
) -> Iterator[Callable[..., Page]]:
    """`new_page("staff")` opens another page in its own context (own cookies) on the live server.

    Keyword arguments go to `browser.new_context` (e.g. `viewport={"width": 375, "height": 812}` for a phone).
    """
    opened: list[_Opened] = []

    def open_page(label: str = "page", **context_options: Any) -> Page:
        options: dict[str, Any] = {
            "base_url": live_server.url,
            "viewport": {"width": 1280, "height": 900},
            "locale": "en-US",
            "timezone_id": settings.TIME_ZONE,
            **context_options,
        }
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.tracing.start(screenshots=True, snapshots=True)
        context.route("**/favicon.ico", lambda route: route.fulfill(status=204))  # the site has none: no 404 noise
        page = context.new_page()
        entry = _Opened(label, context, page)
        page.on("console", lambda msg: entry.console.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda exc: entry.errors.append(f"{page.url}: {exc}"))
        opened.append(entry)
        return page

    yield open_page

    failed = any(getattr(getattr(request.node, f"report_{when}", None), "failed", False) for when in ("setup", "call"))
    errors = [error for entry in opened for error in entry.errors]
    for entry in opened:
        if failed or errors:
            _keep_evidence(entry, artifacts)
        else:
            entry.context.tracing.stop()
        entry.context.close()
    if errors and not failed:
        pytest.fail("uncaught JavaScript error(s) in the page:\n" + "\n".join(errors))


def _keep_evidence(entry: _Opened, artifacts: Artifacts) -> None:
    """After a failure: what each page showed, what its console said, and a trace to replay."""
    prefix = "" if entry.label == "page" else f"{entry.label}-"
    try:
        artifacts.shot(entry.page, f"{prefix}failed")
    except Exception as exc:
        (artifacts.folder / f"{prefix}screenshot-error.txt").write_text(str(exc))
    log = [f"url: {entry.page.url}", *entry.console, *(f"pageerror: {e}" for e in entry.errors)]
    (artifacts.folder / f"{prefix}console.txt").write_text("\n".join(log) + "\n")
    entry.context.tracing.stop(path=str(artifacts.folder / f"{prefix}trace.zip"))


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A fresh page, in a context of its own (no cookies), at desktop size."""
    return new_page()
