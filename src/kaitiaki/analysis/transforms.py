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
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlglot import exp

from kaitiaki.model import ANY_SETTING, SecretSpan

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
    exp.ApproxTopKAccumulate,
    exp.ApproxTopKCombine,
    exp.ApproxTopSum,
    exp.AIAgg,
    exp.AISummarizeAgg,
)
_VALUE_AGGREGATE_NAMES = re.compile(
    r"^(listagg|string_agg|group_concat|collect_list|collect_set|array_agg|list|any_value|arbitrary|"
    r"first|last|first_value|last_value|nth_value|lag|lead|arg_max|arg_min|max_by|min_by|mode|"
    r"json_agg|jsonb_agg|json_object_agg|jsonb_object_agg|object_agg|xmlagg|approx_top_k|"
    r"array_union_agg|array_unique_agg|histogram|approx_most_frequent|approx_top_count|approx_top_sum)$"
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
_DECRYPTS: tuple[type[exp.Expr], ...] = (exp.Decrypt, exp.DecryptRaw)
_DECRYPT_NAMES = re.compile(r"^\w*decrypt\w*$")
_HASH_NAMES = re.compile(
    r"^(md5\w*|sha\d*(_\w+)?|\w*hash\w*|farm_?fingerprint\w*|xxh\w*|murmur\w*|crc32\w*|blake\w*|"
    r"hmac\w*|digest|fnv\w*|encrypt\w*|aes_encrypt|pgp_sym_encrypt|sip_?hash\w*|fingerprint\w*)$"
)

# A cut (left, right, substr …) masks only when it keeps at most this many characters, written as
# a constant: left(nhi, 100) or substr(nhi, 4) keep (almost) the whole identifier, and NHI numbers
# have 7 characters, IRD numbers 8 or 9. OVERLAY / INSERT / STUFF and substring_index keep every
# character outside their window, however long the value is, so they are raw flows.
MASK_KEEPS_AT_MOST = 4
_CUTS: tuple[type[exp.Expr], ...] = (exp.Left, exp.Right, exp.Substring)
_CUT_NAMES = re.compile(r"^(left|right|substr|substring|mid|strleft|strright)$")
_MASK_NAMES = re.compile(r"^(mask\w*|redact\w*|anonymi[sz]e\w*)$")
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


# Table functions that only generate rows from their arguments; any other table function reads
# data kaitiaki cannot see.
_GENERATORS = frozenset(
    {
        "generate_series",
        "generate_subscripts",
        "range",
        "sequence",
        "unnest",
        "explode",
        "posexplode",
        "explode_outer",
        "inline",
        "flatten",
        "json_each",
        "json_each_text",
        "jsonb_each",
        "jsonb_array_elements",
        "json_array_elements",
        "json_table",
        "openjson",
        "string_split",
        "split_to_table",
        "generate_date_array",
        "generate_array",
        "values",
    }
)


_GENERATOR_CLASSES: tuple[type[exp.Expr], ...] = (
    exp.Unnest,
    exp.Explode,
    exp.GenerateSeries,
    exp.GenerateDateArray,
    exp.GenerateTimestampArray,
    exp.Generator,
)


def is_row_generator(function: exp.Expr) -> bool:
    """A table function that only yields rows made from its arguments (unnest, generate_series …)."""
    return isinstance(function, _GENERATOR_CLASSES) or function_name(function) in _GENERATORS


# Aggregates that return one of the values they read (a discrete percentile, a median): a
# magnitude for suppression (aggregation.py), but the value itself reaches the output, so
# percentile_disc(0.5) WITHIN GROUP (ORDER BY client_key) publishes a client key.
_PICKS: tuple[type[exp.Expr], ...] = (exp.PercentileDisc, exp.Median, exp.ApproxQuantiles)
_PICK_NAMES = re.compile(r"^(percentile_disc|quantile_disc|median|approx_quantiles)$")


def picks_a_value(node: exp.Expr) -> bool:
    """An aggregate whose result is one of the values it reads (percentile_disc, median)."""
    if isinstance(node, _PICKS):
        return True
    return isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)) and bool(
        _PICK_NAMES.match(function_name(node))
    )


def is_value_aggregate(node: exp.Expr) -> bool:
    """An aggregate or window function that returns the values it reads (string_agg, lag, …)."""
    if isinstance(node, _VALUE_AGGREGATES):
        return True
    return isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)) and bool(
        _VALUE_AGGREGATE_NAMES.match(function_name(node))
    )


