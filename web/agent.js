/*
 * The agent desktop: the agent's own state (ready, not ready with a
 * reason, logged out), the screen pop when the ACD rings this agent
 * (queue event RING or CONNECT naming it) — with the caller's card for a
 * booth or an elder's one-touch device (GET /api/v1/callers/{account}) —
 * the wrap-up form once the call ends, the open call-back tasks and a
 * click-to-call box.
 */
import {ApiError, api, connectEvents, debounce, el, errorText, fmtLanguage,
	fmtPath, fmtTime, getLang, has, initChrome, say, sayNow, session,
	start, stateBadge, stateName, t} from './app.js';

const $ = (id) => document.getElementById(id);

let me = null;
let state = '', reason = '';
let pop = null;      /* {call, caller, hotline, language, path, queue, phase} */
let wrap = null;     /* the call to wrap up: {call, caller, hotline} */
const waiting = new Map();   /* queue → callers waiting */
let card = null;     /* the caller's card: {call, caller, data} (data null: none) */

/* The caller card's own strings (app.js holds the shared ones). */
const CARD = {
	zh: {
		'cc.booth': '电话亭来电',
		'cc.elder': '助老一键通 · 老人资料',
		'cc.booth.name': '电话亭',
		'cc.name': '姓名',
		'cc.address': '地址',
		'cc.district': '区',
		'cc.position': '位置',
		'cc.map': '在地图上查看（新窗口）',
		'cc.online': '电话亭状态',
		'cc.online.yes': '在线',
		'cc.online.no': '离线',
		'cc.conditions': '健康情况',
		'cc.ext': '回拨分机',
		'cc.contacts': '紧急联系人（按呼叫顺序）',
		'cc.contacts.booth': '升级联系人（按呼叫顺序）',
		'cc.call': '拨打',
		'cc.call.label': '拨打{name}（{relation}）{number}',
		'cc.noprofile': '这台一键通设备还没有登记老人资料。',
		'cc.loading': '正在读取来电者资料…',
		'cc.shown': '已显示来电者资料：{who}',
		'cb.kind.elder': '助老求助回拨',
	},
	en: {
		'cc.booth': 'Call from a phone booth',
		'cc.elder': 'One-touch elder help · profile',
		'cc.booth.name': 'Booth',
		'cc.name': 'Name',
		'cc.address': 'Address',
		'cc.district': 'District',
		'cc.position': 'Position',
		'cc.map': 'Show on a map (new window)',
		'cc.online': 'Booth status',
		'cc.online.yes': 'online',
		'cc.online.no': 'offline',
		'cc.conditions': 'Health notes',
		'cc.ext': 'Call-back extension',
		'cc.contacts': 'Emergency contacts (in calling order)',
		'cc.contacts.booth': 'Escalation contacts (in calling order)',
		'cc.call': 'Call',
		'cc.call.label': 'Call {name} ({relation}) on {number}',
		'cc.noprofile': 'No elder profile is registered for this device yet.',
		'cc.loading': 'Reading the caller\'s details…',
		'cc.shown': 'Caller details shown: {who}',
		'cb.kind.elder': 'Elder help call-back',
	},
};

function ct(key, vars) {
	const table = CARD[getLang()] || CARD.zh;
	let s = table[key] !== undefined ? table[key] : CARD.zh[key];
	if (vars)
		s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
	return s;
}

/* ---------- my state ---------- */

function renderState() {
	const box = $('my-state');
	box.replaceChildren(state ? stateBadge(state, true) : '');
	$('my-reason').textContent = state === 'not-ready' && reason ?
		(has('reason.' + reason) ? t('reason.' + reason) : reason) : '';
	const linked = Boolean(me && me.agent);
	$('btn-ready').disabled = !linked || state === 'ready';
	$('btn-notready').disabled = !linked;
	$('btn-logout').disabled = !linked || state === 'logged-out';
	$('reason').disabled = !linked;
}

