"use strict";
// The admin console's shared part: messages in the page's language, the signed-in check,
// option lists, times with the time zone, and one helper for form submissions.
const admin = {
  lang: document.body.dataset.lang,
  messages: JSON.parse($("messages").textContent),
  m(key, params = {}) {
    const s = admin.messages["admin." + key] ?? key;
    return s.replace(/\{(\w+)\}/g, (_, k) => String(params[k] ?? ""));
  },
  when(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleString(admin.lang === "ko" ? "ko-KR" : "en-GB",
      { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  },
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
  async patients() { return vigil.call("/patients?limit=1000"); },
  condition(c) { return admin.m("condition." + c); },
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
  const me = await vigil.call("/me");
  $("who").textContent = `${me.display_name} (${admin.m("role." + me.role)})`;
  $("logout").hidden = false;
  $("logout").addEventListener("click", async () => { await vigil.signOut(); location.reload(); });
  if (me.role !== "admin") { $("refused").hidden = false; return; }
  $("content").hidden = false;
  try { await init(me); } catch (e) { admin.fail(e); }
}
