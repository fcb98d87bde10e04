"use strict";
// Working an alert, shared by the inbox and the patient page: acknowledge, snooze (its
// "until" shown), resolve with any outcome and a note, comments and the trail, assignment.
const OUTCOMES = ["actionable", "not_actionable", "false_reading", "duplicate"];
const SNOOZE_MINUTES = [30, 60, 240, 1440];
const alertWork = {
  staff: [],
  async loadStaff() { alertWork.staff = await vigil.call("/alerts/assignees"); },
  staffName(id) { return (alertWork.staff.find((s) => s.id === id) || {}).display_name || ""; },
  causeName(cause) { return vigil.causeName(cause); },
  // One alert: what, whose, its state (snoozed until …), and its actions.
  card(a, { select = false, patientLink = true } = {}) {
    const t = vigil.t, id = a.id, label = `${alertWork.causeName(a.cause)} · ${a.patient_name || ""}`;
    const state = a.state === "snoozed" && a.snoozed_until
      ? t("alerts.snoozed_until", { time: vigil.dateTime(a.snoozed_until) })
      : a.outcome === "episode_ended" ? t("alerts.resolved_automatically") : t(`alerts.state_${a.state}`);
    const worst = a.worst_value === null ? "" : ` · ${t("alerts.worst", { value: vigil.formatValue(a.metrics[0], a.worst_value) })}`;
    // The readings that opened the episode, the newest and the worst, each with its time.
    const reading = (k) => a[k] && a[k].text
      ? t(`alerts.reading_${k}`, { value: a[k].text, time: vigil.dateTime(a[k].time) }) : "";
    const readings = ["opened", "latest", "worst"].map(reading).filter(Boolean);
    const who = (patientLink && a.patient_name) ? `<a href="/patients/${a.patient_id}">${text(a.patient_name)}</a> · ` : "";
    return `<article class="alert sev-${a.severity} state-${a.state}" data-alert="${id}" data-state="${a.state}"
        aria-label="${text(label)}">
      ${select ? `<input type="checkbox" class="pick" data-id="${id}" aria-label="${text(t("alerts.select", { what: label }))}"
        ${a.state === "open" ? "" : "disabled"}>` : ""}
      ${who}<b>${text(alertWork.causeName(a.cause))}</b>
      <span class="badge ${a.severity}">${text(t(`alerts.sev_${a.severity}`))}</span>
      <span class="badge state ${a.state}">${text(state)}</span>
      ${a.assigned_to ? `<span class="muted">${text(t("alerts.assigned", { name: alertWork.staffName(a.assigned_to) }))}</span>` : ""}
      <p>${text(a.explanation.sentence)}</p>
      ${readings.length ? `<ul class="readings">${readings.map((r) => `<li>${text(r)}</li>`).join("")}
        <li>×${a.finding_count}</li></ul>`
        : `<p class="muted">${text(t("alerts.since", { time: vigil.dateTime(a.first_seen) }))} ·
        ${text(t("alerts.last", { time: vigil.dateTime(a.last_seen) }))}${text(worst)} · ×${a.finding_count}</p>`}
      <div class="actions">
        ${a.state === "open" ? `<button type="button" data-act="acknowledge" data-id="${id}">${text(t("alerts.acknowledge"))}</button>` : ""}
        <label class="inline">${text(t("alerts.snooze_for"))}
          <select data-field="minutes">${SNOOZE_MINUTES.map((m) => `<option value="${m}">${text(
            m < 60 ? t("alerts.minutes", { n: m }) : t("alerts.hours", { n: m / 60 }))}</option>`).join("")}</select></label>
        <button type="button" data-act="snooze" data-id="${id}">${text(t("alerts.snooze_do"))}</button>
        <label class="inline">${text(t("alerts.assign_to"))}
          <select data-field="assignee" data-id="${id}"><option value="">${text(t("alerts.nobody"))}</option>
          ${alertWork.staff.map((s) => `<option value="${s.id}" ${s.id === a.assigned_to ? "selected" : ""}>${text(s.display_name)}</option>`).join("")}</select></label>
        <button type="button" data-act="trail" data-id="${id}" aria-expanded="false">${text(t("alerts.comments"))}</button>
      </div>
      <form class="resolve" data-id="${id}">
        <label class="inline">${text(t("alerts.outcome"))}<select data-field="outcome">
          ${OUTCOMES.map((o) => `<option value="${o}">${text(t(`alerts.outcome_${o}`))}</option>`).join("")}</select></label>
        <label class="inline">${text(t("alerts.note"))}<input data-field="note" maxlength="2000"></label>
        <button class="primary">${text(t("alerts.resolve"))}</button></form>
      <div class="trail" data-trail="${id}" hidden></div>
    </article>`;
  },
  // Re-renders a list (after a change, live or one's own) keeping open trails open and
  // what was being typed in a note or a comment.
  async render(container, html) {
    const open = [...container.querySelectorAll(".trail:not([hidden])")].map((b) => b.dataset.trail);
    const typed = [...container.querySelectorAll("[data-field=note], [data-field=comment]")]
      .filter((f) => f.value).map((f) => [f.closest("[data-alert]").dataset.alert, f.dataset.field, f.value]);
    container.innerHTML = html;
    await Promise.all(open.map(async (id) => {
      const box = container.querySelector(`[data-trail="${id}"]`);
      if (!box) return;
      box.hidden = false;
      box.closest("[data-alert]").querySelector("[data-act=trail]").setAttribute("aria-expanded", "true");
      await alertWork.trail(id, box);
    }));
    typed.forEach(([id, field, value]) => {
      const f = container.querySelector(`[data-alert="${id}"] [data-field=${field}]`);
      if (f) f.value = value;
    });
  },
  async trail(id, box) {
    const events = await vigil.call(`/alerts/${id}/events`);
    box.innerHTML = `<ol class="events">${events.filter((e) => e.note || e.kind !== "updated").map((e) =>
      `<li><span class="muted">${text(vigil.dateTime(e.at))} · ${text(vigil.t(`alerts.event_${e.kind}`))}</span>
        ${e.note ? ` — ${text(e.note)}` : ""}</li>`).join("")}</ol>
      <form class="comment" data-id="${id}"><label>${text(vigil.t("alerts.comment_label"))}
        <textarea data-field="comment" rows="2" maxlength="2000" required></textarea></label>
        <button>${text(vigil.t("alerts.comment_add"))}</button></form>`;
  },
  // Wires a container's buttons and forms; after() reloads what the page shows.
  bind(container, after) {
    const post = (id, what, body) => vigil.call(`/alerts/${id}/${what}`,
      { method: "POST", body: JSON.stringify(body) });
    container.addEventListener("click", async (e) => {
      const b = e.target.closest("button[data-act]");
      if (!b) return;
      const card = b.closest("[data-alert]"), id = b.dataset.id;
      if (b.dataset.act === "trail") {
        const box = card.querySelector(".trail"), open = box.hidden;
        box.hidden = !open; b.setAttribute("aria-expanded", String(open));
        if (open) await alertWork.trail(id, box);
        return;
      }
      const body = b.dataset.act === "snooze"
        ? { minutes: Number(card.querySelector("[data-field=minutes]").value) } : {};
      await post(id, b.dataset.act, body);
      await after();
    });
    container.addEventListener("change", async (e) => {
      if (e.target.dataset.field !== "assignee") return;
      await post(e.target.dataset.id, "assign", { user_id: e.target.value || null });
      await after();
    });
    container.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = e.target, id = f.dataset.id;
      if (f.classList.contains("resolve")) {
        const note = f.querySelector("[data-field=note]").value.trim();
        await post(id, "resolve", { outcome: f.querySelector("[data-field=outcome]").value, note: note || null });
        await after();
      } else if (f.classList.contains("comment")) {
        await post(id, "comments", { note: f.querySelector("[data-field=comment]").value });
        await alertWork.trail(id, f.closest(".trail"));
        const box = container.querySelector(`[data-trail="${id}"] textarea`);
        if (box) box.focus();
      }
    });
  },
};
