"""Where a model's compiled SQL holds a declared secret var, by position: never by value.

dbt renders ``{{ var('link_key') }}`` / ``{{ env_var('LINK_KEY') }}`` into the compiled SQL as a
plain literal, so the analysis alone cannot tell a keyed hash from a salt written in the SQL.
The raw and compiled texts are aligned by tokens (as positions.py does): when a secret call
stands alone between two SQL tokens that matched, the compiled text between those tokens is
the text around the call with the call's rendering in the middle, and that rendering's
characters are a :class:`SecretSpan` (offsets and the var's name; the value is never read).

Not a secret, so no span (the hash stays unkeyed): a call with a default written in the code
(``var('k', 'dev')``), a var dbt_project.yml gives a value (committed to the repository), a
call with a filter or inside other Jinja, a call inside a block statement (``{% if %}``,
``{% macro %}``, ``{% raw %}``…), a model with Jinja that renders SQL text of its own besides
(a macro call, another var, a loop: it could render a copy of the text around the call, whose
literal the alignment would take for the secret's), a node of an installed package, a model whose Jinja
binds the name ``var`` or ``env_var`` itself (``{% set var = … %}``, ``{% macro var(…) %}``) or a
project with a macro of that name (either renders what it likes where the call stands), and
anything the alignment cannot place exactly.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from kaitiaki.model import SecretSpan
from kaitiaki_dbt.manifest import Node
from kaitiaki_dbt.positions import JINJA, TOKEN

SECRET_CALL = re.compile(r"""\{\{\s*(?:var|env_var)\(\s*(?P<q>['"])(?P<name>[\w.\-]+)(?P=q)\s*\)\s*\}\}""")

# names whose rendering the alignment relies on; a statement block that may bind one (anything
# but a call of it), or a macro of that name, makes the model's text unreliable: fail closed
_NAMES = r"(?:env_var|var|ref|source|config|this)"
REBINDS = re.compile(rf"\bmacro\s+{_NAMES}\b|\b{_NAMES}\b(?!\s*\()")
SHADOWED = frozenset({"var", "env_var", "ref", "source", "config", "this"})
_STRINGS = r"""\(\s*(?:'[^'\\]*'|"[^"\\]*")(?:\s*,\s*(?:'[^'\\]*'|"[^"\\]*"))*\s*\)"""
# Jinja that renders no SQL text of its own (a relation's name, nothing): anything else beside a
# secret call (a macro, another var, a loop, a filter) could render a copy of the SQL around the
# call elsewhere, and the alignment take that copy's literal for the secret's
QUIET = re.compile(
    r"\{#.*#\}"
    rf"|\{{\{{-?\s*(?:ref|source){_STRINGS}\s*-?\}}\}}"
    r"|\{\{-?\s*this\s*-?\}\}"
    r"|\{%[-+]?\s*(?:if|elif|else|endif|set|endset|macro|endmacro|do|snapshot|endsnapshot)\b.*",
    re.DOTALL,
)
STATEMENT = re.compile(r"\{%[-+]?\s*(?P<tag>\w+)(?P<rest>.*?)[-+]?%\}", re.DOTALL)
IN_PLACE = frozenset({"snapshot"})  # dbt renders a snapshot block's body once, where it stands

Span = tuple[int, int]  # start, end (exclusive) of a token in its text


def token_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[str, Span]]:
    """SQL tokens of ``text[start:end]`` (lowercased, as positions.py compares them) with offsets."""
    stop = len(text) if end is None else end
    return [(m.group(0).lower(), (m.start(), m.end())) for m in TOKEN.finditer(text, start, stop)]


def raw_parts(raw: str) -> tuple[list[tuple[str, Span]], list[tuple[int, re.Match[str]]]]:
    """The raw text's SQL tokens outside Jinja, and every Jinja block with the index of the first
    SQL token after it."""
    out: list[tuple[str, Span]] = []
    blocks: list[tuple[int, re.Match[str]]] = []
    position = 0
    for block in JINJA.finditer(raw):
        out.extend(token_spans(raw, position, block.start()))
        blocks.append((len(out), block))
        position = block.end()
    out.extend(token_spans(raw, position))
    return out, blocks


def top_level(raw: str, blocks: list[tuple[int, re.Match[str]]]) -> set[int] | None:
    """Indexes of the blocks outside every Jinja block statement (``{% if %}``, ``{% for %}``,
    ``{% macro %}``, ``{% filter %}``, ``{% set x %}``…): a call inside one may be rendered
    elsewhere, changed, or not at all. None when the nesting cannot be read (``{% raw %}``,
    unbalanced ends)."""
    depth, found = 0, set()
    for index, (_, block) in enumerate(blocks):
        statement = STATEMENT.fullmatch(block.group(0))
        if statement is None:
            if depth == 0:
                found.add(index)
            continue
        tag = statement.group("tag").lower()
        if tag == "raw":
            return None
        if tag.startswith("end") and tag[3:] not in IN_PLACE:
            depth -= 1
        elif tag not in IN_PLACE and re.search(rf"\{{%[-+]?\s*end{tag}\b", raw, re.IGNORECASE):
            depth += 0 if tag == "set" and "=" in statement.group("rest") else 1
        if depth < 0:
            return None
    return found if depth == 0 else None


CONFIG_HEAD = re.compile(r"\{\{-?\s*config\(")
BLOCK_END = re.compile(r"\s*-?\}\}")


def _config_call(raw: str, start: int) -> bool:
    """Whether ``raw[start:]`` opens with a whole ``{{ config(…) }}`` (rendering nothing) whose
    arguments call nothing and join no text. Read here, not by JINJA: a dict's ``}}`` ends
    JINJA's block early (``config(meta={'kaitiaki': {…}})``)."""
    head = CONFIG_HEAD.match(raw, start)
    if head is None:
        return False
    quote = ""
    for at in range(head.end(), len(raw)):
        char = raw[at]
        if quote:
            if char == "\\":
                return False
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "(~+":
            return False
        elif char == ")":
            return BLOCK_END.match(raw, at + 1) is not None
    return False


def _reliable(raw: str, block: re.Match[str], wanted: Collection[str]) -> bool:
    """A Jinja block that cannot make a secret call's place in the compiled SQL ambiguous."""
    text = block.group(0)
    call = SECRET_CALL.fullmatch(text)
    if call is not None:
        return call.group("name").lower() in wanted
    if _config_call(raw, block.start()):
        return True
    return QUIET.fullmatch(text) is not None and not (text.startswith("{%") and REBINDS.search(text))


def secret_spans(raw: str, compiled: str, names: Collection[str]) -> tuple[SecretSpan, ...]:
    """Spans of ``compiled`` rendered from a lone ``var``/``env_var`` call named in ``names``."""
    wanted = {name.lower() for name in names}
    if not wanted or not any(n in raw.lower() for n in wanted):
        return ()
    raw_list, blocks = raw_parts(raw)
    outside = top_level(raw, blocks)
    if outside is None or not all(_reliable(raw, block, wanted) for _, block in blocks):
        return ()
    compiled_list = token_spans(compiled)
    matcher = difflib.SequenceMatcher(
        None, [t for t, _ in raw_list], [t for t, _ in compiled_list], autojunk=False
    )
    image = {block.a + k: block.b + k for block in matcher.get_matching_blocks() for k in range(block.size)}
    found: list[SecretSpan] = []
    for index, (at, block) in enumerate(blocks):
        call = SECRET_CALL.fullmatch(block.group(0))
        if call is None or call.group("name").lower() not in wanted or index not in outside:
            continue
        before = next((i for i in range(at - 1, -1, -1) if i in image), None)
        after = next((i for i in range(at, len(raw_list)) if i in image), None)
        if before is None or after is None:
            continue
        left, right = raw_list[before][1][1], raw_list[after][1][0]
        # alone: no other Jinja between the two matched tokens (it could render anything)
        if any(
            other.start() < right and other.end() > left for j, (_, other) in enumerate(blocks) if j != index
        ):
            continue
        prefix, suffix = raw[left : block.start()], raw[block.end() : right]
        region_start = compiled_list[image[before]][1][1]
        region_end = compiled_list[image[after]][1][0]
        region = compiled[region_start:region_end]
        if len(region) <= len(prefix) + len(suffix) or not (
            region.startswith(prefix) and region.endswith(suffix)
        ):
            continue
        found.append(SecretSpan(region_start + len(prefix), region_end - len(suffix), call.group("name")))
    return tuple(found)


def shadowed(macros: Mapping[str, Any]) -> bool:
    """Whether a macro of the manifest is named ``var``, ``env_var``, ``ref``, ``source``,
    ``config`` or ``this``: a root project's macro replaces dbt's own, so what the call renders
    is no longer what the alignment takes it for."""
    return any(isinstance(m, Mapping) and m.get("name") in SHADOWED for m in macros.values())


def committed_vars(project_dir: Path | None) -> frozenset[str]:
    """Names dbt_project.yml gives a value under ``vars`` (at any scope): a key committed to the
    repository is no secret. Unknown (no project directory, unreadable file): every name."""
    if project_dir is None:
        return frozenset({"*"})
    path = project_dir / "dbt_project.yml"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return frozenset({"*"})
    return _committed(path, stamp)


@lru_cache(maxsize=8)
def _committed(path: Path, stamp: int) -> frozenset[str]:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return frozenset({"*"})
    variables = document.get("vars") if isinstance(document, Mapping) else None
    return frozenset(name.lower() for name in _keys(variables))


def _keys(value: Any) -> list[str]:
    if not isinstance(value, Mapping):
        return []
    return [str(key) for key in value] + [k for nested in value.values() for k in _keys(nested)]


def node_secret_spans(
    node: Node, sql: str, names: Collection[str], project_dir: Path | None, root_package: str
) -> tuple[SecretSpan, ...]:
    """Spans of a node's job SQL (its compiled SQL, possibly after a ``create table … as``
    prefix) rendered from secret vars that are not committed to the repository. Only the root
    project's nodes: an installed package's vars are set in its own dbt_project.yml, unread here."""
    if node.get("package_name") != root_package:
        return ()
    raw, compiled = node.get("raw_code"), node.get("compiled_code")
    if not names or not isinstance(raw, str) or not isinstance(compiled, str) or not compiled:
        return ()
    committed = committed_vars(project_dir)
    if "*" in committed:
        return ()
    names = [n for n in names if n.lower() not in committed]
    offset = sql.find(compiled)
    if offset < 0 or not names:
        return ()
    return tuple(
        SecretSpan(s.start + offset, s.end + offset, s.name) for s in secret_spans(raw, compiled, names)
    )
