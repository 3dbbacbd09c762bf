"""kaitiaki-airflow as an Airflow provider, for its ``[kaitiaki]`` configuration section only.

Airflow reads this (entry point ``apache_airflow_provider``) to list, document and validate the
section: ``airflow config list --section kaitiaki`` shows the options and their defaults.
"""

from __future__ import annotations

from typing import Any

VERSION = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "kaitiaki-airflow",
        "name": "kaitiaki",
        "description": "kaitiaki: a policy-as-code privacy gate on every task that runs SQL.",
        "versions": [VERSION],
        "config": {
            "kaitiaki": {
                "description": "Where kaitiaki reads its kaitiaki.yaml and where its decision records go.",
                "options": {
                    "config": {
                        "description": "kaitiaki.yaml for every DAG (a relative path is relative to "
                        "AIRFLOW_HOME). Empty: $KAITIAKI_CONFIG, else the first kaitiaki.yaml at or above "
                        "the DAG file.\n",
                        "version_added": VERSION,
                        "type": "string",
                        "example": "/opt/airflow/kaitiaki/kaitiaki.yaml",
                        "default": "",
                    },
                    "decision_log": {
                        "description": "Where decision records go, whatever kaitiaki.yaml says: a file, "
                        "stdout (one JSON line each) or an http(s) collector URL (OPA's upload format). "
                        "Empty: "
                        "kaitiaki.yaml's, except that a file inside the DAGs folder is written to "
                        "logs/kaitiaki/decisions.jsonl under AIRFLOW_HOME instead.\n",
                        "version_added": VERSION,
                        "type": "string",
                        "example": "stdout",
                        "default": "",
                    },
                    "warm_before_fork": {
                        "description": "Import kaitiaki's code (sqlglot, the analysis, the gate) in a "
                        "process just before it forks, so each forked task or DAG-parsing process "
                        "starts with it loaded instead of importing it itself. Code only: "
                        "kaitiaki.yaml and the policies are still read in each task process.\n",
                        "version_added": VERSION,
                        "type": "boolean",
                        "example": "False",
                        "default": "True",
                    },
                },
            }
        },
    }
