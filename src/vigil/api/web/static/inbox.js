"use strict";
// The care team's inbox (index.html); api, $, text and vigil come from common.js.
let stream = null;  // the open alert stream's AbortController

async function call(path, options = {}) {
  try {
    return await vigil.call(path, options);
  } catch (e) {
    if (e.message === "signed out") signOut();
    throw e;
  }
}

async function loadAlerts() {
  const alerts = await call("/alerts?limit=100");
  $("alerts").innerHTML = alerts.map((a) => `
    <tr class="sev-${a.severity}"><td><b>${text(a.episode.replaceAll("_", " "))}</b> ·
      <span class="badge ${a.severity}">${text(vigil.t(`alerts.sev_${a.severity}`))}</span> ·
      <a href="/patients/${a.patient_id}">${text(vigil.t("alerts.patient"))}</a> ·
      ${text(vigil.t(`alerts.state_${a.state}`))} <span class="muted">×${a.finding_count}</span><br>
      ${text(a.explanation.sentence)}<br>
      <span class="muted">now ${text(a.cause.replaceAll("_", " "))}${a.worst_value === null ? "" :
        ` · ${text(vigil.t("alerts.worst", { value: a.worst_value }))}`} ·
      ${text(vigil.t("alerts.since", { time: vigil.dateTime(a.first_seen) }))} ·
      ${text(vigil.t("alerts.last", { time: vigil.dateTime(a.last_seen) }))}
      ${a.explanation.late_note ? " · " + text(a.explanation.late_note) : ""}</span><br>
      ${a.state === "open" ? `<button data-act="acknowledge" data-id="${a.id}">${text(vigil.t("alerts.acknowledge"))}</button>` : ""}
      <button data-act="snooze" data-id="${a.id}">${text(vigil.t("alerts.snooze"))}</button>
      <button data-act="resolve" data-id="${a.id}" data-outcome="actionable">${text(vigil.t("alerts.resolve_actionable"))}</button>
      <button data-act="resolve" data-id="${a.id}" data-outcome="not_actionable">${text(vigil.t("alerts.resolve_not_actionable"))}</button>
    </td></tr>`).join("") || `<tr><td class="muted">${text(vigil.t("inbox.no_alerts"))}</td></tr>`;
}

async function loadPatients() {
  const team = $("team").value;
  if (!team) return;
  const rows = await call(`/care-teams/${team}/latest-vitals`);
  // Triage the way clinics work: who needs attention first, then everyone else.
  const now = Date.now();
  const stale = (p) => !p.vitals.length ||
    Math.max(...p.vitals.map((v) => new Date(v.time).getTime())) < now - 3 * 86400e3;
  const groups = [
    [vigil.t("inbox.group_alerts"), rows.filter((p) => p.open_alerts > 0)],
    [vigil.t("inbox.group_not_measuring"), rows.filter((p) => !p.open_alerts && stale(p))],
    [vigil.t("inbox.group_stable"), rows.filter((p) => !p.open_alerts && !stale(p))],
  ];
  const row = (p) => `
    <tr class="${p.open_alerts ? "sev-high" : ""}"><td><a href="/patients/${p.patient_id}">${text(p.display_name)}</a></td>
    <td>${p.open_alerts}</td>
    <td>${p.vitals.map((v) => `${text(vigil.metricName(v.metric))} ${text(v.value)} ${text(vigil.units[v.unit] || v.unit)}`).join(", ")}</td></tr>`;
  $("patients").innerHTML = groups.filter(([, list]) => list.length).map(([name, list]) =>
    `<tr><th colspan="3">${text(name)} (${list.length})</th></tr>` +
    list.slice(0, 200).map(row).join("")).join("");
}

async function act(button) {
  const id = button.dataset.id;
  const body = button.dataset.act === "snooze" ? { minutes: 60 }
    : button.dataset.act === "resolve" ? { outcome: button.dataset.outcome } : {};
  await call(`/alerts/${id}/${button.dataset.act}`, { method: "POST", body: JSON.stringify(body) });
  await loadAlerts();
}

async function listen() {
  // The session cookie goes with the request; fetch (not EventSource) so that signing out
  // can abort the stream at once.
  while (vigil.signedIn()) {
    stream = new AbortController();
    try {
      const r = await fetch(`${api}/alerts/stream`, { credentials: "same-origin", signal: stream.signal });
      if (r.status === 401) { signOut(); return; }
      if (!r.ok) throw new Error(String(r.status));
      $("live").textContent = vigil.t("common.live");
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          if (block.includes("event: alert")) { loadAlerts(); loadPatients(); }
        }
      }
    } catch (e) { /* reconnect below */ }
    if (!vigil.signedIn()) break;
    $("live").textContent = vigil.t("common.reconnecting");
    await new Promise((done) => setTimeout(done, 3000));
    if (vigil.signedIn()) { loadAlerts().catch(() => {}); }
  }
  $("live").textContent = "";
}

async function start() {
  $("login").hidden = true; $("app").hidden = false;
  // A patient signing in here is taken to their own page.
  if ((await call("/me")).role === "patient") { location.href = "/feed"; return; }
  const me = await vigil.guard("staff");
  if (!me) return;
  $("logout").onclick = async () => {
    if (stream) { stream.abort(); stream = null; }
    await vigil.signOut(); signOut();
  };
  const teams = await call("/care-teams");
  $("team").innerHTML = teams.map((t) => `<option value="${t.id}">${text(t.name)}</option>`).join("");
  await Promise.all([loadAlerts(), loadPatients()]);
  listen();
}

function signOut() {
  vigil.forget();
  if (stream) { stream.abort(); stream = null; }
  $("app").hidden = true; $("login").hidden = false; $("logout").hidden = true;
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await vigil.signIn($("email").value, $("password").value);
  } catch (e) { $("error").textContent = e.message; return; }
  $("error").textContent = "";
  start().catch((e) => { $("error").textContent = e.message; });
});
$("alerts").addEventListener("click", (e) => { if (e.target.dataset.act) act(e.target); });
$("team").addEventListener("change", loadPatients);
if (vigil.signedIn()) { start().catch(signOut); } else { signOut(); }