function setState(s, r) {
	const before = state;
	state = s;
	reason = r || '';
	renderState();
	if (!pop)
		return;
	/* The phone stopped ringing without an answer: a missed call. */
	if (pop.phase === 'ringing' && before === 'reserved' &&
	    s !== 'reserved' && s !== 'on-call') {
		pop.phase = 'missed';
		renderPop();
	}
	/* The call is over: wrap it up. */
	if (pop.phase === 'connected' && before === 'on-call' && s !== 'on-call')
		endCall();
}

async function loadAgent() {
	if (!me.agent)
		return;
	const res = await api('GET', '/api/v1/agents');
	const a = (res.items || []).find((x) => x.id === me.agent);
	if (!a) {
		$('agent-unlinked').hidden = false;
		return;
	}
	setState(a.state, a.reason);
	/* After a reload in the middle of a call: what we know of it. */
	if (!pop && a.call && (a.state === 'on-call' || a.state === 'reserved')) {
		pop = {call: a.call, caller: '', hotline: '', language: '', path: '',
		       queue: a.queue, phase: a.state === 'on-call' ? 'connected' : 'ringing'};
		renderPop();
	}
}

async function changeState(to) {
	sayNow($('state-error'), '');
	try {
		const body = {state: to};
		if (to === 'not-ready')
			body.reason = $('reason').value;
		const a = await api('PUT', `/api/v1/agents/${encodeURIComponent(me.agent)}/state`, body);
		setState(a.state, a.reason);
		say($('state-status'), t('agent.state.changed', {state: stateName(a.state)}));
	} catch (e) {
		say($('state-status'), '');
		say($('state-error'), errorText(e));
	}
}

/* ---------- the screen pop ---------- */

function renderPop() {
	const card = $('pop-card');
	card.classList.toggle('ringing', Boolean(pop && pop.phase === 'ringing'));
	card.classList.toggle('connected', Boolean(pop && pop.phase === 'connected'));
	$('pop-idle').hidden = Boolean(pop);
	$('pop').hidden = !pop;
	if (!pop) {
		sayNow($('pop-status'), '');
		renderCard();
		return;
	}
	sayNow($('pop-status'), t('pop.' + pop.phase));
	$('pop-caller').textContent = pop.caller || '—';
	$('pop-hotline').textContent = pop.hotline || '—';
	$('pop-language').textContent = fmtLanguage(pop.language) || '—';
	$('pop-path').textContent = fmtPath(pop.path) || '—';
	$('pop-path').dataset.raw = pop.path || '';
	$('pop-queue').textContent = pop.queue || '—';
	$('pop-call').textContent = pop.call || '—';
	renderCard();
}

function popFrom(d, phase) {
	const same = pop && pop.call === d.call;
	pop = {
		call: d.call,
		caller: d.caller || (same ? pop.caller : ''),
		hotline: d.hotline || (same ? pop.hotline : ''),
		language: d.language || (same ? pop.language : ''),
		path: d.path || (same ? pop.path : ''),
		queue: d.queue || (same ? pop.queue : ''),
		phase,
	};
	renderPop();
	loadCard();
}

/* ---------- the caller's card (booth or elder) ---------- */

function fact(key, value, cls) {
	if (value === undefined || value === null || value === '')
		return [];
	const dd = el('dd', {class: cls}, value);
	return [el('dt', {text: ct(key)}), dd];
}

