"""A cosmos task's dbt node, decided by the dbt adapter's checker from the project's manifest.

The model is decided as ``kaitiaki dbt check`` decides it: its compiled SQL, what its parents
produce and the categories that flow into it (lineage). The manifest must be compiled and must
match the project the task runs: a model file whose checksum is not the manifest's means dbt
would run SQL other than what was decided, so the task fails closed. So does a task that gives
dbt a var or an env var its model reads (the manifest was compiled without the task's values).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from kaitiaki.errors import KaitiakiError
from kaitiaki_airflow.operators import held
from kaitiaki_airflow.providers.cosmos import in_container
from kaitiaki_airflow.tasks import task_name

if TYPE_CHECKING:
    from kaitiaki_dbt.manifest import DbtProject

    from kaitiaki.config import Settings
    from kaitiaki.gate import Gate
    from kaitiaki.model import Job, TaskSql, Verdict


class RunLabelledGate:
    """The task's gate, with the Airflow run's labels on each decision the dbt checker makes."""

    def __init__(self, gate: Gate, labels: Mapping[str, str], settings: Settings | None = None) -> None:
        self._gate = gate
        self._labels = dict(labels)
        self.settings = settings if settings is not None else gate.settings

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gate, name)

    def decide(self, job: Job, **kwargs: Any) -> Verdict:
        labels = {**self._labels, **(kwargs.pop("labels", None) or {})}
        return self._gate.decide(job, labels=labels, **kwargs)


def decide_dbt_node(task: Any, *, gate: Gate, located: TaskSql, labels: Mapping[str, str]) -> Verdict | None:
    """The dbt checker's verdict on what the task's dbt command runs for its node: the node, its
    hooks, its tests that store failing rows, the sql_header of the tests it runs and its unit
    tests (as the command runs them), and the project's on-run-start/on-run-end hooks. The first
    blocked verdict, else the node's own; None when the command writes nothing kaitiaki decides
    (``dbt test`` of a model whose tests store nothing and have no sql_header). KaitiakiError
    when it cannot be reached."""
    try:
        from kaitiaki_dbt.checker import ProjectChecker
        from kaitiaki_dbt.incremental import from_manifest_alone
        from kaitiaki_dbt.manifest import load_manifest
    except ImportError:
        raise KaitiakiError(
            f"{task_name(task)} runs dbt, and kaitiaki-dbt is not installed to decide its model.",
            hint="install kaitiaki-dbt beside kaitiaki-airflow on the workers.",
        ) from None
    uid = str(located.dbt_node)
    if not located.manifest or not Path(located.manifest).is_file():
        raise KaitiakiError(
            f"the dbt manifest of {task_name(task)} ({located.manifest or 'none named'}) does not exist, so "
            f"kaitiaki cannot decide {uid}.",
            hint="compile the project (dbt compile) and give cosmos the manifest (ProjectConfig).",
        )
    project = from_manifest_alone(load_manifest(Path(located.manifest)), gate.settings.dbt_operations)
    if project.node(uid) is None:
        raise KaitiakiError(f"{uid} is not in the dbt manifest {located.manifest} ({task_name(task)}).")
    require_selects_only(project, str(located.values[0]), uid)
    chosen = run_by_task(project, uid, task)
    project_dir = held(task, "project_dir")
    for run in sorted(chosen | hook_owners(project, chosen)):
        node = project.nodes.get(run)
        if node is None:  # a hook or a unit test: read with its owner's files and vars
            continue
        require_same_vars(project, node, task, run, Path(located.manifest))
        if node.get("resource_type") == "seed":  # its columns are read from the CSV file itself
            continue
        require_current_code(
            project,
            node,
            Path(project_dir) if project_dir else None,
            manifest=located.manifest,
            container=located.provider if in_container(located.provider) else None,
        )
    if not chosen:
        return None
    checker = ProjectChecker(
        project,
        cast("Gate", RunLabelledGate(gate, labels, run_time_settings(gate.settings, task))),
        project_dir=Path(project_dir) if project_dir else None,
    )
    verdicts = [v for v in checker.check(chosen) if v.job.meta.get("unique_id") in chosen]
    missing = chosen - {str(v.job.meta.get("unique_id")) for v in verdicts}
    if missing:
        raise KaitiakiError(
            f"the dbt checker gave no verdict on {', '.join(sorted(missing))} ({task_name(task)})."
        )
    return task_verdict(verdicts, uid)


def hook_owners(project: DbtProject, chosen: set[str]) -> set[str]:
    """The nodes whose hooks are decided: a hook is read from its owner's files, whose code must
    be current even when the owner itself is not decided (a test that stores nothing, whose
    sql_header dbt may run)."""
    from kaitiaki_dbt.routes import hook_owner

    return {owner for uid in chosen if (owner := hook_owner(project.node(uid) or {})) is not None}


def run_by_task(project: DbtProject, uid: str, task: Any) -> set[str]:
    """What the task's dbt command runs for its node ``uid`` and writes with (routes.gated_ids):
    ``dbt test``/``build`` also select the node's tests and unit tests, as dbt's eager indirect
    selection does (a cautious one selects fewer: deciding more is the safe side)."""
    from kaitiaki_dbt.routes import STORE_FAILURES_FLAG, gated_ids

    command = dbt_command(task)
    selected = {uid}
    if command in ("test", "build"):
        selected |= {
            test
            for test, node in project.graph().items()
            if node.get("resource_type") in ("test", "unit_test")
            and uid in ((node.get("depends_on") or {}).get("nodes") or ())
        }
    flags = held(task, "dbt_cmd_flags")
    store_failures = (
        not isinstance(flags, list | tuple) or STORE_FAILURES_FLAG in flags or store_failures_env(task)
    )
    return gated_ids(project, command, selected, store_failures_flag=store_failures)


def store_failures_env(task: Any) -> bool:
    """The task's ``env`` (or the worker's own environment, which cosmos passes on) turns dbt's
    ``--store-failures`` on, or cannot be read: deciding every test is the safe side."""
    from kaitiaki_dbt.routes import STORE_FAILURES_ENV, env_stores_failures

    env = held(task, "env")
    if env is not None and not isinstance(env, Mapping):
        return True
    return env_stores_failures((env or {}).get(STORE_FAILURES_ENV)) or env_stores_failures(
        os.environ.get(STORE_FAILURES_ENV)
    )


def dbt_command(task: Any) -> str:
    """The dbt command a cosmos operator runs (its ``base_cmd``: ``run``, ``test``, ``seed``,
    ``source freshness``…); ``build``, which runs the most, when it does not say."""
    base = getattr(task, "base_cmd", None)
    first = base[0] if isinstance(base, list | tuple) and base else None
    return first if isinstance(first, str) else "build"


def task_verdict(verdicts: list[Verdict], uid: str) -> Verdict:
    """The verdict the task reports: the first blocked, else the first denied (audit or warn
    mode), else the node's own, else the first."""
    return (
        next((v for v in verdicts if v.blocked), None)
        or next((v for v in verdicts if not v.decision.allow), None)
        or next((v for v in verdicts if v.job.meta.get("unique_id") == uid), verdicts[0])
    )


