"use strict";
// The feed's act-now items, above everything: a dangerous latest reading and what to do now,
// worded by the API in this page's language (vigil.clinical.guidance or the care team's own).
async function loadActNow() {
  const q = new URLSearchParams({ lang: vigil.messages.lang });
  const feed = await vigil.call(`/me/feed?${q}`);
  $("act-now").innerHTML = feed.act_now.map((i) => `
    <div class="card act-now" data-kind="${text(i.kind)}" lang="${text(i.lang)}">
    <h2>${text(i.title)}</h2><p>${text(i.body)}</p>
    <div class="muted">${vigil.date(i.time)} ${vigil.time(i.time)}</div></div>`).join("");
}
if (vigil.signedIn()) loadActNow().catch((e) => { $("act-now").textContent = e.message; });
