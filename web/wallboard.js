/*
 * The supervisor wallboard: per queue the callers waiting, the longest
 * wait, agents ready / busy / not ready and today's figures; the agents
 * with their states (and listen / whisper / barge for those on a call);
 * the calls in progress.  Live: kpi.tick every 5 s, and each queue, agent
 * or call event updates what it touches at once.
 */
import {api, connectEvents, debounce, el, errorText, fmtDuration,
	fmtLanguage, fmtPath, fmtPct, fmtSecs, fmtTime, has, initChrome, say,
	sayNow, session, start, stateBadge, t} from './app.js';

const $ = (id) => document.getElementById(id);

let me = null;
let queues = [];
let agents = [];
let calls = [];

function stamp() {
	$('updated').textContent = t('wb.updated', {time: fmtTime(Date.now())});
}

/* ---------- queues ---------- */

function cell(name, key, value, extra = '') {
	return el('td', {class: `num${extra ? ' ' + extra : ''}`, text: value,
			 dataset: {queue: name, k: key}});
}

function queueRow(q) {
	const a = q.agents || {}, d = q.today || {};
	return el('tr', {dataset: {queue: q.name}, class: q.waiting > 0 ? 'has-waiting' : ''},
		el('th', {scope: 'row', text: q.name}),
		cell(q.name, 'waiting', String(q.waiting), q.waiting > 0 ? 'big alert-n' : 'big'),
		cell(q.name, 'longest_wait', fmtDuration(q.longest_wait_s), 'big'),
		cell(q.name, 'ready', String(a.ready ?? 0)),
		cell(q.name, 'busy', String(a.busy ?? 0)),
		cell(q.name, 'not_ready', String(a.not_ready ?? 0)),
		cell(q.name, 'offered', String(d.offered ?? 0), 'today'),
		cell(q.name, 'answered', String(d.answered ?? 0)),
		cell(q.name, 'abandoned', String(d.abandoned ?? 0)),
		cell(q.name, 'connect_rate', fmtPct(d.connect_rate)),
		cell(q.name, 'service_level', fmtPct(d.service_level)),
		cell(q.name, 'asa', fmtSecs(d.asa_s)));
}

function renderQueues() {
	$('queue-rows').replaceChildren(...queues.map(queueRow));
	$('queues-table').hidden = queues.length === 0;
	$('no-queues').hidden = queues.length > 0;
	stamp();
}

async function loadQueues() {
	const res = await api('GET', '/api/v1/queues');
	queues = res.items || [];
	renderQueues();
}

/* ---------- agents ---------- */

const MODES = ['listen', 'whisper', 'barge'];

async function supervise(agent, mode) {
	sayNow($('sup-error'), '');
	try {
		await api('POST', '/api/v1/supervise', {agent, mode});
		say($('sup-status'), t('wb.sup.' + mode, {agent}));
	} catch (e) {
		sayNow($('sup-status'), '');
		say($('sup-error'), errorText(e));
	}
}

function actionsFor(a) {
	if (a.state !== 'on-call')
		return [];
	return MODES.map((m) => el('button', {
		type: 'button', class: 'small', text: t('wb.' + m),
		'aria-label': t(`wb.${m}.label`, {agent: a.id}),
		dataset: {mode: m}, onclick: () => supervise(a.id, m),
	}));
}

function reasonText(a) {
	if (a.state !== 'not-ready' || !a.reason)
		return '';
	return has('reason.' + a.reason) ? t('reason.' + a.reason) : a.reason;
}

/* Rows are kept and updated, so that keyboard focus on a button stays. */
function renderAgents() {
	const body = $('agent-rows');
	const rows = new Map([...body.children].map((r) => [r.dataset.agent, r]));
	const keep = [];
	for (const a of agents) {
		let r = rows.get(a.id);
		if (!r) {
			r = el('tr', {dataset: {agent: a.id}},
			       el('th', {scope: 'row', text: a.id}),
			       el('td', {}, el('span'), ' ', el('span', {class: 'reason'})),
			       el('td', {}, el('div', {class: 'actions nowrap'})));
		}
		const [, st, ac] = r.children;
		const [badge, rs] = st.children;
		const lang = document.documentElement.lang;
		if (st.dataset.state !== a.state || st.dataset.lang !== lang) {
			badge.replaceChildren(stateBadge(a.state));
			st.dataset.state = a.state;
			st.dataset.lang = lang;
			ac.firstChild.replaceChildren(...actionsFor(a));
		}
		rs.textContent = reasonText(a);
		r.dataset.state = a.state;
		keep.push(r);
	}
	body.replaceChildren(...keep);
	$('agents-table').hidden = agents.length === 0;
	$('no-agents').hidden = agents.length > 0;
}

async function loadAgents() {
	const res = await api('GET', '/api/v1/agents');
	agents = res.items || [];
	renderAgents();
}

/* ---------- calls ---------- */

function callStateText(s) {
	return has('call.' + s) ? t('call.' + s) : s;
}

function renderCalls() {
	const now = Date.now();
	const rows = calls.map((c) => el('tr', {dataset: {call: c.id, state: c.state}},
		el('td', {}, c.caller, c.state === 'answered' ? '' :
		   el('span', {class: 'reason', text: ` · ${callStateText(c.state)}`})),
		el('td', {text: c.hotline || c.dialled}),
		el('td', {text: fmtLanguage(c.language)}),
		el('td', {class: 'path', text: fmtPath(c.path)}),
		el('td', {class: 'num', text: fmtDuration((now - (c.start_ms || now)) / 1000)})));
	$('call-rows').replaceChildren(...rows);
	$('calls-table').hidden = rows.length === 0;
	$('no-calls').hidden = rows.length > 0;
}

async function loadCalls() {
	const res = await api('GET', '/api/v1/calls');
	calls = res.items || [];
	renderCalls();
}

/* ---------- live ---------- */

const refreshQueues = debounce(() => loadQueues().catch(() => {}), 300);
const refreshAgents = debounce(() => loadAgents().catch(() => {}), 300);
const refreshCalls = debounce(() => loadCalls().catch(() => {}), 300);

function onEvent(m) {
	const d = m.data || {};
	switch (m.type) {
	case 'kpi.tick':
		queues = d.items || [];
		renderQueues();
		break;
	case 'queue': {
		/* The number waiting changes now; the figures follow. */
		const q = queues.find((x) => x.name === d.queue);
		if (q && typeof d.waiting === 'number') {
			q.waiting = d.waiting;
			renderQueues();
		}
		refreshQueues();
		refreshCalls();
		break;
	}
	case 'agent.state': {
		const a = agents.find((x) => x.id === d.agent);
		if (a) {
			a.state = d.state;
			a.reason = d.reason;
			renderAgents();
		}
		refreshAgents();
		refreshQueues();
		break;
	}
	case 'call.started':
	case 'call.ringing':
	case 'call.answered':
	case 'call.ended':
		refreshCalls();
		break;
	default:
		break;
	}
}

async function main() {
	me = await session('supervisor');
	initChrome(me);
	document.addEventListener('langchange', () => {
		renderQueues();
		renderAgents();
		renderCalls();
	});
	await Promise.all([loadQueues(), loadAgents(), loadCalls()]);
	connectEvents(onEvent, () => {
		loadQueues().catch(() => {});
		loadAgents().catch(() => {});
		loadCalls().catch(() => {});
	});
	/* Durations tick; the lists are re-read now and then as a safety net. */
	setInterval(renderCalls, 1000);
	setInterval(() => {
		loadAgents().catch(() => {});
		loadCalls().catch(() => {});
	}, 15000);
	document.body.dataset.ready = '1';
}

start(main);
