"use strict";
// The admin console's shared part: messages in the page's language, the signed-in check,
// option lists, times with the time zone, and one helper for form submissions.
const admin = {
  m(key, params = {}) { return vigil.t("admin." + key, params); },
  // In the clinic's time zone, named in the page's header.
  when(iso) { return iso ? vigil.dateTime(iso) : ""; },
  say(message) { $("error").textContent = ""; $("status").textContent = message; },
  fail(err) { $("status").textContent = ""; $("error").textContent = admin.m("failed", { reason: err.message }); },
  options(select, items, { blank } = {}) {
    select.innerHTML = (blank ? `<option value="">${text(blank)}</option>` : "") +
      items.map(([v, label]) => `<option value="${text(v)}">${text(label)}</option>`).join("");
  },
  // Run a change; report success in the live region, or the API's reason.
  async act(work, done) {
    try { await work(); admin.say(done); return true; } catch (e) { admin.fail(e); return false; }
  },
  submit(form, handler) {
    $(form).addEventListener("submit", async (ev) => { ev.preventDefault(); await handler(ev.target); });
  },
  async patients() { return vigil.call("/patients?limit=1000&discharged=true"); },
  condition(c) { return vigil.conditionName(c); },
};

async function adminBoot(init) {
  if (!vigil.signedIn()) {
    $("login").hidden = false;
    $("login").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try { await vigil.signIn($("email").value, $("password").value); location.reload(); }
      catch (e) { admin.fail(e); }
    });
    return;
  }
  const me = await vigil.guard("staff");  // who is signed in, sign-out; a patient is sent away
  if (!me) return;
  if (me.role !== "admin") { $("refused").hidden = false; return; }
  $("content").hidden = false;
  try { await init(me); } catch (e) { admin.fail(e); }
}
