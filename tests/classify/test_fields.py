"""Fields inside a column (``payload->nhi``): named by their path, and carrying their holder's categories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kaitiaki.analysis import analyze_sql
from kaitiaki.classify import catalog_schema_warnings, classify
from kaitiaki.config import parse_settings

from .support import by_column, entry, facts, plugin_manager

PM = plugin_manager()
CATALOG = {
    "app.forms": entry(
        "app.forms",
        {"answers": ["sensitive:health"], "answers->form_id": [], "details": []},
        agency="moh",
    ),
}


def run(sql_facts: Any) -> Any:
    return classify(sql_facts, plugins=PM, catalog=CATALOG)


def test_a_field_is_classified_by_the_name_of_its_path() -> None:
    result = run(facts([("app.events.payload->nhi", ["select"]), ("app.events.payload->kind", ["filter"])]))
    cols = by_column(result.columns)
    assert cols["app.events.payload->nhi"].categories == ("unique_identifier:nhi",)
    assert cols["app.events.payload->nhi"].classified_by == ("rule:nz_nhi",)
    assert cols["app.events.payload->kind"].categories == ()


def test_a_field_carries_what_the_catalog_says_of_the_column_holding_it() -> None:
    result = run(facts([("app.forms.answers->q7", ["select"])]))
    (column,) = result.columns
    assert column.categories == ("sensitive:health",)
    assert column.classified_by == ("catalog",)


def test_the_catalogs_entry_for_a_field_is_taken_as_written() -> None:
    result = run(facts([("app.forms.answers->form_id", ["group"])]))
    (column,) = result.columns
    assert column.categories == ()
    assert column.classified_by == ("catalog",)


def test_a_column_the_catalog_clears_does_not_clear_the_fields_read_inside_it() -> None:
    result = run(facts([("app.forms.details->nhi", ["select"])]))
    (column,) = result.columns
    assert column.categories == ("unique_identifier:nhi",)
    assert column.classified_by == ("rule:nz_nhi", "catalog")


def test_an_output_read_from_a_field_gets_the_fields_categories() -> None:
    sql = "select e.payload ->> 'nhi' as patient, e.payload ->> 'kind' as kind from app.events e"
    result = classify(analyze_sql(sql, dialect="postgres"), plugins=PM, catalog=CATALOG)
    outputs = {o.column: o.categories for o in result.outputs}
    assert outputs == {"patient": ("unique_identifier:nhi",), "kind": ()}


def test_catalog_fields_of_a_known_column_are_not_typos() -> None:
    schema = {"app.forms": {"answers": "jsonb", "details": "jsonb"}}
    assert catalog_schema_warnings(CATALOG, schema) == ()
    typo = {"app.forms": entry("app.forms", {"answres->form_id": []})}
    (warning,) = catalog_schema_warnings(typo, schema)
    assert "catalog column 'app.forms.answres->form_id' is not a column of 'app.forms'" in warning


def test_kaitiaki_yaml_describes_fields_in_its_catalog(tmp_path: Path) -> None:
    text = (
        "catalog:\n  app.referrals:\n    columns:\n"
        '      details: ["sensitive:health"]\n      details->form_id: []\n'
    )
    settings = parse_settings(text, tmp_path / "kaitiaki.yaml")
    sql = "select details ->> 'form_id' as f, details ->> 'reason' as r from app.referrals"
    result = classify(analyze_sql(sql, dialect="postgres"), plugins=PM, catalog=settings.catalog)
    cols = by_column(result.columns)
    assert cols["app.referrals.details->form_id"].categories == ()
    assert cols["app.referrals.details->reason"].categories == ("sensitive:health",)


def test_a_column_read_whole_holds_the_fields_the_catalog_lists_inside_it() -> None:
    catalog = {
        "app.referrals": entry(
            "app.referrals", {"details": [], "details->who->nhi": ["unique_identifier:nhi"]}, agency="moh"
        )
    }
    columns = [("app.referrals.details", ["select"]), ("app.referrals.details->kind", ["select"])]
    result = classify(facts(columns), plugins=PM, catalog=catalog)
    cols = by_column(result.columns)
    assert cols["app.referrals.details"].categories == ("unique_identifier:nhi",)
    assert cols["app.referrals.details"].classified_by == ("catalog",)
    # another field of the same column holds only what the column itself is said to hold
    assert cols["app.referrals.details->kind"].categories == ()


def test_a_whole_json_column_with_a_scanned_field_is_identifying_in_a_job() -> None:
    text = (
        "catalog:\n  app.referrals:\n    columns:\n"
        "      details: []\n      details->who->ref: [unique_identifier:nhi]\n"
    )
    settings = parse_settings(text, Path("kaitiaki.yaml"))
    sql = "select details from app.referrals"
    result = classify(analyze_sql(sql, dialect="postgres"), plugins=PM, catalog=settings.catalog)
    assert {o.column: o.categories for o in result.outputs} == {"details": ("unique_identifier:nhi",)}
