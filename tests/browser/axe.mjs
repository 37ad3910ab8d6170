/*
 * Scenario (d): axe-core on every page — sign-in (empty and with an
 * error), agent desktop, wallboard, admin — in Chinese and, after the
 * language toggle, in English: no serious or critical violation.  Also:
 * the pages are served with the CSP and break none of it, fit 1280×800,
 * errors (a wrong password, a phone not registered) are alerts,
 * the skip link and sign-in work from the keyboard, and each role is kept
 * to its pages.
 *
 *   node axe.mjs --url URL --agent USER:PW --supervisor USER:PW --admin USER:PW
 */
import {check, checkAxe, checkClean, checkFits, log, newPage, run, signIn, until} from './lib.mjs';

const own = {
	agent: {type: 'string'},
	supervisor: {type: 'string'},
	admin: {type: 'string'},
};

function cred(s) {
	const i = s.indexOf(':');
	return [s.slice(0, i), s.slice(i + 1)];
}

/* axe in the language shown, then in the other one after the toggle. */
async function bothLanguages(page, label, h1zh, h1en) {
	check(await page.locator('html').getAttribute('lang') === 'zh-CN', `${label}: not in Chinese`);
	check((await page.locator('h1').textContent()).trim() === h1zh,
	      `${label}: h1 ${await page.locator('h1').textContent()}`);
	check(await page.locator('h1').count() === 1, `${label}: more than one h1`);
	await checkAxe(page, `${label} (中文)`);
	await checkFits(page, label);
	await page.getByRole('button', {name: 'English'}).click();
	await until(`${label} in English`, async () =>
		await page.locator('html').getAttribute('lang') === 'en' &&
		(await page.locator('h1').textContent()).trim() === h1en);
	await checkAxe(page, `${label} (English)`);
	await checkFits(page, `${label} (English)`);
	await page.getByRole('button', {name: '中文'}).click();
	await until(`${label} back in Chinese`, async () =>
		await page.locator('html').getAttribute('lang') === 'zh-CN');
}

run('axe', own, async (browser, o) => {
	const [agentUser, agentPw] = cred(o.agent);
	const [supUser, supPw] = cred(o.supervisor);
	const [adminUser, adminPw] = cred(o.admin);

	/* Sign-in page: headers, keyboard, an error, both languages. */
	const p = await newPage(browser, {name: 'index'});
	const res = await p.goto(`${o.url}/`);
	const csp = res.headers()['content-security-policy'] || '';
	check(csp.includes("default-src 'self'"), `index.html without the CSP: ${csp}`);
	await p.waitForSelector('#signin-form');
	await until('the user name field focused', async () =>
		await p.evaluate(() => document.activeElement.id === 'user'));
	await bothLanguages(p, 'sign-in', '登录', 'Sign in');
	/* From the keyboard, with a wrong password: an alert. */
	await p.getByLabel('用户名').focus();
	await p.keyboard.type(agentUser);
	await p.keyboard.press('Tab');
	await p.keyboard.type('not-the-password');
	await p.keyboard.press('Enter');
	const alert = p.getByRole('alert').filter({hasText: '用户名或密码错误'});
	await alert.waitFor({state: 'visible'});
	check(await p.evaluate(() => document.activeElement.id === 'password'),
	      'focus is not back on the password');
	await checkAxe(p, 'sign-in with an error');
	checkClean(p);

	/* Not signed in, a page sends to sign-in, and back after it. */
	const w = await newPage(browser, {name: 'wallboard'});
	await w.goto(`${o.url}/wallboard.html`);
	await w.waitForURL(/index\.html\?next=wallboard\.html/);
	await w.getByLabel('用户名').fill(supUser);
	await w.getByLabel('密码').fill(supPw);
	await w.getByRole('button', {name: '登录'}).click();
	await w.waitForURL(/wallboard\.html$/);
	await w.waitForSelector('body[data-ready="1"]');
	log('the wallboard, after signing in from its redirect');
	await w.keyboard.press('Tab');
	check(await w.evaluate(() => document.activeElement.classList.contains('skip')),
	      'the first Tab does not reach the skip link');
	await w.keyboard.press('Enter');
	check(await w.evaluate(() => document.activeElement.id === 'main'),
	      'the skip link does not move to the main content');
	await bothLanguages(w, 'wallboard', '实时监控', 'Wallboard');
	checkClean(w);

	/* Agent desktop; an agent is kept to its pages. */
	const a = await newPage(browser, {name: 'agent'});
	await signIn(a, o.url, agentUser, agentPw, 'agent.html');
	await bothLanguages(a, 'agent desktop', '坐席工作台', 'Agent desktop');
	/* Ready without a registered phone: the server's 409, said plainly. */
	await a.getByRole('button', {name: '就绪', exact: true}).click();
	await a.getByRole('alert').filter({hasText: '您的话机未注册'}).waitFor({state: 'visible'});
	check(await a.locator('#my-state .badge').getAttribute('data-state') === 'logged-out',
	      'the state changed without a phone');
	await checkAxe(a, 'agent desktop with an error');
	check(await a.getByRole('navigation').getByRole('link').count() === 1,
	      'an agent is offered pages it may not open');
	await a.goto(`${o.url}/admin.html`);
	await a.waitForURL(/agent\.html$/);
	log('an agent opening admin.html is sent back to agent.html');
	checkClean(a);

	/* Admin: its page, and the agent desktop without an agent. */
	const m = await newPage(browser, {name: 'admin'});
	await signIn(m, o.url, adminUser, adminPw, 'admin.html');
	await bothLanguages(m, 'admin', '系统管理', 'Administration');
	check(await m.getByRole('navigation').getByRole('link').count() === 4,
	      'the admin does not see all four pages');
	await m.getByRole('link', {name: '坐席工作台'}).click();
	await m.waitForSelector('body[data-ready="1"]');
	check(await m.locator('#agent-unlinked').isVisible(), 'no note for a user without an agent');
	await checkAxe(m, 'agent desktop of a user without an agent');
	/* Sign out: back to sign-in, and the session is gone. */
	await m.getByRole('button', {name: '退出登录'}).click();
	await m.waitForURL(/index\.html$/);
	await m.goto(`${o.url}/admin.html`);
	await m.waitForURL(/index\.html\?next=admin\.html/);
	log('signed out: admin.html sends to sign-in');
	checkClean(m);
});
