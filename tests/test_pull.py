"""``recon pull`` end to end: skipped sources, refusal and --replace, provenance and origin,
atomicity (a failing source, kill -9), and no secret in anything a run writes or prints."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recon_helpers.cli import main
from recon_helpers.connect import staging
from recon_helpers.connect.provenance import PULL_LOG
from recon_helpers.connect.secrets import credentials
from recon_helpers.connect.settings import pull_settings
from recon_helpers.connect.timing import Clock
from recon_helpers.core.errors import ConfigError, UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_period
from tests.fake_api import Reply, fixture
from tests.fake_vendors import SCRIPTS, SECRETS, config, every_secret_form

ROOT = Path(__file__).resolve().parents[1]
PERIOD = Period.parse("2026-10")
ACRONIS = ROOT / "tests" / "fixtures" / "formats" / "acronis_usages.json"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The secrets in the environment, no OS keyring, no real waiting."""
    for name in [n for n in os.environ if n.startswith("RECON_")]:
        monkeypatch.delenv(name)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(Clock, "sleep", lambda self, seconds: None)
    return dict(SECRETS)


def make_ws(tmp_path: Path, base: str, only: tuple[str, ...] | None = None) -> Path:
    root = tmp_path / "data"
    (root / "inputs" / str(PERIOD)).mkdir(parents=True)
    (root / "recon.toml").write_text(config(base, only), encoding="utf-8")
    return root


