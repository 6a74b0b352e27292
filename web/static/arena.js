// Arena's pages work without this script; it adds the charts (uPlot) and
// live updates (server-sent events from the API).
"use strict";

// drawChart draws one figure.chart from its data-chart: series of [x, y]
// points on shared axes, aligned on the union of their x values. The
// table of the same numbers stays, folded, for readers who want them.
function drawChart(fig) {
  const spec = JSON.parse(fig.dataset.chart);
  const xs = [...new Set(spec.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const data = [xs];
  for (const s of spec.series) {
    const at = new Map(s.points.map((p) => [p[0], p[1]]));
    data.push(xs.map((x) => (at.has(x) ? at.get(x) : null)));
  }
  const plot = fig.querySelector(".plot");
  const width = Math.max(280, Math.min(plot.clientWidth || fig.clientWidth || 600, 900));
  const stepped = uPlot.paths.stepped({ align: 1 });
  const opts = {
    width: width,
    height: 240,
    scales: { x: { time: !!spec.x.time }, y: { distr: spec.y.log ? 3 : 1 } },
    axes: [{ label: spec.x.label }, { label: spec.y.label, size: 64 }],
    series: [{ label: spec.x.label }].concat(spec.series.map((s) => ({
      label: s.label,
      stroke: s.color,
      width: 2,
      dash: s.dash ? [8, 5] : undefined,
      spanGaps: true,
      paths: s.step ? stepped : undefined,
      points: { show: false },
    }))),
  };
  new uPlot(opts, data, plot);
  fig.dataset.drawn = "true";
  const numbers = fig.querySelector("details.numbers");
  if (numbers) numbers.open = false;
}

// followSubmission keeps a submission's page current: queue position and
// estimated start while it waits, tasks done and the running score while
// it runs; a change of status reloads the page, which then shows the
// result (or the next stage) as the server renders it.
function followSubmission(live) {
  const status = live.dataset.status;
  if (["scored", "failed", "rejected", "disqualified"].includes(status)) return;
  const events = new EventSource("/api/v1/submissions/" + live.dataset.id + "/events");
  const set = (id, text) => { const el = document.getElementById(id); if (el) el.textContent = text; };
  events.addEventListener("submission", (e) => {
    const sub = JSON.parse(e.data);
    if (sub.status !== status || (sub.progress && !document.getElementById("progress"))) {
      events.close();
      location.reload();
      return;
    }
    if (sub.queue) {
      set("position", sub.queue.position);
      set("running", sub.queue.running);
      if (sub.queue.estimated_start) set("eta", new Date(sub.queue.estimated_start).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"));
    }
    if (sub.progress) {
      const bar = document.querySelector("#progress progress");
      if (bar) { bar.max = sub.progress.tasks; bar.value = sub.progress.tasks_done; }
      set("tasks", sub.progress.tasks_done + " of " + sub.progress.tasks + " tasks");
      if (sub.progress.score !== null) set("running-score", sub.progress.score.toFixed(4));
    }
  });
}

// followChampion reloads a challenge page when the crown changes hands.
function followChampion(section) {
  const events = new EventSource("/api/v1/challenges/" + section.dataset.slug + "/champion/events");
  events.addEventListener("champion", (e) => {
    if (JSON.parse(e.data).submission_id === section.dataset.champion) return;
    events.close();
    location.reload();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  if (typeof uPlot !== "undefined") document.querySelectorAll("figure.chart").forEach(drawChart);
  const live = document.getElementById("live");
  if (live) followSubmission(live);
  const champion = document.querySelector("section.champion[data-slug]");
  if (champion) followChampion(champion);
});
