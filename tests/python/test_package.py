"""scripts/package makes a .deb whose installed binaries run.

The package is built from the binaries scripts/test already built (`--bin-dir`, the folder of
CODEX_ROUTER_BIN, with `--fast` compression: no second build), unpacked with `dpkg-deb -x`
into a scratch root, and what it installed is run from there: `codex-router --version`, its
completions, its man page, `codex-router-app --version`, the desktop entry and the icons.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, ROUTER_BIN

APP_BIN = ROUTER_BIN.with_name("codex-router-app")


def run(*args: str | Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120,
                          **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """The package and the scratch root it was unpacked into."""
    if shutil.which("dpkg-deb") is None or not APP_BIN.exists():
        if os.environ.get("CI"):
            pytest.fail(f"dpkg-deb or {APP_BIN} is missing")
        pytest.skip(f"dpkg-deb or {APP_BIN} is missing")
    # A private copy: other builds may replace the binaries in the target folder meanwhile.
    bins = tmp_path_factory.mktemp("bins")
    for b in (ROUTER_BIN, APP_BIN):
        shutil.copy2(b, bins / b.name)
    out = tmp_path_factory.mktemp("out")
    made = run(ROOT / "scripts/package", "--fast", "--bin-dir", bins, out)
    assert made.returncode == 0, made.stderr
    deb = Path(made.stdout.strip().splitlines()[-1])
    assert deb.parent == out and deb.name.startswith("codex-router_") and deb.suffix == ".deb"
    root = tmp_path_factory.mktemp("root")
    unpacked = run("dpkg-deb", "-x", deb, root)
    assert unpacked.returncode == 0, unpacked.stderr
    return deb, root


def version() -> str:
    for line in (ROOT / "Cargo.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split('"')[1]
    raise AssertionError("no version in Cargo.toml")


def test_the_package_says_what_it_is(installed):
    deb, _ = installed
    fields = run("dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends")
    assert fields.returncode == 0, fields.stderr
    assert "Package: codex-router" in fields.stdout
    assert f"Version: {version()}" in fields.stdout
    assert "libgl1" in fields.stdout


def test_the_installed_command_line_runs(installed, tmp_path):
    _, root = installed
    cli = root / "usr/bin/codex-router"
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))
    out = run(cli, "--version", env=env)
    assert out.returncode == 0 and out.stdout.strip() == f"codex-router {version()}"
    bash = run(cli, "completions", "bash", env=env)
    assert bash.returncode == 0 and "complete -F" in bash.stdout
    # The installed completions are the ones the binary prints.
    share = root / "usr/share"
    assert (share / "bash-completion/completions/codex-router").read_text() == bash.stdout
    assert (share / "zsh/vendor-completions/_codex-router").read_text().startswith(
        "#compdef codex-router")
    assert "complete -c codex-router" in (
        share / "fish/vendor_completions.d/codex-router.fish").read_text()
    # Start at login from the installed binary: the entry starts the installed app.
    on = run(cli, "autostart", "on", env=env)
    assert on.returncode == 0, on.stderr
    entry = (tmp_path / "autostart/codex-router.desktop").read_text()
    assert f"Exec={root}/usr/bin/codex-router-app --hidden" in entry
    assert run(cli, "autostart", "off", env=env).returncode == 0
    assert not (tmp_path / "autostart/codex-router.desktop").exists()


def test_the_man_page_is_there(installed):
    _, root = installed
    page = root / "usr/share/man/man1/codex-router.1.gz"
    text = gzip.decompress(page.read_bytes()).decode()
    assert ".TH codex-router 1" in text
    for command in ("switch", "serve", "autostart", "completions"):
        assert command in text
    if shutil.which("man"):
        shown = run("man", "-l", page, env=dict(os.environ, MANPAGER="cat", MANWIDTH="80"))
        assert shown.returncode == 0, shown.stderr
        assert "codex-router" in shown.stdout and "autostart" in shown.stdout


def test_the_installed_app_runs_and_has_its_entry_and_icons(installed):
    _, root = installed
    out = run(root / "usr/bin/codex-router-app", "--version")
    assert out.returncode == 0 and out.stdout.strip() == f"codex-router-app {version()}"
    desktop = (root / "usr/share/applications/codex-router.desktop").read_text()
    assert "Exec=codex-router-app\n" in desktop and "Icon=codex-router\n" in desktop
    if shutil.which("desktop-file-validate"):
        checked = run("desktop-file-validate", root / "usr/share/applications/codex-router.desktop")
        assert checked.returncode == 0, checked.stdout + checked.stderr
    for size in (16, 32, 48, 128, 256):
        png = (root / f"usr/share/icons/hicolor/{size}x{size}/apps/codex-router.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(png[16:20], "big")
        height = int.from_bytes(png[20:24], "big")
        assert (width, height) == (size, size)
