"use strict";
// A patient's report page: the API's HTML of the report (the same the PDF is made from) for
// the chosen period, in this page's language, with its PDF and CSV links.
const nav = document.querySelector(".report-nav");
const reportUrl = (days, format) => {
  const end = new Date();
  const start = new Date(end.getTime() - days * 86400000);
  const q = new URLSearchParams({ start: start.toISOString(), end: end.toISOString(),
    format, lang: vigil.messages.lang });
  const whose = nav.dataset.patient === "me" ? "/me" : `/patients/${nav.dataset.patient}`;
  return `${api}${whose}/reports/${nav.dataset.kind}?${q}`;
};
async function show() {
  const days = Number($("days").value);
  $("pdf").href = reportUrl(days, "pdf");
  $("csv").href = reportUrl(days, "csv");
  const r = await fetch(reportUrl(days, "html"), { credentials: "same-origin" });
  if (r.status === 401) { location.href = "/"; return; }
  $("report").innerHTML = r.ok ? await r.text()
    : `<p class="refused">${text(vigil.t("reports.refused"))}</p>`;
}
// Each report's own default period (the API's): home BP a week, the weight diary a month.
$("days").value = { "home-bp": "7", "hf-weight": "30" }[nav.dataset.kind] || "14";
$("days").addEventListener("change", () => { show().catch((e) => { $("report").textContent = e.message; }); });
if (!vigil.signedIn()) { location.href = "/"; } else {
  vigil.guard(nav.dataset.patient === "me" ? "patient" : "staff").then((ok) => ok && show()).catch((e) => { $("report").textContent = e.message; });
}
