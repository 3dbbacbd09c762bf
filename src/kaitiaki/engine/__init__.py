"""Rego policy engines behind one interface (docs/governance.md), and the policies and data they load.

``load_engine(settings)`` is what the gate calls: it finds the engine factory for
``settings.engine.kind`` among the plugins, gathers the policies (the bundled DPUP library plus
``settings.policies``) and the data, and returns a compiled engine ready to ``evaluate`` many
inputs. Anything that cannot be set up raises PolicyError (exit 2); anything that goes wrong while
deciding raises EngineError (the gate blocks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kaitiaki.config import Settings
from kaitiaki.engine.base import Engine, compute_revision
from kaitiaki.engine.metadata import PUBLIC_FIELDS, rule_metadata, rules_table, violation_fields, with_params
from kaitiaki.engine.sources import PolicySet, deep_merge, discover, merge_fragments
from kaitiaki.errors import PolicyError

__all__ = [
    "Engine",
    "engine_data",
    "engine_factories",
    "load_engine",
    "policy_metadata",
    "policy_paths",
    "policy_revision",
    "policy_set",
]

EngineFactory = Callable[..., Engine]


def engine_factories() -> dict[str, EngineFactory]:
    """Engine kind → factory, from every plugin implementing ``kaitiaki_policy_engines``."""
    from kaitiaki.plugins import get_plugin_manager

    factories: dict[str, EngineFactory] = {}
    for answer in reversed(get_plugin_manager().hook.kaitiaki_policy_engines()):
        factories.update(answer or {})
    return factories


def load_engine(settings: Settings) -> Engine:
    """The engine kaitiaki.yaml asks for, loaded with its policies and data."""
    factories = engine_factories()
    kind = settings.engine.kind
    factory = factories.get(kind)
    if factory is None:
        raise PolicyError(
            f"unknown policy engine kind {kind!r}.",
            path=str(settings.path) if settings.path else None,
            hint=f"engine.kind must be one of {', '.join(sorted(factories))}; `kaitiaki plugins` lists them.",
        )
    engine = factory(**settings.engine.factory_kwargs())
    policies = policy_set(settings)
    engine.load(policies.modules(), engine_data(policies, settings))
    return engine


def policy_paths(settings: Settings) -> list[Path]:
    """The policy paths kaitiaki.yaml names, or the bundled library when it names none."""
    from kaitiaki.engine.sources import bundled_policies_dir

    return list(settings.policies) or [bundled_policies_dir()]


def policy_set(source: Settings | Sequence[Path]) -> PolicySet:
    """The policy files for kaitiaki.yaml's ``policies:`` (or explicit paths)."""
    paths = source.policies if isinstance(source, Settings) else tuple(source)
    return discover(paths)


def engine_data(policies: PolicySet, settings: Settings | None = None) -> dict[str, Any]:
    """The data document: data.json fragments, rule METADATA, then kaitiaki.yaml's policy_data,
    levels (data.kaitiaki.levels) and identifier issuers (data.kaitiaki.issuer), and last the
    violation fields derived from the (possibly overridden) METADATA."""
    kaitiaki = merge_fragments(d.fragment() for d in policies.data_files)
    kaitiaki["rules"] = rules_table(rule_metadata(policies.policy_files()))
    if settings is not None:
        kaitiaki = deep_merge(kaitiaki, settings.policy_data)
        kaitiaki["levels"] = dict(settings.levels)
        kaitiaki["issuer"] = dict(settings.identifier_issuers)
    rules = kaitiaki["rules"]
    if isinstance(rules, dict):
        kaitiaki["rules"] = rules = with_params(rules, kaitiaki.get("params"))
    kaitiaki["violation_fields"] = violation_fields(rules if isinstance(rules, dict) else {})
    return {"kaitiaki": kaitiaki}


def policy_revision(policies: PolicySet, settings: Settings | None = None) -> str:
    """The revision an engine loaded with these policies and settings reports."""
    return compute_revision(policies.modules(), engine_data(policies, settings))


def policy_metadata(source: Settings | Sequence[Path] = ()) -> dict[str, dict[str, Any]]:
    """Rule id → the rule's METADATA (title, description, level, guideline, principle, law,
    remediation, other custom fields, and where it is declared: package, rule, path, line); a
    remediation's ``{param}`` placeholders read the policies' data (data.json, then kaitiaki.yaml's
    ``policy_data`` when ``source`` is the settings)."""
    policies = policy_set(source)
    data = merge_fragments(d.fragment() for d in policies.data_files)
    if isinstance(source, Settings):
        data = deep_merge(data, source.policy_data)
    params = data.get("params")
    metadata = with_params(rule_metadata(policies.policy_files()), params)
    return {rule_id: _public_first(entry) for rule_id, entry in sorted(metadata.items())}


def _public_first(entry: dict[str, Any]) -> dict[str, Any]:
    ordered = {key: entry[key] for key in PUBLIC_FIELDS}
    ordered.update({k: v for k, v in entry.items() if k not in ordered})
    return ordered
