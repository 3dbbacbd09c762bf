"""classify(): sources by strength, visible conflicts, outputs, tables, strict catalog, bad input."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from kaitiaki.analysis import analyze_sql
from kaitiaki.classify import catalog_schema_warnings, classify, derive_categories
from kaitiaki.config import parse_settings
from kaitiaki.errors import ConfigError, KaitiakiError
from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import Classification

from .support import by_column, edge, entry, facts, plugin_manager

PM = plugin_manager()
CATALOG = {
    "cms.clients": entry(
        "cms.clients",
        {
            "client_id": ["unique_identifier:msd_client"],
            "full_name": ["direct_identifier"],
            "nickname": [],
            "opted_out": ["opt_out_flag"],
        },
        agency="msd",
    ),
    "care.children": entry(
        "care.children", {"nhi": ["unique_identifier:nhi"]}, agency="ot", categories=["child"]
    ),
}


def run(sql_facts: Any, **kw: Any) -> Any:
    kw.setdefault("catalog", CATALOG)
    return classify(sql_facts, plugins=PM, **kw)


# --- sources and their strength -----------------------------------------------------------------


def test_catalog_wins_and_records_its_source() -> None:
    result = run(facts([("cms.clients.client_id", ["select"]), ("cms.clients.full_name", ["select"])]))
    cols = by_column(result.columns)
    assert cols["cms.clients.client_id"].categories == ("unique_identifier:msd_client",)
    assert cols["cms.clients.client_id"].classified_by == ("catalog",)
    assert cols["cms.clients.full_name"].classified_by == ("catalog",)
    assert result.warnings == ()  # the rules agree: client_id is an identifier either way


def test_a_column_the_catalog_clears_stays_cleared_but_the_disagreement_is_visible() -> None:
    catalog = {"cms.clients": entry("cms.clients", {"email": []})}
    result = run(facts([("cms.clients.email", ["select"])]), catalog=catalog)
    assert result.columns[0].categories == ()
    assert result.columns[0].classified_by == ("catalog",)
    (warning,) = result.warnings
    assert warning.startswith("conflict: cms.clients.email: catalog says []")
    assert "rule:email says [direct_identifier]" in warning


def test_columns_the_catalog_does_not_list_fall_through_to_the_rules() -> None:
    result = run(facts([("cms.clients.date_of_birth", ["select"]), ("cms.clients.region", ["group"])]))
    cols = by_column(result.columns)
    assert cols["cms.clients.date_of_birth"].categories == ("quasi_identifier:dob",)
    assert cols["cms.clients.date_of_birth"].classified_by == ("rule:date_of_birth",)
    assert cols["cms.clients.region"].categories == ()
    assert cols["cms.clients.region"].classified_by == ()


def test_table_level_catalog_categories_reach_every_column() -> None:
    result = run(facts([("care.children.nhi", ["select"]), ("care.children.region", ["group"])]))
    cols = by_column(result.columns)
    assert cols["care.children.nhi"].categories == ("child", "unique_identifier:nhi")
    assert cols["care.children.region"].categories == ("child",)
    assert cols["care.children.region"].classified_by == ("catalog",)


def test_table_names_match_by_dotted_suffix() -> None:
    result = run(facts([("prod.cms.clients.full_name", ["select"]), ("clients.client_id", ["select"])]))
    assert [c.classified_by for c in result.columns] == [("catalog",), ("catalog",)]


def test_a_name_matching_two_catalog_tables_combines_them_and_says_so() -> None:
    catalog = {
        "cms.people": entry("cms.people", {"nhi": ["unique_identifier:nhi"]}),
        "hr.people": entry("hr.people", {"nhi": ["sensitive:health"]}),
    }
    result = run(facts([("people.nhi", ["select"])]), catalog=catalog)
    assert result.columns[0].categories == ("sensitive:health", "unique_identifier:nhi")
    assert any(
        w.startswith("ambiguous_table: people: matches several catalog entries") for w in result.warnings
    )


# --- dbt meta -----------------------------------------------------------------------------------


def model(columns: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {"columns": columns, **extra}


def test_dbt_kaitiaki_categories_are_taken_as_written() -> None:
    meta = {
        "dev.main.stg": model(
            {"client_ref": {"meta": {"kaitiaki": {"categories": ["unique_identifier:msd_client"]}}}}
        )
    }
    result = run(facts([("dev.main.stg.client_ref", ["select"])]), dbt_meta=meta)
    assert result.columns[0].categories == ("unique_identifier:msd_client",)
    assert result.columns[0].classified_by == ("dbt_meta",)


def test_a_bare_pii_flag_takes_the_rules_kind_when_they_know_it() -> None:
    meta = {
        "stg": model(
            {
                "dob": {"meta": {"pii": True}},
                "notes": {"tags": ["pii"]},
                "misc": {"meta": {"contains_pii": "yes"}},
            }
        )
    }
    result = run(
        facts([("stg.dob", ["select"]), ("stg.notes", ["select"]), ("stg.misc", ["select"])]), dbt_meta=meta
    )
    cols = by_column(result.columns)
    assert cols["stg.dob"].categories == ("quasi_identifier:dob",)
    assert cols["stg.dob"].classified_by == ("dbt_meta", "rule:date_of_birth")
    assert cols["stg.notes"].categories == ("direct_identifier",)  # kind unknown: the strictest
    assert cols["stg.notes"].classified_by == ("dbt_meta",)
    assert cols["stg.misc"].categories == ("direct_identifier",)
    assert result.warnings == ()


def test_dbt_meta_beats_rules_and_catalog_beats_dbt_meta() -> None:
    meta = {
        "stg": model({"email": {"meta": {"kaitiaki": {"categories": []}}}}),
        "cms.clients": model({"full_name": {"meta": {"kaitiaki": {"categories": ["quasi_identifier"]}}}}),
    }
    result = run(facts([("stg.email", ["select"]), ("cms.clients.full_name", ["select"])]), dbt_meta=meta)
    cols = by_column(result.columns)
    assert cols["stg.email"].categories == ()
    assert cols["stg.email"].classified_by == ("dbt_meta",)
    assert cols["cms.clients.full_name"].categories == ("direct_identifier",)
    assert cols["cms.clients.full_name"].classified_by == ("catalog",)
    assert any("stg.email: dbt_meta says []" in w and "rule:email" in w for w in result.warnings)
    assert any("cms.clients.full_name: catalog says [direct_identifier]" in w for w in result.warnings)


def test_model_level_dbt_meta_applies_to_every_column_and_the_table() -> None:
    meta = {
        "stg_kids": model(
            {}, meta={"kaitiaki": {"categories": ["child"], "agency": "ot"}, "contains_pii": True}
        )
    }
    result = run(facts([("stg_kids.region", ["group"])]), dbt_meta=meta)
    assert result.columns[0].categories == ("child",)
    (table,) = result.tables
    assert table.agency == "ot"
    assert table.categories == ("child", "direct_identifier")


# --- lineage ------------------------------------------------------------------------------------


def test_inherited_categories_apply_when_no_stronger_source_speaks() -> None:
    inherited = {"stg.clients.label": ("direct_identifier",), "stg.clients.postcode": ("quasi_identifier",)}
    result = run(facts([("stg.clients.label", ["select"])]), inherited=inherited)
    assert result.columns[0].categories == ("direct_identifier",)
    assert result.columns[0].classified_by == ("lineage",)
    # All of the table's inherited columns count towards the table, touched or not.
    assert result.tables[0].categories == ("direct_identifier", "quasi_identifier")


def test_the_catalog_overrides_lineage_visibly() -> None:
    inherited = {"cms.clients.nickname": ("direct_identifier",)}
    result = run(facts([("cms.clients.nickname", ["select"])]), inherited=inherited)
    assert result.columns[0].categories == ()
    assert any("cms.clients.nickname: catalog says []" in w and "lineage says" in w for w in result.warnings)


def test_a_later_statement_sees_what_an_earlier_one_wrote() -> None:
    lineage = [
        edge("cms.clients.full_name", "tmp.contacts.who"),
        edge("tmp.contacts.who", "mart.letters.addressee", statement=1),
    ]
    sql_facts = facts(
        [("cms.clients.full_name", ["select"]), ("tmp.contacts.who", ["select"])],
        lineage,
        targets=["tmp.contacts", "mart.letters"],
    )
    result = run(sql_facts)
    cols = by_column(result.columns)
    assert cols["tmp.contacts.who"].categories == ("direct_identifier",)
    assert cols["tmp.contacts.who"].classified_by == ("lineage",)
    assert [o.categories for o in result.outputs] == [("direct_identifier",), ("direct_identifier",)]


def test_a_column_the_job_writes_is_classified_by_what_flows_into_it_not_by_its_name() -> None:
    # The name rules would call a written `client_id` a person_key; what the job writes into
    # it is the agency's own client number, and that is what the written column carries.
    sql_facts = facts(
        [("cms.clients.client_id", ["select"]), ("mart.letters.client_id", ["write"])],
        [edge("cms.clients.client_id", "mart.letters.client_id")],
        targets=["mart.letters"],
    )
    cols = by_column(run(sql_facts).columns)
    assert cols["mart.letters.client_id"].categories == ("unique_identifier:msd_client",)
    assert cols["mart.letters.client_id"].classified_by == ("lineage",)


# --- outputs ------------------------------------------------------------------------------------


def test_outputs_follow_the_transforms() -> None:
    lineage = [
        edge("cms.clients.full_name", "mart.x.full_name"),
        edge("cms.clients.client_id", "mart.x.client_key", "hash"),
        edge("cms.clients.full_name", "mart.x.initials", "mask"),
        edge("cms.clients.client_id", "mart.x.clients", "aggregate"),
        edge("cms.clients.date_of_birth", "mart.x.birth_year", "truncate"),
    ]
    result = run(
        facts(
            [
                ("cms.clients.full_name", ["select"]),
                ("cms.clients.client_id", ["select"]),
                ("cms.clients.date_of_birth", ["select"]),
            ],
            lineage,
            targets=["mart.x"],
        )
    )
    outputs = {o.column: o for o in result.outputs}
    assert outputs["full_name"].categories == ("direct_identifier",)
    assert outputs["client_key"].categories == ("person_key",)
    assert outputs["client_key"].transforms == ("hash",)
    assert outputs["client_key"].sources == ("cms.clients.client_id",)
    assert outputs["initials"].categories == ("direct_identifier",)
    assert outputs["clients"].categories == ()
    assert outputs["birth_year"].categories == ("quasi_identifier:dob",)
    # The hashed source column keeps its own categories; its fact records the hash.
    client_id = by_column(result.columns)["cms.clients.client_id"]
    assert client_id.categories == ("unique_identifier:msd_client",)
    assert "hash" in client_id.transforms


def test_an_output_from_several_sources_unions_them() -> None:
    lineage = [
        edge("cms.clients.full_name", "label"),
        edge("cms.clients.client_id", "label", "cast"),
    ]
    result = run(
        facts([("cms.clients.full_name", ["select"]), ("cms.clients.client_id", ["select"])], lineage)
    )
    (output,) = result.outputs
    assert output.table is None
    assert output.categories == ("direct_identifier", "unique_identifier:msd_client")
    assert output.transforms == ("cast", "none")
    assert output.sources == ("cms.clients.full_name", "cms.clients.client_id")


def test_derive_categories_keeps_sensitive_kinds_through_a_hash() -> None:
    assert derive_categories(["unique_identifier:nhi", "sensitive:ethnicity"], ["hash"]) == (
        "person_key",
        "sensitive:ethnicity",
    )
    assert derive_categories(["person_key", "sensitive:income"], ["aggregate"]) == ("sensitive:income",)
    assert derive_categories(["unique_identifier:nhi"], ["hash", "aggregate"]) == ()


def test_an_unexpanded_star_carries_everything_known_about_its_table() -> None:
    result = run(facts([], [edge("cms.clients.*", "*")]))
    assert result.outputs[0].categories == (
        "direct_identifier",
        "opt_out_flag",
        "unique_identifier:msd_client",
    )


# --- tables and the strict catalog ----------------------------------------------------------------


def test_table_facts_carry_agency_and_every_catalogued_category() -> None:
    result = run(facts([("cms.clients.full_name", ["select"])]))
    (table,) = result.tables
    assert table.name == "cms.clients"
    assert table.agency == "msd"
    # opted_out is not touched by this job, but the table still holds an opt-out flag (TC-01).
    assert table.categories == ("direct_identifier", "opt_out_flag", "unique_identifier:msd_client")


def test_strict_catalog_reports_unknown_tables_for_the_gate() -> None:
    sql_facts = facts([("cms.clients.full_name", ["select"]), ("scratch.notes.body", ["select"])])
    assert not [w for w in run(sql_facts).warnings if w.startswith("strict_catalog: ")]
    strict = [w for w in run(sql_facts, strict_catalog=True).warnings if w.startswith("strict_catalog: ")]
    assert strict == [
        "strict_catalog: table 'scratch.notes' is not in the catalog and no upstream job produced it; "
        "add it under catalog: in kaitiaki.yaml (columns: {} if it holds nothing identifying)."
    ]


def test_a_table_read_without_naming_a_column_is_still_seen() -> None:
    """count(*) names no column; the strict catalog and table categories must still see the table."""
    counted = analyze_sql("select count(*) from scratch.notes cross join care.children", dialect="duckdb")
    result = run(counted, strict_catalog=True)
    assert [w for w in result.warnings if w.startswith("strict_catalog: ")] == [
        "strict_catalog: table 'scratch.notes' is not in the catalog and no upstream job produced it; "
        "add it under catalog: in kaitiaki.yaml (columns: {} if it holds nothing identifying)."
    ]
    assert "child" in {t.name: t.categories for t in result.tables}["care.children"]


def test_a_table_an_upstream_job_produced_is_known_to_the_strict_catalog() -> None:
    result = run(facts([("stg.clients.n", ["select"])]), inherited={"stg.clients.n": ()}, strict_catalog=True)
    assert result.warnings == ()


# --- bad input ------------------------------------------------------------------------------------


def test_an_unknown_category_in_dbt_meta_names_the_file_line_and_column() -> None:
    meta = {
        "stg": {
            "path": "models/staging/schema.yml",
            "line": 14,
            "unique_id": "model.nz.stg",
            "columns": {"nhi": {"meta": {"kaitiaki": {"categories": ["unique_identifer:nhi"]}}}},
        }
    }
    with pytest.raises(KaitiakiError) as caught:
        run(facts([("stg.nhi", ["select"])]), dbt_meta=meta)
    text = str(caught.value)
    assert text.startswith("models/staging/schema.yml:14: dbt meta of stg.nhi (model.nz.stg): ")
    assert "unknown category 'unique_identifer:nhi'" in text
    assert "Hint:" in text


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        ({"nhi": {"meta": {"kaitiaki": ["unique_identifier:nhi"]}}}, "'meta.kaitiaki' must be a mapping"),
        (
            {"nhi": {"meta": {"kaitiaki": {"categories": [1]}}}},
            "'kaitiaki.categories' must be a list of strings",
        ),
        ({"nhi": {"meta": "pii"}}, "'meta' must be a mapping"),
        ({"nhi": {"tags": {"pii": True}}}, "'tags' must be a list of strings"),
    ],
)
def test_a_malformed_meta_block_is_an_error_not_a_guess(columns: dict[str, Any], problem: str) -> None:
    meta = {"stg": {"columns": columns}}
    with pytest.raises(KaitiakiError, match=r"dbt meta of stg\.nhi: ") as caught:
        run(facts([("stg.nhi", ["select"])]), dbt_meta=meta)
    assert problem in str(caught.value)


def test_an_unknown_category_in_the_catalog_names_kaitiaki_yaml_and_the_line(tmp_path: Path) -> None:
    text = "catalog:\n  cms.clients:\n    columns:\n      full_name: [direct_identifer]\n"
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, tmp_path / "kaitiaki.yaml")
    assert str(caught.value).startswith(f"{tmp_path / 'kaitiaki.yaml'}:4: ")
    assert "unknown category 'direct_identifer'" in str(caught.value)


def test_a_catalog_table_missing_from_the_schema_is_a_warning_with_its_line(tmp_path: Path) -> None:
    text = (
        "catalog:\n"
        "  cms.clients:\n    columns: {full_name: [direct_identifier], nmae: [direct_identifier]}\n"
        "  cms.clinets:\n    columns: {nhi: [unique_identifier:nhi]}\n"
    )
    path = tmp_path / "kaitiaki.yaml"
    settings = parse_settings(text, path)
    schema = {"cms.clients": {"full_name": "text", "region": "text"}}
    warnings = catalog_schema_warnings(settings.catalog, schema, path=str(path))
    assert warnings == (
        f"{path}:3: catalog column 'cms.clients.nmae' is not a column of 'cms.clients' in the schema.",
        f"{path}:5: catalog table 'cms.clinets' is not in the schema; check the name, or its columns will "
        "never be classified from the catalog.",
    )


class _BadCategoryPlugin:
    @hookimpl
    def kaitiaki_classify_column(self, table: str, column: str) -> list[Classification]:
        return [Classification(categories=("secret",), source="rule:bad")]


class _CrashingPlugin:
    @hookimpl
    def kaitiaki_classify_column(self, table: str, column: str) -> list[Classification]:
        raise RuntimeError("rule table missing")


def test_a_plugin_answer_outside_the_vocabulary_is_an_error() -> None:
    pm = plugin_manager()
    pm.register(_BadCategoryPlugin())
    with pytest.raises(KaitiakiError, match=r"plugin rule 'rule:bad' on cms.x.y: unknown category 'secret'"):
        classify(facts([("cms.x.y", ["select"])]), catalog={}, plugins=pm)


def test_a_crashing_plugin_fails_closed_with_a_clear_error() -> None:
    pm = plugin_manager()
    pm.register(_CrashingPlugin())
    with pytest.raises(
        KaitiakiError, match=r"a classification plugin failed on column cms.x.y: rule table missing"
    ):
        classify(facts([("cms.x.y", ["select"])]), catalog={}, plugins=pm)