_SINGLE_VALUES: tuple[type[exp.Expr], ...] = (
    exp.Min,
    exp.Max,
    exp.AnyValue,
    exp.First,
    exp.Last,
    exp.ArgMax,
    exp.ArgMin,
)
_SINGLE_VALUE_NAMES = re.compile(
    r"^(min|max|any_value|arbitrary|first|last|arg_max|arg_min|max_by|min_by|approx_quantiles)$"
)


_QUANTILES: tuple[type[exp.Expr], ...] = (
    exp.PercentileDisc,
    exp.PercentileCont,
    exp.Quantile,
    exp.ApproxQuantile,
)
_QUANTILE_NAMES = re.compile(
    r"^(percentile\w*|quantile\w*|reservoir_quantile|approx_percentile\w*|approx_quantile)$"
)
# A percentile counts as a magnitude (SV-06's magnitude threshold) only inside this band: at the
# threshold of 20 people, a fraction below 0.1 or above 0.9 picks one of the two most extreme
# values, and 0 or 1 is MIN or MAX itself.
_MAGNITUDE_BAND = (0.1, 0.9)


def is_single_value(node: exp.Expr) -> bool:
    """An aggregate whose result is one row's value: MIN, MAX, ANY_VALUE, FIRST/LAST, ARG_MIN/ARG_MAX,
    and MIN or MAX spelled as a percentile (``percentile_disc(1)``, ``quantile(x, 0.0)``,
    BigQuery ``approx_quantiles``, whose list starts with the minimum and ends with the maximum)."""
    if isinstance(node, (*_SINGLE_VALUES, exp.ApproxQuantiles)):
        return True
    fractions = _quantile_fractions(node)
    if fractions is not None:
        return not all(_in_magnitude_band(f) for f in fractions)
    return isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)) and bool(
        _SINGLE_VALUE_NAMES.match(function_name(node))
    )


def _quantile_fractions(node: exp.Expr) -> list[exp.Expr | None] | None:
    """The fractions a percentile aggregate asks for (None where one is missing), or None for
    any other function."""
    if isinstance(node, (exp.Quantile, exp.ApproxQuantile)):
        fraction = node.args.get("quantile")
    elif isinstance(node, (exp.PercentileDisc, exp.PercentileCont)):
        fraction = node.this if isinstance(node.parent, exp.WithinGroup) else node.expression
    elif isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)) and _QUANTILE_NAMES.match(
        function_name(node)
    ):
        arguments = node.expressions
        fraction = arguments[1] if len(arguments) > 1 else None
    else:
        return None
    if isinstance(fraction, exp.Array):
        return list(fraction.expressions) or [None]
    return [fraction]


def _in_magnitude_band(fraction: exp.Expr | None) -> bool:
    if not isinstance(fraction, exp.Literal) or fraction.is_string:
        return False
    try:
        value = float(fraction.this)
    except ValueError:
        return False
    return _MAGNITUDE_BAND[0] <= value <= _MAGNITUDE_BAND[1]


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
    if is_value_aggregate(node) or picks_a_value(node):
        return None
    if isinstance(node, _DECRYPTS) or _DECRYPT_NAMES.match(function_name(node)):
        return NONE  # decrypt(encrypt(x, key), key) is x itself: whatever hashed it is undone
    if is_aggregate(node):
        return AGGREGATE
    if isinstance(node, _HASHES):
        return HASH
    if isinstance(node, exp.RegexpReplace):
        return MASK if _constant_replacement(node) else None
    if isinstance(node, _CUTS):
        return MASK if _keeps_few(node) else None
    if isinstance(node, _TRUNCATES):
        return TRUNCATE
    if isinstance(node, exp.Anonymous):
        return _anonymous_transform(node)
    return None


def _anonymous_transform(node: exp.Anonymous) -> str | None:
    name = function_name(node)
    if _HASH_NAMES.match(name):
        return HASH
    if name == "regexp_replace":
        return None  # not parsed as RegexpReplace: its arguments cannot be checked
    if name in _HIVE_MASKS:
        return MASK if _hive_mask_hides(node) else None
    if _MASK_NAMES.match(name):
        return MASK if name in _DECLARED_MASKS.get() else None
    if _CUT_NAMES.match(name):
        return MASK if _keeps_few(node) else None
    if _TRUNCATE_NAMES.match(name):
        return TRUNCATE
    return None


