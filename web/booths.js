/*
 * Booth operations: every booth with its status, last heartbeat, open
 * faults and today's use, as a list and as a plot of positions (an SVG
 * drawn here: the CSP allows no map tiles).  Live from /api/v1/events: a
 * booth going offline raises an alert at once; faults appear and clear as
 * reported.  Supervisors and admins.
 */
import {api, connectEvents, debounce, el, fmtTime, getLang,
	initChrome, say, session, start} from './app.js';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

/* This page's words (app.js keeps the shared ones). */
const STR = {
	zh: {
		'title': '服务亭运维 — 老友',
		'h1': '服务亭运维',
		'updated': '更新于 {time}',
		'summary': '概况',
		'sum.total': '服务亭',
		'sum.online': '在线',
		'sum.offline': '离线',
		'sum.faults': '有故障',
		'alerts.clear': '知道了',
		'alert.offline': '服务亭离线：{name}（{id}），最后心跳 {time}',
		'alert.fault': '服务亭 {name}（{id}）报告故障：{fault}',
		'alert.cleared': '服务亭 {name}（{id}）的故障已排除：{fault}',
		'alert.online': '服务亭 {name}（{id}）已恢复在线',
		'map.h': '位置图',
		'map.note': '位置按经纬度绘制，上方为北。点击标记可在列表中找到该服务亭。',
		'map.label': '服务亭位置图：{online} 个在线，{offline} 个离线，{faults} 个有故障',
		'map.none': '没有可以绘制的服务亭。',
		'list.h': '服务亭列表',
		'list.caption': '各服务亭的状态、最后心跳、故障和今日使用情况',
		'list.empty': '还没有服务亭。管理员可以通过站点文件或接口添加。',
		'list.filtered': '没有符合条件的服务亭。',
		'filter': '显示',
		'filter.all': '全部',
		'filter.offline': '离线',
		'filter.faults': '有故障',
		'col.booth': '服务亭',
		'col.district': '区',
		'col.status': '状态',
		'col.seen': '最后心跳',
		'col.faults': '故障',
		'col.usage': '今日使用',
		'col.charging': '今日充电',
		'col.calls': '免费通话',
		'st.online': '在线',
		'st.offline': '离线',
		'st.fault': '在线 · 有故障',
		'seen.never': '从未连接',
		'seen.ago.s': '{n} 秒前',
		'seen.ago.m': '{n} 分钟前',
		'seen.ago.h': '{n} 小时前',
		'seen.ago.d': '{n} 天前',
		'faults.none': '无',
		'usage.none': '—',
		'charge': '{wh} Wh · {n} 次',
		'lang': '屏幕语言：{lang}',
		'lang.zh': '中文', 'lang.en': '英文',
		'fault.handset-off-hook': '听筒长时间未挂',
		'fault.screen': '屏幕故障',
		'fault.charger': '充电故障',
		'fault.network': '网络故障',
		'fault.other': '其他故障',
		'svc.taxi': '叫车',
		'svc.elder': '助老',
		'svc.watch': '守望',
		'svc.sign': '手语',
		'svc.life': '生活圈',
		'svc.charging': '充电',
		'svc.call': '通话',
		'svc.freecall': '免费通话',
		'flag.abnormal': '充电异常',
		'flag.fault': '充电口故障',
		'charging.news': '服务亭 {name}（{id}）充电口 {port}：{flag}',
	},
	en: {
		'title': 'Booth operations — laoyou',
		'h1': 'Booth operations',
		'updated': 'Updated {time}',
		'summary': 'Summary',
		'sum.total': 'Booths',
		'sum.online': 'Online',
		'sum.offline': 'Offline',
		'sum.faults': 'With faults',
		'alerts.clear': 'Dismiss',
		'alert.offline': 'Booth offline: {name} ({id}), last heartbeat {time}',
		'alert.fault': 'Booth {name} ({id}) reports a fault: {fault}',
		'alert.cleared': 'Booth {name} ({id}): fault cleared: {fault}',
		'alert.online': 'Booth {name} ({id}) is back online',
		'map.h': 'Map',
		'map.note': 'Positions by latitude and longitude, north up. Click a marker to find the booth in the list.',
		'map.label': 'Booth positions: {online} online, {offline} offline, {faults} with faults',
		'map.none': 'No booths to plot.',
		'list.h': 'Booths',
		'list.caption': 'Each booth\'s status, last heartbeat, faults and use today',
		'list.empty': 'No booths yet. An administrator adds them with the site file or the API.',
		'list.filtered': 'No booth matches.',
		'filter': 'Show',
		'filter.all': 'All',
		'filter.offline': 'Offline',
		'filter.faults': 'With faults',
		'col.booth': 'Booth',
		'col.district': 'District',
		'col.status': 'Status',
		'col.seen': 'Last heartbeat',
		'col.faults': 'Faults',
		'col.usage': 'Use today',
		'col.charging': 'Charging today',
		'col.calls': 'Free calls',
		'st.online': 'Online',
		'st.offline': 'Offline',
		'st.fault': 'Online · fault',
		'seen.never': 'Never connected',
		'seen.ago.s': '{n} s ago',
		'seen.ago.m': '{n} min ago',
		'seen.ago.h': '{n} h ago',
		'seen.ago.d': '{n} days ago',
		'faults.none': 'None',
		'usage.none': '—',
		'charge': '{wh} Wh · {n}',
		'lang': 'Screen language: {lang}',
		'lang.zh': 'Chinese', 'lang.en': 'English',
		'fault.handset-off-hook': 'Handset off the hook',
		'fault.screen': 'Screen fault',
		'fault.charger': 'Charger fault',
		'fault.network': 'Network fault',
		'fault.other': 'Other fault',
		'svc.taxi': 'Taxi',
		'svc.elder': 'Elder help',
		'svc.watch': 'Watch',
		'svc.sign': 'Sign language',
		'svc.life': 'Life circle',
		'svc.charging': 'Charging',
		'svc.call': 'Calls',
		'svc.freecall': 'Free calls',
		'flag.abnormal': 'abnormal charging',
		'flag.fault': 'port fault',
		'charging.news': 'Booth {name} ({id}) port {port}: {flag}',
	},
};

