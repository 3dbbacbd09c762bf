"""The built-in output formats, registered through the same hook a third-party plugin uses.

Imports are deferred to the hook call so that registering this default plugin (which every
Airflow worker does) costs nothing until a report is actually rendered.
"""

from __future__ import annotations

from collections.abc import Callable

from kaitiaki.hookspecs import hookimpl


@hookimpl
def kaitiaki_reporters() -> dict[str, Callable[..., str]]:
    from kaitiaki.report.github import render_github
    from kaitiaki.report.gitlab import render_gitlab
    from kaitiaki.report.html import html_reporter
    from kaitiaki.report.json_report import render_json
    from kaitiaki.report.junit import render_junit
    from kaitiaki.report.markdown import render_markdown
    from kaitiaki.report.sarif import render_sarif
    from kaitiaki.report.text import render_text

    return {
        "text": render_text,
        "json": render_json,
        "sarif": render_sarif,
        "junit": render_junit,
        "github": render_github,
        "gitlab": render_gitlab,
        "markdown": render_markdown,
        "html": html_reporter,
    }