def run_time_settings(settings: Settings, task: Any) -> Settings:
    """The settings the checker decides the task's node with. A secret var the task gives dbt
    itself (cosmos ``vars`` or ``env``) is written in the DAG file, so it keys nothing, though
    the manifest was compiled with a value from elsewhere; when what the task gives cannot be
    read (a template, a ``--vars`` flag, an interceptor that may set either), no var does."""
    names = settings.pseudonymisation.secret_vars
    given = given_names(task).values()
    if any(written is None for written in given):
        kept: tuple[str, ...] = ()
    else:
        lowered = {name.lower() for written in given if written is not None for name in written}
        kept = tuple(name for name in names if name.lower() not in lowered)
    if kept == names:
        return settings
    return replace(settings, pseudonymisation=replace(settings.pseudonymisation, secret_vars=kept))


# dbt's var()/env_var() by name; what follows decides whether the name is a plain literal.
READER = re.compile(r"(?<!\w)(env_var|var)(?!\w)")
LITERAL_NAME = re.compile(r"\s*\(\s*(['\"])([^'\"\\]*)\1\s*[,)]")


def require_same_vars(
    project: DbtProject, node: Mapping[str, Any], task: Any, uid: str, manifest: Path
) -> None:
    """dbt runs the node with the values of the vars and env vars it reads (in its code,
    configs, sources, macros and ephemeral parents) that the manifest was compiled with: else what dbt
    runs is not the SQL decided. A var's value is compared when dbt's run_results.json of the
    same compile is beside the manifest; without it, and for env vars, a name the task gives
    is taken to differ."""
    given = given_names(task)
    compiled = compiled_vars(manifest, project)
    if not compiled and all(names == frozenset() for names in given.values()):
        return
    read = names_read(node_code(project, node))
    compared = compiled is not None and given["var"] is not None
    clashes = [
        label
        for kind, names in given.items()
        if not (kind == "var" and compared)
        for label in clashing(read.get(kind, set()), names, kind)
    ]
    if compared and compiled is not None:
        run = {str(key): value for key, value in (held(task, "vars") or {}).items()}
        clashes += [f"var({name!r})" for name in differing(read.get("var", set()), run, compiled)]
    if clashes:
        raise KaitiakiError(
            f"{task_name(task)} runs dbt with {', '.join(clashes)} set otherwise than (or not shown "
            f"to be as) when the manifest {manifest} was compiled, and {uid} reads them: kaitiaki "
            "cannot decide the SQL dbt would run.",
            hint="compile the manifest with the same vars as the task and keep dbt's run_results.json "
            "of that compile beside it (its --vars are compared), or move the var out of the task; "
            "env vars cannot be compared: set them where the manifest is compiled, not in the task.",
        )


