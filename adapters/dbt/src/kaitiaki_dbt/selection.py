"""``--select``/``--exclude`` over a manifest.json without running dbt.

With ``--manifest``, dbt is never invoked (no profile, no warehouse): selection uses dbt-core's
own selector classes (``NodeSelector`` over the graph dbt's ``Linker`` builds from the manifest),
so the syntax is exactly dbt's: methods (``tag:``, ``path:``, ``config.``…), graph operators
(``+``, ``@``, ``n+``), unions and intersections. dbt is only imported when a selection is given;
without one every enabled model is selected and the import is skipped.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from kaitiaki.errors import KaitiakiError
from kaitiaki_dbt.manifest import DbtProject


def split_words(values: Sequence[str]) -> list[str]:
    """``("a b", "c")`` → ``["a", "b", "c"]``, as dbt reads repeated and spaced selectors."""
    return [word for value in values for word in value.split()]


def select_nodes(
    project: DbtProject, select: Sequence[str], exclude: Sequence[str], project_dir: Path
) -> set[str]:
    """Unique ids of the graph nodes the selection picks (all of them when there is none)."""
    models = set(project.graph())
    if not split_words(select) and not split_words(exclude):
        return models
    if project.path is None:
        raise KaitiakiError("selection over a manifest needs the manifest file.")
    with working_directory(project_dir):
        selected = dbt_selection(project.path.resolve(), select, exclude)
    return {uid for uid in selected if uid in models}


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """dbt resolves ``path:`` selectors against the current directory, as if run in the project."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def dbt_selection(manifest_path: Path, select: Sequence[str], exclude: Sequence[str]) -> set[str]:
    """dbt-core's NodeSelector over the manifest file (all resource types)."""
    from argparse import Namespace

    from dbt.artifacts.schemas.manifest import WritableManifest
    from dbt.compilation import Linker
    from dbt.contracts.graph.manifest import Manifest
    from dbt.flags import set_from_args
    from dbt.graph.cli import parse_difference
    from dbt.graph.graph import Graph
    from dbt.graph.selector import NodeSelector

    with contextlib.redirect_stdout(sys.stderr):
        try:
            manifest = Manifest.from_writable_manifest(
                WritableManifest.read_and_check_versions(str(manifest_path))
            )
            set_from_args(Namespace(INDIRECT_SELECTION="eager"), None)
            linker = Linker()
            linker.link_graph(manifest)
            spec = parse_difference(split_words(select) or None, split_words(exclude) or None)
            selected = NodeSelector(Graph(linker.graph), manifest).get_selected(spec)
        except Exception as exc:  # dbt's errors name the bad selector; show them, not a traceback
            raise KaitiakiError(
                f"dbt could not apply the selection: {exc}",
                path=str(manifest_path),
                hint="selection over --manifest supports dbt's node selection syntax except state: and "
                "result: methods, which need dbt's state.",
            ) from None
    return {str(uid) for uid in selected}
