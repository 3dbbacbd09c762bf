"""Finding the policies and building the data document every engine is given.

The bundled library (``policies/`` in a checkout, ``kaitiaki/_policies`` when installed) is always
the base. Paths from kaitiaki.yaml (``policies:``) add packages; a file that declares a package the
library also declares replaces the library's files of that package, so a fork of a DPUP package
works without copying the rest. Each ``data.json`` is a fragment of ``data.kaitiaki``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaitiaki.errors import PolicyError

POLICY_SUFFIX = ".rego"
TEST_SUFFIX = "_test.rego"
DATA_FILE = "data.json"
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.MULTILINE)


@dataclass(frozen=True)
class PolicyFile:
    """One Rego file: where it is, the package it declares and its text."""

    path: Path
    root: Path
    package: str
    text: str

    @property
    def name(self) -> str:
        """The path shown in messages: relative to the working directory when inside it."""
        return display_path(self.path)

    @property
    def is_test(self) -> bool:
        return self.path.name.endswith(TEST_SUFFIX)

    @property
    def relative(self) -> Path:
        return self.path.relative_to(self.root)


OPA_DATA_ROOT = "kaitiaki"


@dataclass(frozen=True)
class DataFile:
    path: Path
    root: Path
    content: Mapping[str, Any]

    @property
    def _folders(self) -> tuple[str, ...]:
        return self.path.parent.relative_to(self.root).parts

    @property
    def opa_mounted(self) -> bool:
        """The file sits in a ``kaitiaki/`` folder (or below one), where OPA mounts data.kaitiaki
        when the folder holding ``kaitiaki/`` is the root it loads."""
        return OPA_DATA_ROOT in self._folders

    @property
    def mount(self) -> tuple[str, ...]:
        """Where the content goes below ``data.kaitiaki``: its folders after ``kaitiaki/`` (as
        OPA mounts it), or nowhere deeper for a data.json elsewhere."""
        folders = self._folders
        return folders[folders.index(OPA_DATA_ROOT) + 1 :] if self.opa_mounted else ()

    def fragment(self) -> dict[str, Any]:
        """The content as a fragment of ``data.kaitiaki``."""
        nested: dict[str, Any] = dict(self.content)
        for folder in reversed(self.mount):
            nested = {folder: nested}
        return nested


@dataclass(frozen=True)
class PolicySet:
    """The policy files and data fragments to load, bundled library first."""

    files: tuple[PolicyFile, ...]
    data_files: tuple[DataFile, ...]

    def modules(self, *, tests: bool = False) -> list[tuple[str, str]]:
        return [(f.name, f.text) for f in self.files if tests or not f.is_test]

    def policy_files(self, *, tests: bool = False) -> list[PolicyFile]:
        return [f for f in self.files if tests or not f.is_test]


def display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def bundled_policies_dir() -> Path:
    """The DPUP library shipped with kaitiaki: installed as kaitiaki/_policies, or the checkout's."""
    package_dir = Path(__file__).resolve().parent.parent
    for candidate in (package_dir / "_policies", package_dir.parent.parent / "policies"):
        if (candidate / "kaitiaki" / "main.rego").is_file():
            return candidate
    raise PolicyError(
        "the bundled policy library is missing (no kaitiaki/_policies or policies/ beside the package).",
        hint="reinstall kaitiaki, or name your policies in kaitiaki.yaml (policies:).",
    )


def discover(paths: Sequence[Path] = ()) -> PolicySet:
    """The bundled library plus ``paths``, the later replacing the library's packages they redeclare."""
    bundled_root = bundled_policies_dir().resolve()
    user_files: list[PolicyFile] = []
    user_data: list[DataFile] = []
    for root in _unique_roots(paths, bundled_root):
        files, data = _scan(root)
        user_files.extend(files)
        user_data.extend(data)
    bundled_files, bundled_data = _scan(bundled_root)
    replaced = {f.package for f in user_files if not f.is_test}
    kept = [f for f in bundled_files if f.package not in replaced and not _tests_any(f, replaced)]
    kept_dirs = {f.path.parent for f in kept}
    kept_data = [d for d in bundled_data if d.opa_mounted or d.path.parent in kept_dirs]
    return PolicySet(files=(*kept, *user_files), data_files=(*kept_data, *user_data))


def _tests_any(f: PolicyFile, packages: set[str]) -> bool:
    """A bundled test file goes with the package it tests (it imports ``data.<package>``)."""
    return f.is_test and any(re.search(rf"\bdata\.{re.escape(p)}\b", f.text) for p in packages)


def _unique_roots(paths: Sequence[Path], bundled_root: Path) -> list[Path]:
    roots: list[Path] = []
    for path in paths:
        resolved = Path(path).resolve()
        if not resolved.exists():
            raise PolicyError("policy path does not exist.", path=str(path))
        if resolved == bundled_root or resolved in roots:
            continue
        roots.append(resolved)
    return roots


def _scan(root: Path) -> tuple[list[PolicyFile], list[DataFile]]:
    base = root if root.is_dir() else root.parent
    candidates = [root] if root.is_file() else sorted(root.rglob("*"))
    files: list[PolicyFile] = []
    data: list[DataFile] = []
    for path in candidates:
        if any(part.startswith(".") for part in path.relative_to(base).parts):
            continue
        if path.suffix == POLICY_SUFFIX and path.is_file():
            files.append(_policy_file(path, base))
        elif path.name == DATA_FILE and path.is_file():
            data.append(DataFile(path=path, root=base, content=_data_fragment(path)))
    return files, data


def _policy_file(path: Path, root: Path) -> PolicyFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the policy file: {exc}.", path=str(path)) from None
    match = _PACKAGE.search(text)
    if match is None:
        raise PolicyError("the policy file declares no package.", path=str(path), line=1)
    return PolicyFile(path=path, root=root, package=match.group(1), text=text)


def _data_fragment(path: Path) -> Mapping[str, Any]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PolicyError(f"invalid JSON: {exc.msg}.", path=str(path), line=exc.lineno) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the data file: {exc}.", path=str(path)) from None
    if not isinstance(content, dict):
        raise PolicyError(
            "a policy data.json must hold an object (its keys go under data.kaitiaki).",
            path=str(path),
            line=1,
        )
    return content


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Objects merge key by key; anything else in ``override`` replaces what ``base`` had."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_fragments(fragments: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for fragment in fragments:
        merged = deep_merge(merged, fragment)
    return merged