def tree(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` with its sha256 (folders as 'dir')."""
    return {p.relative_to(folder).as_posix():
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def cli(root: Path, *sources: str, replace: bool = False) -> int:
    """``recon pull`` of the given sources only (the others would reach the real services)."""
    args = [a for s in sources for a in ("--source", s)] + (["--replace"] if replace else [])
    return main(["pull", "--workspace", str(root), "--period", str(PERIOD), "--no-progress", *args])


def test_unconfigured_sources_are_skipped_with_one_line(tmp_path, fake_api, env, capsys,
                                                         monkeypatch) -> None:
    root = make_ws(tmp_path, fake_api.base, ("huntress",))
    monkeypatch.delenv("RECON_PAX8_CLIENT_SECRET")
    SCRIPTS["huntress"](fake_api)
    assert cli(root, "pax8", "huntress", "sentinelone") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("pax8: skipped, not configured: set RECON_PAX8_CLIENT_SECRET (or store "
                      "them in the OS keyring: keyring set recon-pax8 client_secret, ...)")
    assert out[1] == ("sentinelone: skipped, not configured: set base_url in recon.toml "
                      "[pull.sentinelone]")
    assert out[2].startswith("huntress: 2 file(s) from 2 page(s), 3 record(s)")
    log = json.loads((root / "inputs" / str(PERIOD) / PULL_LOG).read_text())
    assert log["pulls"][0]["sources"]["pax8"].startswith("skipped, not configured")


def test_nothing_configured_is_exit_2(tmp_path, fake_api, env, capsys, monkeypatch) -> None:
    root = make_ws(tmp_path, fake_api.base, ())
    for name in SECRETS:
        monkeypatch.delenv(name)
    assert main(["pull", "--workspace", str(root), "--period", str(PERIOD)]) == 2
    err = capsys.readouterr()
    assert "nothing to pull" in err.err and err.out.count("skipped") == 7
    assert fake_api.requests == []


def test_month_with_files_of_the_source_refuses_then_replace_moves_them(
        tmp_path, fake_api, env, capsys) -> None:
    root = make_ws(tmp_path, fake_api.base, ("huntress",))
    month = root / "inputs" / str(PERIOD)
    shutil.copy(ACRONIS, month / "acronis-usages.json")
    hand = month / "orgs-by-hand.json"  # a hand download, recognised by its format
    hand.write_text(fixture("huntress", "organizations-p2.json"))
    content = hand.read_bytes()
    before = tree(month)
    assert cli(root, "huntress") == 2
    err = capsys.readouterr().err
    assert "already has files from huntress (huntress: orgs-by-hand.json)" in err
    assert "--replace" in err and tree(month) == before and fake_api.requests == []

    SCRIPTS["huntress"](fake_api)
    assert cli(root, "huntress", replace=True) == 0
    out = capsys.readouterr().out
    moved = [p for p in (month / ".replaced").rglob("*") if p.is_file()]
    assert [p.name for p in moved] == ["orgs-by-hand.json"]
    assert moved[0].read_bytes() == content
    assert f"moved orgs-by-hand.json to .replaced/{moved[0].parent.name}/orgs-by-hand.json" in out
    assert not hand.exists() and (month / "acronis-usages.json").exists()

    # pulled files count as the source's own: a second pull needs --replace again
    SCRIPTS["huntress"](fake_api)
    assert cli(root, "huntress") == 2
    assert cli(root, "huntress", replace=True) == 0
    log = json.loads((month / PULL_LOG).read_text())
    assert len(log["pulls"]) == 2
    assert {r["file"] for r in log["pulls"][1]["replaced"]} == {
        "huntress-organizations-p1.json", "huntress-organizations-p2.json"}
    assert len(list((month / ".replaced").iterdir())) == 2  # nothing deleted


def test_origin_in_the_inventory_and_the_cli(tmp_path, fake_api, env, capsys) -> None:
    root = make_ws(tmp_path, fake_api.base, ("sentinelone",))
    month = root / "inputs" / str(PERIOD)
    shutil.copy(ACRONIS, month / "acronis-usages.json")
    SCRIPTS["sentinelone"](fake_api)
    assert cli(root, "sentinelone") == 0
    page2 = month / "sentinelone-sites-p2.json"
    page2.write_bytes(page2.read_bytes() + b"\n")  # edited after the pull
    inv = load_period(Workspace.open(root), PERIOD).inventory.set_index("file")["origin"]
    assert inv["sentinelone-sites-p1.json"].startswith("pulled ")
    assert inv["sentinelone-sites-p1.json"].endswith(" from sentinelone")
    assert inv["sentinelone-sites-p2.json"] == "by hand"  # changed since it was pulled
    assert inv["acronis-usages.json"] == "by hand"
    capsys.readouterr()
    main(["reconcile", "--workspace", str(root), "--period", str(PERIOD)])
    out = capsys.readouterr().out
    assert "origin" in out and "from sentinelone" in out
    assert "pull-log.json" in out  # listed as not read, not an unknown format


def test_a_failing_source_leaves_the_month_as_it_was(tmp_path, fake_api, env, capsys) -> None:
    root = make_ws(tmp_path, fake_api.base, ("huntress", "sentinelone"))
    month = root / "inputs" / str(PERIOD)
    shutil.copy(ACRONIS, month / "acronis-usages.json")
    before = tree(month)
    SCRIPTS["sentinelone"](fake_api)
    fake_api.json("GET", "/huntress/v1/organizations",
                  fixture("huntress", "organizations-p1.json"))
    fake_api.add("GET", "/huntress/v1/organizations", *[Reply(503, {"message": "down"})] * 5)
    assert cli(root, "huntress", "sentinelone") == 2
    err = capsys.readouterr().err
    assert ("huntress: /huntress/v1/organizations (HTTP 503): the server failed (after 5 "
            "attempt(s)); the server said: down; inputs/2026-10 was left as it was") in err
    assert tree(month) == before
    assert not list((root / "inputs").glob(".2026-10.pull-*"))


def test_kill_9_during_a_pull_leaves_the_month_unchanged(tmp_path, fake_api, env) -> None:
    root = make_ws(tmp_path, fake_api.base, ("huntress",))
    month = root / "inputs" / str(PERIOD)
    shutil.copy(ACRONIS, month / "acronis-usages.json")
    SCRIPTS["huntress"](fake_api)
    assert cli(root, "huntress") == 0
    before = tree(month)
    held = fake_api.hold()
    fake_api.json("GET", "/huntress/v1/organizations", fixture("huntress",
                                                                 "organizations-p1.json"))
    fake_api.add("GET", "/huntress/v1/organizations",
                 Reply(body=fixture("huntress", "organizations-p2.json"), hold=held))
    proc = subprocess.Popen(
        [sys.executable, "-m", "recon_helpers.cli", "pull", "--workspace", str(root),
         "--period", str(PERIOD), "--source", "huntress", "--replace", "--no-progress"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while len(fake_api.calls("GET")) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    staged = list((root / "inputs").glob(".2026-10.pull-*/files/*"))
    assert [p.name for p in staged] == ["huntress-organizations-p1.json"]  # midway
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert tree(month) == before
    # the next pull clears the killed one's staging folder and completes
    held.set()
    SCRIPTS["huntress"](fake_api)
    assert cli(root, "huntress", replace=True) == 0
    assert not list((root / "inputs").glob(".2026-10.pull-*"))
    assert len(json.loads((month / PULL_LOG).read_text())["pulls"]) == 2


def test_a_second_pull_of_the_month_waits_its_turn(tmp_path, fake_api, env) -> None:
    root = make_ws(tmp_path, fake_api.base, ("huntress",))
    with staging.month_lock(root / "inputs", PERIOD), pytest.raises(UsageError,
                                                                    match="another recon pull"):
        from recon_helpers.connect.pull import pull_month

        pull_month(Workspace.open(root), PERIOD, progress=False)


def test_no_secret_in_any_output_or_file(tmp_path, fake_api, env, capfd) -> None:
    root = make_ws(tmp_path, fake_api.base)
    for script in SCRIPTS.values():
        script(fake_api)
    # one failure on the way too: its message must be clean as well
    fake_api.routes[("GET", "/s1/web/api/v2.1/sites")].appendleft(
        Reply(401, {"errors": [{"detail": f"token {SECRETS['RECON_SENTINELONE_API_TOKEN']} "
                                          "expired"}]}))
    assert main(["pull", "--workspace", str(root), "--period", str(PERIOD)]) == 2
    first = capfd.readouterr()
    assert "(HTTP 401): authentication failed: check RECON_SENTINELONE_API_TOKEN" in first.err
    fake_api.routes.clear()
    for script in SCRIPTS.values():
        script(fake_api)
    assert main(["pull", "--workspace", str(root), "--period", str(PERIOD)]) == 0  # progress on
    second = capfd.readouterr()
    assert main(["reconcile", "--workspace", str(root), "--period", str(PERIOD)]) in (0, 1)
    third = capfd.readouterr()
    texts = {"stdout/stderr": first.out + first.err + second.out + second.err + third.out
             + third.err}
    for path in (tmp_path).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                import gzip

                data = gzip.decompress(data)
            texts[str(path)] = data.decode("utf-8", "replace")
    assert "huntress" in second.err  # the progress bars went to stderr
    assert len([t for t in texts if t.endswith(".json.gz")]) == 1
    for secret in every_secret_form():
        leaks = [where for where, text in texts.items() if secret in text]
        assert not leaks, f"{secret[:6]}... found in {leaks}"


def test_keyring_and_environment() -> None:
    store = {("recon-huntress", "api_key"): "k-from-keyring",
             ("recon-huntress", "api_secret"): "s-from-keyring"}
    creds, missing = credentials("huntress", {}, lambda s, n: store.get((s, n)))
    assert missing == [] and creds["api_key"] == "k-from-keyring"
    assert "k-from-keyring" not in repr(creds)
    creds, _ = credentials("huntress", {"RECON_HUNTRESS_API_KEY": "env-wins"},
                           lambda s, n: store.get((s, n)))
    assert creds["api_key"] == "env-wins"

    def broken(service: str, name: str) -> str:
        raise RuntimeError("D-Bus not running")

    from recon_helpers.connect import secrets

    assert secrets.system_keyring("recon-huntress", "api_key") is None  # fail backend
    with pytest.raises(RuntimeError):
        credentials("huntress", {}, broken)  # only the system keyring's errors are absorbed


def test_settings_refuse_secrets_and_unknown_keys() -> None:
    with pytest.raises(ConfigError, match=r"api_secret: credentials never go in workspace "
                                          r"files.*RECON_HUNTRESS_API_SECRET"):
        pull_settings({"pull": {"huntress": {"api_secret": "x"}}}, "huntress")
    with pytest.raises(ConfigError, match="unknown key 'site'"):
        pull_settings({"pull": {"pax8": {"site": "x"}}}, "pax8")
    with pytest.raises(ConfigError, match=r"unknown \[pull.kaseya\]"):
        pull_settings({"pull": {"kaseya": {}}}, "pax8")
    assert pull_settings({}, "pax8") == {}
