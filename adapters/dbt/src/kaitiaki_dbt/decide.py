"""The public entry point for orchestrators: decide one node of a compiled manifest.

An orchestrator that runs dbt node by node (astronomer-cosmos, a Kubernetes pod per model)
asks, before each node: may this one run? ``decide_node`` answers from the manifest alone (no
dbt, no warehouse), exactly as ``kaitiaki dbt check --manifest --select <node>`` would: the
node, each of its hooks and the project's on-run-start/on-run-end hooks (dbt runs them with
every run of a node) are decided (upstream nodes are analysed for what they produce, not
decided), and the node may run only if all of them are allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kaitiaki.config import Settings, load_settings
from kaitiaki.errors import KaitiakiError
from kaitiaki.model import Verdict
from kaitiaki_dbt.incremental import from_manifest_alone
from kaitiaki_dbt.manifest import DbtProject, load_manifest
from kaitiaki_dbt.routes import hook_owner
from kaitiaki_dbt.staleness import stale_reason


@dataclass(frozen=True)
class NodeDecision:
    """The verdicts of one node: the node itself first, then its pre/post hooks and the
    project's hooks."""

    unique_id: str
    verdicts: tuple[Verdict, ...]

    @property
    def allowed(self) -> bool:
        """Every part of the node was allowed by the policies."""
        return all(v.decision.allow for v in self.verdicts)

    @property
    def blocked(self) -> bool:
        """The node must not run (a denial in enforce mode, its own or one of its hooks')."""
        return any(v.blocked for v in self.verdicts)


def decide_node(
    manifest: Path | DbtProject,
    unique_id: str,
    *,
    settings: Settings | None = None,
    config: str | Path | None = None,
    mode: str | None = None,
    project_dir: Path | None = None,
    allow_stale: bool = False,
) -> NodeDecision:
    """Decide the node ``unique_id`` (``model.pkg.name``, ``snapshot.…``, ``seed.…``, ``test.…``)
    of a compiled manifest. Raises KaitiakiError for an unknown node or a stale manifest."""
    from kaitiaki.gate import Gate
    from kaitiaki_dbt.checker import ProjectChecker

    project = manifest if isinstance(manifest, DbtProject) else load_manifest(Path(manifest))
    root = project_dir or (project.path.resolve().parent.parent if project.path else None)
    settings = settings or load_settings(config, start=root)
    project = from_manifest_alone(project, settings.dbt_operations)
    if not allow_stale and root is not None:
        reason = stale_reason(project, root)
        if reason is not None:
            raise KaitiakiError(f"the manifest is stale: {reason}.", path=str(project.path))
    graph = project.graph()
    if unique_id not in graph:
        raise KaitiakiError(
            f"the manifest has no node {unique_id!r} that kaitiaki decides.",
            path=str(project.path) if project.path else None,
            hint="pass a model, seed, snapshot or test unique_id (as in manifest.json's nodes).",
        )
    chosen = {unique_id} | {
        uid
        for uid, node in graph.items()
        if hook_owner(node) == unique_id or node.get("resource_type") == "operation"
    }
    gate = Gate(settings, mode=mode, entry_point="dbt")
    verdicts = ProjectChecker(project, gate, project_dir=root).check(chosen)
    ordered = sorted(verdicts, key=lambda v: v.job.meta.get("unique_id") != unique_id)
    return NodeDecision(unique_id, tuple(ordered))
