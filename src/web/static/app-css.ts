// The admin page's stylesheet, served as /static/app.css (kept in a module so the build needs no copy
// step). System fonts, no emoji, no external resources; colour never the only signal. On a phone
// (360–430 px) every table marked .stack becomes one card per row, each cell under its column's name.
export const APP_CSS = `
:root {
  --bg: #f4f6f9; --card: #fff; --text: #1b2330; --muted: #5d6b7e; --line: #e1e6ee;
  --brand: #1f4fd1; --brand-dark: #163a9c; --ok: #137a3f; --ok-bg: #e3f5ea; --bad: #b3261e; --bad-bg: #fce8e6;
  --warn: #8a5300; --warn-bg: #fff3d6; --info-bg: #e8efff; --radius: 10px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.45; color: var(--text); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--brand); }
a:hover { color: var(--brand-dark); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.88em; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: 8px; z-index: 10; }
.skip:focus { left: 8px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 24px; padding: 10px 24px;
  background: #0f1b33; color: #fff; }
.brand { color: #fff; text-decoration: none; font-weight: 700; font-size: 1.15rem; letter-spacing: 0.2px; }
.brand:hover { color: #fff; }
.logo { display: inline-block; background: var(--brand); border-radius: 6px; padding: 0 7px; margin-right: 4px; font-weight: 800; }
.top nav ul { display: flex; flex-wrap: wrap; gap: 4px; list-style: none; margin: 0; padding: 0; }
.top nav a { color: #cdd6e6; text-decoration: none; padding: 6px 10px; border-radius: 6px; display: inline-block; }
.top nav a:hover { background: #1d2c4d; color: #fff; }
.top nav a[aria-current="page"] { background: #24386a; color: #fff; }
.logout { margin-left: auto; display: flex; align-items: center; gap: 8px; color: #cdd6e6; }
.logout .link { color: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 20px 24px 48px; outline: none; }
.foot { max-width: 1200px; margin: 0 auto; padding: 0 24px 24px; }
h1 { font-size: 1.5rem; margin: 4px 0 16px; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.title-text { min-width: 0; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 0 0 12px; display: flex; align-items: center; gap: 8px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius);
  padding: 16px 18px; margin-bottom: 16px; box-shadow: 0 1px 2px rgba(16, 24, 40, 0.04); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(150px, 100%), 1fr)); gap: 12px; margin-bottom: 16px; }
.cards .card { margin: 0; }
.stat { display: flex; flex-direction: column; gap: 2px; text-decoration: none; color: inherit; border-top: 4px solid var(--line); }
a.stat:hover { border-color: var(--brand); color: inherit; }
.stat-ok { border-top-color: var(--ok); } .stat-bad { border-top-color: var(--bad); } .stat-warn { border-top-color: #e0a100; }
.stat-label { color: var(--muted); font-size: 0.85rem; text-transform: uppercase; letter-spacing: 0.04em; }
.stat-value { font-size: 1.7rem; font-weight: 700; }
.stat-note { color: var(--muted); font-size: 0.85rem; overflow-wrap: anywhere; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(320px, 100%), 1fr)); gap: 16px; }
.chart { margin: 0; }
.chart figcaption { font-weight: 600; margin-bottom: 6px; }
.chart svg { width: 100%; height: auto; display: block; }
.chart .bar { fill: var(--brand); }
.chart .bar:hover { fill: var(--brand-dark); }
.chart .axis { stroke: var(--line); stroke-width: 1; }
.chart .tick { fill: var(--muted); font-size: 11px; }
.table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; position: relative; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); font-weight: 600; white-space: nowrap; }
tbody th { font-weight: 600; }
tbody tr:hover { background: #f8fafc; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.wrap { overflow-wrap: anywhere; }
.error-row td { background: var(--bad-bg); }
.row-bad td { background: #fff7f6; }
.headers th { width: 12rem; color: var(--muted); font-weight: 500; overflow-wrap: anywhere; }
.raw summary { color: var(--muted); font-size: 0.8rem; cursor: pointer; }
.raw code { overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 0.8rem; font-weight: 600;
  background: var(--info-bg); color: var(--brand-dark); white-space: nowrap; }
.badge-ok, .badge-delivered, .badge-idle { background: var(--ok-bg); color: var(--ok); }
.badge-failing, .badge-down, .badge-refusing, .badge-refused, .badge-error { background: var(--bad-bg); color: var(--bad); }
.badge-quarantined, .badge-deferred, .badge-pending, .badge-paused, .badge-rerouted { background: var(--warn-bg); color: var(--warn); }
.badge-deleted, .badge-unknown { background: #eceff3; color: var(--muted); }
.badge-filter-clean { background: var(--ok-bg); color: var(--ok); }
.badge-filter-spam, .badge-filter-unscanned { background: var(--warn-bg); color: var(--warn); }
.badge-filter-virus { background: var(--bad-bg); color: var(--bad); }
.badge-running, .badge-released, .badge-spooled, .badge-retry-requested { background: var(--info-bg); color: var(--brand-dark); }
.muted { color: var(--muted); } .small { font-size: 0.85rem; }
.ok-text { color: var(--ok); } .bad-text { color: var(--bad); font-weight: 600; }
.error-block { border-left: 4px solid var(--bad); padding: 4px 12px; margin: 4px 0; }
.error-block p { margin: 4px 0; }
.hint { background: var(--warn-bg); padding: 6px 10px; border-radius: 6px; }
.reason { background: #f6f8fb; border-radius: 6px; padding: 8px 10px; overflow-wrap: anywhere; }
.alert { background: var(--bad-bg); color: var(--bad); padding: 8px 12px; border-radius: 6px; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(200px, 100%), 1fr)); gap: 10px 20px; margin: 0 0 12px; }
.facts dt { color: var(--muted); font-size: 0.82rem; }
.facts dd { margin: 0; font-weight: 500; overflow-wrap: anywhere; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-top: 8px; }
button, .button { font: inherit; border: 1px solid #c4ccd8; background: #fff; color: var(--text); border-radius: 8px;
  padding: 7px 14px; cursor: pointer; text-decoration: none; display: inline-block; min-height: 36px; }
button:hover, .button:hover { border-color: var(--brand); color: var(--brand-dark); }
button.primary { background: var(--brand); border-color: var(--brand); color: #fff; }
button.primary:hover { background: var(--brand-dark); color: #fff; }
button.danger { color: var(--bad); border-color: #e6b4b0; }
button.danger:hover { background: var(--bad); color: #fff; }
button.small { padding: 4px 10px; min-height: 30px; font-size: 0.88rem; }
button.link { border: 0; background: none; padding: 0; min-height: 0; text-decoration: underline; }
button:disabled { opacity: 0.6; cursor: progress; }
:focus-visible { outline: 3px solid #7aa2ff; outline-offset: 2px; }
input, select { font: inherit; padding: 7px 10px; border: 1px solid #c4ccd8; border-radius: 8px; background: #fff; min-height: 36px; width: 100%; }
label { display: block; font-size: 0.85rem; color: var(--muted); margin-bottom: 3px; }
.search, .grid-form { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(180px, 100%), 1fr)); gap: 12px; align-items: end; }
.search .field:first-child { grid-column: 1 / -1; }
.field.buttons { display: flex; gap: 8px; }
form.inline { display: flex; gap: 6px; flex-wrap: wrap; align-items: center; }
form.inline input { width: auto; min-width: min(220px, 100%); flex: 1; }
.login { max-width: 380px; margin: 48px auto; }
.login form { display: grid; gap: 6px; }
.login button { margin-top: 10px; }
.crumbs { margin: 0 0 4px; color: var(--muted); font-size: 0.9rem; }
.pager { display: flex; gap: 8px; justify-content: flex-end; margin-top: 10px; }
.queue { list-style: none; padding: 0; margin: 0 0 20px; }
.queue-head { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: baseline; min-width: 0; }
.queue-head > * { min-width: 0; }
.count { background: #e6eaf0; border-radius: 999px; padding: 0 9px; font-size: 0.85rem; }
.config { background: #0f1b33; color: #dbe4f3; padding: 14px; border-radius: 8px; overflow: auto; max-height: 70vh; }
.check-result:empty { display: none; }
.check-result { margin-top: 12px; padding: 10px 12px; border-radius: 8px; }
.check-ok { background: var(--ok-bg); color: var(--ok); } .check-bad { background: var(--bad-bg); color: var(--bad); }
.toast { position: fixed; bottom: 16px; left: 50%; transform: translateX(-50%); background: #0f1b33; color: #fff;
  padding: 10px 16px; border-radius: 8px; opacity: 0; transition: opacity 0.2s; pointer-events: none; max-width: 90vw; }
.toast.show { opacity: 1; }
.toast.bad { background: var(--bad); }
@media (max-width: 640px) {
  .top { padding: 8px 12px; } main { padding: 14px 12px 40px; }
  .top nav a { padding: 6px 8px; }
  .logout { margin-left: 0; width: 100%; }
  .card { padding: 12px; }
  th, td { padding: 6px 6px; }
  .stat-value { font-size: 1.35rem; }
  h1 { font-size: 1.3rem; }
  .config { white-space: pre-wrap; overflow-wrap: anywhere; }
  .table-wrap { overflow-x: visible; }
  table.stack, table.stack tbody, table.stack tr, table.stack td, table.stack tbody th { display: block; width: 100%; }
  table.stack thead, table.stack thead tr, table.stack thead th { position: absolute; width: 1px; height: 1px;
    padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  table.stack tr { border-bottom: 1px solid var(--line); padding: 8px 0; }
  table.stack td, table.stack tbody th { border: 0; padding: 3px 0; text-align: left; overflow-wrap: anywhere; }
  table.stack td[data-label] { display: grid; grid-template-columns: 7.5rem minmax(0, 1fr); gap: 8px; }
  table.stack td[data-label]::before { content: attr(data-label); color: var(--muted); font-size: 0.82rem; }
  table.stack td[data-label] > * { grid-column: 2; }
  table.stack td[data-label] > .badge { justify-self: start; }
  table.stack .row-actions button { width: 100%; margin-top: 4px; }
  table.headers, table.headers tbody, table.headers tr, table.headers th, table.headers td { display: block; width: 100%; }
  table.headers th { padding: 6px 0 0; border: 0; }
  table.headers td { padding: 0 0 6px; }
}
@media (prefers-reduced-motion: reduce) { .toast { transition: none; } }
`;
