"""Fields inside a column, named as columns of their own.

``payload->>'nhi'``, ``(payload::jsonb)->>'nhi'``, ``json_extract_string(payload, '$.person.nhi')``,
``payload['nhi']`` and the struct field ``t.payload.nhi`` read one field of the column ``payload``.
Read as the column alone, the field's name never reaches classification, so an NHI kept in a JSON
payload would pass as an unclassified column. So each access by a literal path becomes the column
``payload->person->nhi`` (kaitiaki.model.FIELD_SEPARATOR) before the scopes are built: the flow,
the lineage and the classification then see which field the job reads, and name rules judge its
path. A path that is not literal (a key held in a column, a slice, a filter) is left alone: the
job reads the column, as before.

Runs on the qualified query, so a column's qualifier is already its source.
"""

from __future__ import annotations

import re
from typing import TypeGuard

from sqlglot import exp, jsonpath
from sqlglot.errors import ParseError

from kaitiaki.model import FIELD_SEPARATOR

Path = tuple[str, ...]  # the keys of one field, outermost first

_EXTRACTS = (exp.JSONExtract, exp.JSONExtractScalar, exp.JSONValueArray)
_JSONB_EXTRACTS = (exp.JSONBExtract, exp.JSONBExtractScalar)  # PostgreSQL #> and #>>: a key array
_KEYED = (exp.GetExtract, exp.StructExtract, exp.Bracket)  # one key: GET(v, 'k'), v['k']
_ACCESSES = (*_EXTRACTS, *_JSONB_EXTRACTS, *_KEYED, exp.JSONValue, exp.Dot, exp.Anonymous)
# What a column may be wrapped in and still be the value read: (payload::jsonb)->>'nhi' reads payload
_AS_JSON = (exp.Paren, exp.Cast, exp.TryCast, exp.ParseJSON, exp.FromJson)
# PostgreSQL's text-array path of #> and #>>: '{person,nhi}' (no quoting, escapes or nesting)
_TEXT_ARRAY_PATH = re.compile(r"^\{([^{}\"\\]+)\}$")
_PATH_MODE = re.compile(r"^\s*(lax|strict)\s+", re.IGNORECASE)  # PostgreSQL jsonpath's mode
# Functions sqlglot keeps by name whose first argument is the value read. These take literal keys
# after it (and then as many arguments that are not keys as given: ClickHouse's return type):
_KEYS_THEN = {
    "jsonb_extract_path": 0, "jsonb_extract_path_text": 0, "map_extract": 0, "jsonextract": 1,
    "jsonextractstring": 0, "jsonextractint": 0, "jsonextractuint": 0, "jsonextractfloat": 0,
    "jsonextractbool": 0, "jsonextractraw": 0, "jsonextractarrayraw": 0, "jsonextractkeysandvalues": 1,
}  # fmt: skip
# and these one JSON path text (PostgreSQL's jsonb_path_query family):
_PATH_TEXT = frozenset(
    f"jsonb_path_query{kind}{tz}" for kind in ("", "_first", "_array") for tz in ("", "_tz")
)


def name_fields(query: exp.Expr) -> None:
    """Replace, in place, every read of a field by a literal path with the field as a column (an
    array of fields when one call reads several: DuckDB's json_extract(v, ['$.a', '$.b']))."""
    # innermost first: payload->'person'->>'nhi' becomes payload->person, then payload->person->nhi
    for node in reversed(list(query.find_all(*_ACCESSES, bfs=False))):
        value, paths = field_reads(node)
        column = held_column(value) if value is not None else None
        if not paths or not isinstance(column, exp.Column) or not isinstance(column.this, exp.Identifier):
            continue
        if isinstance(node, exp.Dot) and node.this.unnest() is column and not column.table:
            continue  # PostgreSQL's (p).nhi: p may be a whole row, a field of which is a column
        fields = [field_column(column, keys) for keys in paths]
        node.replace(fields[0] if len(fields) == 1 else exp.Array(expressions=fields))


def held_column(value: exp.Expr) -> exp.Expr:
    """The column a value is, through parentheses, casts and JSON parsing (``payload::jsonb``)."""
    while isinstance(value, _AS_JSON):
        value = value.this
    return value


