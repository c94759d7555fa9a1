// The greyroute admin page. Data from the server is only ever put in the
// page as text (textContent), never as HTML. Every write is a JSON body
// (Content-Type application/json): the handler refuses anything else.
"use strict";

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;
const pinPage = 50;

let current = "";   // the service shown
let pinOffset = 0;

// api calls the JSON API; a refused call throws an Error with the
// answer's message.
async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = { error: res.status + " " + res.statusText }; }
  }
  if (!res.ok) throw new Error((data && data.error) || res.statusText);
  return data;
}

function status(text) { $("status").textContent = text; }

function svcPath(rest) { return "api/services/" + enc(current) + rest; }

function row(tbody, cells, buttons) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (typeof c === "object") { td.textContent = c.text; td.className = c.cls || ""; } else td.textContent = c;
    tr.appendChild(td);
  }
  if (buttons) {
    const td = document.createElement("td");
    for (const [label, fn] of buttons) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.addEventListener("click", fn);
      td.appendChild(b);
    }
    tr.appendChild(td);
  }
  tbody.appendChild(tr);
  return tr;
}

function tbody(id) {
  const tb = $(id).querySelector("tbody");
  tb.replaceChildren();
  return tb;
}

// guarded runs a form's action, showing its error in box, or clearing it.
function guarded(box, fn) {
  return async (ev) => {
    if (ev) ev.preventDefault();
    try {
      await fn();
      $(box).textContent = "";
    } catch (err) {
      $(box).textContent = err.message;
    }
  };
}

async function showService(name) {
  current = name;
  pinOffset = 0;
  for (const b of document.querySelectorAll("button.service")) {
    b.setAttribute("aria-current", String(b.dataset.service === name));
  }
  history.replaceState(null, "", "#" + enc(name));
  $("service").hidden = false;
  await Promise.all([loadService(true), loadPins()]);
}

// loadService shows the current service; with route, the route's inputs
// are set from it too (not while someone is typing in them).
async function loadService(route) {
  const s = await api("GET", svcPath(""));
  $("svc-name").textContent = s.service;
  $("svc-rev").textContent = String(s.rev);
  if (route) {
    $("stable-input").value = s.stable;
    $("fallback-input").value = s.fallback;
    $("rollout-to").value = s.rollout.to;
    setShare(s.rollout.percent);
  }
  const vb = tbody("versions");
  for (const v of s.versions) {
    const tr = row(vb, [v.version, v.roles.join(", "), v.min_schema ? String(v.min_schema) : "none", String(v.instances), String(v.pins)]);
    tr.dataset.version = v.version;
  }
  const ib = tbody("instances");
  for (const i of s.instances) {
    const worst = i.breakers && i.breakers[0];
    const breaker = worst ? i.breaker + " (" + worst.router + ", " + new Date(worst.at).toLocaleString() + ")" : "closed";
    const tr = row(ib, [i.id, i.version, i.addr, String(i.weight || 1),
      { text: String(i.health), cls: i.health <= 50 ? "unhealthy" : "" },
      new Date(i.expires).toLocaleString(),
      { text: breaker, cls: "breaker-" + i.breaker }]);
    tr.dataset.id = i.id;
  }
  $("pins-total").textContent = String(s.pins);
  return s;
}

async function loadPins() {
  const q = $("pin-search").value;
  const p = await api("GET", svcPath("/pins?limit=" + pinPage + "&offset=" + pinOffset + (q ? "&q=" + enc(q) : "")));
  const tb = tbody("pins");
  for (const pin of p.pins) {
    const tr = row(tb, [pin.tenant, pin.version], [["Unpin", guarded("pin-error", async () => {
      await api("DELETE", svcPath("/pins/" + enc(pin.tenant)));
      status("Unpinned " + pin.tenant);
      await Promise.all([loadService(false), loadPins()]);
    })]]);
    tr.dataset.tenant = pin.tenant;
  }
  const last = Math.min(p.offset + p.pins.length, p.total);
  $("pins-info").textContent = p.total === 0 ? "none" : (p.offset + 1) + "–" + last + " of " + p.total;
  $("pins-prev").disabled = p.offset === 0;
  $("pins-next").disabled = last >= p.total;
}

function setShare(percent) {
  $("rollout-slider").value = String(Math.round(percent));
  $("rollout-percent").value = String(percent);
  $("rollout-value").textContent = percent + "%";
}

