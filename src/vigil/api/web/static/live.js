"use strict";
// Live updates over the alert stream (SSE), shared by the inbox, triage and patient pages:
// the connection's state in the header (#live), data marked stale while disconnected, a
// visible and announced (#announce, ARIA live) new-alert signal, a count in the tab title,
// and, when the user opts in, a sound and a desktop notification for critical alerts.
const vigilLive = {
  stream: null, unseen: 0, baseTitle: document.title, since: null,
  NEW_KINDS: ["opened", "reopened", "severity_raised"],
  optedIn() { return localStorage.getItem("vigil_alarm") === "1"; },
  setup() {
    const opt = $("alarm-opt"), box = $("alarm-box"), sig = $("new-alerts");
    if (box) box.hidden = false;
    if (opt) {
      opt.checked = vigilLive.optedIn();
      opt.addEventListener("change", () => {
        localStorage.setItem("vigil_alarm", opt.checked ? "1" : "0");
        if (opt.checked && "Notification" in window && Notification.permission === "default") {
          Notification.requestPermission().catch(() => {});
        }
      });
    }
    if (sig) sig.addEventListener("click", () => { vigilLive.seen(); });
  },
  seen() {
    vigilLive.unseen = 0; document.title = vigilLive.baseTitle;
    const sig = $("new-alerts"); if (sig) sig.hidden = true;
  },
  state(kind) {
    const live = $("live");
    live.dataset.state = kind;
    document.body.classList.toggle("stale", kind !== "live");
    live.textContent = kind === "live" ? vigil.t("common.live")
      : `${vigil.t("common.reconnecting")} · ${vigil.t("common.stale", { time: vigil.time(vigilLive.since) })}`;
  },
  signal(change, name) {
    if (!vigilLive.NEW_KINDS.includes(change.kind)) return;
    vigilLive.unseen += 1;
    document.title = `(${vigilLive.unseen}) ${vigilLive.baseTitle}`;
    const words = vigil.t("common.new_alert", { severity: vigil.t(`common.sev_${change.severity}`),
      patient: name || vigil.t("common.a_patient"), title: change.explanation });
    $("announce").textContent = words;
    const sig = $("new-alerts");
    if (sig) {
      sig.hidden = false; sig.className = `new-alerts ${change.severity}`;
      sig.textContent = vigil.t("common.new_alerts", { n: vigilLive.unseen });
    }
    if (change.severity === "critical" && vigilLive.optedIn()) {
      try {
        const ctx = new AudioContext(), osc = ctx.createOscillator();
        osc.connect(ctx.destination); osc.frequency.value = 880; osc.start();
        osc.stop(ctx.currentTime + 0.4);
      } catch (e) { /* no audio device */ }
      if ("Notification" in window && Notification.permission === "granted") {
        new Notification("Vigil", { body: words, tag: change.alert_id });
      }
    }
  },
  // onChange(change) after each event; onResync() after a reconnect (what was missed).
  async start({ onChange, onResync, nameOf = () => "" }) {
    vigilLive.setup();
    vigilLive.since = new Date();
    while (vigil.signedIn()) {
      vigilLive.stream = new AbortController();
      let opened = false;
      try {
        const r = await fetch(`${api}/alerts/stream`, { credentials: "same-origin",
          signal: vigilLive.stream.signal });
        if (r.status === 401) { location.href = "/"; return; }
        if (!r.ok) throw new Error(String(r.status));
        opened = true;
        if ($("live").dataset.state && $("live").dataset.state !== "live") await onResync();
        vigilLive.state("live");
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
            const data = block.split("\n").find((l) => l.startsWith("data:"));
            if (!block.includes("event: alert") || !data) continue;
            const change = JSON.parse(data.slice(5));
            await onChange(change);
            vigilLive.signal(change, nameOf(change));
          }
        }
      } catch (e) { if (e.name === "AbortError") return; }
      if (!vigil.signedIn()) break;
      if (opened || !$("live").dataset.state || $("live").dataset.state === "live") {
        vigilLive.since = new Date();
      }
      vigilLive.state("reconnecting");
      await new Promise((done) => setTimeout(done, 3000));
    }
  },
  // Signed out: the stream closed and the header says nothing about a connection.
  stop() {
    if (vigilLive.stream) { vigilLive.stream.abort(); vigilLive.stream = null; }
    const live = $("live");
    if (live) { live.textContent = ""; delete live.dataset.state; }
    document.body.classList.remove("stale");
  },
};
