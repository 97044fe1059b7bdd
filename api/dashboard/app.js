// Label Loop's dashboard: plain browser JavaScript, no build step. It polls the project API that
// serves it (README "HTTP API"; api/routes/*.ts: the rounds table's RoundRow, the models with
// their decisions, the loop's status with the running step's progress, Temporal's schedules, the
// learning curve) and draws with uPlot, which the API serves from node_modules. Every card
// fetches on its own and shows "unavailable" with the API's reason when its route fails (a 503
// while Temporal or PostgreSQL is down), so one outage never blanks the page. Text from the API
// is only ever set as textContent, never parsed as HTML.
'use strict';

(() => {
  const config = JSON.parse(document.getElementById('label-loop-config').textContent);
  const STEPS = ['reconcile', 'export', 'train', 'evaluate', 'promote', 'predict', 'push'];
  const COLORS = {
    promoted: '#16a34a',
    rejected: '#dc2626',
    replayed: '#7c3aed',
    band: 'rgba(22, 163, 74, 0.13)',
    champion: '#15803d',
    grid: '#e5e7eb',
    axis: '#6b7280',
  };
  const STEP_COLORS = {
    reconcile: '#94a3b8',
    export: '#60a5fa',
    train: '#2563eb',
    evaluate: '#a855f7',
    promote: '#f59e0b',
    predict: '#14b8a6',
    push: '#64748b',
  };
  const METRIC_NAMES = { accuracy: 'accuracy', macroF1: 'macro-F1' };

  // --- small helpers ------------------------------------------------------------------------

  /** An element with attributes, properties (`on*` handlers) and children (strings become text). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'style') Object.assign(el.style, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  const fmt = (v, digits = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');
  const signed = (v, digits = 3) => (typeof v === 'number' && Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(digits)}` : '–');
  const int = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US') : '–');
  const shortVersion = (v) => (typeof v === 'string' && v.length > 18 ? `${v.slice(0, 16)}…` : v || '–');

  function seconds(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
    if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
    if (ms < 86_400_000) return `${+(ms / 3_600_000).toFixed(1)} h`;
    return `${+(ms / 86_400_000).toFixed(1)} d`;
  }

  function ago(iso) {
    const t = typeof iso === 'number' ? iso : Date.parse(iso);
    if (!Number.isFinite(t)) return '–';
    const s = Math.round((Date.now() - t) / 1000);
    const abs = Math.abs(s);
    const text = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : abs < 86_400 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86_400)} d`;
    return s >= 0 ? `${text} ago` : `in ${text}`;
  }

  const when = (iso) => (iso ? h('time', { datetime: iso, title: new Date(iso).toLocaleString() }, ago(iso)) : '–');

  function temporalUrl(path) {
    return config.temporalUiUrl ? `${config.temporalUiUrl}/namespaces/${encodeURIComponent(config.namespace)}${path}` : null;
  }
  function temporalLink(path, text, title) {
    const url = temporalUrl(path);
    return url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'temporal', title: title || 'open in the Temporal Web UI' }, text) : null;
  }
  const workflowPath = (workflowId, runId) =>
    `/workflows/${encodeURIComponent(workflowId)}${runId ? `/${encodeURIComponent(runId)}/history` : ''}`;
  const loopWorkflowId = (project) => `label-loop-project-${project}`;
  const roundWorkflowId = (project, round) => `label-loop-project-${project}-round-${round}`;

  /** GET or POST JSON; never throws: `{ ok, status, data }` or `{ ok: false, status, error }`. */
  async function api(path, init) {
    try {
      const res = await fetch(path, {
        cache: 'no-store',
        credentials: 'same-origin',
        ...init,
        headers: { accept: 'application/json', ...(init && init.body ? { 'content-type': 'application/json' } : {}) },
      });
      const text = await res.text();
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      if (!res.ok) return { ok: false, status: res.status, error: (body && body.error) || res.statusText || `HTTP ${res.status}` };
      return { ok: true, status: res.status, data: body };
    } catch {
      return { ok: false, status: 0, error: 'the API did not answer' };
    }
  }

  /** What a card shows instead of its content when its route failed. */
  function unavailable(result, what) {
    const reason = result.status === 0 ? result.error : `${result.status}: ${result.error}`;
    return h('div', { class: 'unavailable', role: 'status' }, h('strong', {}, `${what} unavailable`), h('span', {}, reason));
  }

  /**
   * How a trained model compares with what it was measured against (the champion of its round,
   * else the majority baseline), on the same audit items: the promotion gate's comparison.
   */
  function comparison(model, metric) {
    const m = model && model.metrics;
    if (!m || typeof m[metric] !== 'number') return null;
    const against = model.championMetrics || model.baselineMetrics;
    if (!against || typeof against[metric] !== 'number') return null;
    return {
      delta: m[metric] - against[metric],
      value: m[metric],
      other: against[metric],
      otherName: model.championMetrics ? `champion ${shortVersion(model.championVersion)}` : 'majority baseline',
    };
  }

  /** "train 12 / 400 epochs": a step of unknown size (total 0) shows its count only. */
  const progressAmount = (p) => (p.total > 0 ? `${int(p.done)} / ${int(p.total)} ${p.unit || ''}` : `${int(p.done)} ${p.unit || ''}`);

  const badge = (outcome) => h('span', { class: `badge ${outcome}` }, outcome || '–');

  // --- state --------------------------------------------------------------------------------

  const state = { selected: null, paused: false, timer: null, chart: null, chartKey: '', replayFresh: false, notes: new Map() };

  function selectedFromHash() {
    const m = /project=(\d{1,15})/.exec(location.hash);
    return m ? Number(m[1]) : null;
  }

  function select(project) {
    if (!Number.isSafeInteger(project) || project <= 0) return;
    if (location.hash !== `#project=${project}`) history.replaceState(null, '', `#project=${project}`);
    if (state.selected !== project) {
      state.selected = project;
      destroyChart();
      const root = document.getElementById('project');
      root.replaceChildren();
      delete root.dataset.project;
    }
    void refresh();
  }

  // --- projects -----------------------------------------------------------------------------

  function renderProjects(result) {
    const body = document.querySelector('#projects .body');
    if (!result.ok) {
      body.replaceChildren(
        unavailable(result, 'Project list'),
        h('p', { class: 'muted' }, 'Open a project by its Label Studio id above.'),
      );
      return;
    }
    const projects = result.data.projects || [];
    if (state.selected === null && projects.length > 0) {
      // The first project, until the operator picks another (the load in progress draws it).
      state.selected = projects[0].id;
      history.replaceState(null, '', `#project=${state.selected}`);
    }
    if (projects.length === 0) {
      body.replaceChildren(h('p', { class: 'muted' }, 'No projects yet: connect Label Loop to a Label Studio project (README "Connect a real Label Studio").'));
      return;
    }
    const rows = projects.map((p) => {
      const share = p.tasks > 0 ? Math.min(1, p.labelled / p.tasks) : 0;
      const last = p.lastRound;
      return h(
        'tr',
        { class: p.id === state.selected ? 'selected' : '', tabindex: 0, 'data-project': p.id, onclick: () => select(p.id), onkeydown: (e) => e.key === 'Enter' && select(p.id) },
        h('td', {}, h('strong', {}, `#${p.id}`)),
        h('td', { class: 'mono', title: p.championVersion || '' }, p.championVersion ? shortVersion(p.championVersion) : h('span', { class: 'muted' }, 'none yet')),
        h('td', {}, h('div', { class: 'meter', title: `${int(p.labelled)} of ${int(p.tasks)} tasks labelled` }, h('span', { style: { width: `${(share * 100).toFixed(1)}%` } })), h('span', { class: 'small' }, `${int(p.labelled)} / ${int(p.tasks)}`)),
        h('td', {}, `${p.mode || '–'} · ${p.strategy || '–'}`),
        h('td', {}, last ? [`#${last.round} `, badge(last.outcome), ' ', h('span', { class: 'muted small' }, when(last.finishedAt || last.startedAt))] : h('span', { class: 'muted' }, 'no round yet')),
      );
    });
    body.replaceChildren(
      h(
        'table',
        { class: 'projects' },
        h('thead', {}, h('tr', {}, h('th', {}, 'project'), h('th', {}, 'champion'), h('th', {}, 'labelled'), h('th', {}, 'mode · sampling'), h('th', {}, 'last round'))),
        h('tbody', {}, rows),
      ),
    );
  }

  // --- the selected project -----------------------------------------------------------------

  function card(id, title, extra, classes = '') {
    let el = document.getElementById(id);
    if (!el) {
      el = h('section', { class: `card ${classes}`, id }, h('header', {}, h('h2', {}, title), h('span', { class: 'extra' })), h('div', { class: 'body' }));
      document.getElementById('project-grid').append(el);
    }
    el.querySelector('header .extra').replaceChildren(...(extra || []).filter(Boolean));
    return el.querySelector('.body');
  }

  function ensureProjectFrame(project) {
    const root = document.getElementById('project');
    if (root.dataset.project === String(project)) return;
    root.dataset.project = String(project);
    root.replaceChildren(
      h(
        'div',
        { class: 'project-title' },
        h('h2', {}, `Project #${project}`),
        temporalLink(workflowPath(loopWorkflowId(project)), 'loop workflow ↗'),
        temporalLink(`/workflows?query=${encodeURIComponent(`LabelLoopProjectId=${project}`)}`, 'all its workflows ↗'),
      ),
      h('div', { id: 'project-grid', class: 'grid' }),
    );
    // Fixed order, whatever answers first.
    card('curve', 'Learning curve', [], 'span2');
    card('champion', 'Champion', []);
    card('live', 'Current round', []);
    card('schedules', 'Schedules', []);
    card('failures', 'Recent failures', []);
    card('rounds', 'Recent rounds', [], 'full');
  }

  // Learning curve ---------------------------------------------------------------------------

  function destroyChart() {
    if (state.chart) {
      state.chart.observer.disconnect();
      state.chart.plot.destroy();
    }
    state.chart = null;
    state.chartKey = '';
  }

  /** A point's marker: its round's outcome; a replay of a failed round is 'replayed' (routes/rounds.ts). */
  function categoryOf(point) {
    return point.outcome === 'promoted' || point.outcome === 'rejected' || point.outcome === 'replayed' ? point.outcome : null;
  }

  /** Interval whiskers under the points: every round's candidate has its own. */
  function whiskers(u, pts, cats) {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    ctx.lineWidth = Math.max(1, devicePixelRatio);
    const cap = 4 * devicePixelRatio;
    pts.forEach((p, i) => {
      const cat = cats[i];
      if (!cat || typeof p.low !== 'number' || typeof p.high !== 'number') return;
      const x = u.valToPos(u.data[0][i], 'x', true);
      const y1 = u.valToPos(p.low, 'y', true);
      const y2 = u.valToPos(p.high, 'y', true);
      ctx.strokeStyle = COLORS[cat];
      ctx.globalAlpha = 0.55;
      ctx.beginPath();
      ctx.moveTo(x, y1);
      ctx.lineTo(x, y2);
      ctx.moveTo(x - cap, y1);
      ctx.lineTo(x + cap, y1);
      ctx.moveTo(x - cap, y2);
      ctx.lineTo(x + cap, y2);
      ctx.stroke();
    });
    ctx.restore();
  }

  function renderCurve(project, result, models) {
    const metricName = result.ok ? METRIC_NAMES[result.data.metric] || result.data.metric : '';
    const body = card('curve', 'Learning curve', [
      metricName && h('span', { class: 'muted' }, `${metricName}, cross-validated on the audit items`),
    ]);
    if (!result.ok) {
      destroyChart();
      body.replaceChildren(unavailable(result, 'Learning curve'));
      return;
    }
    // The champion line joins the candidates that were promoted (a replay's point is 'replayed' whatever its decision).
    const promoted = new Set((models.ok ? models.data.models : []).filter((m) => m.promoted === true).map((m) => m.version));
    const pts = (result.data.points || [])
      .filter((p) => typeof p.value === 'number' && typeof p.labels === 'number')
      .sort((a, b) => a.labels - b.labels || a.round - b.round);
    if (pts.length === 0) {
      destroyChart();
      body.replaceChildren(h('p', { class: 'muted' }, 'No evaluated round yet: the curve starts with the first trained model.'));
      return;
    }
    const cats = pts.map((p) => categoryOf(p));
    const only = (cat) => pts.map((p, i) => (cats[i] === cat ? p.value : null));
    const champion = pts.map((p) => p.outcome === 'promoted' || promoted.has(p.version));
    const data = [
      pts.map((p) => p.labels),
      pts.map((p, i) => (champion[i] ? p.high : null)),
      pts.map((p, i) => (champion[i] ? p.low : null)),
      pts.map((p, i) => (champion[i] ? p.value : null)),
      only('promoted'),
      only('rejected'),
      only('replayed'),
    ];
    const key = JSON.stringify([project, data, cats]);
    if (state.chart && state.chartKey === key) return;

    let holder = body.querySelector('.chart');
    if (!holder || !state.chart) {
      destroyChart();
      const info = h('div', { class: 'hover muted small', 'aria-live': 'polite' }, 'Hover a point for its round.');
      holder = h('div', { class: 'chart' });
      const legend = h(
        'div',
        { class: 'legend small' },
        h('span', {}, h('i', { class: 'dot promoted' }), 'promoted'),
        h('span', {}, h('i', { class: 'dot rejected' }), 'rejected'),
        h('span', {}, h('i', { class: 'dot replayed' }), 'replay'),
        h('span', {}, h('i', { class: 'swatch band' }), 'champion, 95% interval'),
        h('span', {}, h('i', { class: 'whisker' }), 'candidate interval'),
      );
      body.replaceChildren(holder, legend, info);
      const point = (cat, fill) => ({
        label: cat,
        stroke: COLORS[cat],
        width: 0,
        paths: () => null,
        points: { show: true, size: 10, width: 2, stroke: COLORS[cat], fill: fill || COLORS[cat] },
      });
      const hidden = { stroke: 'rgba(0,0,0,0)', width: 1, points: { show: false }, spanGaps: true };
      const opts = {
        width: Math.max(300, holder.clientWidth),
        height: 300,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { size: 12 } },
        scales: {
          x: { time: false },
          y: {
            range: (u, min, max) => {
              const lows = pts.map((p) => p.low).filter((v) => typeof v === 'number');
              const lo = Math.min(min, ...lows);
              const pad = Math.max(0.02, (max - lo) * 0.08);
              return [Math.max(0, lo - pad), Math.min(1, max + pad)];
            },
          },
        },
        axes: [
          { label: 'labelled tasks', stroke: COLORS.axis, grid: { stroke: COLORS.grid }, ticks: { stroke: COLORS.grid } },
          { label: metricName, stroke: COLORS.axis, grid: { stroke: COLORS.grid }, ticks: { stroke: COLORS.grid }, values: (u, ticks) => ticks.map((t) => t.toFixed(2)) },
        ],
        series: [
          { label: 'labels' },
          { label: 'high', ...hidden },
          { label: 'low', ...hidden },
          { label: 'champion', stroke: COLORS.champion, width: 2, spanGaps: true, points: { show: false } },
          point('promoted'),
          point('rejected', '#ffffff'),
          point('replayed'),
        ],
        bands: [{ series: [1, 2], fill: COLORS.band }],
        hooks: {
          drawAxes: [(u) => whiskers(u, state.chart ? state.chart.pts : pts, state.chart ? state.chart.cats : cats)],
          setCursor: [
            (u) => {
              const i = u.cursor.idx;
              const p = state.chart && i != null ? state.chart.pts[i] : null;
              info.textContent = p
                ? `Round #${p.round} · ${state.chart.cats[i] || p.outcome} · ${int(p.labels)} labels · ${metricName} ${fmt(p.value)} [${fmt(p.low)}, ${fmt(p.high)}] on n = ${int(p.n)} (${p.source === 'held-out' ? 'held-out split' : p.source}) · ${shortVersion(p.version)}`
                : 'Hover a point for its round.';
            },
          ],
        },
      };
      const plot = new uPlot(opts, data, holder);
      const observer = new ResizeObserver(() => {
        const width = Math.max(300, holder.clientWidth);
        if (Math.abs(width - plot.width) > 2) plot.setSize({ width, height: 300 });
      });
      observer.observe(holder);
      state.chart = { plot, observer, pts, cats };
    } else {
      state.chart.pts = pts;
      state.chart.cats = cats;
      state.chart.plot.setData(data);
    }
    state.chartKey = key;
    holder.dataset.points = String(pts.length);
    holder.dataset.promoted = String(cats.filter((c) => c === 'promoted').length);
    holder.dataset.rejected = String(cats.filter((c) => c === 'rejected').length);
    holder.dataset.replayed = String(cats.filter((c) => c === 'replayed').length);
  }

  // Champion ----------------------------------------------------------------------------------

  function renderChampion(project, models, rounds, champions) {
    const body = card('champion', 'Champion', []);
    if (!models.ok) {
      body.replaceChildren(unavailable(models, 'Models'));
      return;
    }
    const list = models.data.models || [];
    const champ = models.data.champion ? list.find((m) => m.version === models.data.champion) : null;
    if (!champ) {
      body.replaceChildren(h('p', { class: 'muted' }, list.length ? 'No model has been promoted yet.' : 'No model trained yet.'));
      return;
    }
    const m = champ.metrics || {};
    const base = champ.baselineMetrics || {};
    // The round that trained it (an operator's promotion or rollback has a round of its own, later).
    const round = rounds.ok ? (rounds.data.rounds || []).find((r) => r.modelVersion === champ.version && r.trigger !== 'promote' && r.trigger !== 'rollback') : null;
    // How it became champion: its round's decision, or an operator's promotion or rollback.
    const became = champions.ok ? (champions.data.history || []).find((c) => c.version === champ.version) : null;
    const vs = comparison(champ, 'accuracy');
    const decision = champ.promoted === true ? 'promoted' : champ.promoted === false ? 'rejected' : null;
    const perClass = Object.entries(m.perClassF1 || {});
    body.replaceChildren(
      h(
        'div',
        { class: 'champion-head' },
        h('div', { class: 'mono version', title: champ.version, 'data-testid': 'champion-version' }, champ.version),
        h(
          'div',
          { class: 'small muted' },
          `trained ${champ.createdAt ? ago(champ.createdAt) : '–'}`,
          round && round.trainCount != null ? ` on ${int(round.trainCount)} labels` : '',
          typeof champ.trainMs === 'number' ? ` in ${seconds(champ.trainMs)}` : '',
          round ? [' · round ', temporalLink(workflowPath(round.workflowId, round.runId), `#${round.round} ↗`) || `#${round.round}`] : '',
        ),
      ),
      h(
        'div',
        { class: 'stats' },
        h('div', { class: 'stat' }, h('div', { class: 'value' }, fmt(m.accuracy)), h('div', { class: 'label' }, 'accuracy')),
        h('div', { class: 'stat' }, h('div', { class: 'value' }, fmt(m.macroF1)), h('div', { class: 'label' }, 'macro-F1')),
        h('div', { class: 'stat' }, h('div', { class: 'value' }, int(m.n)), h('div', { class: 'label' }, 'audit n')),
      ),
      h('div', { class: 'small muted' }, `baseline (majority class): accuracy ${fmt(base.accuracy)}, macro-F1 ${fmt(base.macroF1)} · log-loss ${fmt(m.logLoss)}`),
      h(
        'div',
        { class: `evidence ${decision || ''}` },
        decision ? h('div', {}, badge(decision), ' ', h('span', { class: 'small muted' }, 'by the promotion gate')) : null,
        vs
          ? h(
              'div',
              { class: 'delta' },
              `Δ accuracy ${signed(vs.delta)}`,
              h('span', { class: 'muted' }, ` ${fmt(vs.value)} vs ${fmt(vs.other)} of the ${vs.otherName}, n = ${int(m.n)}`),
            )
          : null,
        champ.evidence && typeof champ.evidence.delta === 'number'
          ? h(
              'div',
              { class: 'small gate' },
              `paired on ${int(champ.evidence.n)} audit items: Δ ${champ.evidence.metric} ${signed(champ.evidence.delta)} ` +
                `[${signed(champ.evidence.low)}, ${signed(champ.evidence.high)}] at ${Math.round(champ.evidence.confidence * 100)} %, ` +
                `McNemar mid-p ${fmt(champ.evidence.pValue)} (${champ.evidence.rule})`,
            )
          : null,
        h('div', { class: 'small' }, champ.decisionReason || 'no recorded decision'),
        became && became.action !== 'round'
          ? h('div', { class: 'small' }, `${became.action === 'rollback' ? 'rolled back to' : 'promoted'} by ${became.actor || 'an operator'} ${ago(became.at)}: ${became.reason}`)
          : null,
      ),
      perClass.length
        ? h(
            'div',
            { class: 'per-class' },
            h('div', { class: 'small muted' }, 'F1 per class'),
            perClass.map(([label, f1]) =>
              h('div', { class: 'bar-row small' }, h('span', { class: 'bar-label', title: label }, label), h('div', { class: 'meter' }, h('span', { style: { width: `${Math.max(0, Math.min(1, f1)) * 100}%` } })), h('span', { class: 'mono' }, fmt(f1, 2))),
            ),
          )
        : null,
    );
  }

  // Current round -----------------------------------------------------------------------------

  function renderLive(project, status, summary) {
    const body = card('live', 'Current round', []);
    if (!status.ok) {
      body.replaceChildren(status.status === 404 ? h('p', { class: 'muted' }, 'No running loop for this project yet.') : unavailable(status, 'Loop status'));
      return;
    }
    const s = status.data;
    // The running round's step as the worker last reported it (routes/projects.ts: its row's progress).
    const p = s.progress;
    const running = s.currentRound != null;
    const stepIndex = p ? STEPS.indexOf(p.step) : -1;
    const parts = [
      h(
        'div',
        { class: 'phase' },
        h('span', { class: `badge phase-${s.phase}` }, s.phase),
        running ? [' round ', temporalLink(workflowPath(roundWorkflowId(project, s.currentRound)), `#${s.currentRound} ↗`) || `#${s.currentRound}`] : null,
      ),
    ];
    if (running) {
      parts.push(
        h(
          'ol',
          { class: 'steps' },
          STEPS.map((step, i) => h('li', { class: stepIndex < 0 ? '' : i < stepIndex ? 'done' : i === stepIndex ? 'active' : '' }, step)),
        ),
      );
      if (p) {
        // A step of unknown size (Label Studio's pages, pushed predictions) reports total 0: no bar value, its count.
        const known = p.total > 0;
        const share = known ? Math.min(1, p.done / p.total) : 0;
        parts.push(
          h(
            'div',
            { class: `progress${known ? '' : ' indeterminate'}`, role: 'progressbar', 'aria-valuemin': known ? 0 : null, 'aria-valuemax': known ? p.total : null, 'aria-valuenow': known ? p.done : null, 'aria-valuetext': progressAmount(p) },
            h('span', { style: { width: `${(share * 100).toFixed(1)}%` } }),
          ),
          h('div', { class: 'small' }, `${p.step}: ${progressAmount(p)}`, p.detail ? h('span', { class: 'muted detail' }, ` · ${p.detail}`) : null),
        );
      } else {
        parts.push(h('p', { class: 'muted small' }, 'Starting; no step has reported progress yet.'));
      }
    } else {
      const next = typeof s.nextRoundAt === 'number' ? `next round ${ago(s.nextRoundAt)}` : s.pendingAnnotations > 0 ? 'waiting for more labels or a quiet moment' : 'waiting for labels';
      parts.push(h('p', { class: 'small' }, next));
    }
    parts.push(
      h(
        'dl',
        { class: 'facts small' },
        h('dt', {}, 'pending labels'),
        h('dd', {}, int(s.pendingAnnotations)),
        h('dt', {}, 'pending tasks'),
        h('dd', {}, int(s.pendingTasks)),
        h('dt', {}, 'rounds started'),
        h('dd', {}, int(s.roundsStarted)),
        h('dt', {}, 'mode'),
        h('dd', {}, s.settings.mode),
        summary ? [h('dt', {}, 'sampling'), h('dd', {}, summary.strategy)] : null,
        h('dt', {}, 'debounce'),
        h('dd', {}, `≥ ${int(s.settings.minAnnotations)} labels, quiet ${seconds(s.settings.quietPeriodMs)}, at most ${seconds(s.settings.maxWaitMs)}`),
        s.queued && s.queued.length ? [h('dt', {}, 'queued'), h('dd', {}, s.queued.join('; '))] : null,
      ),
    );
    if (s.lastError) parts.push(h('div', { class: 'error small' }, `last error: ${s.lastError}`));
    body.replaceChildren(...parts);
  }

  // Schedules ---------------------------------------------------------------------------------

  function renderSchedules(project, result) {
    const body = card('schedules', 'Schedules', []);
    if (!result.ok) {
      body.replaceChildren(unavailable(result, 'Schedules'));
      return;
    }
    const list = result.data.schedules || [];
    if (list.length === 0) {
      body.replaceChildren(h('p', { class: 'muted' }, 'No schedules: rounds start from labels and requests only.'));
      return;
    }
    body.replaceChildren(
      h(
        'ul',
        { class: 'schedules' },
        list.map((s) => {
          const spec = s.spec || {};
          const what = spec.every ? `every ${spec.every}` : spec.cron ? `cron ${spec.cron}` : 'custom';
          return h(
            'li',
            {},
            h(
              'div',
              {},
              h('strong', {}, s.id),
              ' ',
              s.paused ? h('span', { class: 'badge paused' }, 'paused') : h('span', { class: 'badge active' }, 'active'),
              ' ',
              temporalLink(`/schedules/${encodeURIComponent(`label-loop-project-${project}-${s.id}`)}`, '↗'),
            ),
            h('div', { class: 'small' }, what, spec.timezone ? ` (${spec.timezone})` : '', spec.jitter ? `, jitter ${spec.jitter}` : ''),
            h(
              'div',
              { class: 'small muted' },
              s.nextRuns && s.nextRuns.length && !s.paused ? ['next ', when(s.nextRuns[0])] : 'no next run',
              s.recentRuns && s.recentRuns.length ? [' · last ', when(s.recentRuns[s.recentRuns.length - 1])] : '',
            ),
            s.note ? h('div', { class: 'small note' }, s.note) : null,
          );
        }),
      ),
    );
  }

  // Failures and replay -----------------------------------------------------------------------

  async function replay(project, round, button) {
    button.disabled = true;
    button.textContent = 'Requesting…';
    const res = await api(`/api/projects/${project}/rounds/${round}/replay`, {
      method: 'POST',
      body: JSON.stringify({ fresh: state.replayFresh, reason: 'replayed from the dashboard' }),
    });
    state.notes.set(`${project}/${round}`, res.ok ? { ok: true, text: `Replay requested${res.data && res.data.fresh ? ' with fresh data' : ''}.` } : { ok: false, text: `Replay refused: ${res.status ? `${res.status}: ` : ''}${res.error}` });
    void refresh();
  }

  function renderFailures(project, result) {
    const fresh = h('label', { class: 'small' }, h('input', { type: 'checkbox', checked: state.replayFresh, onchange: (e) => (state.replayFresh = e.target.checked) }), ' replay on fresh data');
    const body = card('failures', 'Recent failures', [fresh]);
    if (!result.ok) {
      body.replaceChildren(unavailable(result, 'Failed rounds'));
      return;
    }
    const list = result.data.rounds || [];
    if (list.length === 0) {
      body.replaceChildren(h('p', { class: 'muted' }, 'No failed round waiting for a replay.'));
      return;
    }
    body.replaceChildren(
      h(
        'ul',
        { class: 'failures' },
        list.map((r) => {
          const note = state.notes.get(`${project}/${r.round}`);
          return h(
            'li',
            {},
            h(
              'div',
              { class: 'failure-head' },
              h('strong', {}, `#${r.round}`),
              ' ',
              badge(r.outcome),
              ' ',
              h('span', { class: 'muted small' }, when(r.finishedAt || r.startedAt)),
              ' ',
              temporalLink(workflowPath(r.workflowId, r.runId), 'history ↗'),
              r.replayedBy != null
                ? h('span', { class: 'small muted' }, ` replayed by #${r.replayedBy}`)
                : note && note.ok
                  ? null // requested: the replay shows up among the rounds once it starts
                  : h('button', { type: 'button', class: 'replay', 'data-round': r.round, onclick: (e) => replay(project, r.round, e.currentTarget) }, 'Replay'),
            ),
            r.error ? h('div', { class: 'error small' }, h('span', { class: 'mono' }, r.error.type), `: ${r.error.message}`) : null,
            note ? h('div', { class: `small ${note.ok ? 'ok' : 'error'}`, role: 'status' }, note.text) : null,
          );
        }),
      ),
    );
  }

  // Recent rounds -----------------------------------------------------------------------------

  function stepBar(steps) {
    const entries = STEPS.map((s) => [s, steps && steps[s] ? steps[s].ms : 0]).filter(([, ms]) => ms > 0);
    const total = entries.reduce((a, [, ms]) => a + ms, 0);
    if (total === 0) return h('span', { class: 'muted' }, '–');
    return h(
      'div',
      { class: 'stepbar', title: entries.map(([s, ms]) => `${s} ${seconds(ms)}`).join(' · ') },
      entries.map(([s, ms]) => h('span', { style: { width: `${((ms / total) * 100).toFixed(2)}%`, background: STEP_COLORS[s] } })),
    );
  }

  /** The "decision" cell: a trained round's comparison; an operator's change or a failure says what it was. */
  function decisionCell(r, model) {
    const reason = r.evidence ? r.evidence.reason : r.error ? `${r.error.type}: ${r.error.message}` : '';
    if (r.outcome === 'replayed') return h('td', { class: 'small', title: reason }, r.replayedBy != null ? `failed, replayed by #${r.replayedBy}` : 'failed, replayed');
    if (r.error) return h('td', { class: 'small', title: reason }, h('span', { class: 'error' }, r.error.type));
    if (r.trigger === 'promote' || r.trigger === 'rollback') return h('td', { class: 'small', title: reason }, `${r.trigger} by an operator`);
    const vs = comparison(model, 'accuracy');
    return h('td', { class: 'small', title: reason }, vs ? `Δ accuracy ${signed(vs.delta)} vs ${vs.otherName}` : r.outcome === 'running' ? '…' : '–');
  }

  function renderRounds(project, result, models) {
    const legend = h('span', { class: 'step-legend small' }, STEPS.map((s) => h('span', {}, h('i', { style: { background: STEP_COLORS[s] } }), s)));
    const body = card('rounds', 'Recent rounds', [legend], 'full');
    if (!result.ok) {
      body.replaceChildren(unavailable(result, 'Rounds'));
      return;
    }
    const list = result.data.rounds || [];
    if (list.length === 0) {
      body.replaceChildren(h('p', { class: 'muted' }, 'No rounds yet.'));
      return;
    }
    body.replaceChildren(
      h(
        'table',
        { class: 'rounds' },
        h(
          'thead',
          {},
          h('tr', {}, ['round', 'outcome', 'trigger', 'trained on', 'decision', 'model', 'started', 'took', 'steps', ''].map((t) => h('th', {}, t))),
        ),
        h(
          'tbody',
          {},
          list.map((r) => {
            const took = r.finishedAt ? Date.parse(r.finishedAt) - Date.parse(r.startedAt) : null;
            const model = r.modelVersion && models.ok ? (models.data.models || []).find((m) => m.version === r.modelVersion) : null;
            return h(
              'tr',
              {},
              h('td', {}, `#${r.round}`, r.replayOf != null ? h('span', { class: 'small muted' }, ` ↺ #${r.replayOf}`) : null),
              h('td', {}, badge(r.outcome)),
              h('td', { class: 'small' }, r.trigger),
              h('td', {}, int(r.trainCount)),
              decisionCell(r, model),
              h('td', { class: 'mono small', title: r.modelVersion || '' }, shortVersion(r.modelVersion)),
              h('td', { class: 'small' }, when(r.startedAt)),
              h('td', { class: 'small' }, took !== null ? seconds(took) : r.outcome === 'running' ? 'running' : '–'),
              h('td', { class: 'steps-cell' }, r.outcome === 'running' && r.progress ? h('span', { class: 'small' }, `${r.progress.step}: ${progressAmount(r.progress)}`) : stepBar(r.steps)),
              h('td', {}, temporalLink(workflowPath(r.workflowId, r.runId), '↗')),
            );
          }),
        ),
      ),
    );
  }

  // --- polling ------------------------------------------------------------------------------

  let inFlight = null;
  let again = false;

  async function load() {
    const projects = await api('/api/projects');
    renderProjects(projects);
    const project = state.selected;
    if (project === null) {
      document.getElementById('project').replaceChildren();
      document.body.dataset.loaded = 'true';
      return;
    }
    ensureProjectFrame(project);
    const base = `/api/projects/${project}`;
    const [status, models, champions, rounds, failures, curve, schedules] = await Promise.all([
      api(`${base}/status`),
      api(`${base}/models`),
      api(`${base}/champions`),
      api(`${base}/rounds?limit=20`),
      api(`${base}/rounds?outcome=failed&limit=10`),
      api(`${base}/learning-curve`),
      api(`${base}/schedules`),
    ]);
    if (state.selected !== project) return; // switched meanwhile: the next load draws the new one
    const summary = projects.ok ? (projects.data.projects || []).find((p) => p.id === project) : null;
    renderCurve(project, curve, models);
    renderChampion(project, models, rounds, champions);
    renderLive(project, status, summary);
    renderSchedules(project, schedules);
    renderFailures(project, failures);
    renderRounds(project, rounds, models);
    document.body.dataset.loaded = 'true';
  }

  /** Loads now (once more after the current load, if one is running) and schedules the next poll. */
  async function refresh() {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    clearTimeout(state.timer);
    inFlight = (async () => {
      do {
        again = false;
        await load();
      } while (again);
    })().finally(() => {
      inFlight = null;
    });
    await inFlight;
    document.getElementById('updated').textContent = `updated ${new Date().toLocaleTimeString()}${state.paused ? ' · paused' : ` · every ${Math.round(config.refreshMs / 1000)} s`}`;
    clearTimeout(state.timer);
    // A hidden tab stops polling; showing it again refreshes at once.
    if (!state.paused && !document.hidden) state.timer = setTimeout(refresh, config.refreshMs);
  }

  // --- start --------------------------------------------------------------------------------

  const input = document.getElementById('project-input');
  const openTyped = () => select(Number(input.value.trim()));
  document.getElementById('project-open').addEventListener('click', openTyped);
  input.addEventListener('keydown', (e) => e.key === 'Enter' && openTyped());
  const pause = document.getElementById('pause');
  pause.addEventListener('click', () => {
    state.paused = !state.paused;
    pause.textContent = state.paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(state.paused));
    void refresh();
  });
  const temporalHome = temporalLink('/workflows', 'Temporal UI ↗');
  if (temporalHome) document.getElementById('temporal-link').append(temporalHome);
  window.addEventListener('hashchange', () => {
    const p = selectedFromHash();
    if (p !== null) select(p);
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !state.paused) void refresh();
  });

  state.selected = selectedFromHash();
  if (state.selected !== null) input.value = String(state.selected);
  void refresh();
})();
