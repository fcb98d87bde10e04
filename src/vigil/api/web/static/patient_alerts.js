"use strict";
// The patient page's identity header and alert work, live over the alert stream
// (the charts and the care plan are patient.js's).
const patientAlerts = {
  id: location.pathname.split("/").pop(),
  identity: null,
  async header() {
    const p = await vigil.call(`/patients/${patientAlerts.id}/identity`);
    patientAlerts.identity = p;
    document.title = `${p.display_name} · Vigil`;
    vigilLive.baseTitle = document.title;
    $("name").textContent = p.display_name;
    const t = vigil.t, none = t("common.none");
    const item = (key, value) => `<div><dt>${text(t(key))}</dt><dd>${value}</dd></div>`;
    const born = p.birth_date ? text(t("patient.born", { date: vigil.date(`${p.birth_date}T12:00:00Z`), age: p.age })) : none;
    const devices = p.devices.map((d) => text(t("patient.device", { id: d.id, kind: vigil.deviceKindName(d.kind),
      sync: d.last_sync ? vigil.dateTime(d.last_sync) : t("patient.never_synced") }))).join("<br>") || none;
    const teams = p.teams.map((g) => text(`${g.name}: ${g.members.map((m) => m.display_name).join(", ") || none}`)).join("<br>") || none;
    $("identity").innerHTML = item("patient.born_label", born)
      + item("patient.record_number", text(p.record_number || none))
      + item("patient.conditions", text(p.conditions.map(vigil.conditionName).join(", ") || none))
      + item("patient.devices", devices) + item("patient.care_team", teams);
  },
  async alerts() {
    const all = await vigil.call(`/alerts?patient_id=${patientAlerts.id}&limit=100`);
    all.forEach((a) => { a.patient_name = patientAlerts.identity ? patientAlerts.identity.display_name : ""; });
    await alertWork.render($("alerts"), all.map((a) => alertWork.card(a, { patientLink: false })).join("")
      || `<p class="muted">${text(vigil.t("alerts.none"))}</p>`);
  },
  async start() {
    if (!vigil.signedIn()) return;
    const me = await vigil.call("/me").catch(() => null);
    if (!me || me.role === "patient") return;
    try { await patientAlerts.header(); } catch (e) { return; }  // patient.js says refused
    await alertWork.loadStaff();
    await patientAlerts.alerts();
    alertWork.bind($("alerts"), patientAlerts.alerts);
    const mine = (c) => c.patient_id === patientAlerts.id;
    vigilLive.start({
      onChange: async (c) => { if (mine(c)) await patientAlerts.alerts(); },
      onResync: patientAlerts.alerts,
      nameOf: (c) => (mine(c) ? patientAlerts.identity.display_name : ""),
    });
  },
};
patientAlerts.start();
