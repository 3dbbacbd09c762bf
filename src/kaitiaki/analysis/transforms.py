"""What a function does to the column values flowing through it: hash, mask, truncate, aggregate.

Functions are recognised by sqlglot's class (which already unifies each dialect's spelling:
``sha2``/``sha256``/``hashbytes`` are all ``SHA2``) and, for functions sqlglot keeps anonymous,
by name. Everything else (CAST, COALESCE, concat, CASE, arithmetic, unknown UDFs) is a raw flow.

Two deliberate, fail-closed choices:
- Aggregates that return the values themselves (``string_agg``/``listagg``, ``array_agg``,
  ``any_value``, ``first_value``, ``lag``, ``max_by``, ``mode`` …) are raw flows, not
  ``aggregate``: ``string_agg(nhi, ',')`` publishes every NHI.
- Transforms on a path compose as a set: ``md5(lower(x))`` is ``hash``;
  ``count(distinct md5(x))`` is ``aggregate`` + ``hash``. A value is raw (``none``) only when no
  transform touched it on that path.
"""

from __future__ import annotations

import re

from sqlglot import exp

HASH, MASK, TRUNCATE, AGGREGATE, NONE = "hash", "mask", "truncate", "aggregate", "none"
TRANSFORM_ORDER = (HASH, MASK, TRUNCATE, AGGREGATE, NONE)

_VALUE_AGGREGATES: tuple[type[exp.Expr], ...] = (
    exp.ArrayAgg,
    exp.ArrayConcatAgg,
    exp.ArrayUnionAgg,
    exp.ArrayUniqueAgg,
    exp.GroupConcat,
    exp.JSONArrayAgg,
    exp.JSONObjectAgg,
    exp.JSONBObjectAgg,
    exp.ObjectAgg,
    exp.AnyValue,
    exp.First,
    exp.FirstValue,
    exp.Last,
    exp.LastValue,
    exp.NthValue,
    exp.Lag,
    exp.Lead,
    exp.ArgMax,
    exp.ArgMin,
    exp.Mode,
    exp.ApproxTopK,
    exp.AIAgg,
    exp.AISummarizeAgg,
)
_VALUE_AGGREGATE_NAMES = re.compile(
    r"^(listagg|string_agg|group_concat|collect_list|collect_set|array_agg|list|any_value|arbitrary|"
    r"first|last|first_value|last_value|nth_value|lag|lead|arg_max|arg_min|max_by|min_by|mode|"
    r"json_agg|jsonb_agg|json_object_agg|jsonb_object_agg|object_agg|xmlagg|approx_top_k|"
    r"array_union_agg|array_unique_agg|histogram)$"
)
_COUNTS: tuple[type[exp.Expr], ...] = (exp.Count, exp.CountIf, exp.ApproxDistinct, exp.RegrCount)
_COUNT_NAMES = re.compile(r"^(count\w*|approx_count_distinct|uniq\w*|n_distinct)$")
_AGGREGATE_NAMES = re.compile(
    r"^(sum|avg|mean|min|max|median|stddev\w*|std\w*|var\w*|variance\w*|percentile\w*|quantile\w*|"
    r"approx_\w+|corr|covar\w*|regr_\w+|bool_and|bool_or|every|bit_and|bit_or|bit_xor|kurtosis|"
    r"skewness|sum_\w+|avg_\w+|hash_agg|entropy)$"
)

_HASHES: tuple[type[exp.Expr], ...] = (
    exp.MD5,
    exp.MD5Digest,
    exp.MD5NumberLower64,
    exp.MD5NumberUpper64,
    exp.SHA,
    exp.SHA1Digest,
    exp.SHA2,
    exp.SHA2Digest,
    exp.StandardHash,
    exp.FarmFingerprint,
    exp.CityHash64,
    exp.Encrypt,
    exp.EncryptRaw,
)
_HASH_NAMES = re.compile(
    r"^(md5\w*|sha\d*(_\w+)?|\w*hash\w*|farm_?fingerprint\w*|xxh\w*|murmur\w*|crc32\w*|blake\w*|"
    r"hmac\w*|digest|fnv\w*|encrypt\w*|aes_encrypt|pgp_sym_encrypt|sip_?hash\w*|fingerprint\w*)$"
)

