// notion-proxy status page: polls /-/summary and renders it; the form of a
// paused profile writes its new token through POST /-/token. Data from the
// proxy is only ever set as text, never as HTML. A poll changes only what
// changed: a node replaced under the keyboard focus or a selection would
// lose it every second.
"use strict";
(() => {
  const secret = document.querySelector('meta[name="notion-proxy-page"]').content;
  const sections = new Map(); // profile name -> its elements
  const shown = new WeakMap(); // element -> key of what it shows, if rebuilt from parts
  const pollEvery = 1000;
  let timer = 0;
  let nextID = 0;

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") e.textContent = v;
      else if (v === true) e.setAttribute(k, "");
      else e.setAttribute(k, v);
    }
    e.append(...children);
    return e;
  }

  // setText sets e's text unless it already shows it.
  function setText(e, text) {
    if (e.textContent !== text) e.textContent = text;
  }

  // rebuild replaces e's children by build() unless key is what e shows.
  function rebuild(e, key, build) {
    if (shown.get(e) === key) return;
    shown.set(e, key);
    e.replaceChildren(...build());
  }

  function ago(iso) {
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return s + "s ago";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s ago";
    return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m ago";
  }

  function clock(iso) {
    return new Date(iso).toLocaleTimeString();
  }

  function renderEvents(list, events) {
    events = events || [];
    rebuild(list, JSON.stringify(events), () => events.slice().reverse().map((ev) =>
      el("li", {}, el("time", { datetime: ev.time, text: clock(ev.time) }), ev.text)));
  }

  function section(name) {
    let s = sections.get(name);
    if (s) return s;
    const id = "p" + nextID++;
    s = {
      root: el("section", { class: "profile", "data-profile": name, "aria-labelledby": id + "-title" }),
      state: el("span", { class: "state" }),
      lastError: el("p", { class: "problem last-error", hidden: true }),
      since: el("dd", { class: "since" }),
      waiting: el("dd", { class: "waiting" }),
      token: el("dd", { class: "token mono" }),
      source: el("dd", { class: "source" }),
      todo: el("p", { class: "todo", hidden: true }),
      input: el("input", { id: id + "-token", name: "token", type: "password", autocomplete: "off",
        spellcheck: "false", required: true, "aria-describedby": id + "-result" }),
      result: el("p", { id: id + "-result", class: "result", role: "status", "aria-live": "polite" }),
      events: el("ol", { class: "events" }),
    };
    s.form = el("form", { hidden: true, "aria-label": "New token for profile " + name },
      el("label", { for: id + "-token", text: "New token for profile " + name }),
      s.input, el("button", { type: "submit", text: "Write token" }), s.result);
    s.form.addEventListener("submit", (e) => { e.preventDefault(); paste(name, s); });
    s.root.append(
      el("h2", { id: id + "-title" }, el("span", { class: "name", text: name }), s.state),
      s.lastError,
      el("dl", {}, el("dt", { text: "Since" }), s.since, el("dt", { text: "Waiting calls" }), s.waiting,
        el("dt", { text: "Token" }), s.token, el("dt", { text: "Token source" }), s.source),
      s.todo, s.form,
      el("details", {}, el("summary", { text: "Recent events" }), s.events));
    document.getElementById("profiles").append(s.root);
    sections.set(name, s);
    return s;
  }

  function renderProfile(p) {
    const s = section(p.name);
    const paused = p.state === "paused";
    s.root.className = "profile " + (paused ? "paused" : "ok");
    setText(s.state, p.state);
    setText(s.since, paused && p.paused_since ? "paused " + ago(p.paused_since) + " (" + clock(p.paused_since) + ")" : "—");
    setText(s.waiting, String(p.waiting));
    setText(s.token, p.token || "none yet");
    setText(s.source, p.source + (p.source_detail ? " " + p.source_detail : ""));
    s.lastError.hidden = !paused || !(p.last_error || p.token_untried);
    setText(s.lastError, p.token_untried
      ? "A new token " + p.token + " is in place; the next call tries it." : p.last_error || "");
    s.todo.hidden = !paused;
    if (p.can_paste) {
      rebuild(s.todo, "paste", () => ["Regenerate the token in ",
        el("a", { href: "https://www.notion.so/profile/integrations", target: "_blank", rel: "noopener noreferrer",
          text: "Notion's integration settings" }),
        ", then paste it below. The waiting calls are then replayed."]);
    } else {
      rebuild(s.todo, "do:" + p.do, () => [p.do || ""]);
    }
    s.form.hidden = !(paused && p.can_paste);
    renderEvents(s.events, p.events);
  }

  function render(sum) {
    const paused = sum.profiles.filter((p) => p.state === "paused");
    const overall = document.getElementById("overall");
    setText(overall, paused.length === 0
      ? "All profiles ok."
      : paused.length + " profile" + (paused.length > 1 ? "s" : "") + " paused: " + paused.map((p) => p.name).join(", "));
    const title = (paused.length ? "paused — " : "ok — ") + "notion-proxy";
    if (document.title !== title) document.title = title;
    setText(document.getElementById("config"), "Config: " + sum.config);
    const reloadError = document.getElementById("reload-error");
    reloadError.hidden = !sum.last_reload_error;
    setText(reloadError, sum.last_reload_error
      ? "The last reload failed; the last good config keeps serving: " + sum.last_reload_error : "");
    document.getElementById("admin").hidden = !sum.admin_token_required;
    sum.profiles.forEach(renderProfile);
    const names = new Set(sum.profiles.map((p) => p.name));
    for (const [name, s] of sections) {
      if (!names.has(name)) { // removed from the config
        s.root.remove();
        sections.delete(name);
      }
    }
    const configEvents = document.getElementById("config-events");
    configEvents.hidden = !(sum.events && sum.events.length);
    renderEvents(configEvents.querySelector("ol"), sum.events);
  }

  async function poll() {
    clearTimeout(timer);
    try {
      const resp = await fetch("/-/summary", { cache: "no-store" });
      if (!resp.ok) throw new Error(resp.status + " " + resp.statusText);
      render(await resp.json());
    } catch (err) {
      setText(document.getElementById("overall"), "notion-proxy cannot be reached (" + err.message + "); retrying.");
    }
    timer = setTimeout(poll, pollEvery);
  }

  async function paste(name, s) {
    const token = s.input.value.trim();
    if (!token) {
      s.result.textContent = "Paste the new token first.";
      return;
    }
    const headers = { "Content-Type": "application/json", "X-Notion-Proxy-Page": secret };
    const admin = document.getElementById("admin-token").value.trim();
    if (admin) headers.Authorization = "Bearer " + admin;
    s.result.textContent = "Writing…";
    try {
      const resp = await fetch("/-/token", { method: "POST", headers, body: JSON.stringify({ profile: name, token }) });
      const body = await resp.json().catch(() => ({}));
      if (!resp.ok) {
        s.result.textContent = "Not written: " + (body.message || resp.status + " " + resp.statusText);
        return;
      }
      s.input.value = "";
      s.result.textContent = "Token " + body.token + " written to " + body.written + ". Waiting calls resume once Notion accepts it.";
    } catch (err) {
      s.result.textContent = "Not written: " + err.message;
    }
    poll();
  }

  poll();
})();