function renderCard() {
	const box = $('caller-card');
	const d = card && pop && card.call === pop.call ? card.data : null;
	box.hidden = !d;
	if (!d)
		return;
	const facts = [];
	let contacts = [];
	let title, note = '';
	if (d.kind === 'booth') {
		const b = d.booth;
		const en = getLang() === 'en' && b.name_en;
		title = ct('cc.booth');
		const lat = Number(b.lat).toFixed(6), lon = Number(b.lon).toFixed(6);
		facts.push(...fact('cc.booth.name', `${en ? b.name_en : b.name} (${b.id})`, 'cc-name'),
			   ...fact('cc.address', b.address, 'cc-address'),
			   ...fact('cc.district', b.district),
			   ...fact('cc.position', el('span', {},
				   el('span', {class: 'cc-coords', text: `${lat}, ${lon}`}), ' ',
				   el('a', {href: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=18/${lat}/${lon}`,
					    target: '_blank', rel: 'noopener noreferrer',
					    text: ct('cc.map')}))),
			   ...fact('cc.online', ct(b.online ? 'cc.online.yes' : 'cc.online.no')),
			   ...fact('cc.ext', d.ext));
		contacts = d.contacts || [];
	}
	else {
		const p = d.profile;
		title = ct('cc.elder');
		if (!p) {
			note = ct('cc.noprofile');
			facts.push(...fact('cc.ext', d.ext));
		}
		else {
			facts.push(...fact('cc.name', p.name, 'cc-name'),
				   ...fact('cc.address', p.address, 'cc-address'),
				   ...fact('cc.district', p.district),
				   ...fact('cc.conditions', p.conditions, 'cc-conditions'),
				   ...fact('cc.ext', d.ext));
			contacts = p.contacts || [];
		}
	}
	$('cc-h').textContent = title;
	$('cc-note').textContent = note;
	$('cc-note').hidden = !note;
	$('cc-facts').replaceChildren(...facts);
	$('cc-contacts-h').textContent = ct(d.kind === 'booth' ? 'cc.contacts.booth' : 'cc.contacts');
	$('cc-contacts-h').hidden = contacts.length === 0;
	$('cc-contacts').hidden = contacts.length === 0;
	$('cc-contacts').replaceChildren(...contacts.map((c) => el('li', {},
		el('span', {class: 'cc-contact', text: c.name}),
		c.relation ? el('span', {class: 'cc-relation', text: c.relation}) : null,
		el('span', {class: 'cc-number', text: c.number}),
		el('button', {type: 'button', class: 'small', text: ct('cc.call'),
			      'aria-label': ct('cc.call.label', {name: c.name,
								 relation: c.relation || '—', number: c.number}),
			      onclick: () => clickToCall(c.number, $('cc-status'), $('cc-error'))}))));
}

/* The pop names the caller's account: a booth or an elder's device has a
 * card; anybody else gets a 404 and none. */
async function loadCard() {
	if (!pop || !pop.caller) {
		renderCard();
		return;
	}
	if (card && card.call === pop.call && card.caller === pop.caller) {
		renderCard();
		return;
	}
	const want = {call: pop.call, caller: pop.caller, data: null};
	card = want;
	renderCard();
	try {
		const d = await api('GET', `/api/v1/callers/${encodeURIComponent(want.caller)}`);
		if (card !== want)
			return;
		want.data = d;
		renderCard();
		const who = d.kind !== 'booth' ? (d.profile ? d.profile.name : d.account) :
			getLang() === 'en' && d.booth.name_en ? d.booth.name_en : d.booth.name;
		say($('cc-status'), ct('cc.shown', {who}));
	} catch (e) {
		if (card !== want)
			return;
		if (!(e instanceof ApiError && e.status === 404))
			say($('cc-error'), errorText(e));
	}
}

function endCall() {
	if (!pop || pop.phase === 'ended')
		return;
	pop.phase = 'ended';
	renderPop();
	wrap = {call: pop.call, caller: pop.caller, hotline: pop.hotline};
	showWrapup();
}

/* ---------- wrap-up ---------- */

function showWrapup() {
	const card = $('wrapup-card');
	if (!wrap) {
		card.hidden = true;
		return;
	}
	$('wrapup-for').textContent = t('wrapup.for', {caller: wrap.caller || '—',
						       hotline: wrap.hotline || '—'});
	const opening = card.hidden;
	card.hidden = false;
	sayNow($('wrapup-status'), '');
	/* Straight to the form, unless the agent is typing elsewhere. */
	const a = document.activeElement;
	if (opening && (!a || a === document.body || a.tagName === 'BUTTON'))
		$('wu-category').focus();
}

async function saveWrapup(ev) {
	ev.preventDefault();
	const cat = $('wu-category');
	if (!cat.value) {
		say($('wrapup-error'), `${t('wrapup.category')}: ${t('wrapup.choose')}`);
		cat.focus();
		return;
	}
	const btn = $('wu-save');
	btn.disabled = true;
	sayNow($('wrapup-error'), '');
	try {
		await api('POST', `/api/v1/calls/${encodeURIComponent(wrap.call)}/wrapup`,
			  {category: cat.value, notes: $('wu-notes').value, ready: true});
		wrap = null;
		$('wrapup-form').reset();
		$('wrapup-card').hidden = true;
		if (pop && pop.phase === 'ended') {
			pop = null;
			renderPop();
		}
		say($('wrapup-status'), t('wrapup.saved'));
		await loadAgent();
	} catch (e) {
		say($('wrapup-error'), errorText(e));
	} finally {
		btn.disabled = false;
	}
}

/* ---------- callers waiting ---------- */

function renderWaiting() {
	const ul = $('waiting');
	const items = [...waiting.entries()].map(([q, n]) =>
		el('li', {dataset: {queue: q}}, el('span', {text: q}), ' ',
		   el('span', {class: 'n', text: String(n)}), ' ',
		   el('span', {text: t('agent.waiting.n')})));
	ul.replaceChildren(...(items.length ? items : [el('li', {class: 'empty', text: t('agent.waiting.none')})]));
}

async function loadQueues() {
	const res = await api('GET', '/api/v1/queues');
	waiting.clear();
	for (const q of res.items || [])
		waiting.set(q.name, q.waiting);
	renderWaiting();
}

/* ---------- call-back tasks ---------- */

function kindOf(recording) {
	if (recording === 'missed')
		return t('cb.kind.missed');
	if (recording === 'elder')
		return ct('cb.kind.elder');
	return recording ? t('cb.kind.message') : t('cb.kind.callback');
}

async function clickToCall(number, statusBox, errorBox) {
	sayNow(errorBox, '');
	try {
		await api('POST', '/api/v1/click-to-call', {number});
		say(statusBox, t('ctc.ringing', {number}));
	} catch (e) {
		sayNow(statusBox, '');
		say(errorBox, errorText(e));
	}
}

async function loadCallbacks() {
	const res = await api('GET', '/api/v1/callbacks?limit=100');
	const rows = (res.items || []).map((cb) => {
		const number = cb.number || cb.caller;
		return el('tr', {dataset: {id: String(cb.id)}},
			el('td', {text: fmtTime(cb.created_ms, true)}),
			el('td', {text: number}),
			el('td', {text: cb.hotline}),
			el('td', {text: kindOf(cb.recording)}),
			el('td', {}, el('div', {class: 'actions'},
				el('button', {type: 'button', class: 'small', text: t('cb.call'),
					      'aria-label': t('cb.call.label', {number}),
					      onclick: () => clickToCall(number, $('cb-status'), $('cb-error'))}),
				el('button', {type: 'button', class: 'small', text: t('cb.done'),
					      'aria-label': t('cb.done.label', {number}),
					      onclick: () => callbackDone(cb.id, number)}))));
	});
	$('cb-rows').replaceChildren(...rows);
	$('cb-table').hidden = rows.length === 0;
	$('cb-empty').hidden = rows.length > 0;
}

async function callbackDone(id, number) {
	sayNow($('cb-error'), '');
	try {
		await api('POST', `/api/v1/callbacks/${encodeURIComponent(id)}/done`);
		say($('cb-status'), t('cb.marked', {number}));
		await loadCallbacks();
		$('h-cb').focus();
	} catch (e) {
		say($('cb-error'), errorText(e));
	}
}

/* ---------- events ---------- */

const refreshCallbacks = debounce(() => loadCallbacks().catch(() => {}), 500);
const refreshAgent = debounce(() => loadAgent().catch(() => {}), 300);

function onEvent(m) {
	const d = m.data || {};
	switch (m.type) {
	case 'agent.state':
		if (d.agent === me.agent) {
			setState(d.state, d.reason);
			refreshAgent();
		}
		break;
	case 'queue':
		if (typeof d.waiting === 'number' && d.queue) {
			waiting.set(d.queue, d.waiting);
			renderWaiting();
		}
		if (d.agent && d.agent === me.agent) {
			if (d.event === 'RING')
				popFrom(d, 'ringing');
			else if (d.event === 'CONNECT' || d.event === 'CALLBACKANSWERED')
				popFrom(d, 'connected');
			else if ((d.event === 'COMPLETEAGENT' || d.event === 'COMPLETECALLER') &&
				 (!pop || pop.call === d.call || pop.phase !== 'connected')) {
				if (!pop || pop.call !== d.call)
					popFrom(d, 'connected');
				endCall();
			}
			else if (d.event === 'RINGNOANSWER' && pop && pop.call === d.call &&
				 pop.phase === 'ringing') {
				pop.phase = 'missed';
				renderPop();
			}
		}
		if (['CALLBACKREQUEST', 'ABANDON', 'EXITWITHTIMEOUT', 'EXITEMPTY',
		     'EXITFULL', 'CALLBACKFAILED'].includes(d.event))
			refreshCallbacks();
		break;
	case 'call.answered':
		if (pop && d.id === pop.call && pop.phase === 'ringing')
			popFrom({call: pop.call}, 'connected');
		break;
	case 'call.ended':
		if (pop && d.id === pop.call) {
			if (pop.phase === 'connected')
				endCall();
			else if (pop.phase === 'ringing') {
				pop.phase = 'missed';
				renderPop();
			}
		}
		refreshCallbacks();
		break;
	case 'kpi.tick':
		for (const q of d.items || [])
			waiting.set(q.name, q.waiting);
		renderWaiting();
		break;
	default:
		break;
	}
}

/* ---------- start ---------- */

async function main() {
	me = await session('agent');
	initChrome(me);
	$('agent-unlinked').hidden = Boolean(me.agent);
	renderState();
	renderPop();

	$('btn-ready').addEventListener('click', () => changeState('ready'));
	$('btn-notready').addEventListener('click', () => changeState('not-ready'));
	$('btn-logout').addEventListener('click', () => changeState('logged-out'));
	$('wrapup-form').addEventListener('submit', saveWrapup);
	$('cb-refresh').addEventListener('click', () =>
		loadCallbacks().catch((e) => say($('cb-error'), errorText(e))));
	$('ctc-form').addEventListener('submit', (ev) => {
		ev.preventDefault();
		const n = $('ctc-number').value.trim();
		if (!/^[0-9*#+]{1,63}$/.test(n)) {
			say($('ctc-error'), `${t('ctc.number')}: ${t('err.bad_request')}`);
			$('ctc-number').focus();
			return;
		}
		clickToCall(n, $('ctc-status'), $('ctc-error'));
	});
	document.addEventListener('langchange', () => {
		renderState();
		renderPop();
		renderWaiting();
		if (wrap)
			$('wrapup-for').textContent = t('wrapup.for', {caller: wrap.caller || '—',
								       hotline: wrap.hotline || '—'});
		loadCallbacks().catch(() => {});
	});

	await Promise.all([loadAgent(), loadQueues(), loadCallbacks()]);
	connectEvents(onEvent, () => {
		/* (Re)connected: catch up on what happened meanwhile. */
		loadAgent().catch(() => {});
		loadQueues().catch(() => {});
		loadCallbacks().catch(() => {});
	});
	document.body.dataset.ready = '1';
}

start(main);