_MASKS: tuple[type[exp.Expr], ...] = (exp.Left, exp.Right, exp.Substring, exp.SubstringIndex, exp.Overlay)
_MASK_NAMES = re.compile(
    r"^(mask\w*|redact\w*|anonymi[sz]e\w*|left|right|substr|substring|mid|strleft|strright|"
    r"overlay|insert)$"
)
_BACKREFERENCE = re.compile(r"\\\d|\$\d|\\g<")

_TRUNCATES: tuple[type[exp.Expr], ...] = (
    exp.DateTrunc,
    exp.DatetimeTrunc,
    exp.TimestampTrunc,
    exp.TimeTrunc,
    exp.Trunc,
    exp.Year,
    exp.YearOfWeek,
    exp.YearOfWeekIso,
    exp.Quarter,
    exp.Month,
    exp.Week,
    exp.WeekOfYear,
    exp.Day,
    exp.DayOfMonth,
    exp.DayOfWeek,
    exp.DayOfWeekIso,
    exp.DayOfYear,
    exp.Dayname,
    exp.Monthname,
    exp.Extract,
    exp.Round,
    exp.Floor,
    exp.Ceil,
    exp.DateBin,
    exp.TimeSlice,
    exp.WidthBucket,
    exp.RangeBucket,
    exp.LastDay,
)
_TRUNCATE_NAMES = re.compile(
    r"^(date_trunc|datetrunc|trunc|truncate|year|month|quarter|week|isoyear|date_part|datepart|"
    r"extract|round|floor|ceil|ceiling|time_bucket|date_bin|width_bucket|to_start_of_\w+|"
    r"tostartof\w+|toyear|tomonth|toyyyymm|eomonth|last_day)$"
)


def function_name(node: exp.Expr) -> str:
    """Lower-case SQL name of a function node (an anonymous function's own name)."""
    if isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return type(node).sql_name().lower()
    return type(node).__name__.lower()


def is_value_aggregate(node: exp.Expr) -> bool:
    """An aggregate or window function that returns the values it reads (string_agg, lag, …)."""
    if isinstance(node, _VALUE_AGGREGATES):
        return True
    return isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)) and bool(
        _VALUE_AGGREGATE_NAMES.match(function_name(node))
    )


def is_count(node: exp.Expr) -> bool:
    if isinstance(node, _COUNTS):
        return True
    return isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)) and bool(
        _COUNT_NAMES.match(function_name(node))
    )


def is_aggregate(node: exp.Expr) -> bool:
    """An aggregate that summarises values (count, sum, avg, min, max, …), not one that lists them."""
    if is_value_aggregate(node):
        return False
    if isinstance(node, exp.AggFunc):
        return True
    if isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)):
        name = function_name(node)
        return bool(_COUNT_NAMES.match(name) or _AGGREGATE_NAMES.match(name))
    return False


def aggregate_name(node: exp.Expr) -> str:
    """``count`` for every counting aggregate, else the aggregate's own name (``sum``, ``avg``)."""
    return "count" if is_count(node) else function_name(node)


def transform_of(node: exp.Expr) -> str | None:
    """The transform ``node`` applies to the values below it, or None for a raw flow."""
    if not isinstance(node, (exp.Func, exp.WithinGroup)):
        return None
    if isinstance(node, exp.WithinGroup):
        return transform_of(node.this)
    if is_value_aggregate(node):
        return None
    if is_aggregate(node):
        return AGGREGATE
    if isinstance(node, _HASHES):
        return HASH
    if isinstance(node, exp.RegexpReplace):
        return MASK if _constant_replacement(node) else None
    if isinstance(node, _MASKS):
        return MASK
    if isinstance(node, _TRUNCATES):
        return TRUNCATE
    if isinstance(node, exp.Anonymous):
        return _anonymous_transform(function_name(node))
    return None


def _anonymous_transform(name: str) -> str | None:
    if _HASH_NAMES.match(name):
        return HASH
    if name == "regexp_replace":
        return None  # not parsed as RegexpReplace: its arguments cannot be checked
    if _MASK_NAMES.match(name):
        return MASK
    if _TRUNCATE_NAMES.match(name):
        return TRUNCATE
    return None


def _constant_replacement(node: exp.RegexpReplace) -> bool:
    """regexp_replace masks only when the replacement is a constant with no back-references."""
    replacement = node.args.get("replacement")
    return (
        isinstance(replacement, exp.Literal)
        and replacement.is_string
        and not _BACKREFERENCE.search(str(replacement.this))
    )


def ordered(transforms: set[str] | frozenset[str]) -> tuple[str, ...]:
    return tuple(t for t in TRANSFORM_ORDER if t in transforms)