# Hive / Spark masking functions, whose names say less than they do: mask_first_n(k, 1) hides one
# character and shows the rest, mask_show_first_n(k, n) shows n, and a NULL replacement in
# mask(k, …) keeps that class of character as it is.
_HIVE_MASKS = frozenset({"mask", "mask_first_n", "mask_last_n", "mask_show_first_n", "mask_show_last_n"})


def _hive_mask_hides(node: exp.Anonymous) -> bool:
    name, arguments = function_name(node), node.expressions[1:]
    if name in ("mask_first_n", "mask_last_n"):
        return False  # shows every character past the first (last) n
    if name in ("mask_show_first_n", "mask_show_last_n"):
        shown = arguments[0] if arguments else None
        return (
            isinstance(shown, exp.Literal)
            and not shown.is_string
            and str(shown.this).isdigit()
            and int(str(shown.this)) <= MASK_KEEPS_AT_MOST
        )
    return not any(isinstance(argument, exp.Null) for argument in arguments)


def _keeps_few(cut: exp.Expr) -> bool:
    """left / right / substr keep at most ``MASK_KEEPS_AT_MOST`` characters, by a constant length."""
    if isinstance(cut, (exp.Left, exp.Right)):
        length = cut.expression
    elif isinstance(cut, exp.Substring):
        length = cut.args.get("length")
    else:  # left(x, n), strleft(x, n); substr(x, start, n), mid(x, start, n)
        arguments = cut.expressions
        position = 1 if function_name(cut) in ("left", "right", "strleft", "strright") else 2
        length = arguments[position] if len(arguments) > position else None
    return (
        isinstance(length, exp.Literal)
        and not length.is_string
        and str(length.this).isdigit()
        and int(str(length.this)) <= MASK_KEEPS_AT_MOST
    )


def _constant_replacement(node: exp.RegexpReplace) -> bool:
    """regexp_replace masks only when the replacement is a constant with no back-references, and
    it replaces every match: Postgres and DuckDB replace the first one only unless the 'g' flag is
    given, and an occurrence argument other than 0 picks one match."""
    replacement = node.args.get("replacement")
    modifiers = node.args.get("modifiers")
    occurrence = node.args.get("occurrence")
    every_match = (
        not node.args.get("single_replace")
        or (isinstance(modifiers, exp.Literal) and "g" in str(modifiers.this))
    ) and (occurrence is None or (isinstance(occurrence, exp.Literal) and str(occurrence.this) == "0"))
    return (
        every_match
        and isinstance(replacement, exp.Literal)
        and replacement.is_string
        and not _BACKREFERENCE.search(str(replacement.this))
    )


