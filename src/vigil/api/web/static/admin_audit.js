"use strict";
// The audit log: who read or changed what, filtered by actor, action, patient, outcome and
// time, newest first, a page at a time (older pages by the last id seen).
adminBoot(async () => {
  const PAGE = 50;
  const [users, patients] = await Promise.all([vigil.call("/users?limit=1000"), admin.patients()]);
  const who = Object.fromEntries(users.map((u) => [u.id, u.email]));
  const names = Object.fromEntries(patients.map((p) => [p.id, p.display_name]));
  admin.options($("a-actor"), users.map((u) => [u.id, `${u.display_name} (${u.email})`]), { blank: admin.m("any") });
  admin.options($("a-patient"), patients.map((p) => [p.id, p.display_name]), { blank: admin.m("any") });
  $("tz").textContent = admin.m("audit.time_zone", { zone: vigil.messages.zone });
  let pages = [];  // the before_id of each page shown so far (undefined: the newest)

  function query(before) {
    const q = new URLSearchParams({ limit: String(PAGE) });
    const put = (k, v) => { if (v) q.set(k, v); };
    put("actor_user_id", $("a-actor").value); put("action", $("a-action").value.trim());
    put("patient_id", $("a-patient").value); put("outcome", $("a-outcome").value);
    put("since", $("a-since").value && vigil.fromClinicTime($("a-since").value));
    put("until", $("a-until").value && vigil.fromClinicTime($("a-until").value));
    put("before_id", before);
    return q;
  }
  async function show(before) {
    const rows = await vigil.call("/audit?" + query(before));
    $("audit").innerHTML = rows.map((e) => `<tr data-audit="${e.id}" class="${e.outcome}"><td>${text(admin.when(e.at))}</td>
      <td>${text(e.actor_email || who[e.actor_user_id] || admin.m("audit.anonymous"))}</td>
      <td><code>${text(e.action)}</code> <span class="muted">${text(e.method)}</span></td>
      <td>${text(e.patient_id ? names[e.patient_id] ?? e.patient_id : "")}</td>
      <td>${text(admin.m("outcome." + e.outcome))}</td><td>${e.status}</td></tr>`).join("") ||
      `<tr><td colspan="6" class="muted">${text(admin.m("audit.none"))}</td></tr>`;
    $("older").disabled = rows.length < PAGE;
    $("older").dataset.next = rows.length ? rows[rows.length - 1].id : "";
    $("newest").disabled = !before;
    admin.say(admin.m("audit.shown", { count: rows.length }));
  }
  admin.submit("audit-filter", async () => { pages = []; await show(); });
  $("audit-filter").addEventListener("reset", () => setTimeout(async () => { pages = []; await show(); }));
  $("older").addEventListener("click", async () => { pages.push($("older").dataset.next); await show(pages[pages.length - 1]); });
  $("newest").addEventListener("click", async () => { pages = []; await show(); });
  await show();
});
