"use strict";
// Shared by Vigil's pages: the session, API calls, escaping, charts. Served by Vigil.
// The session token is in an HttpOnly cookie no script can read; changes carry the CSRF
// value from the readable vigil_csrf cookie (docs/api.md, "Browser sessions").
const api = "/api/v1";
const $ = (id) => document.getElementById(id);
const text = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const vigil = {
  csrf() { return (document.cookie.match(/(?:^|; )vigil_csrf=([^;]*)/) || [])[1] || ""; },
  signedIn() { return vigil.csrf() !== ""; },
  async call(path, options = {}) {
    const headers = { "Content-Type": "application/json", "X-CSRF-Token": vigil.csrf() };
    const r = await fetch(api + path, { ...options, headers, credentials: "same-origin" });
    if (r.status === 401) { vigil.forget(); location.href = "/"; throw new Error("signed out"); }
    if (!r.ok) {
      const e = await r.json().catch(() => ({ error: { message: r.statusText } }));
      const why = e.error ? [e.error.message, ...(e.error.details || []).map((d) => d.msg)] : [r.statusText];
      const err = new Error(why.join(": ")); err.status = r.status; throw err;
    }
    return r.status === 204 ? null : r.json();
  },
  // The server clears both cookies on sign-out; this drops the readable one when it could not.
  forget() { document.cookie = "vigil_csrf=; Max-Age=0; Path=/; SameSite=Strict"; },
  async signIn(email, password) {
    const r = await fetch(`${api}/auth/session`, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email, password }) });
    if (!r.ok) throw new Error((await r.json()).error.message);
  },
  async signOut() {
    await vigil.call("/auth/logout", { method: "POST" }).catch(() => {});
    vigil.forget();
  },
  // The page's messages (the catalogue's namespaces it needs) and the clinic's zone.
  messages: JSON.parse(document.getElementById("vigil-messages").textContent),
  t(key, params = {}) {
    const m = vigil.messages[key] ?? key;
    return m.replace(/\{(\w+)\}/g, (all, name) => (name in params ? String(params[name]) : all));
  },
  metricName(metric) { return vigil.messages[`metrics.${metric}`] ?? metric; },
  // A time typed in a form ("2026-12-07T09:00", the clinic's wall clock, as every time on
  // the page is shown) as an instant (ISO, UTC): the zone's offset at that time, found by
  // formatting a first guess in the zone, and once more across a daylight-saving change.
  fromClinicTime(local) {
    const [d, t] = local.split("T"), [y, mo, da] = d.split("-").map(Number);
    const [h, mi] = (t || "00:00").split(":").map(Number);
    const wall = Date.UTC(y, mo - 1, da, h, mi);
    const parts = (ms) => Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone: vigil.messages.zone,
      hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" })
      .formatToParts(new Date(ms)).map((p) => [p.type, Number(p.value)]));
    const offset = (ms) => { const p = parts(ms); return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - ms; };
    let ms = wall - offset(wall);
    ms = wall - offset(ms);
    return new Date(ms).toISOString();
  },
  // A condition ("t1d") and a device kind ("bp_cuff") as the page's language names them.
  conditionName(c) { return vigil.messages[`common.condition_${c}`] ?? c.replaceAll("_", " "); },
  deviceKindName(k) { return vigil.messages[`common.device_kind_${k}`] ?? k.replaceAll("_", " "); },
  // Values as clinicians write them: every page formats through these (see formatValue), the
  // server's one table (vigil.clinical.display), embedded per page.
  get units() { return vigil.messages.units; },
  get decimals() { return vigil.messages.decimals; },
  // The server's one conversion factor (vigil.core.metrics.MGDL_PER_MMOL), embedded per page.
  get MGDL_PER_MMOL() { return vigil.messages.mgdl_per_mmol; },
  // Glucose in mg/dL or mmol/L: this browser's choice (stored), mg/dL until one is made.
  glucoseUnit() { return localStorage.getItem("vigil_glucose_unit") === "mmol/L" ? "mmol/L" : "mg/dL"; },
  setGlucoseUnit(unit) { localStorage.setItem("vigil_glucose_unit", unit); },
  displayUnit(metric, unit) {
    return metric === "glucose" ? vigil.glucoseUnit() : vigil.units[unit] ?? unit ?? "";
  },
  // A stored (canonical) value in the unit shown, and back (for values typed in a form).
  toDisplay(metric, v) {
    return metric === "glucose" && vigil.glucoseUnit() === "mmol/L" ? v / vigil.MGDL_PER_MMOL : v;
  },
  fromDisplay(metric, v) {
    return metric === "glucose" && vigil.glucoseUnit() === "mmol/L"
      ? Math.round(v * vigil.MGDL_PER_MMOL) : v;
  },
  number(metric, v, digits) {
    const d = digits ?? (metric === "glucose" && vigil.glucoseUnit() === "mmol/L" ? 1
      : vigil.decimals[metric] ?? 1);
    return new Intl.NumberFormat(vigil.messages.lang, { minimumFractionDigits: d,
      maximumFractionDigits: d, useGrouping: false }).format(vigil.toDisplay(metric, Number(v)));
  },
  // "36.4 °C", "95 %", "73 /min", "6.0 mmol/L"; a CGM's censored reading as LOW or HIGH.
  // opts: censored ('below' | 'above'), unit (false: the number alone).
  formatValue(metric, value, unit, opts = {}) {
    if (opts.censored === "below") return vigil.t("metrics.low");
    if (opts.censored === "above") return vigil.t("metrics.high");
    if (value == null) return "–";
    const n = vigil.number(metric, value);
    return opts.unit === false ? n : `${n} ${vigil.displayUnit(metric, unit)}`;
  },
  formatBP(systolic, diastolic) {
    const side = (metric, v) => (v == null ? "?" : vigil.number(metric, v));
    return `${side("bp_systolic", systolic)}/${side("bp_diastolic", diastolic)} mmHg`;
  },
  // hypoglycemia_urgent -> "Urgent low glucose"; spo2_low -> "SpO₂ below threshold".
  causeName(cause) {
    const named = vigil.messages[`metrics.cause_${cause}`];
    if (named) return named;
    const m = /^(.+)_(low|high)$/.exec(cause);
    if (m && vigil.messages[`metrics.${m[1]}`]) {
      return vigil.t(`metrics.side_${m[2]}`, { name: vigil.metricName(m[1]) });
    }
    return cause.replaceAll("_", " ");
  },
  // "1 alert", "3 alerts": the catalogue's key_one / key_other as the language's rules pick.
  plural(key, n, params = {}) {
    const form = new Intl.PluralRules(vigil.messages.lang).select(n);
    const k = vigil.messages[`${key}_${form}`] ? `${key}_${form}` : `${key}_other`;
    return vigil.t(k, { n, ...params });
  },
  // Times as the locale writes them, in the clinic's time zone (named once in the header).
  dateTime(iso) {
    return new Intl.DateTimeFormat(vigil.messages.lang, { dateStyle: "medium", timeStyle: "short",
      timeZone: vigil.messages.zone }).format(new Date(iso));
  },
  monthDay(iso) {
    return new Intl.DateTimeFormat(vigil.messages.lang, { month: "numeric", day: "numeric",
      timeZone: vigil.messages.zone }).format(new Date(iso));
  },
  date(iso) {
    return new Intl.DateTimeFormat(vigil.messages.lang, { dateStyle: "medium",
      timeZone: vigil.messages.zone }).format(new Date(iso));
  },
  time(iso) {
    return new Intl.DateTimeFormat(vigil.messages.lang, { hour: "2-digit", minute: "2-digit",
      timeZone: vigil.messages.zone }).format(new Date(iso));
  },
  // Staff pages send a patient to their feed with a message, and the feed sends staff back.
  async guard(want) {
    const me = await vigil.call("/me");
    const isPatient = me.role === "patient";
    if ((want === "staff") === isPatient) {
      const main = document.getElementById("main");
      const [msg, href, label] = isPatient ? ["common.staff_only", "/feed", "common.go_feed"]
        : ["common.patients_only", "/", "common.go_inbox"];
      main.innerHTML = `<div class="refused" role="alert"><p>${text(vigil.t(msg))}</p>
        <a href="${href}">${text(vigil.t(label))}</a></div>`;
      return null;
    }
    const who = document.getElementById("who");
    if (who) {
      who.textContent = vigil.t("common.role", { name: me.display_name,
        role: vigil.t(`common.role_${me.role}`) });
    }
    const out = document.getElementById("logout");
    if (out) {
      out.hidden = false;
      out.onclick = async () => { await vigil.signOut(); location.href = "/"; };
    }
    document.querySelectorAll("[data-role-nav=staff]").forEach((a) => { a.hidden = isPatient; });
    document.querySelectorAll("[data-role-nav=admin]").forEach((a) => { a.hidden = me.role !== "admin"; });
    return me;
  },
};
