"use strict";
// The clinic list: every patient of the care team with their 14 days of CGM, sorted by the
// column chosen (lowest time in range first, as a team looks for who needs them).
let sort = "tir";
let descending = false;
const pct = (v, digits = 0) => (v == null ? "–" : `${(v * 100).toFixed(digits)}%`);
const num = (v, unit) => (v == null ? "–" : `${v.toFixed(1)}${unit}`);
async function load() {
  const q = new URLSearchParams({ sort, descending });
  const rows = await vigil.call(`/reports/clinic?${q}`);
  $("clinic-rows").innerHTML = rows.map((r) => `<tr data-patient="${text(r.patient_id)}">
    <td><a href="/patients/${text(r.patient_id)}/reports/agp">${text(r.display_name)}</a></td>
    <td>${pct(r.tir)}</td><td>${pct(r.tbr, 1)}</td><td>${pct(r.tbr_54, 1)}</td>
    <td>${pct(r.tar)}</td><td>${num(r.gmi, "%")}</td><td>${num(r.cv, "%")}</td>
    <td>${r.active == null ? "–" : `${Math.round(r.active)}%`}</td></tr>`).join("")
    || `<tr><td colspan="8" class="muted">${text(vigil.t("reports.no_patients"))}</td></tr>`;
  document.querySelectorAll("button.sort").forEach((b) => {
    b.setAttribute("aria-pressed", String(b.dataset.sort === sort));
    b.dataset.order = b.dataset.sort === sort ? (descending ? "desc" : "asc") : "";
  });
}
document.querySelectorAll("button.sort").forEach((b) => b.addEventListener("click", () => {
  descending = b.dataset.sort === sort ? !descending : false;
  sort = b.dataset.sort;
  load().catch((e) => { $("clinic-rows").textContent = e.message; });
}));
if (!vigil.signedIn()) { location.href = "/"; } else {
  vigil.guard("staff").then((ok) => ok && load()).catch((e) => { $("clinic-rows").textContent = e.message; });
}
