/// The dashboard: one HTML document with its CSS and script inline — no build step, no font,
/// nothing fetched from anywhere but tollgate itself (`/admin/*` for data, `/v1/*` for the
/// playground). Text from the server is only ever set as text, never parsed as HTML.
enum DashboardPage {
    static let bytes: [UInt8] = Array((head + style + body + script).utf8)

    static let head = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="color-scheme" content="light dark">
    <title>tollgate</title>

    """#

    static let style = #"""
    <style>
    :root {
      --bg: #f6f7f9; --card: #ffffff; --text: #1b1f24; --muted: #5d6673; --line: #e2e5ea;
      --accent: #2f6feb; --ok: #1f8a4c; --warn: #b7791f; --bad: #c53030; --bar: #e9edf2;
      --c0: #2f6feb; --c1: #d9480f; --c2: #0c8599; --c3: #9c36b5; --c4: #5c940d; --c5: #e8590c; --c6: #1098ad; --c7: #862e9c;
    }
    @media (prefers-color-scheme: dark) {
      :root {
        --bg: #0f1216; --card: #171b21; --text: #e6e9ee; --muted: #9aa4b2; --line: #2a3039;
        --accent: #6ea0ff; --ok: #4cc38a; --warn: #e3b341; --bad: #f47067; --bar: #252b34;
        --c0: #6ea0ff; --c1: #ff8a4c; --c2: #3bc9db; --c3: #da77f2; --c4: #a9e34b; --c5: #ffa94d; --c6: #66d9e8; --c7: #e599f7;
      }
    }
    * { box-sizing: border-box; }
    [hidden] { display: none !important; }
    body { margin: 0; background: var(--bg); color: var(--text);
      font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
    header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 12px 20px;
      border-bottom: 1px solid var(--line); background: var(--card); position: sticky; top: 0; z-index: 1; }
    header h1 { font-size: 18px; margin: 0; letter-spacing: .3px; }
    header .live { color: var(--muted); font-size: 12px; }
    header .live b { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: var(--ok); margin-right: 6px; }
    header .live.stale b { background: var(--bad); }
    header form { margin-left: auto; display: flex; gap: 6px; }
    main { display: grid; grid-template-columns: repeat(12, 1fr); gap: 16px; padding: 16px 20px 32px; max-width: 1600px; margin: 0 auto; }
    section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; min-width: 0; }
    section h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); margin: 0 0 10px; font-weight: 600; }
    #providers-card { grid-column: span 7; } #spend-card { grid-column: span 5; }
    #requests-card { grid-column: span 8; } #playground-card { grid-column: span 4; }
    #clients-card { grid-column: span 12; }
    @media (max-width: 1100px) { main > section { grid-column: span 12 !important; } }
    @media (max-width: 640px) {
      main { padding: 10px; gap: 10px; } header { padding: 10px; } .hide-narrow { display: none; }
      #providers thead { display: none; }
      #providers tr { display: grid; grid-template-columns: 1fr auto; align-items: center; border-bottom: 1px solid var(--line); padding: 6px 0; }
      #providers td { border: 0; padding: 2px 4px; white-space: normal; }
      #providers td:last-child { grid-column: 1 / -1; }
      .budget { min-width: 0; }
    }
    table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
    th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
    th { color: var(--muted); font-weight: 600; font-size: 12px; }
    td.num, th.num { text-align: right; }
    .scroll { overflow-x: auto; }
    #requests-card .scroll { max-height: 560px; overflow-y: auto; }
    #requests thead th { position: sticky; top: 0; background: var(--card); }
    .badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; border: 1px solid currentColor; }
    .healthy { color: var(--ok); } .cooling_down { color: var(--bad); } .half_open { color: var(--warn); } .disabled { color: var(--muted); }
    .s2 { color: var(--ok); } .s4 { color: var(--warn); } .s5 { color: var(--bad); }
    .muted { color: var(--muted); }
    #providers td { white-space: normal; }
    #providers .badge, .budget > span { white-space: nowrap; }
    .budget { display: grid; grid-template-columns: 50px minmax(40px, 1fr) auto; gap: 2px 8px; align-items: center; font-size: 12px; min-width: 190px; }
    .meter { height: 8px; background: var(--bar); border-radius: 4px; overflow: hidden; }
    .meter i { display: block; height: 100%; background: var(--ok); }
    .meter i.high { background: var(--warn); } .meter i.full { background: var(--bad); }
    input, select, textarea, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; }
    button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; font-weight: 600; }
    button:disabled { opacity: .6; cursor: default; }
    #requests.no-client .col-client { display: none; }
    .filters { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 8px; }
    .filters input { flex: 1 1 160px; }
    #chart svg { width: 100%; height: auto; display: block; }
    #chart .axis { fill: var(--muted); font-size: 10px; }
    #chart .grid { stroke: var(--line); }
    .legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; margin-top: 6px; }
    .legend span::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 2px; background: var(--swatch); margin-right: 5px; vertical-align: -1px; }
    .total { font-size: 22px; font-weight: 650; }
    #playground form { display: grid; gap: 8px; }
    #playground textarea { min-height: 70px; resize: vertical; }
    #answer { white-space: pre-wrap; min-height: 90px; padding: 10px; border: 1px dashed var(--line); border-radius: 6px; margin-top: 8px; overflow-wrap: anywhere; }
    #answer-meta { font-size: 12px; color: var(--muted); margin-top: 6px; min-height: 1em; }
    #key-note { color: var(--bad); font-size: 12px; }
    .empty { color: var(--muted); padding: 8px 0; }
    </style>
    </head>

    """#

    static let body = #"""
    <body>
    <header>
      <h1>tollgate</h1>
      <span id="live" class="live"><b></b><span id="live-text">connecting…</span></span>
      <form id="key-form" hidden autocomplete="off">
        <span id="key-note">This gateway needs its admin key.</span>
        <input id="key" type="password" placeholder="admin key" aria-label="admin key">
        <button type="submit">Use key</button>
      </form>
    </header>
    <main>
      <section id="providers-card">
        <h2>Providers</h2>
        <div class="scroll"><table id="providers">
          <thead><tr><th>Provider</th><th>State</th><th class="num hide-narrow">In flight</th><th class="num hide-narrow">Failures</th><th>Budget</th></tr></thead>
          <tbody></tbody>
        </table></div>
      </section>
      <section id="spend-card">
        <h2>Spend, last 30 days</h2>
        <div><span class="total" id="spend-total">$0.00</span> <span class="muted" id="spend-today"></span></div>
        <div id="chart"></div>
        <div class="legend" id="legend"></div>
      </section>
      <section id="clients-card" hidden>
        <h2>Clients</h2>
        <div class="scroll"><table id="clients">
          <thead><tr><th>Client</th><th>Budget</th></tr></thead><tbody></tbody>
        </table></div>
      </section>
      <section id="requests-card">
        <h2>Recent requests</h2>
        <div class="filters">
          <input id="filter-text" type="search" placeholder="filter: model, provider, request id…" aria-label="filter">
          <select id="filter-provider" aria-label="provider"><option value="">all providers</option></select>
          <select id="filter-status" aria-label="status">
            <option value="">all statuses</option><option value="ok">2xx</option><option value="error">errors</option>
          </select>
        </div>
        <div class="scroll"><table id="requests" class="no-client">
          <thead><tr><th>Time</th><th class="hide-narrow">API</th><th>Model</th><th>Provider</th><th class="col-client">Client</th><th class="num">Tokens in/out</th>
            <th class="num">Cost</th><th class="num">Latency</th><th>Status</th><th class="hide-narrow">Est.</th></tr></thead>
          <tbody></tbody>
        </table></div>
        <div id="requests-empty" class="empty" hidden>No requests yet.</div>
      </section>
      <section id="playground-card">
        <h2>Playground</h2>
        <div id="playground">
          <form id="chat-form">
            <select id="model" aria-label="model"></select>
            <input id="client-key" type="password" placeholder="client key (this gateway has clients)" aria-label="client key" hidden>
            <textarea id="prompt" placeholder="Say something…" aria-label="prompt"></textarea>
            <button id="send" type="submit">Send</button>
          </form>
          <div id="answer" aria-live="polite"></div>
          <div id="answer-meta"></div>
        </div>
      </section>
    </main>

    """#

    static let script = #"""
    <script>
    "use strict";
    const $ = (id) => document.getElementById(id);
    let adminKey = sessionStorage.getItem("tollgate-admin-key") || "";
    let clientKey = sessionStorage.getItem("tollgate-client-key") || "";
    // The playground calls /v1 as a client: with clients configured it needs a client's key.
    function v1Headers(extra) {
      const key = $("client-key").value.trim() || clientKey;
      if (key !== clientKey) { clientKey = key; sessionStorage.setItem("tollgate-client-key", key); }
      return Object.assign(key ? { "Authorization": "Bearer " + key } : {}, extra || {});
    }
    let recent = [];
    let lastOk = 0;

    function el(tag, attrs, ...children) {
      const e = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs || {})) {
        if (k === "class") e.className = v; else if (k === "style") e.style.cssText = v; else e.setAttribute(k, v);
      }
      for (const c of children) if (c != null) e.append(c instanceof Node ? c : String(c));
      return e;
    }
    function svg(tag, attrs, text) {
      const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
      for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
      if (text != null) e.textContent = text;
      return e;
    }
    function usd(v) {
      if (!v) return "$0";
      if (v < 0.01) return "$" + v.toFixed(5).replace(/0+$/, "");
      return "$" + v.toFixed(2);
    }
    function ms(v) { return v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms"; }
    function color(i) { return "var(--c" + (i % 8) + ")"; }

    async function admin(path) {
      const headers = adminKey ? { "Authorization": "Bearer " + adminKey } : {};
      const r = await fetch(path, { headers, cache: "no-store" });
      if (r.status === 401 || r.status === 403) {
        $("key-form").hidden = false;
        throw new Error("admin key needed");
      }
      if (!r.ok) throw new Error(path + ": HTTP " + r.status);
      return r.json();
    }

    function budgetCell(lines) {
      const withLimit = lines.filter((l) => l.limit_usd != null);
      if (!withLimit.length) {
        const total = lines.find((l) => l.period === "total");
        return el("span", { class: "muted" }, "no limit · " + usd(total ? total.used_usd : 0) + " spent");
      }
      const box = el("div", { class: "budget" });
      for (const l of withLimit) {
        const used = l.used_usd + l.reserved_usd;
        const pct = Math.min(100, (used / l.limit_usd) * 100);
        const bar = el("i", { class: pct >= 100 ? "full" : pct >= 80 ? "high" : "", style: "width:" + pct.toFixed(1) + "%" });
        box.append(el("span", { class: "muted" }, l.period), el("div", { class: "meter", role: "meter",
          "aria-valuenow": pct.toFixed(0), "aria-valuemin": "0", "aria-valuemax": "100", title: usd(used) + " of " + usd(l.limit_usd) }, bar),
          el("span", {}, usd(used) + " / " + usd(l.limit_usd)));
      }
      return box;
    }

    function renderProviders(providers, budgets) {
      const tbody = $("providers").tBodies[0];
      tbody.replaceChildren();
      const now = Date.now();
      for (const p of providers.data) {
        let state = p.state.replace("_", " ");
        if (p.cooling_down_until) {
          const left = Math.max(0, Math.round((Date.parse(p.cooling_down_until) - now) / 1000));
          state += " · " + left + " s";
        }
        const lines = budgets.data.filter((l) => l.scope === "provider" && l.name === p.name);
        const name = el("td", {}, el("strong", {}, p.name), el("div", { class: "muted" }, p.type + " · priority " + p.priority));
        const badge = el("span", { class: "badge " + p.state, title: p.disabled_reason || (p.last_error ? p.last_error.message : "") }, state);
        tbody.append(el("tr", { "data-provider": p.name, "data-state": p.state }, name, el("td", {}, badge),
          el("td", { class: "num hide-narrow" }, p.in_flight), el("td", { class: "num hide-narrow" }, p.consecutive_failures),
          el("td", {}, budgetCell(lines))));
      }
      const select = $("filter-provider"), chosen = select.value;
      select.replaceChildren(el("option", { value: "" }, "all providers"),
        ...providers.data.map((p) => el("option", { value: p.name }, p.name)));
      select.value = chosen;
    }

    function renderClients(budgets) {
      const clients = {};
      for (const l of budgets.data.filter((l) => l.scope === "client")) (clients[l.name] = clients[l.name] || []).push(l);
      const names = Object.keys(clients);
      $("clients-card").hidden = names.length === 0;
      const tbody = $("clients").tBodies[0];
      tbody.replaceChildren(...names.map((n) => el("tr", { "data-client": n }, el("td", {}, n), el("td", {}, budgetCell(clients[n])))));
    }

    function renderChart(daily) {
      const W = 600, H = 220, L = 62, R = 8, T = 10, B = 24;
      const days = daily.days, n = days.length;
      const series = daily.providers.filter((p) => p.cost_usd.some((v) => v > 0));
      const totals = days.map((_, i) => series.reduce((s, p) => s + p.cost_usd[i], 0));
      const max = Math.max(...totals, 0);
      const top = max > 0 ? niceCeil(max) : 1;
      const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "spend per day and provider" });
      for (let g = 0; g <= 4; g++) {
        const y = T + (H - T - B) * (1 - g / 4);
        chart.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: y, y2: y }));
        chart.append(svg("text", { class: "axis", x: L - 6, y: y + 3, "text-anchor": "end" }, usd(top * g / 4)));
      }
      const step = (W - L - R) / n, bw = Math.max(2, step * 0.72);
      days.forEach((day, i) => {
        let y = H - B;
        const x = L + i * step + (step - bw) / 2;
        series.forEach((p, s) => {
          const v = p.cost_usd[i];
          if (v <= 0) return;
          const h = (v / top) * (H - T - B);
          y -= h;
          const rect = svg("rect", { class: "bar", x: x.toFixed(1), y: y.toFixed(1), width: bw.toFixed(1), height: Math.max(1, h).toFixed(1),
            rx: 1.5, fill: color(daily.providers.indexOf(p)), "data-day": day, "data-provider": p.provider });
          rect.append(svg("title", {}, day + " · " + p.provider + " · " + usd(v)));
          chart.append(rect);
        });
        if (i % 5 === (n - 1) % 5) chart.append(svg("text", { class: "axis", x: L + i * step + step / 2, y: H - 8, "text-anchor": "middle" }, day.slice(5)));
      });
      $("chart").replaceChildren(chart);
      $("legend").replaceChildren(...daily.providers.map((p, i) => {
        const sum = p.cost_usd.reduce((a, b) => a + b, 0);
        return el("span", { style: "--swatch:" + color(i) }, p.provider + " " + usd(sum));
      }));
      $("spend-total").textContent = usd(totals.reduce((a, b) => a + b, 0));
      $("spend-today").textContent = "· today " + usd(totals[n - 1] || 0);
    }
    function niceCeil(v) {
      const p = Math.pow(10, Math.floor(Math.log10(v)));
      for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
      return 10 * p;
    }

    function renderRequests() {
      const text = $("filter-text").value.trim().toLowerCase();
      const provider = $("filter-provider").value, status = $("filter-status").value;
      const rows = recent.filter((r) => (!provider || r.provider === provider)
        && (!status || (status === "ok" ? r.status < 400 : r.status >= 400))
        && (!text || [r.model, r.provider, r.upstream_model, r.request_id, r.api || "", r.client || "", String(r.status)].some((f) => f.toLowerCase().includes(text))));
      const tbody = $("requests").tBodies[0];
      tbody.replaceChildren(...rows.map((r) => {
        const t = new Date(r.time_ms);
        const clock = t.toLocaleTimeString([], { hour12: false });
        const sameDay = t.toDateString() === new Date().toDateString();
        const day = t.toISOString().slice(5, 10);
        const time = el("td", { title: r.time + " · " + r.request_id }, sameDay ? clock : day + " " + clock.slice(0, 5));
        const tokens = r.input_tokens.toLocaleString() + " / " + r.output_tokens.toLocaleString();
        const st = el("span", { class: "s" + String(r.status)[0] }, r.status + (r.attempts > 1 ? " (" + r.attempts + " tries)" : ""));
        return el("tr", { "data-request-id": r.request_id }, time, el("td", { class: "hide-narrow" }, r.api || "—"),
          el("td", { title: r.upstream_model }, r.model), el("td", {}, r.provider),
          el("td", { class: "col-client" }, r.client || "—"), el("td", { class: "num" }, tokens),
          el("td", { class: "num" }, usd(r.cost_usd)), el("td", { class: "num" }, ms(r.latency_ms)), el("td", {}, st),
          el("td", { class: "hide-narrow" }, r.estimated ? "est." : ""));
      }));
      $("requests-empty").hidden = rows.length > 0;
      $("requests").classList.toggle("no-client", !recent.some((r) => r.client));
    }

    async function refresh() {
      try {
        const [providers, budgets, requests] = await Promise.all([admin("/admin/providers"), admin("/admin/budgets"), admin("/admin/requests?limit=100")]);
        renderProviders(providers, budgets);
        renderClients(budgets);
        recent = requests.data;
        renderRequests();
        lastOk = Date.now();
        $("key-form").hidden = true;
      } catch (e) {
        console.warn(e);
      }
      updateLive();
    }
    async function refreshSpend() {
      try { renderChart(await admin("/admin/spend/daily?days=30")); } catch (e) { console.warn(e); }
    }
    function updateLive() {
      const fresh = Date.now() - lastOk < 8000;
      $("live").classList.toggle("stale", !fresh);
      $("live-text").textContent = fresh ? "live · updated " + new Date(lastOk).toLocaleTimeString([], { hour12: false }) : "not updating";
    }

    async function loadModels() {
      try {
        const r = await fetch("/v1/models", { cache: "no-store", headers: v1Headers() });
        if (r.status === 401) { $("client-key").hidden = false; return; }
        const list = (await r.json()).data || [];
        const select = $("model");
        select.replaceChildren(...list.map((m) => el("option", { value: m.id }, m.id)));
      } catch (e) { console.warn(e); }
    }

    async function send(event) {
      event.preventDefault();
      const prompt = $("prompt").value.trim();
      if (!prompt) return;
      if (!$("model").options.length) await loadModels();
      const answer = $("answer"), meta = $("answer-meta"), button = $("send");
      answer.textContent = ""; answer.dataset.chunks = "0"; answer.dataset.done = "false";
      meta.textContent = "…"; button.disabled = true;
      const started = performance.now();
      try {
        const r = await fetch("/v1/chat/completions", { method: "POST", headers: v1Headers({ "Content-Type": "application/json" }),
          body: JSON.stringify({ model: $("model").value, stream: true, stream_options: { include_usage: true },
            messages: [{ role: "user", content: prompt }] }) });
        if (r.status === 401) $("client-key").hidden = false;
        if (!r.ok) {
          const body = await r.json().catch(() => ({}));
          throw new Error((body.error && body.error.message) || "HTTP " + r.status);
        }
        const provider = r.headers.get("x-tollgate-provider"), model = r.headers.get("x-tollgate-model");
        const reader = r.body.getReader(), decoder = new TextDecoder();
        let buffer = "", usage = null, first = 0;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const event = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
            for (const line of event.split("\n")) {
              if (!line.startsWith("data:")) continue;
              const data = line.slice(5).trim();
              if (data === "[DONE]") continue;
              const chunk = JSON.parse(data);
              if (chunk.error) throw new Error(chunk.error.message);
              if (chunk.usage) usage = chunk.usage;
              const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
              if (delta && delta.content) {
                if (!first) first = performance.now();
                answer.append(delta.content);
                answer.dataset.chunks = String(Number(answer.dataset.chunks) + 1);
              }
            }
          }
        }
        answer.dataset.done = "true";
        meta.textContent = [provider && model ? provider + "/" + model : null,
          first ? "first token " + ms(first - started) : null, "total " + ms(performance.now() - started),
          usage ? usage.prompt_tokens + " in / " + usage.completion_tokens + " out" : null].filter(Boolean).join(" · ");
      } catch (e) {
        meta.textContent = "error: " + e.message;
        answer.dataset.done = "error";
      } finally {
        button.disabled = false;
        refresh(); refreshSpend();
      }
    }

    $("key-form").addEventListener("submit", (e) => {
      e.preventDefault();
      adminKey = $("key").value.trim();
      $("key").value = "";
      sessionStorage.setItem("tollgate-admin-key", adminKey);
      refresh(); refreshSpend();
    });
    for (const id of ["filter-text", "filter-provider", "filter-status"]) $(id).addEventListener("input", renderRequests);
    $("chat-form").addEventListener("submit", send);
    loadModels();
    refresh(); refreshSpend();
    setInterval(refresh, 2000);
    setInterval(refreshSpend, 15000);
    setInterval(updateLive, 1000);
    </script>
    </body>
    </html>

    """#
}