def ordered(transforms: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The transforms among a path's strings, in the one canonical order (marks are dropped)."""
    return tuple(t for t in TRANSFORM_ORDER if t in transforms)


# --- marks: facts about a path that are not transforms of the analyze JSON ---------------------
#
# A path also carries *marks* (strings with a ``:``): ``coarse:year`` / ``coarse:band`` /
# ``coarse:prefix:<n>`` where a function coarsens a quasi-identifier, and ``key:setting:<name>`` /
# ``key:function:<name>`` where a hash's input reads a value that may be a secret key, and
# ``key:var:<name>`` where it holds a literal an adapter saw come from a secret var. Marks ride
# along with the transforms (a path's strings) and become ``LineageEdge.marks``; which marks
# count (which secrets are declared, which coarsenings clear which kind) is configuration and
# policy data, not analysis.

COARSE, KEY, CUT = "coarse:", "key:", "cut:"
_YEAR_UNITS = frozenset({"year", "yyyy", "yy", "y", "years", "decade", "century", "isoyear"})
_YEAR_FUNCTIONS: tuple[type[exp.Expr], ...] = (exp.Year, exp.YearOfWeek, exp.YearOfWeekIso)
_YEAR_NAMES = re.compile(r"^(year|isoyear|toyear)$")
_SETTING_NAMES = re.compile(r"^(current_setting|getvariable|get_variable|current_config)$")


def is_mark(item: str) -> bool:
    return ":" in item


def marks_of(node: exp.Expr) -> frozenset[str]:
    """The marks a function puts on the values below it (see above); empty for most nodes."""
    if isinstance(node, (exp.Case, exp.If)):
        return frozenset({COARSE + "band"}) if _literal_results(node) else frozenset()
    if isinstance(node, (exp.WidthBucket, exp.RangeBucket)) or function_name(node) == "width_bucket":
        return frozenset({COARSE + "band"}) if _coarse_buckets(node) else frozenset()
    if _is_year(node):
        return frozenset() if _reads_interval(node) else frozenset({COARSE + "year"})
    if isinstance(node, (exp.Floor, exp.Round, exp.Ceil)) and isinstance(node.this, exp.Div):
        return frozenset({COARSE + "band"}) if _coarse_division(node.this) else frozenset()
    window = _cut_window(node)
    prefix = _prefix_length(node)
    if prefix is not None:
        return frozenset({f"{COARSE}prefix:{prefix}", *([window] if window else [])})
    if window:
        return frozenset({window})
    if transform_of(node) == HASH:
        spans = _SECRET_SPANS.get()
        return frozenset(_keys(node) | _secret_literals(node, spans) if spans else _keys(node))
    return frozenset()


# The year of an interval (age(dob), now() - dob) is an exact age, not a birth year.
_INTERVALS: tuple[type[exp.Expr], ...] = (exp.Sub, exp.DateDiff)


def _reads_interval(node: exp.Expr) -> bool:
    return node.find(*_INTERVALS) is not None or any(
        function_name(f) == "age" for f in node.find_all(exp.Anonymous)
    )


def _number(node: exp.Expr | None) -> float | None:
    while isinstance(node, (exp.Paren, exp.Cast)):
        node = node.this
    negative = isinstance(node, exp.Neg)
    if negative and node is not None:
        node = node.this
    if not isinstance(node, exp.Literal) or node.is_string:
        return None
    try:
        value = float(str(node.this))
    except ValueError:
        return None
    return -value if negative else value


def _plain_column(node: exp.Expr | None) -> bool:
    """A column, perhaps cast: a value whose unit is the column's own (not days or seconds
    computed from a date, whose bands a divisor cannot be judged by)."""
    while isinstance(node, (exp.Paren, exp.Cast, exp.TryCast)):
        node = node.this
    return isinstance(node, exp.Column)


def _coarse_division(division: exp.Div) -> bool:
    """floor(column / n) with a constant n of at least 2 puts n values in each band; / 1, / 0.5,
    or a number computed from a date (floor((current_date - dob) / 365) is an exact age) do not."""
    divisor = _number(division.expression)
    return divisor is not None and divisor >= 2 and _plain_column(division.this)


def _coarse_buckets(node: exp.Expr) -> bool:
    """width_bucket / range_bucket over thresholds written out, or over a column with buckets at
    least 2 units wide: width_bucket(postcode, 0, 10000, 10000) is the postcode itself."""
    if isinstance(node, exp.RangeBucket) or isinstance(node.args.get("threshold"), exp.Array):
        return True
    if isinstance(node, exp.WidthBucket):
        value, low, high, count = (
            node.this,
            *(node.args.get(k) for k in ("min_value", "max_value", "num_buckets")),
        )
    else:
        arguments = node.expressions
        if len(arguments) != 4:
            return len(arguments) == 2 and isinstance(arguments[1], exp.Array)
        value, low, high, count = arguments
    bounds = [_number(low), _number(high), _number(count)]
    if not _plain_column(value) or any(b is None for b in bounds):
        return False
    low_n, high_n, count_n = (float(b) for b in bounds if b is not None)
    return count_n > 0 and (high_n - low_n) / count_n >= 2


def _literal(node: exp.Expr | None) -> bool:
    while isinstance(node, (exp.Paren, exp.Cast, exp.Neg)):
        node = node.this
    return isinstance(node, (exp.Literal, exp.Null, exp.Boolean))


def _literal_results(node: exp.Case | exp.If) -> bool:
    """A CASE whose every result is a constant maps each value to one of a few labels: a band."""
    if isinstance(node, exp.If):
        results = [node.args.get("true"), node.args.get("false")]
    else:
        results = [when.args.get("true") for when in node.args.get("ifs") or []] + [node.args.get("default")]
    return all(r is None or _literal(r) for r in results) and any(r is not None for r in results)


def _unit(node: exp.Expr | None) -> str:
    if isinstance(node, (exp.Literal, exp.Var, exp.Column, exp.Identifier)):
        return str(node.name).lower()
    return ""


def _is_year(node: exp.Expr) -> bool:
    """year(d), extract(year from d), date_part('year', d), date_trunc('year', d)."""
    if isinstance(node, _YEAR_FUNCTIONS):
        return True
    if isinstance(node, exp.Extract):
        return _unit(node.this) in _YEAR_UNITS
    if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc, exp.DatetimeTrunc)):
        return _unit(node.args.get("unit")) in _YEAR_UNITS
    if isinstance(node, exp.Anonymous):
        name = function_name(node)
        if _YEAR_NAMES.match(name):
            return True
        arguments = node.expressions
        if name in ("date_part", "datepart", "date_trunc", "datetrunc") and arguments:
            return _unit(arguments[0]) in _YEAR_UNITS
    return False


