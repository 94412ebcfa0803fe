"""JupyterLab in a real browser: run the VAE chapter through the UI, then move the explorer.

The test starts ``jupyter lab`` as the README says (``COURSE_PROFILE=ci``, plus
``COURSE_WIDGETS=1`` so the ``ci`` profile shows live widgets), on a free port with a random
token, rooted in a temporary folder that holds a COPY of
``chapters/05_practice/02_vae_mnist.ipynb`` (JupyterLab saves what it opens; the repository's
notebooks are committed without outputs and must stay so). Headless Chromium, driven by
playwright, opens the copy, runs it with the menu Run > Run All Cells, waits for the last
cell's run-time line, checks that no cell shows an error and that the first cell
(``nb = course_lib.start()``) shows no red stderr output (TensorFlow's C++ start-up lines,
see ``course_lib/runtime/quiet.py``), finds the latent explorer's sliders,
presses End on the first slider's handle and checks that the decoded image changes.
Screenshots go to ``_build/test-artifacts/`` (see ``tests/chromium.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from chromium import REPO_ROOT, browser_page, requires_chromium, screenshot_dir

pytestmark = [pytest.mark.browser, requires_chromium]

NOTEBOOK = REPO_ROOT / "chapters" / "05_practice" / "02_vae_mnist.ipynb"
SERVER_START_TIMEOUT = 60  # s; JupyterLab starts in about 5 s on an idle 2-core machine
RUN_ALL_TIMEOUT = 240  # s; the notebook takes 20-40 s in the ci profile
FINISHED = "whole notebook"  # the last cell prints nb.run_time(): "whole notebook N s wall ..."
ERROR_MIME = "application/vnd.jupyter.error"
STDERR_MIME = "application/vnd.jupyter.stderr"  # a stream output named "stderr": shown in red
KERNEL_IDLE = re.compile(r"^(?!No Kernel).+ \| Idle$")  # the status bar once a kernel runs


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab: its base URL, token, root folder and log file."""

    base_url: str
    token: str
    root: Path
    log: Path

    def url(self, path: str) -> str:
        """The URL of ``path`` on the server, with the token."""
        return f"{self.base_url}{path}?token={self.token}"

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the server's log, for failure messages."""
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def api(server: LabServer, path: str, method: str = "GET", timeout: float = 5) -> int:
    """The HTTP status of a request to the server's REST API (0 when it does not answer)."""
    request = urllib.request.Request(
        f"{server.base_url}{path}",
        method=method,
        headers={"Authorization": f"token {server.token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def stop(process: subprocess.Popen, server: LabServer) -> None:
    """Shut the server down through its API (it stops its kernels), else by signals."""
    if process.poll() is None:
        api(server, "api/shutdown", method="POST")
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    # The server ran in its own session: end whatever of it is left (an orphaned kernel).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def lab_server(tmp_path: Path) -> Iterator[LabServer]:
    """``jupyter lab`` on a free port, rooted at a temporary folder with a copy of the chapter."""
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy2(NOTEBOOK, root / NOTEBOOK.name)
    # Our own settings and workspaces (never the user's ~/.jupyter): no news toast over the
    # screenshots, no request for news or updates.
    settings = tmp_path / "settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    ).write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    jupyter = Path(sys.executable).with_name("jupyter")
    port, token = free_port(), secrets.token_hex(16)
    command = [
        str(jupyter) if jupyter.exists() else "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        "--LabApp.news_url=None",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # the README's advice when running as root
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    # The root conftest sets MPLBACKEND=Agg for pytest; the kernel must pick its inline backend.
    env.pop("MPLBACKEND", None)
    env.update(
        COURSE_PROFILE="ci",
        COURSE_WIDGETS="1",
        COURSE_RUNS_DIR=str(tmp_path / "runs"),  # not the repository's runs/, shared with others
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    log = tmp_path / "jupyter-lab.log"
    server = LabServer(f"http://127.0.0.1:{port}/", token, root, log)
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while api(server, "api/status", timeout=2) != 200:
            if process.poll() is not None:
                pytest.fail(
                    f"step 'start JupyterLab': `{' '.join(command)}` exited with code "
                    f"{process.returncode}; its log ends:\n{server.log_tail()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"step 'start JupyterLab': no answer on {server.base_url} within "
                    f"{SERVER_START_TIMEOUT} s; its log ends:\n{server.log_tail()}"
                )
            time.sleep(0.5)
        yield server
    finally:
        stop(process, server)


# Run in the page: the notebook's state, read from what JupyterLab shows.
NOTEBOOK_STATE_JS = """([finished, errorMime, stderrMime]) => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const prompt = (cell) =>
    (cell.querySelector('.jp-InputArea-prompt')?.textContent || '').trim();
  const errors = cells.flatMap((cell, index) =>
    [...cell.querySelectorAll(`.jp-OutputArea-output[data-mime-type="${errorMime}"]`)].map(
      (out) => `code cell ${index + 1} (${prompt(cell)}): ` + out.textContent.trim().slice(-600)));
  const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
  const firstStderr = cells.length === 0 ? [] :
    [...cells[0].querySelectorAll(`.jp-OutputArea-output[data-mime-type="${stderrMime}"]`)]
      .map((out) => out.textContent.trim().slice(0, 600));
  return {
    cells: cells.length,
    executed: cells.filter((cell) => /\\[\\d+\\]/.test(prompt(cell))).length,
    running: cells.filter((cell) => prompt(cell).includes('[*]')).length,
    finished: outputs.some((out) => out.textContent.includes(finished)),
    errors,
    first_stderr: firstStderr,
    status: [...document.querySelectorAll('.jp-StatusBar-TextItem')]
      .map((item) => item.textContent.trim()).filter((text) => text.includes(' | ')).join('; '),
  };
}"""


def run_all_cells(page, timeout: float) -> dict:
    """Run > Run All Cells from the menu bar; wait until the run-time line or an error shows."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    deadline = time.monotonic() + timeout
    state: dict = {}
    while time.monotonic() < deadline:
        state = page.evaluate(NOTEBOOK_STATE_JS, [FINISHED, ERROR_MIME, STDERR_MIME])
        if state["errors"] or (state["finished"] and state["running"] == 0):
            return state
        time.sleep(1)
    pytest.fail(
        f"step 'run all cells': no line containing {FINISHED!r} within {timeout:.0f} s; "
        f"the page showed {state}"
    )


def scroll_into_view(locator, tries: int = 5) -> None:
    """Scroll ``locator`` into view until it stays put: cells above it are laid out only when
    they come near the viewport (JupyterLab's default windowing), which moves it again."""
    box = None
    for _ in range(tries):
        locator.scroll_into_view_if_needed()
        time.sleep(0.3)
        if box == (box := locator.bounding_box()):
            return


def explorer_image_src(explorer) -> str:
    """The ``src`` (a data: URL of a PNG) of the image inside the explorer's output widget."""
    image = explorer.locator(".widget-output img, .jupyter-widgets-output-area img").first
    image.wait_for(state="visible", timeout=30_000)
    return image.get_attribute("src") or ""


@contextlib.contextmanager
def step(name: str, times: dict[str, float]) -> Iterator[None]:
    """Time one step of the test; a playwright timeout inside it fails naming the step."""
    from playwright.sync_api import Error as PlaywrightError

    started = time.monotonic()
    try:
        yield
    except PlaywrightError as error:
        pytest.fail(f"step {name!r}: {error.message.splitlines()[0]}", pytrace=False)
    finally:
        times[name] = time.monotonic() - started


def test_latent_explorer_runs_and_responds_in_jupyterlab(lab_server: LabServer):
    shots = screenshot_dir()
    for old in shots.glob("lab_latent_explorer_*.png"):  # no stale picture of an earlier run
        old.unlink()
    times: dict[str, float] = {}
    with browser_page() as (page, leaked):
        page.set_default_timeout(60_000)
        try:
            with step("open the notebook and start its kernel", times):
                page.goto(lab_server.url(f"lab/tree/{NOTEBOOK.name}"))
                page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
                # "Python 3 (ipykernel) | Idle": before that, Run All would ask for a kernel.
                page.locator(".jp-StatusBar-TextItem", has_text=KERNEL_IDLE).first.wait_for()
            with step("run all cells", times):
                state = run_all_cells(page, RUN_ALL_TIMEOUT)
            assert not state["errors"], (
                f"step 'run all cells': {len(state['errors'])} cell(s) show an error output:\n"
                + "\n".join(state["errors"])
            )
            assert not state["first_stderr"], (
                "step 'run all cells': the first cell (course_lib.start()) shows red stderr "
                "output:\n" + "\n".join(state["first_stderr"])
            )
            assert state["executed"] == state["cells"], (
                f"step 'run all cells': only {state['executed']} of {state['cells']} code "
                f"cells ran; the page showed {state}"
            )
            with step("find the latent explorer", times):
                # The explorer: the widget box that holds the sliders and the image's output.
                explorer = page.locator(
                    ".jp-OutputArea-output .widget-hbox", has=page.locator(".widget-slider")
                )
                explorer.first.wait_for(state="attached", timeout=30_000)
                assert explorer.count() == 1, (
                    f"step 'find the latent explorer': expected one widget with sliders, "
                    f"found {explorer.count()}"
                )
                scroll_into_view(explorer)
                sliders = explorer.locator(".widget-slider")
                labels = [
                    text.strip() for text in explorer.locator(".widget-label").all_text_contents()
                ]
                assert sliders.count() == 2 and labels[:2] == ["z0", "z1"], (
                    f"step 'find the sliders': expected sliders z0 and z1 (latent_dim=2), "
                    f"found {sliders.count()} with labels {labels}"
                )
                readout = sliders.first.locator(".widget-readout")
                before_value = readout.text_content().strip()
                before_src = explorer_image_src(explorer)
                page.screenshot(path=shots / "lab_latent_explorer_before.png")
            with step("move slider z0", times):
                # The keyboard on the slider's handle: End moves it to its maximum.
                handle = sliders.first.locator(".noUi-handle")
                handle.focus()
                handle.press("End")
                page.wait_for_function(
                    "([el, old]) => el.textContent.trim() !== old",
                    arg=[readout.element_handle(), before_value],
                    timeout=10_000,
                )
                after_value = readout.text_content().strip()
                deadline = time.monotonic() + 30
                after_src = before_src
                while after_src == before_src and time.monotonic() < deadline:
                    time.sleep(0.5)
                    after_src = explorer_image_src(explorer)
                time.sleep(0.5)  # let the new image paint before the screenshot
                page.screenshot(path=shots / "lab_latent_explorer_after.png")
            assert float(after_value) == pytest.approx(3.0), (
                f"step 'move slider z0': End should set z0 to its maximum 3.0, the readout "
                f"went from {before_value} to {after_value}"
            )
            assert after_src != before_src, (
                f"step 'move slider z0': the readout went from {before_value} to {after_value} "
                "but the image did not change within 30 s"
            )
            assert after_src.startswith("data:image/png"), after_src[:80]
            assert not leaked, f"requests that would have left the machine: {leaked}"
        except BaseException:
            page.screenshot(path=shots / "lab_latent_explorer_failure.png")
            print(f"server log ends:\n{lab_server.log_tail()}")
            raise
    print("\nbrowser test steps: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()))
