"""The small client-contact estate several CLI tests start from: one catalog table of MSD clients
with two direct identifiers, a job that lists them (blocked by PM-07) and one that only reads the
region (allowed). Tests that assert line numbers in kaitiaki.yaml rely on the catalog starting on
line 2, right after ``agency: msd``."""

from __future__ import annotations

CLIENTS_CATALOG = """\
catalog:
  cms.clients:
    agency: msd
    columns:
      client_id: [unique_identifier:msd_client]
      full_name: [direct_identifier]
      phone: [direct_identifier]
      region: []
"""
CONTACT_PURPOSE = """\
  contact:
    description: Phone clients about the winter energy payment change, once
    allowed_categories: [unique_identifier, direct_identifier]
    approved_by: MSD Data Governance Board
"""
CONFIG = "agency: msd\n" + CLIENTS_CATALOG
CONTACTS_SQL = "select full_name, client_id, phone\nfrom cms.clients\n"
REGIONS_SQL = "select region\nfrom cms.clients\n"