def _cut_window(node: exp.Expr) -> str | None:
    """``cut:<function>:<arguments>`` for a cut that masks (left(k, 4), substr(k, 5, 4)): which
    characters it keeps. Two different windows of one value may rebuild it (lineage.py)."""
    if not (isinstance(node, _CUTS) or _CUT_NAMES.match(function_name(node))) or transform_of(node) != MASK:
        return None
    prefix = _prefix_length(node)
    if prefix is not None:  # left(k, 3) and substr(k, 1, 3) keep the same characters
        return f"{CUT}prefix:{prefix}"
    if isinstance(node, exp.Anonymous):
        arguments = [a.sql() for a in node.expressions[1:]]
    else:
        arguments = [
            f"{k}={v.sql()}" for k, v in node.args.items() if k != "this" and isinstance(v, exp.Expr)
        ]
    return f"{CUT}{function_name(node)}:{','.join(arguments)}"


def _prefix_length(node: exp.Expr) -> int | None:
    """left(x, n) or substr(x, 1, n) with constant n: the first n characters."""
    length: exp.Expr | None = None
    if isinstance(node, exp.Left):
        length = node.expression
    elif isinstance(node, exp.Substring):
        start = node.args.get("start")
        if isinstance(start, exp.Literal) and str(start.this) == "1":
            length = node.args.get("length")
    if isinstance(length, exp.Literal) and not length.is_string and str(length.this).isdigit():
        return int(str(length.this))
    return None


# Expressions that pass the whole of a value on to the hash (concatenation, a cast, case); any
# other (left(key, 0), length(key), a CASE condition, coalesce(x, key)) may drop the key.
_KEEPS_VALUE: tuple[type[exp.Expr], ...] = (
    exp.DPipe,
    exp.Concat,
    exp.ConcatWs,
    exp.Cast,
    exp.TryCast,
    exp.Paren,
    exp.Upper,
    exp.Lower,
)


def _reaches(node: exp.Expr, hash_node: exp.Expr) -> bool:
    """Whether ``node``'s whole value is part of what ``hash_node`` hashes."""
    current = node
    while current.parent is not None and current.parent is not hash_node:
        parent = current.parent
        if not isinstance(parent, _KEEPS_VALUE) or (
            isinstance(parent, exp.ConcatWs) and current is parent.expressions[0]
        ):
            return False  # concat_ws's separator is dropped when one value is joined
        if isinstance(parent, (exp.Cast, exp.TryCast)) and not _keeps_text(parent.to):
            return False  # ::varchar(1), ::char, ::boolean keep a character or two of the key
        current = parent
    return current.parent is hash_node


_WHOLE_TEXT_TYPES = frozenset(
    {
        exp.DataType.Type.TEXT,
        exp.DataType.Type.VARCHAR,
        exp.DataType.Type.NVARCHAR,
        exp.DataType.Type.BPCHAR,
        exp.DataType.Type.VARBINARY,
    }
)
# A sized string type keeps a key whole enough when it keeps at least this many characters (a
# secret of 32 characters cannot be enumerated).
_KEY_KEEPS_AT_LEAST = 32


def _keys_text_size(param: exp.Expr) -> bool:
    value = param.this if isinstance(param, exp.DataTypeParam) else param
    if isinstance(value, exp.Var):
        return value.name.lower() == "max"
    return (
        isinstance(value, exp.Literal)
        and str(value.this).isdigit()
        and int(str(value.this)) >= _KEY_KEEPS_AT_LEAST
    )


