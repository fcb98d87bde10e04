"use strict";
// Care teams: create one, add and remove its members (staff) and patients.
adminBoot(async () => {
  const [users, patients] = await Promise.all([vigil.call("/users?limit=1000"), admin.patients()]);
  admin.options($("member"), users.filter((u) => u.role !== "patient" && !u.disabled_at)
    .map((u) => [u.id, `${u.display_name} (${u.email})`]));
  admin.options($("team-patient"), patients.filter((p) => !p.discharged_at).map((p) => [p.id, p.display_name]));

  async function teams(select) {
    const list = await vigil.call("/care-teams?limit=1000");
    admin.options($("team"), list.map((t) => [t.id, admin.m("teams.option", { name: t.name, members: t.members, patients: t.patients })]));
    if (select) $("team").value = select;
  }
  const item = (kind, id, label) => `<li>${text(label)} <button type="button" class="small" data-remove="${kind}" data-id="${id}"
    aria-label="${text(admin.m("teams.remove_named", { name: label }))}">${text(admin.m("teams.remove"))}</button></li>`;
  async function load() {
    const team = $("team").value;
    if (!team) { $("members").innerHTML = $("team-patients").innerHTML = ""; return; }
    const [members, tp] = await Promise.all([vigil.call(`/care-teams/${team}/members`), vigil.call(`/care-teams/${team}/patients`)]);
    $("members").innerHTML = members.map((u) => item("members", u.id, u.display_name)).join("") ||
      `<li class="muted">${text(admin.m("teams.no_members"))}</li>`;
    $("team-patients").innerHTML = tp.map((p) => item("patients", p.id, p.display_name)).join("") ||
      `<li class="muted">${text(admin.m("teams.no_patients"))}</li>`;
  }
  $("team").addEventListener("change", load);
  document.addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-remove]");
    if (!b) return;
    await admin.act(() => vigil.call(`/care-teams/${$("team").value}/${b.dataset.remove}/${b.dataset.id}`, { method: "DELETE" }),
      admin.m("teams.removed"));
    await teams($("team").value); await load();
  });
  const add = (form, kind, field, select) => admin.submit(form, async () => {
    const team = $("team").value;
    await admin.act(() => vigil.call(`/care-teams/${team}/${kind}`, { method: "POST", body: JSON.stringify({ [field]: $(select).value }) }),
      admin.m("teams.added"));
    await teams(team); await load();
  });
  add("add-member", "members", "user_id", "member");
  add("add-patient", "patients", "patient_id", "team-patient");
  admin.submit("new-team", async (form) => {
    const name = $("team-name").value;
    let created;
    if (await admin.act(async () => { created = await vigil.call("/care-teams", { method: "POST", body: JSON.stringify({ name }) }); },
      admin.m("teams.created", { name }))) { form.reset(); await teams(created.id); await load(); }
  });
  await teams(); await load();
});
