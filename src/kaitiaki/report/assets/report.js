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

  apply();
  document.documentElement.dataset.js = "ready";
})();
