// The privilege admin page. Data from the server is only ever put in the
// page as text (textContent), never as HTML.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

// api calls the JSON API; a refused call throws an Error whose info is
// the answer's {error, field, line, column}.
async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = { error: res.status + " " + res.statusText }; }
  }
  if (!res.ok) {
    const err = new Error((data && data.error) || res.statusText);
    err.info = data || {};
    throw err;
  }
  return data;
}

function list(s) {
  return s.split(",").map((x) => x.trim()).filter((x) => x !== "");
}

function status(text) { $("status").textContent = text; }

// showError puts a refusal next to its form (a bad condition's message
// holds its line and column) and marks the field it names.
function showError(box, err, fields) {
  const info = err.info || {};
  $(box).textContent = err.message;
  for (const [name, id] of Object.entries(fields || {})) {
    $(id).setAttribute("aria-invalid", String(info.field === name));
  }
}

function clearError(box, fields) {
  $(box).textContent = "";
  for (const id of Object.values(fields || {})) $(id).removeAttribute("aria-invalid");
}

function row(tbody, cells, buttons) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (typeof c === "object") { td.textContent = c.text; td.className = c.cls; } else td.textContent = c;
    tr.appendChild(td);
  }
  const td = document.createElement("td");
  for (const [label, fn] of buttons) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", fn);
    td.appendChild(b);
  }
  tr.appendChild(td);
  tbody.appendChild(tr);
  return tr;
}

function tbody(id) {
  const tb = $(id).querySelector("tbody");
  tb.replaceChildren();
  return tb;
}

function guarded(box, fn) {
  return async (ev) => {
    if (ev) ev.preventDefault();
    try { await fn(); } catch (err) { $(box).textContent = err.message; }
  };
}

// Roles and their permissions.
let currentRole = null;

async function loadRoles() {
  const data = await api("GET", "api/roles");
  const tb = tbody("roles");
  for (const r of data.roles) {
    const tr = row(tb, [r.id, r.name, r.parents.join(", "), r.active ? "yes" : "no"], [
      ["Permissions", guarded("role-error", () => showPermissions(r.id))],
      ["Delete", guarded("role-error", async () => { await api("DELETE", "api/roles/" + enc(r.id)); status("Role " + r.id + " deleted"); await loadRoles(); })],
    ]);
    tr.dataset.id = r.id;
  }
}

const roleFields = { id: "role-id", parents: "role-parents" };
$("role-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError("role-error", roleFields);
  const id = $("role-id").value;
  try {
    await api("PUT", "api/roles/" + enc(id), {
      name: $("role-name").value, parents: list($("role-parents").value), active: $("role-active").checked,
    });
    status("Role " + id + " saved");
    await loadRoles();
  } catch (err) { showError("role-error", err, roleFields); }
});

async function showPermissions(id) {
  currentRole = id;
  $("perm-role").textContent = id;
  $("perm-panel").hidden = false;
  const data = await api("GET", "api/roles/" + enc(id) + "/permissions");
  const tb = tbody("perms");
  for (const p of data.permissions) {
    row(tb, [p.resource, p.action], [["Remove", guarded("perm-error", async () => {
      await api("DELETE", "api/roles/" + enc(id) + "/permissions?resource=" + enc(p.resource) + "&action=" + enc(p.action));
      await showPermissions(id);
    })]]);
  }
}

$("perm-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError("perm-error");
  try {
    await api("PUT", "api/roles/" + enc(currentRole) + "/permissions", { resource: $("perm-resource").value, action: $("perm-action").value });
    status("Permission added to " + currentRole);
    await showPermissions(currentRole);
  } catch (err) { showError("perm-error", err); }
});

// Grants of one user.
async function loadGrants() {
  const user = $("grant-user").value;
  const data = await api("GET", "api/users/" + enc(user) + "/grants");
  const tb = tbody("grants");
  for (const g of data.grants) {
    row(tb, [g.role_id, g.expires ? g.expires + (g.expired ? " (expired)" : "") : "never"], [["Revoke", guarded("grant-error", async () => {
      await api("DELETE", "api/users/" + enc(user) + "/grants/" + enc(g.role_id));
      status("Revoked " + g.role_id + " from " + user);
      await loadGrants();
    })]]);
  }
}

$("grants-form").addEventListener("submit", guarded("grant-error", loadGrants));

const grantFields = { expires: "grant-expires", role: "grant-role" };
$("grant-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError("grant-error", grantFields);
  const user = $("grant-user").value, role = $("grant-role").value;
  try {
    const exp = $("grant-expires").value.trim();
    await api("PUT", "api/users/" + enc(user) + "/grants/" + enc(role), exp ? { expires: exp } : {});
    status("Granted " + role + " to " + user);
    await loadGrants();
  } catch (err) { showError("grant-error", err, grantFields); }
});

// Policies.
async function loadPolicies() {
  const data = await api("GET", "api/policies");
  const tb = tbody("policies");
  for (const p of data.policies) {
    const t = p.target || {};
    const target = ["subjects", "resources", "actions"].map((k) => k + ": " + ((t[k] || []).join(", ") || "any")).join("; ");
    const tr = row(tb, [p.id, String(p.priority), p.effect, target, { text: p.condition || "", cls: "code" }, p.active ? "yes" : "no"], [
      ["Edit", () => editPolicy(p)],
      ["Delete", guarded("policy-error", async () => { await api("DELETE", "api/policies/" + enc(p.id)); status("Policy " + p.id + " deleted"); await loadPolicies(); })],
    ]);
    tr.dataset.id = p.id;
  }
}

function editPolicy(p) {
  const t = p.target || {};
  $("policy-id").value = p.id;
  $("policy-name").value = p.name || "";
  $("policy-priority").value = p.priority;
  $("policy-effect").value = p.effect;
  $("policy-subjects").value = (t.subjects || []).join(", ");
  $("policy-resources").value = (t.resources || []).join(", ");
  $("policy-actions").value = (t.actions || []).join(", ");
  $("policy-condition").value = p.condition || "";
  $("policy-active").checked = p.active;
}

const policyFields = { id: "policy-id", effect: "policy-effect", condition: "policy-condition", priority: "policy-priority" };
$("policy-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError("policy-error", policyFields);
  const id = $("policy-id").value;
  try {
    await api("PUT", "api/policies/" + enc(id), {
      name: $("policy-name").value,
      priority: Number($("policy-priority").value),
      effect: $("policy-effect").value,
      target: { subjects: list($("policy-subjects").value), resources: list($("policy-resources").value), actions: list($("policy-actions").value) },
      condition: $("policy-condition").value,
      active: $("policy-active").checked,
    });
    status("Policy " + id + " saved");
    await loadPolicies();
  } catch (err) { showError("policy-error", err, policyFields); }
});

// Explain a decision.
$("check-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError("check-error");
  try {
    const d = await api("POST", "api/check", { subject: $("check-subject").value, resource: $("check-resource").value, action: $("check-action").value });
    $("check-result").textContent = (d.allowed ? "ALLOWED" : "DENIED") + ": " + d.reason +
      (d.role ? "\nrole: " + d.role : "") + (d.policy_id ? "\npolicy: " + d.policy_id : "") + "\nversion: " + d.version;
  } catch (err) { showError("check-error", err); }
});

guarded("role-error", loadRoles)();
guarded("policy-error", loadPolicies)();