function b(key, vars) {
	const l = getLang();
	let s = STR[l][key];
	if (s === undefined)
		s = STR.zh[key] !== undefined ? STR.zh[key] : key;
	if (vars)
		s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
	return s;
}

function known(key) {
	return STR.zh[key] !== undefined;
}

function applyStrings() {
	document.title = b('title');
	document.querySelectorAll('[data-b]').forEach((e) => {
		e.textContent = b(e.dataset.b);
	});
	document.querySelectorAll('[data-blabel]').forEach((e) => {
		e.setAttribute('aria-label', b(e.dataset.blabel));
	});
}

/* ---------- state ---------- */

let booths = [];
let offlineAfter = 90;
const alerts = [];       /* the newest first: {key, text, ts} */

function byId(id) {
	return booths.find((x) => x.id === id);
}

function boothName(x) {
	return getLang() === 'en' && x.name_en ? x.name_en : x.name;
}

/* online, offline, or fault (online with open faults) */
function statusOf(x) {
	if (!x.online)
		return 'offline';
	return x.faults && x.faults.length ? 'fault' : 'online';
}

const RANK = {offline: 0, fault: 1, online: 2};

function faultName(kind) {
	return known('fault.' + kind) ? b('fault.' + kind) : kind;
}

function ago(ms) {
	if (!ms)
		return b('seen.never');
	const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
	if (s < 120)
		return b('seen.ago.s', {n: s});
	if (s < 7200)
		return b('seen.ago.m', {n: Math.round(s / 60)});
	if (s < 172800)
		return b('seen.ago.h', {n: Math.round(s / 3600)});
	return b('seen.ago.d', {n: Math.round(s / 86400)});
}

/* ---------- the list ---------- */

function statusBadge(st) {
	const mark = {online: '●', offline: '✕', fault: '▲'}[st];
	return el('span', {class: `badge b-st b-${st}`, dataset: {status: st}},
		  el('span', {'aria-hidden': 'true', text: mark + ' '}), b('st.' + st));
}

