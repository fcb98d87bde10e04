"use strict";
// The triage page: one page of one group at a time from /api/v1/triage (the server groups
// and sorts every patient; the page only shows PAGE rows), so 1,000 patients stay quick.
const PAGE = 50;
const state = { group: "critical", offset: 0, counts: {} };

function ago(iso) {
  if (!iso) return vigil.t("triage.never");
  const h = (Date.now() - new Date(iso).getTime()) / 3.6e6;
  return h < 1 ? vigil.t("triage.within_hour") : h < 48 ? vigil.t("triage.hours_ago", { n: Math.round(h) })
    : vigil.t("triage.days_ago", { n: Math.round(h / 24) });
}

// A sparkline (inline SVG) of daily averages; the last point is drawn as a dot.
function spark(p) {
  const v = p.spark;
  if (!v.length) return "";
  const W = 96, H = 24, lo = Math.min(...v), hi = Math.max(...v), span = hi - lo || 1;
  const pts = v.map((y, i) => [v.length === 1 ? W / 2 : (i * (W - 4)) / (v.length - 1) + 2,
    H - 3 - ((y - lo) / span) * (H - 6)]);
  const [lx, ly] = pts[pts.length - 1];
  // Daily averages, each written as clinicians write the metric, with its unit.
  const m = p.spark_metric, shown = (y) => vigil.formatValue(m, y, vigil.messages.metric_units[m]);
  return `<svg class="spark" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"
    data-metric="${m}" role="img"><title>${text(vigil.metricName(m))}: ${text(v.map(shown).join(", "))}</title><polyline points="${pts.map((x) => x.join(",")).join(" ")}"/>
    <circle cx="${lx}" cy="${ly}" r="2"/></svg><span class="muted"> ${text(shown(v[v.length - 1]))}</span>`;
}

let latest = 0;

async function load(pick) {
  // One request: every group's count, and this page of the shown group (of each, at first).
  // Only the latest request draws: a click on a group while the first load (or a live
  // refresh) is still on its way must not be undone by that older answer arriving after it.
  const mine = ++latest;
  const q = new URLSearchParams({ limit: PAGE, offset: state.offset });
  if (!pick) q.set("group", state.group);
  const all = await vigil.call(`/triage?${q}`);
  if (mine !== latest) return;
  all.groups.forEach((g) => { state.counts[g.group] = g.count; });
  if (pick) state.group = (all.groups.find((g) => g.count) || all.groups[0]).group;
  document.querySelectorAll("[data-count]").forEach((el) => {
    el.textContent = state.counts[el.dataset.count] ?? 0;
  });
  document.querySelectorAll(".tab").forEach((el) => {
    el.setAttribute("aria-pressed", String(el.dataset.group === state.group));
  });
  const group = all.groups.find((g) => g.group === state.group);
  // Each cell names its column, shown where a phone stacks the cells (no table header then).
  const col = [...document.querySelectorAll("#triage-head th")].map((th) => text(th.textContent));
  $("rows").innerHTML = group.patients.map((p) => `<tr class="${p.group}" data-patient="${p.id}">
    <td data-label="${col[0]}"><a href="/patients/${p.id}">${text(p.display_name)}</a></td>
    <td data-label="${col[1]}" class="muted">${text(p.conditions.map(vigil.conditionName).join(", "))}</td>
    <td data-label="${col[2]}">${p.why.map((r) => `<span class="reason" data-why="${r.code}">${text(why(r))}</span>`).join("") || "—"}</td>
    <td data-label="${col[3]}">${spark(p)}</td><td data-label="${col[4]}">${p.open_alerts || ""}</td>
    <td data-label="${col[5]}" class="muted">${ago(p.last_reading)}</td></tr>`).join("")
    || `<tr><td colspan="6" class="muted">${text(vigil.t("triage.nobody"))}</td></tr>`;
  const last = Math.min(state.offset + PAGE, group.count);
  $("page").textContent = group.count
    ? vigil.t("triage.page", { first: state.offset + 1, last, count: group.count }) : "";
  $("prev").disabled = state.offset === 0;
  $("next").disabled = last >= group.count;
}

// A reason in the page's language, its values as clinicians write them (the API also sends
// it in English, as text).
function why(r) {
  const v = r.values, pct = (x) => new Intl.NumberFormat(vigil.messages.lang,
    { style: "percent", maximumFractionDigits: 0 }).format(x);
  switch (r.code) {
    case "time_below": return vigil.t("triage.why_time_below",
      { low: vigil.formatValue("glucose", v.low, "mg/dL"), share: pct(v.share) });
    case "time_in_range": return vigil.t("triage.why_time_in_range", { share: pct(v.share) });
    case "bp_average": return vigil.t("triage.why_bp_average", {
      bp: vigil.formatBP(v.systolic, v.diastolic),
      target: vigil.formatBP(v.systolic_target, v.diastolic_target) });
    case "weight_up": return vigil.t("triage.why_weight_up",
      { kg: vigil.formatValue("body_weight", v.kg, "kg") });
    case "alert": return v.metric == null ? vigil.t("triage.why_alert_plain", { cause: vigil.causeName(v.cause) })
      : v.metric === "bp" ? vigil.t("triage.why_alert", { cause: vigil.causeName(v.cause),
        value: `${vigil.metricName("bp")} ${vigil.formatBP(v.systolic, v.diastolic)}` })
      : vigil.t("triage.why_alert", { cause: vigil.causeName(v.cause),
        value: `${vigil.metricName(v.metric)} ${vigil.formatValue(v.metric, v.value, v.unit)}` });
    case "no_readings": return vigil.t("triage.why_no_readings", { days: v.days });
    case "silent_since": return vigil.t("triage.why_silent_since", { date: vigil.date(v.since) });
    default: return r.text;
  }
}

function show(error) {
  $("refused").hidden = false;
  $("refused").textContent = error.status === 403 ? vigil.t("triage.staff_only") : error.message;
}

document.querySelectorAll(".tab").forEach((el) => el.addEventListener("click", () => {
  state.group = el.dataset.group; state.offset = 0; load().catch(show);
}));
$("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); load().catch(show); });
$("next").addEventListener("click", () => { state.offset += PAGE; load().catch(show); });

async function start() {
  if (!(await vigil.guard("staff"))) return;
  await load(true);  // open on the most urgent group that has anyone in it
  const again = () => load().catch(show);
  vigilLive.start({ onChange: again, onResync: again,
    nameOf: (c) => (document.querySelector(`[data-patient="${c.patient_id}"] a`) || {}).textContent || "" });
}
if (!vigil.signedIn()) { location.href = "/"; } else { start().catch(show); }
