"use strict";
// Devices: provision (the MQTT password is shown once, here), assign to a patient, revoke.
adminBoot(async () => {
  const patients = (await admin.patients()).filter((p) => !p.discharged_at);
  const names = Object.fromEntries(patients.map((p) => [p.id, p.display_name]));
  const choices = patients.map((p) => [p.id, p.display_name]);
  admin.options($("d-patient"), choices, { blank: admin.m("none") });

  async function load() {
    const devices = await vigil.call("/devices?limit=1000");
    $("devices").innerHTML = devices.map((d) => {
      const revoked = !!d.revoked_at;
      const assign = revoked ? "" : `<form class="inline" data-assign="${d.id}">
        <label class="sr" for="assign-${d.id}">${text(admin.m("devices.assign_label", { id: d.id }))}</label>
        <select id="assign-${d.id}" required>${choices.map(([v, l]) => `<option value="${v}"${v === d.patient_id ? " selected" : ""}>${text(l)}</option>`).join("")}</select>
        <button class="small">${text(admin.m("devices.assign"))}</button></form>
        <button type="button" class="small danger" data-revoke="${d.id}" aria-label="${text(admin.m("devices.revoke_named", { id: d.id }))}">${text(admin.m("devices.revoke"))}</button>`;
      return `<tr data-device="${d.id}"><td><code>${text(d.id)}</code></td><td>${text(vigil.deviceKindName(d.kind))}</td>
        <td>${text(d.patient_id ? names[d.patient_id] ?? d.patient_id : admin.m("devices.unassigned"))}</td>
        <td>${text(revoked ? admin.m("devices.revoked_on", { when: admin.when(d.revoked_at) }) : admin.m("state.active"))}</td>
        <td class="acts">${assign}</td></tr>`;
    }).join("") || `<tr><td colspan="5" class="muted">${text(admin.m("devices.none"))}</td></tr>`;
  }
  $("devices").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const id = ev.target.dataset.assign, patient = ev.target.querySelector("select").value;
    await admin.act(() => vigil.call(`/devices/${id}/assignments`, { method: "POST", body: JSON.stringify({ patient_id: patient }) }),
      admin.m("devices.assigned", { id, name: names[patient] }));
    await load();
  });
  $("devices").addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-revoke]");
    if (!b) return;
    const id = b.dataset.revoke;
    if (!confirm(admin.m("devices.revoke_confirm", { id }))) return;
    await admin.act(() => vigil.call(`/devices/${id}/revoke`, { method: "POST" }), admin.m("devices.revoked", { id }));
    await load();
  });
  admin.submit("provision", async (form) => {
    const body = { kind: $("d-kind").value };
    if ($("d-id").value) body.device_id = $("d-id").value;
    if ($("d-patient").value) body.patient_id = $("d-patient").value;
    let creds;
    if (await admin.act(async () => { creds = await vigil.call("/devices", { method: "POST", body: JSON.stringify(body) }); },
      admin.m("devices.provisioned"))) {
      $("cred-id").textContent = creds.device_id; $("cred-password").textContent = creds.password;
      $("cred-topic").textContent = creds.topic;
      const ns = creds.nightscout || {};
      $("cred-ns-url").textContent = ns.url || ""; $("cred-ns-secret").textContent = ns.api_secret || "";
      $("cred-ns-token").textContent = ns.access_token || ""; $("cred-ns-xdrip").textContent = ns.xdrip_url || "";
      $("credentials").hidden = false; $("cred-h").focus(); form.reset(); await load();
    }
  });
  // The password exists only on this page: cleared when the admin says it is recorded.
  $("cred-done").addEventListener("click", () => {
    ["cred-id", "cred-password", "cred-topic", "cred-ns-url", "cred-ns-secret", "cred-ns-token", "cred-ns-xdrip"].forEach((id) => { $(id).textContent = ""; });
    $("credentials").hidden = true; $("d-kind").focus();
  });
  await load();
});
