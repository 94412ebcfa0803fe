"""Helpers for tests that drive a real Chromium through playwright.

Import them in a test module as ``from chromium import browser_page, screenshot_dir``
(pytest puts ``tests/`` on ``sys.path``). Playwright never downloads a browser here: it
drives the system Chromium, ``/usr/bin/chromium`` (Debian's package) or the executable named
by ``$COURSE_CHROMIUM``. Without that executable, or without the ``playwright`` package, the
helpers call ``pytest.skip`` with the reason; :data:`requires_chromium` skips at collection.

:func:`browser_page` blocks and records every request that would leave the machine, so a
test can ``assert not leaked``; :func:`screenshot_dir` is where tests keep screenshots.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

CHROMIUM_ENV = "COURSE_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
REPO_ROOT = Path(__file__).resolve().parents[1]
LOCAL_SCHEMES = frozenset({"file", "data", "blob", "about"})


def chromium_executable() -> str | None:
    """The Chromium to drive: ``$COURSE_CHROMIUM`` if set, else ``/usr/bin/chromium``;
    ``None`` when that is not an executable file (a bare name is looked up on ``PATH``)."""
    wanted = os.environ.get(CHROMIUM_ENV, "").strip() or DEFAULT_CHROMIUM
    found = shutil.which(wanted)
    return str(Path(found).resolve()) if found else None


def missing_reason() -> str | None:
    """Why browser tests cannot run here, or ``None`` when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install playwright; no browser download needed)"
    if chromium_executable() is None:
        wanted = os.environ.get(CHROMIUM_ENV, "").strip() or DEFAULT_CHROMIUM
        return (
            f"Chromium not found at {wanted!r} (apt-get install chromium, "
            f"or set ${CHROMIUM_ENV} to a Chromium executable)"
        )
    return None


#: Decorate a browser test with this to skip it, with the reason, when it cannot run.
requires_chromium = pytest.mark.skipif(
    missing_reason() is not None, reason=f"browser test: {missing_reason()}"
)


def is_local(url: str, allow_hosts: Sequence[str]) -> bool:
    """True for ``file:``, ``data:``, ``blob:`` and ``about:`` URLs and for an allowed host."""
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or (parts.hostname or "") in allow_hosts


@contextmanager
def browser_page(
    *,
    allow_hosts: Sequence[str] = ("127.0.0.1", "localhost"),
    viewport: tuple[int, int] = (1280, 900),
) -> Iterator[tuple[Page, list[str]]]:
    """A fresh headless Chromium page and the list of URLs it tried to fetch off the machine.

    Every request (from the page, its frames, workers or popups) whose URL is neither local
    (see :func:`is_local`) nor on one of ``allow_hosts`` is aborted and its URL appended to
    the list, so ``assert not leaked, leaked`` checks that nothing left the machine. Service
    workers are blocked so that no request escapes the routing. Skips the test (with the
    reason) when playwright or Chromium is missing.
    """
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    leaked: list[str] = []

    def guard(route: Route) -> None:
        url = route.request.url
        if is_local(url, allow_hosts):
            route.continue_()
        else:
            leaked.append(url)
            route.abort("blockedbyclient")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(), headless=True, args=["--no-sandbox"]
        )
        try:
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                service_workers="block",
            )
            context.route("**/*", guard)
            yield context.new_page(), leaked
        finally:
            browser.close()


def screenshot_dir() -> Path:
    """``_build/test-artifacts/`` under the repository root (created): the tests' screenshots."""
    path = REPO_ROOT / "_build" / "test-artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path
