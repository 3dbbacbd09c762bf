"""kaitiaki: a policy-as-code gate for data platforms.

Before an Airflow task or a dbt model runs, kaitiaki reads its SQL, works out which columns that
identify a person it reads, joins, filters and writes, and asks Rego policies whether that use is
allowed. See docs/architecture.md for the layout.
"""

__version__ = "0.1.0"
