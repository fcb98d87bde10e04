"use strict";
// Plain words for each weekly summary, against the patient's own targets (defaults from
// guidance: home BP under 135/85, glucose 70-180 mg/dL with a goal of 70 % of readings).
const PLAIN = {
  bp_systolic: (w) => `Your blood pressure (top number) averaged ${Math.round(w.avg)} mmHg.`,
  bp_diastolic: (w) => `Your blood pressure (bottom number) averaged ${Math.round(w.avg)} mmHg.`,
  glucose: (w) => `Your glucose averaged ${Math.round(w.avg)} mg/dL.`,
  body_weight: (w) => `Your weight averaged ${w.avg.toFixed(1)} kg.`,
  spo2: (w) => `Your oxygen level averaged ${Math.round(w.avg)} %.`,
  heart_rate: (w) => `Your heart rate averaged ${Math.round(w.avg)} beats a minute.`,
  body_temperature: (w) => `Your temperature averaged ${w.avg.toFixed(1)} °C.`,
  respiratory_rate: (w) => `You took about ${Math.round(w.avg)} breaths a minute.`,
};
function target(w) {
  if (w.in_target_share == null) return "";
  const pct = Math.round(w.in_target_share * 100);
  const goal = w.metric === "glucose" ? 70 : 75;
  return pct >= goal
    ? `<div class="good">${pct} % of your readings were in your target range. Well done.</div>`
    : `<div class="note">${pct} % of your readings were in your target range; your care team ` +
      `aims for ${goal} %. They can help: mention it at your next call.</div>`;
}
async function load() {
  const me = await vigil.call("/me");
  $("who").textContent = me.display_name;
  // Stored coaching items (weekly summaries, trends, streak, reminders), newest first.
  const items = await vigil.call("/me/feed/items?limit=8");
  $("items").innerHTML = items.map((i) => `
    <div class="card item ${text(i.tone)}"><h2>${text(i.title)}</h2><p>${text(i.body)}</p>
    <div class="muted">${new Date(i.time).toLocaleDateString()}</div></div>`).join("");
  const feed = await vigil.call("/me/feed");
  $("reminders-card").hidden = !feed.reminders.length;
  $("reminders").innerHTML = feed.reminders.map((r) => `<p>${text(r)}</p>`).join("");
  $("week").innerHTML = feed.week.map((w) => `<p>${text((PLAIN[w.metric] || (() => ""))(w))}
    <span class="muted">(${w.readings} readings)</span>${target(w)}</p>`).join("")
    || `<p class="muted">No readings this week yet.</p>`;
  $("today").innerHTML = feed.today.slice(0, 30).map((r) => `<div class="reading">
    <span>${text(vigil.names[r.metric] || r.metric)}</span>
    <span>${r.value} ${text(vigil.units[r.unit] || r.unit)}
    <span class="muted">${new Date(r.time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}</span></span>
    </div>`).join("") || `<p class="muted">No readings yet today.</p>`;
}
$("logout").addEventListener("click", async () => {
  await vigil.signOut(); location.href = "/";
});
if (!vigil.signedIn()) { location.href = "/"; } else { load().catch((e) => { document.body.append(e.message); }); }
