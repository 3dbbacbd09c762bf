"""Versioned dbt models: a denied version is excluded with its descendants, the others still run.

dbt gives each version its own node and fqn (``…uptake.v2``), so ``--exclude <fqn>+`` must name
exactly that version; a regression would either build the denied version or drop its siblings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbt.conftest import copy_example, run_dbt_command
from tests.dbt.test_build import relations

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

VERSIONS_YML = """version: 2
models:
  - name: uptake
    latest_version: 1
    config:
      meta:
        kaitiaki: {purpose: benefit-uptake, destination: internal}
    versions:
      - v: 1
      - v: 2
  - name: uptake_v1_total
    config:
      meta:
        kaitiaki: {purpose: benefit-uptake, destination: internal}
  - name: uptake_v2_total
    config:
      meta:
        kaitiaki: {purpose: benefit-uptake, destination: internal}
"""
AGGREGATE = """select region, count(distinct client_number) as clients
from {{ ref('stg_msd_clients') }}
group by region
having count(distinct client_number) >= 6
"""
PER_PERSON = """select client_number, ethnicity, region
from {{ ref('stg_msd_clients') }}
"""


def test_a_denied_version_is_excluded_alone_with_its_descendants(tmp_path: Path) -> None:
    project = copy_example(tmp_path / "nz_social")
    marts = project / "models" / "marts"
    (marts / "_uptake.yml").write_text(VERSIONS_YML)
    (marts / "uptake_v1.sql").write_text(AGGREGATE)
    (marts / "uptake_v2.sql").write_text(PER_PERSON)
    for version in (1, 2):
        total = f"select count(*) as versions from {{{{ ref('uptake', v={version}) }}}}\n"
        (marts / f"uptake_v{version}_total.sql").write_text(total)

    result = run_dbt_command(project, "build", "--select", "+uptake+")

    assert result.exit_code == 1, result.stderr
    assert "BLOCKED dbt:model.nz_social.uptake.v2 " in result.stderr
    built = relations(project / "nz_social.duckdb")
    assert {"marts.uptake_v1", "marts.uptake_v1_total", "staging.stg_msd_clients"} <= built
    assert not {"marts.uptake_v2", "marts.uptake_v2_total"} & built
