"""UTC timestamps as kaitiaki writes them (RFC 3339 with ``Z``); a light module anything may import."""

from __future__ import annotations

import datetime as dt
from typing import Literal


def utc_now(timespec: Literal["seconds", "microseconds"] = "seconds") -> str:
    """Now in UTC: seconds for the policy input and reports, microseconds for decision-log records."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec=timespec).replace("+00:00", "Z")