def field_reads(node: exp.Expr) -> tuple[exp.Expr | None, tuple[Path, ...]]:
    """The value an access reads fields of, and the literal paths it reads (none when a path is
    not literal)."""
    if isinstance(node, exp.Anonymous):
        return _function_reads(node)
    if isinstance(node, exp.JSONValue):
        return node.this, _one(_path_keys(node.args.get("path")))
    if isinstance(node, _EXTRACTS) and isinstance(node.expression, exp.Array):
        paths = tuple(_path_keys(path) for path in node.expression.expressions)
        return node.this, paths if paths and all(paths) else ()
    if isinstance(node, _EXTRACTS):
        return node.this, _one(_path_keys(node.expression))
    if isinstance(node, _JSONB_EXTRACTS) and isinstance(node.expression, exp.Array):
        return node.this, _one(_literal_keys(node.expression.expressions))
    if isinstance(node, _JSONB_EXTRACTS):
        return node.this, _one(_path_keys(node.expression))
    if isinstance(node, exp.Bracket):
        (key, *more) = node.expressions or [None]
        return node.this, _one((key.this,) if not more and _is_text(key) else ())
    if isinstance(node, _KEYED):
        return node.this, _one(_literal_keys([node.expression]))
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
        return node.this, ((node.expression.name,),)
    return None, ()


def _function_reads(call: exp.Anonymous) -> tuple[exp.Expr | None, tuple[Path, ...]]:
    name, arguments = call.name.lower(), call.expressions
    if not arguments:
        return None, ()
    if name in _PATH_TEXT and len(arguments) >= 2:
        return arguments[0], _one(_path_keys(arguments[1]))
    if name in _KEYS_THEN:
        keys = arguments[1 : len(arguments) - _KEYS_THEN[name]]
        return arguments[0], _one(_literal_keys(keys))
    return None, ()


def _one(keys: Path) -> tuple[Path, ...]:
    return (keys,) if keys else ()


def _is_text(node: exp.Expr | None) -> TypeGuard[exp.Literal]:
    return isinstance(node, exp.Literal) and node.is_string


def _literal_keys(arguments: list[exp.Expr]) -> Path:
    """Keys written as literals (a text key or an array position); () if any is not literal."""
    if not arguments or not all(isinstance(a, exp.Literal) for a in arguments):
        return ()
    return tuple(str(a.this) for a in arguments)


def _path_keys(path: exp.Expr | None) -> Path:
    """The keys of a JSON path (parsed, or a literal text: '$.person.nhi', '{person,nhi}')."""
    if _is_text(path):
        found = _TEXT_ARRAY_PATH.match(path.this)
        if found:
            return tuple(k.strip() for k in found.group(1).split(","))
        path = _parsed_path(path.this)
    if not isinstance(path, exp.JSONPath):
        return ()
    parts = path.expressions
    if not parts or not isinstance(parts[0], exp.JSONPathRoot):
        return ()
    keys = [_path_part(part) for part in parts[1:]]
    joined = FIELD_SEPARATOR.join(k for k in keys if k is not None)
    return tuple(joined.split(FIELD_SEPARATOR)) if joined and None not in keys else ()


def _parsed_path(text: str) -> exp.Expr | None:
    """A JSON path written as text ('$.nhi', PostgreSQL's 'lax $.nhi'), or None if it is not one."""
    text = _PATH_MODE.sub("", text)
    if not text.startswith("$"):
        return None
    try:
        return jsonpath.parse(text)
    except ParseError:
        return None


def _path_part(part: exp.Expr) -> str | None:
    """A key of a JSON path as the field's name shows it: an array position or ``*`` for any key
    or element (``$.people[*].nhi`` is ``people->*->nhi``), ``**`` before a key found at any depth
    (``$..nhi``); None for a slice, filter, union or script, which the name cannot say."""
    inner = part.this
    if isinstance(part, exp.JSONPathKey) and isinstance(inner, str):
        return inner
    if isinstance(part, (exp.JSONPathKey, exp.JSONPathSubscript)) and isinstance(inner, exp.JSONPathWildcard):
        return "*"
    if isinstance(part, exp.JSONPathSubscript) and isinstance(inner, int):
        return str(inner)
    if isinstance(part, exp.JSONPathRecursive) and isinstance(inner, str):
        return f"**{FIELD_SEPARATOR}{inner}"
    return None


def field_column(column: exp.Column, keys: tuple[str, ...]) -> exp.Column:
    """``column`` with ``keys`` appended to its name, keeping its qualifier and its place (line)."""
    name = FIELD_SEPARATOR.join((column.name, *keys))
    identifier = exp.Identifier(this=name, quoted=True)
    identifier.meta.update(column.this.meta)
    parts = {key: column.args[key].copy() for key in ("table", "db", "catalog") if column.args.get(key)}
    return exp.Column(this=identifier, **parts)
