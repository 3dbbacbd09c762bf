// kaitiaki estate report: filters and search over the jobs table, dimming the flow graph to match.
// Plain JavaScript, no framework and no network. Without it every job and flow is simply shown.
(() => {
  "use strict";
  const form = document.getElementById("filters");
  const shown = document.getElementById("shown");
  const jobs = Array.from(document.querySelectorAll("tbody.job"));
  const edges = Array.from(document.querySelectorAll(".flow-graph [data-jobs]"));
  const flowsSection = document.getElementById("flows");
  const searchText = new Map(jobs.map((job) => [job, job.textContent.toLowerCase()]));

  const chosen = () => ({
    rule: form.elements.rule.value,
    purpose: form.elements.purpose.value,
    owner: form.elements.owner.value,
    decision: form.elements.decision.value,
    text: form.elements.q.value.trim().toLowerCase(),
  });

  const matches = (job, f) =>
    (f.rule === "" || job.dataset.rules.split(" ").includes(f.rule)) &&
    (f.purpose === "" || job.dataset.purpose === f.purpose) &&
    (f.owner === "" || job.dataset.owner === f.owner) &&
    (f.decision === "" || job.dataset.decision === f.decision) &&
    (f.text === "" || searchText.get(job).includes(f.text));

  const apply = () => {
    const f = chosen();
    const visible = new Set();
    for (const job of jobs) {
      const ok = matches(job, f);
      job.hidden = !ok;
      if (ok) visible.add(job.dataset.index);
    }
    for (const edge of edges) {
      const any = edge.dataset.jobs.split(" ").some((index) => visible.has(index));
      edge.classList.toggle("dimmed", !any);
    }
    shown.textContent = `${visible.size} of ${jobs.length} jobs shown`;
  };

  const setAllDetails = (open) => {
    for (const details of document.querySelectorAll("details.job-detail")) {
      if (!details.closest("tbody").hidden) details.open = open;
    }
  };

  form.hidden = false;
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  form.addEventListener("reset", () => window.setTimeout(apply, 0));
  document.getElementById("expand-all").addEventListener("click", () => setAllDetails(true));
  document.getElementById("collapse-all").addEventListener("click", () => setAllDetails(false));

  const graphTools = document.getElementById("graph-tools");
  if (graphTools) {
    graphTools.hidden = false;
    const onlyDenied = document.getElementById("only-denied");
    onlyDenied.addEventListener("change", () => {
      flowsSection.classList.toggle("only-denied", onlyDenied.checked);
    });
  }

  // Layout, zoom and pan. A graph too wide for its box switches to its top-to-bottom layout
  // when that one fits better; it then fits the width it has (down to MIN_FIT, beyond which it
  // scrolls), zooms with the buttons and pans by dragging inside its scroll box.
  const MIN_FIT = 0.6;
  for (const box of document.querySelectorAll("details.component")) {
    const bar = box.querySelector(".graph-zoom");
    const wide = box.querySelector('.graph-scroll[data-layout="wide"]');
    const tall = box.querySelector('.graph-scroll[data-layout="tall"]');
    if (!bar || !wide) continue;
    const level = bar.querySelector(".zoom-level");
    const natural = (scroll) => {
      const svg = scroll.querySelector("svg");
      return { svg, width: Number(svg.getAttribute("width")), height: Number(svg.getAttribute("height")) };
    };
    const views = [wide, tall].filter(Boolean).map((scroll) => ({ scroll, ...natural(scroll) }));
    let shown = views[0];
    const zoom = (scale) => {
      const s = Math.min(2, Math.max(0.25, scale));
      shown.svg.setAttribute("width", String(Math.round(shown.width * s)));
      shown.svg.setAttribute("height", String(Math.round(shown.height * s)));
      shown.svg.dataset.scale = s.toFixed(3);
      level.textContent = `${Math.round(s * 100)}%`;
    };
    const current = () => Number(shown.svg.dataset.scale || "1");
    const fitScale = (view, room) => (room > 0 && view.width > room ? room / view.width : 1);
    const fit = () => {
      const room = box.clientWidth - 2;
      shown = views.reduce((best, view) => (fitScale(view, room) > fitScale(best, room) ? view : best), views[0]);
      for (const view of views) view.scroll.hidden = view !== shown;
      zoom(Math.max(fitScale(shown, room), MIN_FIT));
    };
    const actions = { in: () => zoom(current() * 1.25), out: () => zoom(current() / 1.25), fit, reset: () => zoom(1) };
    bar.hidden = false;
    bar.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-zoom]");
      if (button) actions[button.dataset.zoom]();
    });
    box.addEventListener("toggle", () => {
      if (box.open) fit();
    });
    for (const view of views) {
      let drag = null;
      const scroll = view.scroll;
      scroll.addEventListener("pointerdown", (event) => {
        if (event.button !== 0 || event.target.closest("a")) return;
        drag = { x: event.clientX, y: event.clientY, left: scroll.scrollLeft, top: scroll.scrollTop };
        scroll.classList.add("dragging");
      });
      window.addEventListener("pointermove", (event) => {
        if (!drag) return;
        scroll.scrollLeft = drag.left - (event.clientX - drag.x);
        scroll.scrollTop = drag.top - (event.clientY - drag.y);
      });
      window.addEventListener("pointerup", () => {
        drag = null;
        scroll.classList.remove("dragging");
      });
    }
    if (box.open) fit();
  }

  // Where a column goes: the picker shows one column's view.
  const picker = document.getElementById("column-pick");
  if (picker) {
    const choice = document.getElementById("column-select");
    const views = Array.from(document.querySelectorAll("details.column-view"));
    picker.hidden = false;
    picker.addEventListener("submit", (event) => event.preventDefault());
    choice.addEventListener("change", () => {
      for (const view of views) {
        const chosen = view.dataset.column === choice.value;
        view.hidden = choice.value !== "" && !chosen;
        view.open = chosen;
      }
    });
  }

  apply();
  document.documentElement.dataset.js = "ready";
})();
