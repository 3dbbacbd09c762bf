"""The ``json`` format: exactly README.md, ``{"allow": bool, "jobs": [{"job", "decision"}]}``.

``allow`` is the AND of the decisions' ``allow`` (so a job denied in warn mode makes it false
even though nothing was blocked); the exit code, not this field, says whether anything was.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kaitiaki.model import Verdict


def json_document(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    return {
        "allow": all(v.decision.allow for v in verdicts),
        "jobs": [v.to_dict() for v in verdicts],
    }


def render_json(verdicts: Sequence[Verdict], *, color: bool = False) -> str:
    return json.dumps(json_document(verdicts), indent=2, ensure_ascii=False) + "\n"