function usageText(x) {
	const u = (x.today && x.today.usage) || {};
	const parts = Object.keys(u).sort().filter((k) => u[k] > 0)
		.map((k) => `${known('svc.' + k) ? b('svc.' + k) : k} ${u[k]}`);
	return parts.length ? parts.join(' · ') : b('usage.none');
}

function row(x) {
	const st = statusOf(x);
	const today = x.today || {};
	const faults = (x.faults || []).map((f) => el('li', {},
		el('strong', {text: faultName(f.kind)}),
		f.detail ? ` — ${f.detail}` : '',
		el('span', {class: 'reason', text: ` (${fmtTime(f.ts_ms)})`})));
	return el('tr', {id: 'booth-' + x.id, dataset: {booth: x.id, status: st}},
		el('th', {scope: 'row'},
		   el('span', {class: 'b-name', text: boothName(x)}),
		   el('span', {class: 'b-id', text: x.id}),
		   el('span', {class: 'b-addr', text: x.address || ''})),
		el('td', {text: x.district || ''}),
		el('td', {}, statusBadge(st),
		   el('span', {class: 'b-lang', text: b('lang', {lang: b('lang.' + (x.lang || 'zh'))})})),
		el('td', {class: 'b-seen', dataset: {ms: x.last_seen_ms || 0}},
		   el('span', {class: 'b-ago', text: ago(x.last_seen_ms)}),
		   x.last_seen_ms ? el('span', {class: 'reason', text: fmtTime(x.last_seen_ms, true)}) : ''),
		el('td', {class: 'b-faults'}, faults.length ? el('ul', {}, faults) :
		   el('span', {class: 'reason', text: b('faults.none')})),
		el('td', {class: 'b-usage', text: usageText(x)}),
		el('td', {class: 'num', text: b('charge', {wh: (Number(today.charging_wh) || 0).toFixed(0),
							 n: today.charging_sessions || 0})}),
		el('td', {class: 'num', text: String(today.free_calls || 0)}));
}

function shown() {
	const f = $('b-filter').value;
	return booths.filter((x) => f === 'all' || (f === 'offline' ? !x.online :
						       (x.faults || []).length > 0))
		.sort((p, q) => RANK[statusOf(p)] - RANK[statusOf(q)] || p.id.localeCompare(q.id));
}

function renderList() {
	const list = shown();
	$('b-rows').replaceChildren(...list.map(row));
	$('b-table').hidden = list.length === 0;
	$('b-empty').hidden = list.length > 0;
	$('b-empty').textContent = b(booths.length ? 'list.filtered' : 'list.empty');
}

function renderSummary() {
	const n = {total: booths.length, online: 0, offline: 0, faults: 0};
	for (const x of booths) {
		n[x.online ? 'online' : 'offline']++;
		if ((x.faults || []).length)
			n.faults++;
	}
	$('b-summary').replaceChildren(...['total', 'online', 'offline', 'faults'].map((k) =>
		el('li', {class: `b-sum b-sum-${k}`, dataset: {k}},
		   el('span', {class: 'b-sum-n', text: String(n[k])}),
		   el('span', {class: 'b-sum-k', text: b('sum.' + k)}))));
	return n;
}

/* ---------- the plot ---------- */

/* The plot's box: about its size on a 1280-pixel screen, so that marks
 * and labels keep their pixel sizes. */
const W = 1200, H = 440, PAD = 40;

function svg(tag, attrs = {}, ...children) {
	const e = document.createElementNS(SVG, tag);
	for (const [k, v] of Object.entries(attrs))
		if (v !== undefined && v !== null)
			e.setAttribute(k, v);
	for (const c of children)
		if (c)
			e.append(c);
	return e;
}

/* A marker: a circle online, a square offline, a triangle with faults —
 * the shape says it as well as the colour. */
function marker(st, x, y, r = 9) {
	if (st === 'offline')
		return svg('rect', {x: x - r, y: y - r, width: 2 * r, height: 2 * r,
				    class: 'm-offline'});
	if (st === 'fault')
		return svg('polygon', {points: `${x},${y - r * 1.3} ${x + r * 1.2},${y + r} ${x - r * 1.2},${y + r}`,
				       class: 'm-fault'});
	return svg('circle', {cx: x, cy: y, r, class: 'm-online'});
}

