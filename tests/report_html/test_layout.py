"""The flow graph's layered layout, and how the report holds up for a 200-job estate."""

from __future__ import annotations

import itertools
import time

from kaitiaki.model import Verdict
from kaitiaki.report.html import (
    LABEL_W,
    LABELLED_EDGES,
    NODE_H,
    NODE_W,
    OPEN_COMPONENT_NODES,
    crossings,
    layout,
    order_layers,
    render_html,
    wrap_name,
)
from tests.report_html.dom import parse
from tests.report_html.estate import NOW, UNIQUE_MSD, column, flow, sql_file, verdict, violation


def overlapping(boxes: dict[str, tuple[float, float]]) -> list[tuple[str, str]]:
    return [
        (a, b)
        for (a, (ax, ay)), (b, (bx, by)) in itertools.combinations(boxes.items(), 2)
        if abs(ax - bx) < NODE_W and abs(ay - by) < NODE_H
    ]


def test_edges_run_left_to_right_and_nodes_never_overlap() -> None:
    edges = [("raw", "stg"), ("stg", "int"), ("int", "mart"), ("raw", "mart"), ("ref", "int"), ("stg", "x")]
    nodes = sorted({n for e in edges for n in e})
    placed = layout(nodes, edges)
    for u, v in edges:
        assert placed.boxes[u][0] < placed.boxes[v][0], (u, v)
    assert not overlapping(placed.boxes)
    assert placed.reversed_edges == frozenset()
    assert all(x + NODE_W <= placed.width and y + NODE_H <= placed.height for x, y in placed.boxes.values())


def test_a_source_sits_next_to_its_first_reader() -> None:
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("late_source", "d")]
    placed = layout(sorted({n for e in edges for n in e}), edges)
    assert placed.boxes["late_source"][0] == placed.boxes["c"][0]


def test_long_edges_are_routed_through_each_layer_between() -> None:
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")]
    placed = layout(["a", "b", "c", "d"], edges)
    route = placed.routes[("a", "d")]
    assert len(route) == 2 + 2 * 5, "three label columns and two table columns crossed straight"
    xs = [x for x, _ in route]
    assert xs == sorted(xs)
    assert route[0][0] == placed.boxes["a"][0] + NODE_W and route[-1][0] == placed.boxes["d"][0]


def test_labels_sit_on_their_edges_and_overlap_nothing() -> None:
    edges = [("a", "x"), ("b", "x"), ("c", "x"), ("a", "y"), ("x", "z"), ("y", "z"), ("a", "z")]
    heights = {edge: 20.0 + 14 * (i % 4) for i, edge in enumerate(edges)}
    placed = layout(sorted({n for e in edges for n in e}), edges, heights)
    assert set(placed.label_boxes) == set(edges)
    boxes: list[tuple[float, float, float, float]] = [
        (x, y, NODE_W, NODE_H) for x, y in placed.boxes.values()
    ]
    boxes += [(x, y, LABEL_W, h) for x, y, h in placed.label_boxes.values()]
    for (ax, ay, aw, ah), (bx, by, bw, bh) in itertools.combinations(boxes, 2):
        assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, "boxes overlap"
    for edge, (x, y, h) in placed.label_boxes.items():
        route = placed.routes[edge]
        assert (x, route[1][1]) == route[1] and route[2] == (x + LABEL_W, route[1][1])
        assert y <= route[1][1] <= y + h, "the edge runs through its label"


def test_cycles_are_drawn_with_a_reversed_edge() -> None:
    edges = [("a", "b"), ("b", "a"), ("b", "c")]
    placed = layout(["a", "b", "c"], edges)
    assert len(placed.reversed_edges) == 1
    assert set(placed.boxes) == {"a", "b", "c"}
    assert not overlapping(placed.boxes)


def test_ordering_removes_avoidable_crossings() -> None:
    layers = [["a", "b"], ["y", "z"]]
    segments = [("a", "z"), ("b", "y")]
    assert crossings(layers, segments) == 1
    assert crossings(order_layers(layers, segments), segments) == 0


