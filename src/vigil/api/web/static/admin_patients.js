"use strict";
// Patients: enrol (conditions from the closed list, optionally into a care team), edit, discharge.
adminBoot(async () => {
  const teams = await vigil.call("/care-teams?limit=1000");
  admin.options($("p-team"), teams.map((t) => [t.id, t.name]), { blank: admin.m("none") });
  const checked = (name) => [...document.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
  let rows = [], editing = null;

  async function load() {
    rows = await admin.patients();
    $("patients").innerHTML = rows.map((p) => `<tr data-patient="${p.id}"><td>${text(p.display_name)}</td>
      <td>${text(p.conditions.map(admin.condition).join(", ") || admin.m("none"))}</td><td>${text(admin.when(p.created_at))}</td>
      <td>${text(p.discharged_at ? admin.m("patients.discharged_on", { when: admin.when(p.discharged_at) }) : admin.m("state.active"))}</td>
      <td><button type="button" class="small" data-edit="${p.id}" aria-label="${text(admin.m("patients.edit_named", { name: p.display_name }))}">${text(admin.m("edit"))}</button>
      ${p.discharged_at ? "" : `<button type="button" class="small danger" data-discharge="${p.id}"
        aria-label="${text(admin.m("patients.discharge_named", { name: p.display_name }))}">${text(admin.m("patients.discharge"))}</button>`}</td></tr>`).join("") ||
      `<tr><td colspan="5" class="muted">${text(admin.m("patients.none"))}</td></tr>`;
  }
  $("patients").addEventListener("click", async (ev) => {
    const edit = ev.target.closest("button[data-edit]"), out = ev.target.closest("button[data-discharge]");
    if (edit) {
      editing = rows.find((p) => p.id === edit.dataset.edit);
      $("e-name").value = editing.display_name;
      $("e-birth").value = editing.birth_date || "";
      $("e-record").value = editing.record_number || "";
      document.querySelectorAll("input[name=edit-condition]").forEach((i) => { i.checked = editing.conditions.includes(i.value); });
      $("edit-box").hidden = false; $("edit-h").focus();
    }
    if (out) {
      const p = rows.find((r) => r.id === out.dataset.discharge);
      if (!confirm(admin.m("patients.discharge_confirm", { name: p.display_name }))) return;
      let result;
      await admin.act(async () => { result = await vigil.call(`/patients/${p.id}/discharge`, { method: "POST" }); },
        admin.m("patients.discharged", { name: p.display_name }));
      if (result && result.devices_unassigned.length)
        admin.say(admin.m("patients.discharged_devices", { name: p.display_name, devices: result.devices_unassigned.join(", ") }));
      await load();
    }
  });
  $("edit-cancel").addEventListener("click", () => { $("edit-box").hidden = true; editing = null; });
  admin.submit("edit", async () => {
    const body = { display_name: $("e-name").value, conditions: checked("edit-condition") };
    if ($("e-birth").value) body.birth_date = $("e-birth").value;
    if ($("e-record").value.trim()) body.record_number = $("e-record").value.trim();
    const id = editing.id;
    if (await admin.act(() => vigil.call(`/patients/${id}`, { method: "PATCH", body: JSON.stringify(body) }),
      admin.m("patients.saved", { name: body.display_name }))) {
      $("edit-box").hidden = true; await load(); document.querySelector(`button[data-edit="${id}"]`)?.focus();
    }
  });
  admin.submit("enrol", async (form) => {
    const body = { display_name: $("p-name").value, conditions: checked("enrol-condition") };
    if ($("p-team").value) body.care_team_id = $("p-team").value;
    if (await admin.act(() => vigil.call("/patients", { method: "POST", body: JSON.stringify(body) }),
      admin.m("patients.enrolled", { name: body.display_name }))) { form.reset(); await load(); }
  });
  await load();
});
