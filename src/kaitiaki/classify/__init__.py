"""Classification (docs/classification.md): which columns identify a person, and how strongly we know it.

``classify`` turns one job's SqlFacts into ClassifiedFacts; ``propagated_categories`` gives what
a job writes, for the jobs downstream; ``classify_jobs`` does both across many jobs in lineage
order. Name rules are default plugins (``kaitiaki.classify.name_rules``); country rules and value
detectors come from plugins such as kaitiaki-nz. See docs/classification.md.
"""

from kaitiaki.classify.catalog import catalog_schema_warnings
from kaitiaki.classify.chain import classify_jobs, lineage_order, written_tables
from kaitiaki.classify.core import AMBIGUOUS_PREFIX, CONFLICT_PREFIX, STRICT_PREFIX, classify, read_tables
from kaitiaki.classify.outputs import derive_categories, propagated_categories

__all__ = [
    "AMBIGUOUS_PREFIX",
    "CONFLICT_PREFIX",
    "STRICT_PREFIX",
    "catalog_schema_warnings",
    "classify",
    "classify_jobs",
    "derive_categories",
    "lineage_order",
    "propagated_categories",
    "read_tables",
    "written_tables",
]