def layered_estate(jobs: int) -> list[Verdict]:
    """``jobs`` SQL jobs in a deep, wide DAG: job i reads the outputs of two earlier jobs."""
    verdicts = []
    for i in range(jobs):
        sources = [f"raw.src_{i % 7}"] if i < 10 else [f"mart.t_{i // 2 - 3}", f"mart.t_{i - 9}"]
        cols = [
            column(t, "client_id", [UNIQUE_MSD], ["select"], ["hash"], [f"mart.t_{i}.k"]) for t in sources
        ]
        cols.append(column(sources[0], "amount", [], ["select"], ["aggregate"], [f"mart.t_{i}.total"]))
        lineage = [flow(f"{t}.client_id", f"mart.t_{i}.k", ["hash"]) for t in sources]
        lineage.append(flow(f"{sources[0]}.amount", f"mart.t_{i}.total", ["aggregate"]))
        if i % 3 == 0:  # a lookup that carries no identifying column
            cols.append(column("ref.regions", "region", [], ["select"], ["none"], [f"mart.t_{i}.region"]))
            lineage.append(flow("ref.regions.region", f"mart.t_{i}.region"))
        blocked = (
            [violation("PM-10", "Linking needs approval", "soft", "joined", [], 1, "")] if i % 9 == 0 else []
        )
        job = sql_file(f"jobs/job_{i:03}.sql", f"purpose-{i % 5}", owner=f"team-{i % 4}")
        verdicts.append(verdict(job, cols, lineage, blocked))
    return verdicts


def test_two_hundred_jobs_render_quickly_and_collapse_the_graph() -> None:
    estate = layered_estate(200)
    started = time.perf_counter()
    page = render_html(estate, generated_at=NOW)
    elapsed = time.perf_counter() - started
    assert elapsed < 20, f"rendering 200 jobs took {elapsed:.1f}s"
    doc = parse(page)
    assert len(doc.find_all("tbody", cls="job")) == 200
    parts = doc.find_all("details", cls="component")
    big = [d for d in parts if d.find_all("svg")]
    assert big and all(
        ("open" in d.attrs) == (len(d.find_all("g", cls="node")) <= OPEN_COMPONENT_NODES) for d in big
    )
    assert any("open" not in d.attrs for d in big), "a graph this size starts collapsed"
    assert "flows that carry no identifying column are not drawn" in doc.text()
    graph_edges = [g for svg in doc.find_all("svg", cls="flow-graph") for g in svg.find_all("g", cls="edge")]
    assert graph_edges and all("plain" not in g.classes for g in graph_edges)
    assert any("blocked" in g.classes for g in graph_edges)
    crowded = [d for d in big if len(d.find_all("g", cls="edge")) > LABELLED_EDGES]
    assert crowded and all(not d.find_all("g", cls="label") for d in crowded)
    assert all("too many to label" in d.find("summary").text() for d in crowded)


def test_long_table_names_wrap_at_dots_and_are_never_cut() -> None:
    assert wrap_name("nz.staging.stg_moh_patients", 27) == ["nz.staging.stg_moh_patients"]
    assert wrap_name("analytics.warehouse.mart_client_outcomes", 27) == [
        "analytics.warehouse.",
        "mart_client_outcomes",
    ]
    assert wrap_name("x" * 40, 27) == ["x" * 27, "x" * 13]
    for name in ("dev.main.a_very_long_staging_model_name_for_health_events", "a.b", "ü" * 60):
        lines = wrap_name(name, 27)
        assert "".join(lines) == name and all(len(line) <= 27 for line in lines)


def test_a_wrapped_name_makes_its_table_taller_and_nothing_overlaps() -> None:
    edges = [("a", "c"), ("b", "c")]
    placed = layout(["a", "b", "c"], edges, node_heights={"a": 64.0})
    (ax, ay), (bx, by) = placed.boxes["a"], placed.boxes["b"]
    assert placed.heights["a"] == 64.0 and placed.heights["b"] == NODE_H
    assert ax == bx and (ay + 64.0 <= by or by + NODE_H <= ay)


def test_the_vertical_layout_runs_top_to_bottom_without_overlaps() -> None:
    edges = [("raw", "stg"), ("stg", "int"), ("int", "mart"), ("raw", "mart"), ("ref", "int")]
    nodes = sorted({n for e in edges for n in e})
    heights = {edge: 34.0 for edge in edges}
    placed = layout(nodes, edges, heights, vertical=True)
    assert placed.vertical
    for u, v in edges:
        assert placed.boxes[u][1] + placed.heights[u] <= placed.boxes[v][1], (u, v)
        route = placed.routes[(u, v)]
        assert [y for _, y in route] == sorted(y for _, y in route), "edges only run downward"
    boxes = [(x, y, NODE_W, placed.heights[n]) for n, (x, y) in placed.boxes.items()]
    boxes += [(x, y, LABEL_W, h) for x, y, h in placed.label_boxes.values()]
    for (ax, ay, aw, ah), (bx, by, bw, bh) in itertools.combinations(boxes, 2):
        assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, "boxes overlap"
    assert all(x + w <= placed.width and y + h <= placed.height for x, y, w, h in boxes)
    assert placed.width < layout(nodes, edges, heights).width, "narrower than left to right"
