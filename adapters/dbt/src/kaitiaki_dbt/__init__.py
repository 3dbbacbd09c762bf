"""kaitiaki for dbt-core: ``kaitiaki dbt check|run|build`` decides every model before it runs.

See docs/dbt.md. The package never imports dbt at import time; ``kaitiaki_dbt.runner`` and
``kaitiaki_dbt.selection`` do, when a command needs it.
"""