/* Longitude and latitude onto the box, north up, with the longitude
 * shrunk by cos(latitude) so that the city keeps its shape. */
function projection(list) {
	const lats = list.map((x) => x.lat), lons = list.map((x) => x.lon);
	let lat0 = Math.min(...lats), lat1 = Math.max(...lats);
	let lon0 = Math.min(...lons), lon1 = Math.max(...lons);
	const k = Math.cos(((lat0 + lat1) / 2) * Math.PI / 180);
	/* One booth, or booths in a line: give the box some size. */
	const minSpan = 0.002;
	if (lat1 - lat0 < minSpan) {
		lat0 -= minSpan / 2;
		lat1 += minSpan / 2;
	}
	if ((lon1 - lon0) * k < minSpan) {
		const c = (lon0 + lon1) / 2;
		lon0 = c - minSpan / 2 / k;
		lon1 = c + minSpan / 2 / k;
	}
	const sx = (W - 2 * PAD) / ((lon1 - lon0) * k);
	const sy = (H - 2 * PAD) / (lat1 - lat0);
	const s = Math.min(sx, sy);
	const ox = (W - s * (lon1 - lon0) * k) / 2, oy = (H - s * (lat1 - lat0)) / 2;
	return (lat, lon) => [ox + (lon - lon0) * k * s, H - (oy + (lat - lat0) * s)];
}

function renderMap(n) {
	const box = $('b-map');
	const list = booths.filter((x) => Number.isFinite(x.lat) && Number.isFinite(x.lon));
	const label = b('map.label', {online: n.online, offline: n.offline, faults: n.faults});
	const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label,
				 class: 'b-svg', id: 'b-svg'});
	root.append(svg('rect', {x: 0, y: 0, width: W, height: H, class: 'map-bg'}));
	/* A light grid, and a north arrow. */
	for (let i = 1; i < 8; i++)
		root.append(svg('line', {x1: (W * i) / 8, y1: 0, x2: (W * i) / 8, y2: H, class: 'map-grid'}));
	for (let i = 1; i < 5; i++)
		root.append(svg('line', {x1: 0, y1: (H * i) / 5, x2: W, y2: (H * i) / 5, class: 'map-grid'}));
	const north = svg('text', {x: W - 24, y: 30, class: 'map-north', 'text-anchor': 'middle'});
	north.textContent = 'N';
	root.append(svg('path', {d: `M${W - 24} 36 l-8 18 h16 Z`, class: 'map-arrow'}), north);
	if (list.length) {
		const proj = projection(list);
		const order = [...list].sort((p, q) => RANK[statusOf(q)] - RANK[statusOf(p)]);
		const labels = list.length <= 40;
		for (const x of order) {
			const st = statusOf(x);
			const [px, py] = proj(x.lat, x.lon);
			const title = svg('title');
			title.textContent = `${boothName(x)} (${x.id}) — ${b('st.' + st)}`;
			const g = svg('g', {class: `marker st-${st}`, 'data-booth': x.id,
					    'data-status': st}, title, marker(st, px, py));
			if (labels) {
				const t = svg('text', {x: px + 14, y: py + 6, class: 'map-label'});
				t.textContent = boothName(x);
				g.append(t);
			}
			g.addEventListener('click', () => focusRow(x.id));
			root.append(g);
		}
	}
	box.replaceChildren(root);
	if (!list.length)
		box.append(el('p', {class: 'empty', text: b('map.none')}));
}

function renderLegend() {
	$('b-legend').replaceChildren(...['online', 'fault', 'offline'].map((st) =>
		el('li', {}, (() => {
			const s = svg('svg', {viewBox: '0 0 24 24', width: 24, height: 24,
					      'aria-hidden': 'true', focusable: 'false'});
			s.append(marker(st, 12, 12, 8));
			return s;
		})(), ' ', b('st.' + st))));
}

function focusRow(id) {
	const r = $('booth-' + id);
	if (!r)
		return;
	document.querySelectorAll('#b-rows tr.picked').forEach((x) => x.classList.remove('picked'));
	r.classList.add('picked');
	r.scrollIntoView({block: 'center', behavior: 'smooth'});
	const th = r.querySelector('th');
	th.tabIndex = -1;
	th.focus({preventScroll: true});
}

