"""The resolution screen as an auditor uses it: ``recon lab`` on a free localhost port, notebook
03 opened in JupyterLab in Chromium, run, three findings ctrl-clicked in the grid, one bulk
decision recorded by clicking; the ledger then holds exactly those three decisions."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from recon_helpers.audit.decisions import ACTION_LABELS, Action, latest_decisions
from recon_helpers.audit.status import status_table
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.grid import HEADER, ROW, grid_frame
from recon_helpers.reconcile.run import reconcile_period
from recon_helpers.render.notebook import NOTEBOOKS_DIR
from tests.test_browser import ARGS, CHROMIUM
from tests.test_browser import pytestmark as browser_marks

pytestmark = [*browser_marks, pytest.mark.notebooks]
PERIOD = "2026-10"
TOKEN = "desk-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab(demo_month, tmp_path):  # type: ignore[no-untyped-def]
    """A project folder (data/ and notebooks/) with `recon lab` serving it on a free port."""
    project = tmp_path / "project"
    shutil.copytree(demo_month[0], project / "data")
    shutil.copytree(NOTEBOOKS_DIR, project / "notebooks",
                    ignore=shutil.ignore_patterns("lab", ".ipynb_checkpoints"))
    port = _free_port()
    env = {**os.environ, "JUPYTER_TOKEN": TOKEN, "JUPYTER_CONFIG_DIR": str(tmp_path / "jcfg"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "jset"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "jws")}
    recon = [sys.executable, "-m", "recon_helpers", "lab", "--workspace", "data", "--period",
             PERIOD, "--no-browser", "--port", str(port)]
    log = (tmp_path / "lab.log").open("wb")
    proc = subprocess.Popen(recon, cwd=project, env=env, stdout=log, stderr=log,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/status?token={TOKEN}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"recon lab did not start: {(tmp_path / 'lab.log').read_text()}")
        yield project, url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # recon and the JupyterLab it started, nothing else
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _click_row(page, box: dict, row: int, *, ctrl: bool) -> None:
    page.mouse.move(box["x"] + 64 + 120, box["y"] + HEADER + ROW * row + ROW / 2)
    if ctrl:
        page.keyboard.down("Control")
    page.mouse.down()
    page.mouse.up()
    if ctrl:
        page.keyboard.up("Control")
    page.wait_for_timeout(300)


def test_bulk_decision_by_clicking_in_jupyterlab(lab, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    project, url = lab
    ws = Workspace.open(project / "data")
    period = Period.parse(PERIOD)
    keys = grid_frame(status_table(reconcile_period(ws, period).findings, ws, period)
                      ).attrs["keys"]
    shots = Path(os.environ.get("RECON_SCREENSHOTS", tmp_path))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{url}/lab/tree/lab/{PERIOD}/03_resolution.ipynb?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook", timeout=120_000)
        # run only once the kernel is up, else "Run All Cells" may be lost
        page.get_by_text(re.compile(r"\| Idle")).first.wait_for(timeout=180_000)
        news = page.locator(".jp-Notification-Toast button:has-text('No')")
        if news.count():  # JupyterLab's "get notified about news?" toast covers the page
            news.first.click()
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        page.wait_for_selector(".ipydatagrid-widget canvas", timeout=400_000)  # a loaded CI
        page.wait_for_timeout(1500)
        grid = page.locator(".ipydatagrid-widget").first
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        for row, ctrl in ((0, False), (2, True), (4, True)):
            _click_row(page, box, row, ctrl=ctrl)
        ui = page.locator(".widget-vbox:has(.ipydatagrid-widget)").first
        button = ui.locator("button:has-text('Record for')")
        assert button.inner_text().strip() == "Record for 3 selected"
        ui.locator("select").first.select_option(label=ACTION_LABELS[Action.ACCEPT])
        ui.locator("textarea").first.fill("October price change, agreed with the clients")
        ui.locator(".widget-text:has(label:text-is('your name')) input").fill("Alice Martin")
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / "grid.png"))
        button.click()
        page.wait_for_selector(".recon-saved", timeout=30_000)
        saved = page.locator(".recon-saved").inner_text()
        page.screenshot(path=str(shots / "grid-saved.png"))
        browser.close()
    assert "Saved 3 decision(s)" in saved
    latest = latest_decisions(ws, period)
    assert sorted(latest["key"]) == sorted([keys[0], keys[2], keys[4]])
    assert set(latest["note"]) == {"October price change, agreed with the clients"}
    assert set(latest["actor"]) == {"Alice Martin"} and set(latest["action"]) == {"accept"}
