// The live what-if page of `cxplan serve`: sliders and switches ask the server for the
// plan of each change (POST /api/view); only the newest answer is shown (the server stops
// older solves). Plain DOM, no library: the page works offline.
"use strict";

const app = document.getElementById("app");
const setup = JSON.parse(app.dataset.setup);
const money = new Intl.NumberFormat("en", {maximumFractionDigits: 0});
const people = new Intl.NumberFormat("en", {maximumFractionDigits: 2});
const state = {budget: setup.budget, teams: {...setup.teams}, force: {}};
let asked = 0;       // the number of the newest question
let shown = 0;       // the number of the question whose answer is on screen
let poller = null;

const $ = (id) => document.getElementById(id);
const cur = (v) => (setup.currency ? setup.currency + " " : "") + money.format(v);

function question() {
  const force_in = [], force_out = [];
  for (const [id, how] of Object.entries(state.force)) {
    if (how === "in") force_in.push(id);
    if (how === "out") force_out.push(id);
  }
  return {budget: state.budget, teams: state.teams, force_in, force_out};
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body), credentials: "same-origin"});
  let data = null;
  try { data = await response.json(); } catch (e) { data = {error: response.statusText}; }
  return {status: response.status, data};
}

function slider(label, id, value, max, step, onChange) {
  const row = document.createElement("div");
  row.className = "slider";
  const name = document.createElement("label");
  name.htmlFor = id;
  name.textContent = label;
  const input = document.createElement("input");
  Object.assign(input, {type: "range", id, min: 0, max, step, value});
  const out = document.createElement("output");
  out.htmlFor = id;
  out.id = id + "-value";
  const show = () => { out.textContent = onChange(Number(input.value), false); };
  input.addEventListener("input", () => { onChange(Number(input.value), true); show(); });
  row.append(name, input, out);
  show();
  return row;
}

function buildControls() {
  const box = $("sliders");
  box.textContent = "";
  if (setup.budget !== null) {
    const max = Math.max(setup.budget * 2, 1);
    box.append(slider(setup.horizon ? "Budget (total)" : "Budget", "budget", state.budget, max,
                      Math.max(setup.budget / 100, 1e-9), (v, changed) => {
      if (changed) { state.budget = v; ask(); }
      return cur(v);
    }));
  }
  for (const [team, capacity] of Object.entries(setup.teams)) {
    const step = Number.isInteger(capacity) ? 1 : 0.1;
    box.append(slider(team, "team-" + team, state.teams[team], Math.max(capacity * 2, capacity + 5),
                      step, (v, changed) => {
      if (changed) { state.teams[team] = v; ask(); }
      return people.format(v) + " people";
    }));
  }
  const body = $("improvements").tBodies[0];
  body.textContent = "";
  for (const imp of setup.improvements) {
    const row = body.insertRow();
    row.dataset.id = imp.id;
    const name = row.insertCell();
    name.textContent = imp.name;
    name.title = imp.id;
    const cost = row.insertCell();
    cost.className = "number";
    cost.textContent = money.format(imp.cost);
    const inPlan = row.insertCell();
    inPlan.className = "in-plan";
    const force = row.insertCell();
    const select = document.createElement("select");
    select.setAttribute("aria-label", "Force " + imp.name);
    select.dataset.id = imp.id;
    for (const [value, text] of [["auto", "as the plan chooses"], ["in", "force in"], ["out", "force out"]]) {
      select.add(new Option(text, value));
    }
    select.value = state.force[imp.id] || "auto";
    select.addEventListener("change", () => {
      if (select.value === "auto") delete state.force[imp.id]; else state.force[imp.id] = select.value;
      ask();
    });
    force.append(select);
  }
}

let timer = null;
function ask() {  // a short pause lets a dragged slider settle before the server is asked
  clearTimeout(timer);
  timer = setTimeout(send, 120);
}

async function send() {
  const mine = ++asked;
  $("status").textContent = "Solving…";
  app.setAttribute("aria-busy", "true");
  startPolling();
  const {status, data} = await post("/api/view", question());
  if (mine !== asked) return;  // a newer question is on its way
  stopPolling();
  app.setAttribute("aria-busy", "false");
  app.dataset.answered = String(mine);  // a plan or a message: what the change led to
  if (status === 409 && data.cancelled) { $("status").textContent = "Stopped."; return; }
  if (status !== 200) { showError(data); return; }
  shown = mine;
  render(data.plan, data.map);
}

function showError(data) {
  const lines = [data.error || "The server could not answer."];
  for (const line of data.problems || data.conflict || []) lines.push(line);
  $("status").textContent = lines.join(" — ");
  app.dataset.error = "true";
}

