"use strict";
// Users and roles: create a user (a patient user is linked to their record), rename, change a
// staff member's role, disable or enable.
adminBoot(async (me) => {
  const patients = await admin.patients();
  admin.options($("u-patient"), patients.map((p) => [p.id, p.display_name]));
  $("u-role").addEventListener("change", () => { $("u-patient-box").hidden = $("u-role").value !== "patient"; });

  async function load() {
    const users = await vigil.call("/users?limit=1000");
    $("users").innerHTML = users.map((u) => {
      const staff = u.role !== "patient", self = u.id === me.id;
      const role = staff && !self ? `<label class="sr" for="role-${u.id}">${text(admin.m("users.role_of", { name: u.display_name }))}</label>
        <select id="role-${u.id}" data-role="${u.id}">${["clinician", "admin"].map((r) =>
          `<option value="${r}"${r === u.role ? " selected" : ""}>${text(vigil.t(`common.role_${r}`))}</option>`).join("")}</select>`
        : text(vigil.t(`common.role_${u.role}`));
      const toggle = self ? "" : `<button type="button" data-toggle="${u.id}" data-disabled="${u.disabled_at ? 1 : 0}"
        aria-label="${text(admin.m(u.disabled_at ? "users.enable_named" : "users.disable_named", { name: u.display_name }))}">
        ${text(admin.m(u.disabled_at ? "users.enable" : "users.disable"))}</button>`;
      return `<tr data-user="${u.id}"><td>${text(u.display_name)}</td><td>${text(u.email)}</td><td>${role}</td>
        <td>${text(admin.m(u.disabled_at ? "state.disabled" : "state.active"))}</td><td>${toggle}</td></tr>`;
    }).join("");
  }
  $("users").addEventListener("change", async (ev) => {
    const id = ev.target.dataset.role;
    if (!id) return;
    await admin.act(() => vigil.call(`/users/${id}`, { method: "PATCH", body: JSON.stringify({ role: ev.target.value }) }),
      admin.m("users.role_changed"));
    await load();
  });
  $("users").addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-toggle]");
    if (!b) return;
    const disabled = b.dataset.disabled !== "1";
    await admin.act(() => vigil.call(`/users/${b.dataset.toggle}`, { method: "PATCH", body: JSON.stringify({ disabled }) }),
      admin.m(disabled ? "users.disabled" : "users.enabled"));
    await load();
    document.querySelector(`button[data-toggle="${b.dataset.toggle}"]`)?.focus();
  });
  admin.submit("new-user", async (form) => {
    const role = $("u-role").value, email = $("u-email").value;
    const body = { display_name: $("u-name").value, email, role, password: $("u-password").value };
    if (role === "patient") body.patient_id = $("u-patient").value;
    if (await admin.act(() => vigil.call("/users", { method: "POST", body: JSON.stringify(body) }),
      admin.m("users.created", { email }))) { form.reset(); $("u-patient-box").hidden = true; await load(); }
  });
  await load();
});
