"""The Airflow tests' harness, shared: a migrated metadata database and throwaway scenarios."""

from tests.airflow.conftest import migrated_db, new_scenario

__all__ = ["migrated_db", "new_scenario"]
