"""The counterexample report: one self-contained HTML file to click through.

Per-CPU lanes (one column per PE, one row per step, handler nesting as bars), IPIs and
signalled events as arrows from sender to receiver, the violation on the PE where it happened,
and a state inspector: select a step (click, or the arrow keys) to see the whole state after it
with what the step changed marked and the value before. No network: the data, the styles and
the script are in the file, so it opens from disk and works offline.
"""

from __future__ import annotations

import html
import itertools
import json
from pathlib import Path
from typing import Any

from sdei.abi import Function
from sdei.explore.counterexample import Counterexample, ReplayOutcome
from sdei.explore.render import expected_invariants
from sdei.trace.recorder import Record
from sdei.trace.state import StateLog, changes


def report_data(cx: Counterexample, outcome: ReplayOutcome, log: StateLog) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data."""
    v = cx.violation
    records = outcome.records
    mpidrs = [pe.mpidr for pe in log.machine.pes]
    expected = expected_invariants(cx.scenario)
    return {
        "title": f"{cx.scenario} ({cx.era})",
        "scenario": cx.scenario,
        "era": cx.era,
        "patches": list(cx.patches),
        "profile": cx.profile,
        "strategy": cx.strategy,
        "pes": outcome.pes,
        "setup_steps": log.first,
        "violation": {
            "invariant": v.invariant,
            "message": v.message,
            "step": v.step,
            "pe": v.pe,
            "explanation": cx.explanation,
            "expected": expected,
        },
        "replay": outcome.status,
        "replay_message": outcome.message,
        "records": [
            [r.step, r.pe, r.depth, r.kind, r.text, r.context]
            for r in records
            if r.kind != "fault"  # the violation is shown on its own
        ]
        + _starts(records, log),
        "arrows": arrows(records, mpidrs),
        "states": log.to_json(),
        "injected": cx.injected,
    }


def _starts(records: list[Record], log: StateLog) -> list[list[Any]]:
    """A row for each step that recorded nothing but started a thread (its first step)."""
    recorded = {r.step for r in records}
    rows: list[list[Any]] = []
    steps = log.steps()
    for prev, step in itertools.pairwise(steps):
        if step in recorded:
            continue
        for change in changes(log.states[prev], log.states[step]):
            if change.item == "thread" and change.new and change.group.startswith("PE"):
                rows.append([step, int(change.group[2:]), 0, "step", f"{change.new} runs", ""])
    return rows


def arrows(records: list[Record], mpidrs: list[int]) -> list[dict[str, Any]]:
    """Sender to receiver: an IPI to the IRQ it raised, a signalled event to its delivery.
    Each end is a record's index in `records` (faults left out, as on the page)."""
    shown = [r for r in records if r.kind != "fault"]
    found: list[dict[str, Any]] = []
    used: set[int] = set()

    def next_on(start: int, pe: int, kind: str, text: str = "") -> int | None:
        for j in range(start + 1, len(shown)):
            r = shown[j]
            if j not in used and r.pe == pe and r.kind == kind and r.text.startswith(text):
                used.add(j)
                return j
        return None

    for i, r in enumerate(shown):
        if r.kind == "step" and isinstance(r.data, dict) and "to" in r.data:
            j = next_on(i, int(r.data["to"]), "irq")
            if j is not None:
                found.append({"from": i, "to": j, "kind": "IPI"})
        elif r.kind == "call" and isinstance(r.data, tuple) and len(r.data) == 3:
            function, args, result = r.data
            if function == Function.EVENT_SIGNAL and result == 0 and len(args) >= 2:
                target = mpidrs.index(args[1]) if args[1] in mpidrs else None
                if target is not None:
                    j = next_on(i, target, "deliver", f"▶ {args[0]:#x}")
                    if j is not None:
                        found.append({"from": i, "to": j, "kind": "signal"})
    return found


