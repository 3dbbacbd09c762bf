"""Render an HTML report in a real headless Chromium: screenshot, DOM after scripts, console errors.

The screenshot tests use it, and so can the lead to refresh the picture in the docs. The
committed docs/img/report.png is the example platform through the real gate and dbt:

    cd examples/nz_social
    NZ_SOCIAL_DUCKDB=/tmp/nz.duckdb ../../.venv/bin/kaitiaki dbt check --format html > /tmp/report.html
    cd ../..
    .venv/bin/python -m tests.report_html.screenshot /tmp/report.html docs/img/report.png 1920 1500

``--sample PNG`` draws the hand-built nine-job estate of the tests instead. From Python:
``screenshot(html_path, png_path, window=(1400, 1000))``. Chromium runs with networking
features off and a throw-away profile; nothing is fetched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DOCS_WINDOW = (1920, 1500)
WINDOW = (1400, 1000)
TIMEOUT_SECONDS = 120
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)


@dataclass(frozen=True)
class BrowserRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def console(self) -> list[str]:
        """What the page wrote to the console (Chromium logs it as ``CONSOLE``)."""
        return [line for line in self.stderr.splitlines() if ":CONSOLE" in line]

    @property
    def script_errors(self) -> list[str]:
        """Uncaught exceptions and scripts the Content-Security-Policy refused."""
        return [line for line in self.console if "Uncaught" in line or "Content Security Policy" in line]


def chromium() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def run_chromium(html_path: Path, *mode: str, window: tuple[int, int] = WINDOW) -> BrowserRun:
    """One headless run over ``file://html_path`` with a fresh profile; raises if Chromium is absent."""
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="kaitiaki-chromium-") as profile:
        done = subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={window[0]},{window[1]}",
                *mode,
                html_path.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    return BrowserRun(done.returncode, done.stdout, done.stderr)


def screenshot(html_path: Path, png_path: Path, *, window: tuple[int, int] = WINDOW) -> BrowserRun:
    """Write a PNG of the page as Chromium draws it at ``window`` size."""
    png_path.parent.mkdir(parents=True, exist_ok=True)
    return run_chromium(html_path, f"--screenshot={png_path.resolve()}", window=window)


def dump_dom(html_path: Path) -> BrowserRun:
    """The DOM after the page's scripts ran, on stdout."""
    return run_chromium(html_path, "--dump-dom")


def render_sample(html_path: Path) -> None:
    from kaitiaki.report.html import render_html
    from tests.report_html.estate import NOW, sample_estate

    html_path.write_text(render_html(sample_estate(), generated_at=NOW), encoding="utf-8")


def main(argv: Sequence[str]) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        if len(argv) == 2 and argv[0] == "--sample":
            html_path, png_path, window = Path(scratch) / "report.html", Path(argv[1]), DOCS_WINDOW
            render_sample(html_path)
        elif len(argv) in (2, 4):
            html_path, png_path = Path(argv[0]), Path(argv[1])
            window = (int(argv[2]), int(argv[3])) if len(argv) == 4 else DOCS_WINDOW
        else:
            print(__doc__, file=sys.stderr)
            return 2
        run = screenshot(html_path, png_path, window=window)
    for line in run.script_errors:
        print(line, file=sys.stderr)
    if run.returncode != 0 or run.script_errors or not png_path.is_file():
        print(f"chromium failed (exit {run.returncode})", file=sys.stderr)
        return 1
    print(f"wrote {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
