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
      const err = new Error(e.error ? e.error.message : r.statusText); err.status = r.status; throw err;
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
  units: { "/min": "/min", "%": "%", "mm[Hg]": "mmHg", "mg/dL": "mg/dL", kg: "kg", Cel: "°C" },
  // Times as the locale writes them, in the clinic's time zone (named once in the header).
  dateTime(iso) {
    return new Intl.DateTimeFormat(vigil.messages.lang, { dateStyle: "medium", timeStyle: "short",
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
    return me;
  },
};

// A line chart (inline SVG): min-max band and average per bucket, target or threshold lines,
// alert markers. Points keep their data in attributes, so tests and people can read them.
function chartSvg(rollup, lines, markers, range) {
  const W = 640, H = 180, L = 44, R = 8, T = 10, B = 22;
  const b = rollup.buckets;
  const values = b.flatMap((x) => [x.min, x.max]).concat(lines.map((l) => l.value));
  if (!b.length) return `<p class="muted">No readings in this range.</p>`;
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.08; lo -= pad; hi += pad;
  const t0 = range.start.getTime(), t1 = range.end.getTime();
  const x = (t) => L + ((new Date(t).getTime() - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const band = b.map((p) => `${x(p.bucket)},${y(p.max)}`).join(" ") + " " +
    b.slice().reverse().map((p) => `${x(p.bucket)},${y(p.min)}`).join(" ");
  const avg = b.map((p) => `${x(p.bucket)},${y(p.avg)}`).join(" ");
  const dots = b.map((p) => `<circle class="pt" cx="${x(p.bucket)}" cy="${y(p.avg)}" r="2.5"
    data-time="${p.bucket}" data-min="${p.min}" data-max="${p.max}" data-avg="${p.avg}">
    <title>${vigil.dateTime(p.bucket)}: ${p.min === p.max ? p.avg : `${p.min}-${p.max}`}</title></circle>`).join("");
  const guide = lines.map((l) => `<line x1="${L}" x2="${W - R}" y1="${y(l.value)}" y2="${y(l.value)}"
    class="${l.kind}"/><text x="${W - R - 2}" y="${y(l.value) - 3}" text-anchor="end" class="lbl">${text(l.label)}</text>`).join("");
  const marks = markers.filter((m) => new Date(m.time).getTime() >= t0).map((m) => `<line
    x1="${x(m.time)}" x2="${x(m.time)}" y1="${T}" y2="${H - B}" class="alert-mark ${m.severity}">
    <title>${text(m.title)}</title></line>`).join("");
  const ticks = [lo + pad, (lo + hi) / 2, hi - pad].map((v) => `<text x="${L - 4}" y="${y(v) + 4}"
    text-anchor="end" class="lbl">${v.toFixed(v < 20 ? 1 : 0)}</text>`).join("");
  return `<svg viewBox="0 0 ${W} ${H}" class="chart" role="img">
    <polygon points="${band}" class="band"/>${guide}${marks}
    <polyline points="${avg}" class="avg"/>${dots}${ticks}
    <text x="${L}" y="${H - 6}" class="lbl">${vigil.date(range.start)}</text>
    <text x="${W - R}" y="${H - 6}" text-anchor="end" class="lbl">${vigil.date(range.end)}</text>
  </svg>`;
}