def write_report(path: Path, cx: Counterexample, outcome: ReplayOutcome, log: StateLog) -> Path:
    """Write the report for a replayed counterexample (with a `StateLog` attached)."""
    data = report_data(cx, outcome, log)
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    page = (
        _PAGE.replace("__TITLE__", html.escape(data["title"]))
        .replace("__STYLE__", _STYLE)
        .replace("__DATA__", payload)
        .replace("__SCRIPT__", _SCRIPT)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sdei: __TITLE__</title>
<style>__STYLE__</style>
</head>
<body>
<header id="head"></header>
<main>
  <section id="lanes-box"><div id="lanes"></div><svg id="arrows"></svg></section>
  <aside id="inspector"><p class="hint">Select a step: click a row, or use ↑ ↓.</p></aside>
</main>
<script type="application/json" id="sdei-data">__DATA__</script>
<script>__SCRIPT__</script>
</body>
</html>
"""

_STYLE = """
:root { --bg:#fff; --fg:#1d1f21; --dim:#6b7280; --line:#e5e7eb; --sel:#fff7d6;
  --bad:#b91c1c; --call:#0e7490; --deliver:#a21caf; --irq:#b45309; --power:#1d4ed8;
  --note:#15803d; --lock:#374151; --chg:#fef3c7; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.35 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  color:var(--fg); background:var(--bg); }
header { padding:10px 16px; border-bottom:1px solid var(--line); }
header h1 { font-size:16px; margin:0 0 4px; }
header .violation { color:var(--bad); font-weight:bold; }
header .meta, header .why, header .cmd { color:var(--dim); margin-top:2px; }
main { display:flex; align-items:flex-start; }
#lanes-box { position:relative; flex:1 1 auto; overflow:auto; max-height:calc(100vh - 90px); }
#arrows { position:absolute; left:0; top:0; pointer-events:none; overflow:visible; }
#arrows path { fill:none; stroke-width:1.5; }
#arrows path.IPI { stroke:var(--irq); } #arrows path.signal { stroke:var(--deliver); }
table { border-collapse:collapse; }
th { position:sticky; top:0; background:#f3f4f6; z-index:1; text-align:left;
  padding:3px 8px; border-bottom:1px solid var(--line); }
td { vertical-align:top; padding:2px 8px; border-bottom:1px solid var(--line);
  min-width:150px; max-width:320px; }
td.step { min-width:0; color:var(--dim); text-align:right; }
tr.row { cursor:pointer; } tr.row:hover { background:#f9fafb; }
tr.row.selected { background:var(--sel); }
tr.setup td { color:var(--dim); font-style:italic; }
.rec { white-space:pre-wrap; word-break:break-word; width:fit-content; max-width:100%; }
.rec.nest1 { border-left:3px solid #e879f9; padding-left:5px; }
.rec.nest2 { border-left:6px double #a21caf; padding-left:5px; }
.rec.nest3 { border-left:9px double #701a75; padding-left:5px; }
.k-call { color:var(--call); } .k-deliver { color:var(--deliver); font-weight:bold; }
.k-complete { color:var(--deliver); } .k-irq { color:var(--irq); }
.k-power { color:var(--power); font-weight:bold; } .k-note { color:var(--note); }
.k-lock { color:var(--lock); } .k-step { color:var(--dim); }
.rec.violation { color:var(--bad); font-weight:bold; }
#inspector { flex:0 0 420px; max-height:calc(100vh - 90px); overflow:auto;
  border-left:1px solid var(--line); padding:8px 12px; }
#inspector h2 { font-size:14px; margin:4px 0; }
#inspector h3 { font-size:13px; margin:10px 0 2px; }
#inspector .item { padding:1px 4px; }
#inspector .item.changed { background:var(--chg); }
#inspector .item.gone { color:var(--dim); text-decoration:line-through; }
#inspector del { color:var(--dim); }
#inspector .did { margin:2px 0; }
.hint { color:var(--dim); }
.legend span { margin-right:12px; }
"""

_SCRIPT = r"""
"use strict";
const D = JSON.parse(document.getElementById("sdei-data").textContent);
const V = D.violation;
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => (
  {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));

function header() {
  const h = document.getElementById("head");
  const where = V.pe === null ? "" : ` on PE${V.pe}`;
  const patches = D.patches.length ? ` + ${D.patches.join(", ")}` : "";
  let expected = "";
  if (V.expected.length && !V.expected.includes(V.invariant)) {
    expected = ` (the scenario expects ${V.expected.join(" or ")}; this run broke ` +
      `${V.invariant} first)`;
  }
  const inj = D.injected.length ? ` · injected faults: ${D.injected.map(
    (f) => `${f.function} = ${f.status} at step ${f.step} on PE${f.pe}`).join("; ")}` : "";
  h.innerHTML =
    `<h1>${esc(D.title)}</h1>` +
    `<div class="violation" id="violation">✗ ${esc(V.invariant)} at step ${V.step}${where}: ` +
    `${esc(V.message)}</div>` +
    `<div class="why">${esc(V.explanation)}${esc(expected)}</div>` +
    `<div class="meta">era ${esc(D.era)}${esc(patches)} · profile ${esc(D.profile)} · ` +
    `found by ${esc(D.strategy)} · replay ${esc(D.replay)}${esc(inj)}</div>` +
    `<div class="cmd legend"><span class="k-call">firmware call</span>` +
    `<span class="k-deliver">▶ event entered</span><span class="k-complete">◀ completed</span>` +
    `<span class="k-irq">IRQ</span><span class="k-power">power</span>` +
    `<span class="k-note">note / API call</span><span class="k-lock">lock</span>` +
    `<span>┃ bars: handler nesting</span><span>arrows: IPI, signal → entry</span></div>`;
}

// The state after each step: the first whole, then each step's changes applied.
const steps = [D.setup_steps];
const stateAt = new Map();
const changesAt = new Map();
(function buildStates() {
  let cur = JSON.parse(JSON.stringify(D.states.initial));
  stateAt.set(D.setup_steps, cur);
  const keys = Object.keys(D.states.changes).map(Number).sort((a, b) => a - b);
  for (const s of keys) {
    const next = JSON.parse(JSON.stringify(cur));
    for (const [group, item, , now] of D.states.changes[s]) {
      next[group] = next[group] || {};
      if (now === null) delete next[group][item]; else next[group][item] = now;
    }
    stateAt.set(s, next);
    changesAt.set(s, D.states.changes[s]);
    cur = next;
    steps.push(s);
  }
})();

const rowOf = new Map();
const recElems = [];

function lanes() {
  const byStep = new Map();
  D.records.forEach((r, i) => {
    if (!byStep.has(r[0])) byStep.set(r[0], []);
    byStep.get(r[0]).push([r, i]);
  });
  const all = new Set([...steps.slice(1), ...byStep.keys(), V.step]);
  const order = [...all].filter((s) => s > D.setup_steps).sort((a, b) => a - b);
  const table = document.createElement("table");
  let head = "<thead><tr><th>step</th>";
  for (let p = 0; p < D.pes; p++) head += `<th>PE${p}</th>`;
  table.innerHTML = head + "</tr></thead>";
  const body = document.createElement("tbody");
  const setup = document.createElement("tr");
  setup.className = "row setup";
  setup.dataset.step = String(D.setup_steps);
  setup.innerHTML = D.setup_steps ? `<td class="step">1–${D.setup_steps}</td>` +
    `<td colspan="${D.pes}">set-up: boot and registration before the race (not ` +
    `interleaved); select to see the state it left</td>` :
    `<td class="step">0</td><td colspan="${D.pes}">the start: select to see the state ` +
    `before the first step</td>`;
  body.appendChild(setup);
  rowOf.set(D.setup_steps, setup);
  for (const s of order) {
    const tr = document.createElement("tr");
    tr.className = "row";
    tr.dataset.step = String(s);
    const cells = [];
    for (let p = 0; p < D.pes; p++) cells.push(document.createElement("td"));
    for (const [r, i] of byStep.get(s) || []) {
      const div = document.createElement("div");
      div.className = `rec k-${r[3]}` + (r[2] ? ` nest${Math.min(r[2], 3)}` : "");
      div.textContent = r[4];
      if (r[5]) div.title = r[5];
      cells[r[1]].appendChild(div);
      recElems[i] = div;
    }
    if (s === V.step) {
      const div = document.createElement("div");
      div.className = "rec violation";
      div.id = "violation-cell";
      div.textContent = `✗ ${V.invariant}: ${V.message}`;
      cells[V.pe === null ? 0 : V.pe].appendChild(div);
    }
    const td = document.createElement("td");
    td.className = "step";
    td.textContent = String(s);
    tr.appendChild(td);
    cells.forEach((c) => tr.appendChild(c));
    body.appendChild(tr);
    rowOf.set(s, tr);
  }
  table.appendChild(body);
  document.getElementById("lanes").appendChild(table);
  body.addEventListener("click", (e) => {
    const tr = e.target.closest("tr.row");
    if (tr) select(Number(tr.dataset.step));
  });
}

function drawArrows() {
  const box = document.getElementById("lanes-box");
  const svg = document.getElementById("arrows");
  const b = box.getBoundingClientRect();
  svg.setAttribute("width", box.scrollWidth);
  svg.setAttribute("height", box.scrollHeight);
  let out = '<defs><marker id="head" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" ' +
    'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>';
  for (const a of D.arrows) {
    const from = recElems[a.from], to = recElems[a.to];
    if (!from || !to) continue;
    const f = from.getBoundingClientRect(), t = to.getBoundingClientRect();
    const x1 = (f.left < t.left ? f.right : f.left) - b.left + box.scrollLeft;
    const y1 = f.top + f.height / 2 - b.top + box.scrollTop;
    const x2 = (f.left < t.left ? t.left : t.right) - b.left + box.scrollLeft;
    const y2 = t.top + t.height / 2 - b.top + box.scrollTop;
    const mx = (x1 + x2) / 2;
    out += `<path class="${a.kind}" data-kind="${a.kind}" marker-end="url(#head)" ` +
      `d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}"><title>${a.kind}</title></path>`;
  }
  svg.innerHTML = out;
}

let selected = null;
function select(step) {
  if (!stateAt.has(step)) {
    const before = steps.filter((s) => s <= step);
    step = before.length ? before[before.length - 1] : steps[0];
  }
  if (selected !== null && rowOf.has(selected)) rowOf.get(selected).classList.remove("selected");
  selected = step;
  const row = rowOf.get(step);
  if (row) { row.classList.add("selected"); row.scrollIntoView({block: "nearest"}); }
  inspect(step);
}

function inspect(step) {
  const state = stateAt.get(step);
  const changed = new Map();
  for (const [g, item, old, now] of changesAt.get(step) || []) changed.set(g + "\u0000" + item,
    [old, now]);
  const ins = document.getElementById("inspector");
  let out = step === D.setup_steps ? `<h2 id="inspected" data-step="${step}">After set-up ` +
    `(step ${step})</h2>` : `<h2 id="inspected" data-step="${step}">Step ${step}</h2>`;
  const did = D.records.filter((r) => r[0] === step);
  for (const r of did) out += `<div class="did k-${r[3]}">PE${r[1]}: ${esc(r[4])}</div>`;
  if (step === V.step) {
    out += `<div class="did violation" style="color:var(--bad)">✗ ${esc(V.invariant)}: ` +
      `${esc(V.message)}</div>`;
  }
  out += `<div class="hint" id="n-changed">${changed.size} change` +
    `${changed.size === 1 ? "" : "s"} from the step before</div>`;
  const groups = new Set([...Object.keys(state)]);
  for (const key of changed.keys()) groups.add(key.split("\u0000")[0]);
  for (const g of groups) {
    const items = state[g] || {};
    const gone = [...changed].filter(([k, [, now]]) => k.startsWith(g + "\u0000") &&
      now === null);
    if (!Object.keys(items).length && !gone.length) continue;
    out += `<h3>${esc(g)}</h3>`;
    for (const [item, value] of Object.entries(items)) {
      const c = changed.get(g + "\u0000" + item);
      if (c) {
        const was = c[0] === null ? "" : ` <del>${esc(c[0])}</del>`;
        out += `<div class="item changed" data-group="${esc(g)}" data-item="${esc(item)}">` +
          `${esc(item)}: ${esc(value)}${was}</div>`;
      } else {
        out += `<div class="item" data-group="${esc(g)}" data-item="${esc(item)}">` +
          `${esc(item)}: ${esc(value)}</div>`;
      }
    }
    for (const [k, [old]] of gone) {
      const item = k.split("\u0000")[1];
      out += `<div class="item changed gone" data-group="${esc(g)}" data-item="${esc(item)}">` +
        `${esc(item)}: ${esc(old)}</div>`;
    }
  }
  ins.innerHTML = out;
}

document.addEventListener("keydown", (e) => {
  if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
  const rows = [...rowOf.keys()].sort((a, b) => a - b);
  const at = rows.indexOf(selected);
  const next = rows[Math.max(0, Math.min(rows.length - 1, at + (e.key === "ArrowDown" ? 1 : -1)))];
  select(next);
  e.preventDefault();
});

header();
lanes();
drawArrows();
window.addEventListener("resize", drawArrows);
select(V.step);
"""