def _keeps_text(to: exp.Expr | None) -> bool:
    """A cast to an unsized (or long) text or binary type passes a key on whole."""
    return (
        isinstance(to, exp.DataType)
        and to.this in _WHOLE_TEXT_TYPES
        and all(_keys_text_size(param) for param in to.expressions)
    )


def _keys(hash_node: exp.Expr) -> set[str]:
    """Values in a hash's input that may be secret keys: settings read at run time, functions
    called without a column (a vault lookup), each passed whole into the hash. Literals and
    columns are never keys."""
    found: set[str] = set()
    for node in hash_node.find_all(exp.Func):
        if node is hash_node or not _reaches(node, hash_node):
            continue
        name = function_name(node)
        arguments = [a for a in node.iter_expressions()]
        if _SETTING_NAMES.match(name) and arguments and isinstance(arguments[0], exp.Literal):
            found.add(f"{KEY}setting:{str(arguments[0].this).lower()}")
        elif isinstance(node, exp.Anonymous) and node.find(exp.Column) is None:
            found.add(f"{KEY}function:{name}")
    return found


_SECRET_SPANS: ContextVar[tuple[SecretSpan, ...]] = ContextVar("kaitiaki_secret_spans", default=())
# A platform's own masking functions (mask_*, redact_* …) that governance declared: a name alone
# says nothing about what a function returns, so an undeclared one is a raw flow.
_DECLARED_MASKS: ContextVar[frozenset[str]] = ContextVar("kaitiaki_declared_masks", default=frozenset())


@contextmanager
def declared_masks(names: frozenset[str]) -> Iterator[None]:
    """Inside this block, functions named like masks mask only when they are among ``names``."""
    token = _DECLARED_MASKS.set(names)
    try:
        yield
    finally:
        _DECLARED_MASKS.reset(token)


@contextmanager
def secret_spans(spans: tuple[SecretSpan, ...]) -> Iterator[None]:
    """Inside this block, literals covering these spans of the SQL text carry ``key:var:<name>``."""
    token = _SECRET_SPANS.set(spans)
    try:
        yield
    finally:
        _SECRET_SPANS.reset(token)


def _secret_literals(hash_node: exp.Expr, spans: tuple[SecretSpan, ...]) -> set[str]:
    """``key:var:<name>`` for each literal in the hash's input whose value holds a whole span an
    adapter saw rendered from a secret (by position in the text, never by value: a literal that
    merely equals the secret is a key written in the SQL)."""
    found: set[str] = set()
    for literal in hash_node.find_all(exp.Literal):
        start, end = literal.meta.get("start"), literal.meta.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or not _reaches(literal, hash_node):
            continue
        inner = (start + 1, end) if literal.is_string else (start, end + 1)  # meta end is inclusive
        found.update(
            f"{KEY}var:{span.name.lower()}" for span in spans if inner[0] <= span.start < span.end <= inner[1]
        )
    return found


def assigned_settings(statement: exp.Expr) -> frozenset[str]:
    """Settings a statement assigns itself (``SET a.b = …``, ``set_config('a.b', …)``, an UPDATE
    of ``pg_settings``): a key the job writes is no secret, so a hash keyed by it is not keyed.
    ``ANY_SETTING`` when the name cannot be read from the SQL."""
    found = set()
    for item in statement.find_all(exp.SetItem):
        assignment = item.this
        name = assignment.this if isinstance(assignment, exp.EQ) else None
        if isinstance(name, (exp.Column, exp.Dot)):  # "msd"."link_key" is msd.link_key
            found.add(".".join(part.name for part in name.parts).lower())
        elif isinstance(name, exp.Expr):
            found.add(name.sql().lower())
    for call in statement.find_all(exp.Anonymous):
        arguments = call.expressions
        if function_name(call) == "set_config":
            literal = arguments and isinstance(arguments[0], exp.Literal)
            found.add(str(arguments[0].this).lower() if literal else ANY_SETTING)
    if any(
        isinstance(update.this, exp.Table) and update.this.name.lower() == "pg_settings"
        for update in statement.find_all(exp.Update)
    ):
        found.add(ANY_SETTING)
    return frozenset(found)