function render(plan, map) {
  delete app.dataset.error;
  app.dataset.selected = plan.selected.join(",");
  app.dataset.gain = String(plan.expected_gain);
  app.dataset.shown = String(shown);
  const status = plan.status === "optimal" ? "Proven optimal" :
    plan.status === "time_limit" ? "Best found within the time limit" : plan.status;
  $("status").textContent = `${status} · ${plan.selected.length} improvements · solved in ` +
    `${(plan.build_seconds + plan.solve_seconds).toFixed(2)} s`;
  $("kpi-gain").textContent = cur(plan.expected_gain);
  $("kpi-cost").textContent = cur(plan.cost);
  $("kpi-budget").textContent = plan.budget === null ? "no budget limit" : "of " + cur(plan.budget);
  $("kpi-value").textContent = cur(plan.baseline_value) + " → " + cur(plan.planned_value);
  $("kpi-staff").textContent = Object.entries(plan.teams).map(
    ([team, cap]) => `${team} ${people.format(plan.staff_used[team] || 0)}/${people.format(cap)}`
  ).join(", ") || "no teams";
  const chosen = new Set(plan.selected);
  for (const row of $("improvements").tBodies[0].rows) {
    const cell = row.querySelector(".in-plan");
    const yes = chosen.has(row.dataset.id);
    cell.textContent = yes ? "✔ in the plan" : "—";
    row.classList.toggle("chosen", yes);
  }
  $("map").innerHTML = map;  // the server's own SVG (autoescaped template), not user text
}

function startPolling() {
  stopPolling();
  poller = setInterval(async () => {
    const response = await fetch("/api/status", {credentials: "same-origin"});
    const s = await response.json();
    $("stop").hidden = !(s.solving && s.seconds > 1);
    if (s.solving && s.seconds > 1) {
      let text = `Solving… ${s.seconds.toFixed(0)} s`;
      if (s.gap !== undefined && s.gap !== null) text += `, within ${(100 * s.gap).toPrecision(3)} % so far`;
      $("status").textContent = text;
    }
  }, 500);
}

function stopPolling() {
  if (poller !== null) clearInterval(poller);
  poller = null;
  $("stop").hidden = true;
}

async function loadVariants() {
  const response = await fetch("/api/variants", {credentials: "same-origin"});
  const list = await response.json();
  const box = $("variants");
  box.querySelectorAll("label").forEach((l) => l.remove());
  for (const item of [{file: "", label: "the scenario as it is"}, ...list]) {
    const label = document.createElement("label");
    const check = document.createElement("input");
    check.type = "checkbox";
    check.value = item.file;
    check.checked = item.file === "";
    label.append(check, " " + (item.label || item.file));
    box.append(label);
  }
}

async function compare() {
  const files = [...$("variants").querySelectorAll("input:checked")].map((c) => c.value);
  if (!files.length) return;
  $("compare").disabled = true;
  const {status, data} = await post("/api/compare", {files});
  $("compare").disabled = false;
  if (status !== 200) { showError(data); return; }
  const table = $("comparison");
  table.textContent = "";
  const head = table.createTHead().insertRow();
  head.append(Object.assign(document.createElement("th"), {textContent: ""}));
  for (const v of data) head.append(Object.assign(document.createElement("th"), {textContent: v.file}));
  const first = new Set(data[0].plan.selected);
  const rows = [
    ["Expected gain", (p) => cur(p.expected_gain)], ["Cost", (p) => cur(p.cost)],
    ["Value after", (p) => cur(p.planned_value)], ["Improvements", (p) => String(p.selected.length)],
    ["Added vs first", (p) => p.selected.filter((i) => !first.has(i)).join(", ") || "—"],
    ["Dropped vs first", (p) => [...first].filter((i) => !p.selected.includes(i)).join(", ") || "—"],
  ];
  const body = table.createTBody();
  for (const [label, value] of rows) {
    const row = body.insertRow();
    row.append(Object.assign(document.createElement("th"), {textContent: label, scope: "row"}));
    for (const v of data) row.insertCell().textContent = value(v.plan);
  }
  table.hidden = false;
}

$("save-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("variant-name").value.trim();
  const {status, data} = await post("/api/save", {name, ...question()});
  $("saved").textContent = status === 200 ? `Saved as ${data.file}` : (data.error || "Not saved.");
  if (status === 200) loadVariants();
});
$("stop").addEventListener("click", () => post("/api/stop", {}));
$("compare").addEventListener("click", compare);
$("reset").addEventListener("click", () => {
  Object.assign(state, {budget: setup.budget, teams: {...setup.teams}, force: {}});
  buildControls();
  ask();
});

buildControls();
loadVariants();
send();
