"use strict";
// The patient's own feed, one page: the coaching items (weekly summaries, streak, reminders)
// above the week's averages against their own targets and today's readings. Targets and goals
// come from the API (one source: vigil.clinical.careplan).
function plain(w) {
  const value = vigil.formatValue(w.metric, w.avg, w.unit);
  const key = `feed.avg_${w.metric}`;
  return key in vigil.messages ? vigil.t(key, { value })
    : vigil.t("feed.avg", { name: vigil.metricName(w.metric), value });
}
// Blood pressure is one value, as clinicians write it (138/86 mmHg), not two rows.
function oneBloodPressure(week) {
  const sys = week.find((w) => w.metric === "bp_systolic");
  const dia = week.find((w) => w.metric === "bp_diastolic");
  if (!sys || !dia) return week;
  const lower = (sys.in_target_share ?? 1) <= (dia.in_target_share ?? 1) ? sys : dia;
  const value = `${Math.round(sys.avg)}/${Math.round(dia.avg)} mmHg`;
  const bp = { ...lower, readings: sys.readings, said: vigil.t("feed.avg_bp", { value }) };
  return [bp, ...week.filter((w) => w !== sys && w !== dia)];
}
const counted = (n) => vigil.t(n === 1 ? "feed.readings_one" : "feed.readings", { n });
function target(w) {
  if (w.in_target_share == null) return "";
  const pct = Math.round(w.in_target_share * 100);
  const goal = Math.round(w.goal * 100);
  return pct >= goal
    ? `<div class="good">${text(vigil.t("feed.in_target", { pct }))}</div>`
    : `<div class="note">${text(vigil.t("feed.below_target", { pct, goal }))}</div>`;
}
async function load() {
  if (!(await vigil.guard("patient"))) return;
  // Stored coaching items (weekly summaries, trends, streak, reminders), newest first, worded
  // by the API in this page's language (asked for by name: the page's and the cards' agree even
  // where the language cookie is not kept).
  const q = new URLSearchParams({ limit: 8, lang: vigil.messages.lang });
  const items = await vigil.call(`/me/feed/items?${q}`);
  $("items").innerHTML = items.map((i) => `
    <div class="card item ${text(i.tone)}" data-kind="${text(i.kind)}" lang="${text(i.lang)}">
    <h2>${text(i.title)}</h2><p>${text(i.body)}</p>
    <div class="muted">${vigil.date(i.time)}</div></div>`).join("");
  const feed = await vigil.call("/me/feed");
  $("week").innerHTML = oneBloodPressure(feed.week).map((w) => `<p>${text(w.said || plain(w))}
    <span class="muted">${text(counted(w.readings))}</span>${target(w)}</p>`).join("")
    || `<p class="muted">${text(vigil.t("feed.no_week"))}</p>`;
  $("today").innerHTML = feed.today.slice(0, 30).map((r) => `<div class="reading">
    <span>${text(vigil.metricName(r.metric))}</span>
    <span>${text(vigil.formatValue(r.metric, r.value, r.unit, { censored: r.censored }))}
    <span class="muted">${vigil.time(r.time)}</span></span>
    </div>`).join("") || `<p class="muted">${text(vigil.t("feed.no_today"))}</p>`;
}
if (!vigil.signedIn()) { location.href = "/"; } else {
  load().catch((e) => { $("items").textContent = e.message; });
}
