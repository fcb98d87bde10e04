"use strict";
// Webhooks: destinations with their deliveries by state; add one, switch one off or on.
adminBoot(async () => {
  async function load() {
    const hooks = await vigil.call("/webhooks/status?limit=1000");
    $("webhooks").innerHTML = hooks.map((w) => `<tr data-webhook="${w.id}"><td class="wrap">${text(w.url)} <span class="muted">${text(admin.m(w.payload_format === "fhir" ? "webhooks.format_fhir" : "webhooks.format_vigil"))}</span></td>
      <td>${text(admin.m("severity." + w.min_severity))}</td><td>${w.level}</td>
      <td>${text(admin.m(w.active ? "state.active" : "state.off"))}</td>
      <td>${text(admin.m("webhooks.counts", { pending: w.pending, delivered: w.delivered, dead: w.dead }))}</td>
      <td>${text(admin.when(w.last_delivered_at) || admin.m("never"))}</td><td class="wrap">${text(w.last_error || "")}</td>
      <td><button type="button" class="small" data-active="${w.active ? 0 : 1}" data-id="${w.id}"
        aria-label="${text(admin.m(w.active ? "webhooks.off_named" : "webhooks.on_named", { url: w.url }))}">${text(admin.m(w.active ? "webhooks.off" : "webhooks.on"))}</button></td></tr>`).join("") ||
      `<tr><td colspan="8" class="muted">${text(admin.m("webhooks.none"))}</td></tr>`;
  }
  $("webhooks").addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-id]");
    if (!b) return;
    const active = b.dataset.active === "1";
    await admin.act(() => vigil.call(`/webhooks/${b.dataset.id}`, { method: "PATCH", body: JSON.stringify({ active }) }),
      admin.m(active ? "webhooks.switched_on" : "webhooks.switched_off"));
    await load();
  });
  admin.submit("new-webhook", async (form) => {
    const body = { url: $("w-url").value, secret: $("w-secret").value, min_severity: $("w-severity").value,
      level: Number($("w-level").value), payload_format: $("w-format").value };
    if (await admin.act(() => vigil.call("/webhooks", { method: "POST", body: JSON.stringify(body) }),
      admin.m("webhooks.created", { url: body.url }))) { form.reset(); await load(); }
  });
  await load();
});
