"""A verdict whose every job-, SQL- and policy-supplied string tries to inject markup or script."""

from __future__ import annotations

from kaitiaki.model import Destination, Job, SourceLocation, Verdict
from tests.report_html.estate import column, flow, verdict, violation

TABLE = 'evil"schema</text></svg><script>alert("table")</script>'
COLUMN = '"><img src=x onerror=alert("column")>'
TARGET = "out</title><script>alert('target')</script>"
JOB_NAME = "<script>alert('name')</script>"
JOB_ID = 'sql:jobs/"><img src=x onerror=alert(1)>.sql'
OWNER = "O'Brien & <b>co</b>"
PURPOSE = '"><svg onload=alert(2)>'
DESTINATION = "</td></tr></table><script>alert(3)</script>"
CATEGORY = "unique_identifier:<i onmouseover=alert(4)>x</i>"
TRANSFORM = "</tspan><script>alert(5)</script>"
RULE = "PM-<b>1</b>"
MESSAGE = "<iframe src=javascript:alert(6)></iframe> & more"
TITLE = "</title><script>alert('page')</script>"

MARKUP = (TABLE, COLUMN, TARGET, JOB_NAME, JOB_ID, OWNER, PURPOSE, DESTINATION, CATEGORY, TRANSFORM)


def hostile_verdict() -> Verdict:
    job = Job(
        id=JOB_ID,
        kind="sql",
        name=JOB_NAME,
        sql="",
        dialect="postgres",
        source=SourceLocation(path=f"jobs/{COLUMN}.sql"),
        owner=OWNER,
        purpose=PURPOSE,
        destination=Destination(kind="external", region="nz", name=DESTINATION),
        tags=(f"retention:{COLUMN}",),
    )
    columns = [
        column(TABLE, COLUMN, [CATEGORY], ["select", "join"], [TRANSFORM], [f"{TARGET}.{COLUMN}"], [3]),
        column(TABLE, "plain", [], ["select"], ["none"], [f"{TARGET}.plain"], [3]),
    ]
    lineage = [
        flow(f"{TABLE}.{COLUMN}", f"{TARGET}.{COLUMN}", [TRANSFORM]),
        flow(f"{TABLE}.plain", f"{TARGET}.x"),
    ]
    bad = violation(
        RULE,
        f"<script>alert('{RULE}')</script>",
        "hard",
        MESSAGE,
        [f"{TABLE}.{COLUMN}"],
        3,
        "<a href='javascript:alert(7)'>fix</a>",
    )
    return verdict(job, columns, lineage, [bad])
