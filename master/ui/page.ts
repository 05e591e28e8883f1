/**
 * The UI's one HTML page and its style sheet. They are constants rather than files so they ship
 * inside `dist` with the master and need no copying step; the scripts are the browser modules
 * compiled from master/ui/browser (served by routes.ts). Every link is relative, so the UI also
 * works behind a reverse proxy that mounts the master under a path.
 */
export const UI_INDEX_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>wasmos</title>
    <link rel="stylesheet" href="app.css" />
    <script type="module" src="js/main.js"></script>
  </head>
  <body>
    <header>
      <a class="brand" href="#/">wasmos</a>
      <nav>
        <a href="#/" data-view="overview">Overview</a>
        <a href="#/agents" data-view="agents">Agents</a>
        <a href="#/frameworks" data-view="frameworks">Frameworks</a>
        <a href="#/tasks" data-view="tasks">Tasks</a>
        <a href="#/jobs" data-view="jobs">Jobs</a>
      </nav>
      <span id="connection" class="connection" role="status"></span>
    </header>
    <main id="view"><p>Loading…</p></main>
    <noscript>The wasmos UI needs JavaScript. The same data is at /api/v1/state.</noscript>
  </body>
</html>
`;

export const UI_STYLESHEET = `:root {
  color-scheme: light dark;
  --muted: #6b7280;
  --line: #d1d5db;
  --ok: #15803d;
  --bad: #b91c1c;
  --warn: #b45309;
  font-family: system-ui, sans-serif;
  font-size: 14px;
}
body { margin: 0; }
header { display: flex; gap: 1.5rem; align-items: baseline; padding: 0.75rem 1rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; font-size: 1.2rem; text-decoration: none; color: inherit; }
nav { display: flex; gap: 1rem; }
nav a { text-decoration: none; }
nav a.current { font-weight: 700; text-decoration: underline; }
.connection { margin-left: auto; color: var(--muted); }
.connection.error { color: var(--bad); }
main { padding: 1rem; }
h1 { font-size: 1.3rem; margin: 0 0 0.75rem; }
h2 { font-size: 1.1rem; margin: 1.25rem 0 0.5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.state { font-weight: 600; }
.state.good { color: var(--ok); }
.state.bad { color: var(--bad); }
.state.pending { color: var(--warn); }
.muted { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
.tags { display: flex; flex-wrap: wrap; gap: 0.25rem; }
.tag { border: 1px solid var(--line); border-radius: 0.25rem; padding: 0 0.3rem; }
pre.log { border: 1px solid var(--line); padding: 0.5rem; max-height: 32rem; overflow: auto; white-space: pre-wrap; word-break: break-all; margin: 0; }
.log-head { display: flex; gap: 1rem; align-items: baseline; }
`;
