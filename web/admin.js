/*
 * Administration: import the site file (PUT /api/v1/site; a refused file
 * shows the server's "site.json:LINE: what is wrong" in an alert, with a
 * button to that line), the web users (list, add, delete) and the audit
 * log.
 */
import {api, ApiError, el, errorText, fmtTime, initChrome, say, sayNow,
	session, start, t} from './app.js';

const $ = (id) => document.getElementById(id);

let me = null;

/* ---------- site ---------- */

/* The server stages the body as DATA_DIR/site.json: its folder says
 * nothing to the reader, the name and line do. */
function siteMessage(msg) {
	return (msg || '').replace(/^[^\s:]*\/(site\.json:\d+:)/, '$1');
}

function gotoLine(line) {
	const ta = $('site-text');
	const lines = ta.value.split('\n');
	const n = Math.min(Math.max(line, 1), lines.length);
	let start = 0;
	for (let i = 0; i < n - 1; i++)
		start += lines[i].length + 1;
	ta.focus();
	ta.setSelectionRange(start, start + lines[n - 1].length);
	const lh = parseFloat(getComputedStyle(ta).lineHeight) || 20;
	ta.scrollTop = Math.max(0, (n - 3) * lh);
}

function showSiteError(err) {
	const box = $('site-error');
	box.replaceChildren();
	if (!err)
		return;
	if (err instanceof ApiError && err.code === 'invalid_site') {
		const text = siteMessage(err.message);
		const m = /:(\d+):/.exec(text);
		const parts = [el('strong', {text: t('site.errh')}),
			       el('pre', {id: 'site-error-text', text})];
		if (m)
			parts.push(el('button', {type: 'button', class: 'small',
				text: t('site.goto', {line: m[1]}),
				onclick: () => gotoLine(Number(m[1]))}));
		/* Filled after a beat so that screen readers announce it. */
		setTimeout(() => box.replaceChildren(...parts), 50);
		return;
	}
	setTimeout(() => box.replaceChildren(el('span', {text: errorText(err)})), 50);
}

async function importSite() {
	const text = $('site-text').value;
	showSiteError(null);
	sayNow($('site-status'), '');
	if (!text.trim()) {
		setTimeout(() => $('site-error').replaceChildren(
			el('span', {text: t('site.empty')})), 50);
		return;
	}
	const btn = $('site-import');
	btn.disabled = true;
	btn.textContent = t('site.importing');
	try {
		await api('PUT', '/api/v1/site', text);
		say($('site-status'), t('site.imported'));
	} catch (e) {
		if (e instanceof ApiError && e.code === 'busy')
			say($('site-status'), t('err.busy'));
		else
			showSiteError(e);
	} finally {
		btn.disabled = false;
		btn.textContent = t('site.import');
	}
	loadAudit().catch(() => {});
}

async function loadSite() {
	showSiteError(null);
	sayNow($('site-status'), '');
	try {
		const site = await api('GET', '/api/v1/site');
		$('site-text').value = JSON.stringify(site, null, 2) + '\n';
		say($('site-status'), t('site.loaded'));
	} catch (e) {
		if (e instanceof ApiError && e.status === 404)
			say($('site-status'), t('site.none'));
		else
			showSiteError(e);
	}
}

/* ---------- users ---------- */

function deleteButton(u) {
	let armed = null;
	const b = el('button', {type: 'button', class: 'small danger', text: t('users.del'),
				'aria-label': t('users.del.label', {name: u.name})});
	const disarm = () => {
		clearTimeout(armed);
		armed = null;
		b.textContent = t('users.del');
		b.setAttribute('aria-label', t('users.del.label', {name: u.name}));
		b.classList.remove('primary');
	};
	b.addEventListener('click', async () => {
		if (!armed) {
			b.textContent = t('users.confirm');
			b.setAttribute('aria-label', t('users.confirm.label', {name: u.name}));
			armed = setTimeout(disarm, 6000);
			return;
		}
		disarm();
		sayNow($('users-error'), '');
		try {
			await api('DELETE', `/api/v1/users/${encodeURIComponent(u.name)}`);
			say($('users-status'), t('users.deleted', {name: u.name}));
			await loadUsers();
			$('h-users').focus();
		} catch (e) {
			say($('users-error'), errorText(e));
		}
		loadAudit().catch(() => {});
	});
	return b;
}

async function loadUsers() {
	const res = await api('GET', '/api/v1/users?limit=1000');
	const rows = (res.items || []).map((u) => el('tr', {dataset: {user: u.name}},
		el('th', {scope: 'row', text: u.name + (u.name === me.user ? t('users.you') : '')}),
		el('td', {text: t('role.' + u.role)}),
		el('td', {text: u.agent || ''}),
		el('td', {text: fmtTime(u.created_ms, true)}),
		el('td', {}, u.name === me.user ? '' : deleteButton(u))));
	$('user-rows').replaceChildren(...rows);
}

async function addUser(ev) {
	ev.preventDefault();
	const name = $('u-name').value.trim(), password = $('u-password').value;
	sayNow($('users-error'), '');
	sayNow($('users-status'), '');
	if (!/^[a-z0-9._-]{1,63}$/.test(name)) {
		say($('users-error'), `${t('users.name')}: a-z 0-9 . _ -`);
		$('u-name').focus();
		return;
	}
	if (password.length < 8) {
		say($('users-error'), t('users.password'));
		$('u-password').focus();
		return;
	}
	const body = {name, password, role: $('u-role').value};
	if ($('u-agent').value.trim())
		body.agent = $('u-agent').value.trim();
	try {
		await api('POST', '/api/v1/users', body);
		$('user-form').reset();
		say($('users-status'), t('users.added', {name}));
		await loadUsers();
	} catch (e) {
		say($('users-error'), errorText(e));
	}
	loadAudit().catch(() => {});
}

/* ---------- audit ---------- */

async function loadAudit() {
	const res = await api('GET', '/api/v1/audit?limit=100');
	const rows = (res.items || []).map((a) => el('tr', {},
		el('td', {text: fmtTime(a.ts_ms, true)}),
		el('td', {text: a.who}),
		el('td', {text: a.action}),
		el('td', {text: a.detail})));
	$('audit-rows').replaceChildren(...rows);
	$('audit-table').hidden = rows.length === 0;
	$('audit-empty').hidden = rows.length > 0;
}

async function main() {
	me = await session('admin');
	initChrome(me);
	$('h-users').tabIndex = -1;

	$('site-file').addEventListener('change', async () => {
		const f = $('site-file').files[0];
		if (!f)
			return;
		showSiteError(null);
		sayNow($('site-status'), '');
		$('site-text').value = await f.text();
	});
	$('site-load').addEventListener('click', loadSite);
	$('site-import').addEventListener('click', importSite);
	$('user-form').addEventListener('submit', addUser);
	$('audit-refresh').addEventListener('click', () =>
		loadAudit().catch((e) => say($('audit-error'), errorText(e))));
	document.addEventListener('langchange', () => {
		loadUsers().catch(() => {});
		loadAudit().catch(() => {});
	});
	await Promise.all([loadUsers(), loadAudit()]);
	document.body.dataset.ready = '1';
}

start(main);