def compiled_vars(manifest: Path, project: DbtProject) -> Mapping[str, Any] | None:
    """The ``--vars`` the manifest was compiled with, from the run_results.json dbt wrote beside
    it in the same invocation; None when that cannot be shown."""
    try:
        results = json.loads((manifest.parent / "run_results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    invocation = (project.manifest.get("metadata") or {}).get("invocation_id")
    if not isinstance(results, Mapping) or not isinstance(results.get("metadata"), Mapping):
        return None
    if not invocation or results["metadata"].get("invocation_id") != invocation:
        return None
    args = results.get("args")
    found = args.get("vars") if isinstance(args, Mapping) else None
    return found if isinstance(found, Mapping) else None


def differing(read: set[str | None], run: Mapping[str, Any], compiled: Mapping[str, Any]) -> list[str]:
    """The var names read whose value dbt runs with is not the one compiled (given on one side
    only, or other); a name computed at run time (None) reads every name."""
    names = set(run) | {str(name) for name in compiled} if None in read else {n for n in read if n}
    return sorted(n for n in names if (n in run, run.get(n)) != (n in compiled, compiled.get(n)))


def given_names(task: Any) -> dict[str, frozenset[str] | None]:
    """The var and env var names the task gives dbt, by kind; None when they cannot be read
    (a template left unrendered, a ``--vars`` flag, an interceptor that may set either)."""
    flags = [*(held(task, "dbt_cmd_flags") or ()), *(held(task, "dbt_cmd_global_flags") or ())]
    unknown = bool(held(task, "interceptors"))
    found: dict[str, frozenset[str] | None] = {}
    for kind, field in (("var", "vars"), ("env_var", "env")):
        value = held(task, field)
        if unknown or (kind == "var" and any("--vars" in str(flag) for flag in flags)):
            found[kind] = None
        elif value is None or isinstance(value, Mapping):
            found[kind] = frozenset(str(key) for key in value or {})
        else:
            found[kind] = None
    return found


def clashing(read: set[str | None], given: frozenset[str] | None, kind: str) -> list[str]:
    """``kind('name')`` for each name both read and given; a dynamic name (None) or an
    unreadable task (given None) meets every name of the other side."""
    if not read or given == frozenset():
        return []
    if given is None:
        names = {name or "<a name computed at run time>" for name in read}
    elif None in read:
        names = set(given)
    else:
        lowered = {name.lower() for name in given}
        names = {name for name in read if name is not None and name.lower() in lowered}
    return [f"{kind}({name!r})" for name in sorted(names)]


def names_read(code: str) -> dict[str, set[str | None]]:
    """The names each of ``var``/``env_var`` is read with in ``code``; None for any use that is
    not a call with a plain literal name (``var(x)``, ``'co' ~ 'ls'``, an alias of ``var``)."""
    found: dict[str, set[str | None]] = {}
    for match in READER.finditer(code):
        literal = LITERAL_NAME.match(code, match.end())
        found.setdefault(match.group(1), set()).add(literal.group(2) if literal else None)
    return found


def node_code(project: DbtProject, node: Mapping[str, Any]) -> str:
    """The Jinja dbt renders for the node: its raw code and unrendered config, those of the
    ephemeral models inlined into it, and every macro they call (transitively)."""
    return "\n".join(code_of(project.manifest.get("macros") or {}, list(rendered_nodes(project, node))))


def rendered_nodes(project: DbtProject, node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The node, the sources it reads (their schema and database are rendered) and the
    ephemeral models dbt inlines into it (as CTEs), transitively."""
    stack, seen = [node], set()
    while stack:
        current = stack.pop()
        yield current
        for parent in (current.get("depends_on") or {}).get("nodes") or ():
            found = project.nodes.get(parent) or project.sources.get(parent) or {}
            inlined = (found.get("config") or {}).get("materialized") == "ephemeral"
            if parent not in seen and (inlined or parent in project.sources):
                seen.add(parent)
                stack.append(found)


def code_of(macros: Mapping[str, Any], nodes: list[Mapping[str, Any]]) -> Iterator[str]:
    """The nodes' raw code and unrendered fields (config, a source's schema), then each macro
    they reach."""
    for node in nodes:
        yield str(node.get("raw_code") or "")
        yield from texts({key: value for key, value in node.items() if key.startswith("unrendered_")})
    from kaitiaki_dbt.manifest import reached_macros

    for _uid, macro in reached_macros(macros, nodes):
        yield str(macro.get("macro_sql") or "")


def texts(value: Any) -> Iterator[str]:
    """Every string in a config value (as written: its Jinja not yet rendered)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts(item)


def require_selects_only(project: DbtProject, select: str, uid: str) -> None:
    """dbt selects exactly the decided node with ``select`` (a name, ``fqn:`` parts, which dbt
    matches as a prefix of each node's fqn, or ``source:`` and a source's name and table)."""
    if select.startswith("fqn:"):
        parts = select[len("fqn:") :].split(".")
        chosen = {u for u, n in project.nodes.items() if list(n.get("fqn") or [])[: len(parts)] == parts}
    elif select.startswith("source:"):
        parts = select[len("source:") :].split(".")
        chosen = {
            u
            for u, n in project.sources.items()
            if [n.get("source_name"), n.get("name")][: len(parts)] == parts
        }
    else:
        chosen = {u for u, n in (*project.nodes.items(), *project.sources.items()) if name_selects(n, select)}
    if chosen != {uid}:
        raise KaitiakiError(
            f"the cosmos task selects {select!r}, which in the manifest is {sorted(chosen) or 'nothing'}, "
            f"not {uid} alone: dbt would run what kaitiaki did not decide."
        )


def name_selects(node: Mapping[str, Any], select: str) -> bool:
    """dbt's selection by a bare name (its fqn method): the node's name, the name of a versioned
    model (every version), or the first part of its fqn, so a package's or the project's name
    selects every node in it; a source's table name selects the source (``dbt test``: its tests)."""
    fqn = [str(part) for part in node.get("fqn") or ()]
    flat = [item for part in fqn for item in part.split(".")]
    versioned = node.get("version") is not None and len(fqn) > 1 and fqn[-2] == select
    return node.get("name") == select or versioned or (bool(fqn) and (fqn[-1] == select or flat[0] == select))


def require_current_code(
    project: DbtProject,
    node: Mapping[str, Any],
    project_dir: Path | None,
    *,
    manifest: str,
    container: str | None = None,
) -> None:
    """Every file dbt renders the node from is the one the manifest was compiled from: the
    model's own, those of the ephemeral models dbt inlines into it, and the macros they call.
    An edited ephemeral parent or macro changes the SQL dbt runs as surely as the model does."""
    uid = str(node.get("unique_id") or "")
    rendered = [n for n in rendered_nodes(project, node) if n.get("resource_type") != "source"]
    for model in rendered:
        if model.get("resource_type") == "test" and not str(model.get("original_file_path")).endswith(".sql"):
            continue  # a generic test is rendered from YAML and its test macro (checked below)
        require_current(
            model, project_dir, uid=str(model.get("unique_id") or uid), manifest=manifest, container=container
        )
    if project_dir is None:
        return
    from kaitiaki_dbt.manifest import reached_macros

    root = project.name or str(node.get("package_name") or "")
    installed = project_dir / packages_install_path(project_dir)
    for _uid, macro in reached_macros(project.manifest.get("macros") or {}, rendered):
        require_current_macro(
            macro, macro_file(macro, project_dir, root, installed), uid, manifest, container
        )


def macro_file(macro: Mapping[str, Any], project_dir: Path, root: str, installed: Path) -> Path | None:
    """Where the project keeps a macro's file: its own, or an installed package's (``dbt deps``);
    None for dbt's own and the adapter's macros, which come with the dbt installed, not the project."""
    path, package = str(macro.get("original_file_path") or ""), str(macro.get("package_name") or "")
    if package == root:
        return project_dir / path
    folder = installed / package
    return folder / path if folder.is_dir() else None


def packages_install_path(project_dir: Path) -> str:
    """dbt_project.yml's ``packages-install-path``, where ``dbt deps`` puts packages."""
    try:
        settings = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return "dbt_packages"
    configured = settings.get("packages-install-path") if isinstance(settings, dict) else None
    return configured if isinstance(configured, str) and "{" not in configured else "dbt_packages"


def require_current_macro(
    macro: Mapping[str, Any], source: Path | None, uid: str, manifest: str, container: str | None
) -> None:
    """The macro's text in the manifest is in its file as dbt would read it now."""
    if source is None:
        return
    name = str(macro.get("unique_id") or macro.get("name") or "a macro")
    require_on_worker(
        source, container, f"{uid} runs inside a container ({container}) and calls {name}, whose"
    )
    text = str(macro.get("macro_sql") or "")
    try:
        found = source.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        found = None
    if not text or found is None or not defined_once(text, found):
        raise KaitiakiError(
            f"{source} does not hold the macro {name} that the dbt manifest {manifest} was compiled with, "
            f"so what dbt would run is not what kaitiaki can decide ({uid}).",
            hint="compile the project again and ship the new manifest with it.",
        )


JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
BLOCK_OPENING = re.compile(r"\{%-?\s*(macro|test|materialization)\s+(\w+)")


def defined_once(text: str, file_text: str) -> bool:
    """The macro's text is in the file outside Jinja comments, and the file opens that macro's
    block once: the manifest's text kept in a comment (or a raw block) beside a new definition
    of the same name is not the macro dbt would read."""
    bare = JINJA_COMMENT.sub("", file_text)
    opening = BLOCK_OPENING.match(text.lstrip())
    if opening is None or JINJA_COMMENT.sub("", text) not in bare:
        return False
    kind, name = opening.groups()
    again = re.compile(r"\{%-?\s*" + kind + r"\s+" + re.escape(name) + r"\b")
    return len(again.findall(bare)) == 1


def require_current(
    node: Mapping[str, Any],
    project_dir: Path | None,
    *,
    uid: str,
    manifest: str,
    container: str | None = None,
) -> None:
    """The model file dbt will compile is the one the manifest was compiled from (its checksum).

    ``container``: the reader's label when cosmos runs dbt inside a container image, whose files
    kaitiaki cannot see: the worker's copy of the project stands for the image's.
    """
    checksum = node.get("checksum") or {}
    path = node.get("original_file_path")
    if project_dir is None or not path or checksum.get("name") != "sha256":
        raise KaitiakiError(f"kaitiaki cannot tell whether the manifest's {uid} is the model the task runs.")
    source = project_dir / str(path)
    require_on_worker(source, container, f"{uid} runs inside a container ({container}), and its")
    found = file_checksum(source) if source.is_file() else None
    if found != checksum.get("checksum"):
        raise KaitiakiError(
            f"{source} is not the file the dbt manifest {manifest} was compiled from, so what dbt would run "
            f"is not what kaitiaki can decide ({uid}).",
            hint="compile the project again and ship the new manifest with it.",
        )


def require_on_worker(source: Path, container: str | None, what: str) -> None:
    """When cosmos runs dbt inside a container image, the worker's copy of the project stands for
    the image's: a file the node is rendered from must be there, or what the image runs is unknown."""
    if container and not source.is_file():
        raise KaitiakiError(
            f"{what} file {source} is not on the worker: kaitiaki decides a container's node from the "
            "manifest and the project files on the worker, so it cannot tell what the image runs.",
            hint="put the project the image was built from on the workers at the task's project_dir, "
            "beside its compiled manifest.",
        )


def file_checksum(path: Path) -> str:
    """dbt's checksum of a model file: sha256 of its UTF-8 text, stripped of outer whitespace."""
    return hashlib.sha256(path.read_bytes().decode("utf-8").strip().encode("utf-8")).hexdigest()