// Rollout writes are sent one at a time, the latest wish last: a slider
// moved quickly must not end on an older value that arrived late. The
// slider is set from the server only when no wish is waiting, so a
// reload never moves it back under the operator's hand.
let wanted = null;
let sending = false;

async function sendRollout(percent) {
  wanted = { to: $("rollout-to").value.trim(), percent };
  if (sending) return;
  sending = true;
  try {
    while (wanted) {
      const w = wanted;
      wanted = null;
      try {
        await api("PUT", svcPath("/rollout"), w);
        $("route-error").textContent = "";
        status("Rollout of " + current + ": " + w.percent + "% to " + (w.to || "none"));
      } catch (err) {
        $("route-error").textContent = err.message;
      }
      if (wanted) continue;
      const s = await loadService(false);
      if (!wanted) {
        $("rollout-to").value = s.rollout.to;
        setShare(s.rollout.percent);
      }
    }
  } catch (err) {
    status(err.message);
  } finally {
    sending = false;
  }
}

function init() {
  for (const b of document.querySelectorAll("button.service")) {
    b.addEventListener("click", () => showService(b.dataset.service).catch((e) => status(e.message)));
  }
  $("rollout-slider").addEventListener("input", () => { $("rollout-value").textContent = $("rollout-slider").value + "%"; });
  $("rollout-slider").addEventListener("change", () => {
    $("rollout-percent").value = $("rollout-slider").value;
    sendRollout(Number($("rollout-slider").value));
  });
  $("rollout-form").addEventListener("submit", (ev) => { ev.preventDefault(); sendRollout(Number($("rollout-percent").value)); });
  $("stable-form").addEventListener("submit", guarded("route-error", async () => {
    await api("PUT", svcPath("/stable"), { version: $("stable-input").value.trim() });
    status("Stable version of " + current + " set");
    await loadService(true);
  }));
  $("fallback-form").addEventListener("submit", guarded("route-error", async () => {
    await api("PUT", svcPath("/fallback"), { version: $("fallback-input").value.trim() });
    status("Fallback version of " + current + " set");
    await loadService(true);
  }));
  $("req-form").addEventListener("submit", guarded("req-error", async () => {
    await api("PUT", svcPath("/schema_req/" + enc($("req-version").value.trim())), { min_schema: Number($("req-min").value) });
    status("Schema requirement set");
    await loadService(false);
  }));
  $("health-form").addEventListener("submit", guarded("health-error", async () => {
    await api("PUT", svcPath("/instances/" + enc($("health-id").value.trim()) + "/health"), { score: Number($("health-score").value) });
    status("Health set");
    await loadService(false);
  }));
  $("pin-form").addEventListener("submit", guarded("pin-error", async () => {
    const tenant = $("pin-tenant").value.trim();
    await api("PUT", svcPath("/pins/" + enc(tenant)), { version: $("pin-version").value.trim() });
    status("Pinned " + tenant);
    $("pin-search").value = tenant;
    pinOffset = 0;
    await Promise.all([loadService(false), loadPins()]);
  }));
  $("schema-form").addEventListener("submit", guarded("schema-error", async () => {
    const tenant = $("schema-tenant").value.trim();
    await api("PUT", "api/tenants/" + enc(tenant) + "/schema", { version: Number($("schema-version").value) });
    status("Schema of " + tenant + " recorded");
  }));
  let searchTimer = 0;
  $("pin-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { pinOffset = 0; loadPins().catch((e) => status(e.message)); }, 200);
  });
  $("pins-prev").addEventListener("click", () => { pinOffset = Math.max(0, pinOffset - pinPage); loadPins().catch((e) => status(e.message)); });
  $("pins-next").addEventListener("click", () => { pinOffset += pinPage; loadPins().catch((e) => status(e.message)); });

  // A fragment that is not percent-encoding (a mangled or hostile link)
  // names no service: the first is shown, as without one.
  let fromHash = "";
  try { fromHash = decodeURIComponent(location.hash.slice(1)); } catch { /* not a service's */ }
  const first = document.querySelector("button.service");
  const pick = [...document.querySelectorAll("button.service")].find((b) => b.dataset.service === fromHash) || first;
  if (pick) showService(pick.dataset.service).catch((e) => status(e.message));
}

init();
