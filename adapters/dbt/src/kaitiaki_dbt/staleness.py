"""A manifest that no longer describes the project is refused, not checked.

``kaitiaki dbt check --manifest`` decides what the manifest says the models are. If a model,
seed, snapshot, test, macro or properties file changed after the manifest was written, or another
dbt version wrote it, the decision would be about SQL that will not run: exit 2 with a one-line
hint, unless ``--allow-stale``. The manifest's own ``generated_at`` is its time (a copy or a
restore keeps it), else the file's modification time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from kaitiaki_dbt.manifest import DbtProject, Node

SLACK_S = 1.0  # file systems round modification times


def written_at(project: DbtProject) -> float | None:
    """When the manifest was written: ``metadata.generated_at``, else the file's mtime."""
    stamp = (project.manifest.get("metadata") or {}).get("generated_at")
    if isinstance(stamp, str):
        try:
            moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            return (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).timestamp()
    if project.path is not None and project.path.is_file():
        return project.path.stat().st_mtime
    return None


def installed_dbt() -> str | None:
    try:
        return version("dbt-core")
    except PackageNotFoundError:
        return None


def minor(release: str) -> str:
    return ".".join(release.split(".")[:2])


def described_files(project: DbtProject) -> Iterator[str]:
    """The root project's files the manifest was built from (SQL, CSV, Python, YAML, macros)."""
    name = project.name
    entries: list[Node] = [
        *project.nodes.values(),
        *project.unit_tests.values(),  # a unit test's YAML may hold nothing else
        *(project.manifest.get("macros") or {}).values(),
    ]
    for node in entries:
        if not isinstance(node, dict) or (name and node.get("package_name") != name):
            continue
        for field in ("original_file_path", "patch_path"):
            value = node.get(field)
            if isinstance(value, str) and value:
                yield value.split("://", 1)[-1]


def stale_reason(project: DbtProject, project_dir: Path) -> str | None:
    """Why the manifest does not describe the project as it is now, or None."""
    written = (project.manifest.get("metadata") or {}).get("dbt_version")
    installed = installed_dbt()
    if isinstance(written, str) and installed and minor(written) != minor(installed):
        return f"it was written by dbt {written}, and dbt-core {installed} is installed"
    when = written_at(project)
    if when is None:
        return None
    for relative in sorted(set(described_files(project))):
        path = project_dir / relative
        try:
            changed = path.stat().st_mtime
        except OSError:
            continue
        if changed > when + SLACK_S:
            return f"{relative} changed after it was written"
    return None
