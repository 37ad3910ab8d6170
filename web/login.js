/* The sign-in page: POST /api/v1/login, then the page of the user's role
 * (or the page that sent the user here, if the role may open it). */
import {api, ApiError, errorText, homeOf, PAGES, roleRank, say, start, t}
	from './app.js';

function target(role) {
	const next = new URLSearchParams(location.search).get('next');
	const page = PAGES.find((p) => p.href === next);
	return page && roleRank(role) >= roleRank(page.role) ? page.href : homeOf(role);
}

async function main() {
	const form = document.getElementById('signin-form');
	const user = document.getElementById('user');
	const password = document.getElementById('password');
	const submit = document.getElementById('signin-submit');
	const error = document.getElementById('signin-error');

	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (!user.value.trim() || !password.value) {
			say(error, t('signin.missing'));
			(user.value.trim() ? password : user).focus();
			return;
		}
		submit.disabled = true;
		submit.textContent = t('signin.busy');
		try {
			const me = await api('POST', '/api/v1/login',
					     {user: user.value.trim(), password: password.value},
					     {noRedirect: true});
			location.assign(target(me.role));
			return;
		} catch (e) {
			password.value = '';
			say(error, e instanceof ApiError && e.status === 401 ?
			    t('signin.wrong') : errorText(e));
			password.focus();
		}
		submit.disabled = false;
		submit.textContent = t('signin.submit');
	});
	document.addEventListener('langchange', () => {
		if (!submit.disabled)
			submit.textContent = t('signin.submit');
	});

	/* Signed in already: straight on. */
	try {
		const me = await api('GET', '/api/v1/me', undefined, {noRedirect: true});
		if (me && me.role && me.role !== 'none')
			location.replace(target(me.role));
	} catch (e) { /* not signed in: stay */ }
	user.focus();
}

start(main);
