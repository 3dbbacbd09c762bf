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

from sqlglot import exp

from kaitiaki.model import FIELD_SEPARATOR

_EXTRACTS = (exp.JSONExtract, exp.JSONExtractScalar, exp.JSONBExtract, exp.JSONBExtractScalar)
_ACCESSES = (*_EXTRACTS, exp.Bracket, exp.Dot)
# What a column may be wrapped in and still be the value read: (payload::jsonb)->>'nhi' reads payload
_AS_JSON = (exp.Paren, exp.Cast, exp.TryCast, exp.ParseJSON)
# PostgreSQL's text-array path of #> and #>>: '{person,nhi}' (no quoting, escapes or nesting)
_TEXT_ARRAY_PATH = re.compile(r"^\{([^{}\"\\]+)\}$")


def name_fields(query: exp.Expr) -> None:
    """Replace, in place, every read of a field by a literal path with the field as a column."""
    # innermost first: payload->'person'->>'nhi' becomes payload->person, then payload->person->nhi
    for node in reversed(list(query.find_all(*_ACCESSES, bfs=False))):
        column = held_column(node.this)
        keys = field_keys(node)
        if keys and isinstance(column, exp.Column) and isinstance(column.this, exp.Identifier):
            if isinstance(node, exp.Dot) and not column.table:
                continue  # PostgreSQL's (p).nhi: p may be a whole row, a field of which is a column
            node.replace(field_column(column, keys))


def held_column(value: exp.Expr) -> exp.Expr:
    """The column a value is, through parentheses, casts and JSON parsing (``payload::jsonb``)."""
    while isinstance(value, _AS_JSON):
        value = value.this
    return value


def field_keys(node: exp.Expr) -> tuple[str, ...]:
    """The literal keys an access reads, or () when it is not a literal path."""
    if isinstance(node, _EXTRACTS):
        return _path_keys(node.expression)
    if isinstance(node, exp.Bracket):
        (key, *more) = node.expressions or [None]
        return (key.this,) if not more and isinstance(key, exp.Literal) and key.is_string else ()
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
        return (node.expression.name,)
    return ()


def _path_keys(path: exp.Expr | None) -> tuple[str, ...]:
    if isinstance(path, exp.JSONPath):
        parts = path.expressions
        if not parts or not isinstance(parts[0], exp.JSONPathRoot):
            return ()
        keys = [_path_part(part) for part in parts[1:]]
        joined = FIELD_SEPARATOR.join(k for k in keys if k is not None)
        return tuple(joined.split(FIELD_SEPARATOR)) if joined and None not in keys else ()
    if isinstance(path, exp.Literal) and path.is_string:
        found = _TEXT_ARRAY_PATH.match(path.this)
        return tuple(k.strip() for k in found.group(1).split(",")) if found else ()
    return ()


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