/* ---------- alerts ---------- */

function renderAlerts() {
	const box = $('b-alerts');
	box.replaceChildren(...alerts.map((a) => el('p', {class: `b-alert b-alert-${a.kind}`,
		dataset: {booth: a.booth, kind: a.kind}}, el('span', {'aria-hidden': 'true', text: '⚠ '}),
		a.text())));
	$('b-alerts-clear').hidden = alerts.length === 0;
}

function raise(kind, booth, text) {
	alerts.unshift({kind, booth, text, ts: Date.now()});
	alerts.splice(8);
	renderAlerts();
}

/* ---------- render all ---------- */

function stamp() {
	$('updated').textContent = b('updated', {time: fmtTime(Date.now())});
}

function render() {
	const n = renderSummary();
	renderList();
	renderMap(n);
	renderLegend();
	renderAlerts();
	stamp();
}

async function load() {
	const res = await api('GET', '/api/v1/booths');
	booths = (res && res.items) || [];
	if (res && res.offline_after_s)
		offlineAfter = res.offline_after_s;
	document.body.dataset.offlineAfter = String(offlineAfter);
	render();
}

const reload = debounce(() => load().catch(() => {}), 500);
const renderSoon = debounce(render, 150);

/* ---------- live ---------- */

function onEvent(m) {
	if (m.type !== 'booth')
		return;
	const d = m.data || {};
	const det = d.detail || {};
	const x = byId(d.booth);
	if (!x) {
		reload();
		return;
	}
	const name = () => boothName(x);
	switch (d.kind) {
	case 'online':
	case 'offline':
		x.online = d.kind === 'online';
		if (det.last_seen_ms)
			x.last_seen_ms = det.last_seen_ms;
		if (d.kind === 'offline')
			raise('offline', x.id, () => b('alert.offline', {name: name(), id: x.id,
				time: x.last_seen_ms ? fmtTime(x.last_seen_ms) : b('seen.never')}));
		else
			say($('b-news'), b('alert.online', {name: name(), id: x.id}));
		break;
	case 'fault':
		x.faults = (x.faults || []).filter((f) => f.kind !== det.kind);
		x.faults.push({kind: det.kind, detail: det.detail || '', ts_ms: Date.now()});
		raise('fault', x.id, () => b('alert.fault', {name: name(), id: x.id,
			fault: faultName(det.kind) + (det.detail ? ` — ${det.detail}` : '')}));
		break;
	case 'fault-cleared':
		x.faults = (x.faults || []).filter((f) => f.kind !== det.kind);
		say($('b-news'), b('alert.cleared', {name: name(), id: x.id, fault: faultName(det.kind)}));
		break;
	case 'charging':
		if (det.flag)
			say($('b-news'), b('charging.news', {name: name(), id: x.id, port: det.port,
				flag: known('flag.' + det.flag) ? b('flag.' + det.flag) : det.flag}));
		reload();
		break;
	default:
		/* A service used (taxi, watch, call …): today's counts moved. */
		reload();
		break;
	}
	/* A fleet coming back after an outage is a burst of events: draw
	 * once for the lot (the alerts are drawn at once). */
	renderSoon();
}

async function main() {
	const me = await session('supervisor');
	initChrome(me);
	applyStrings();
	document.addEventListener('langchange', () => {
		applyStrings();
		render();
		$('b-news').textContent = '';
	});
	$('b-filter').addEventListener('change', renderList);
	$('b-alerts-clear').addEventListener('click', () => {
		alerts.length = 0;
		renderAlerts();
		$('main').focus();
	});
	await load();
	connectEvents(onEvent, () => load().catch(() => {}));
	/* "n s ago" moves on; the figures are re-read now and then. */
	setInterval(() => {
		document.querySelectorAll('#b-rows td.b-seen').forEach((td) => {
			td.querySelector('.b-ago').textContent = ago(Number(td.dataset.ms));
		});
	}, 5000);
	setInterval(() => load().catch(() => {}), 30000);
	document.body.dataset.ready = '1';
}

applyStrings();
start(main);
