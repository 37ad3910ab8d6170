/*
 * Scenario (a), the agent desktop: the agent signs in and goes ready
 * (@@ ready — the driver then sends a caller to the hotline); the screen
 * pop shows the caller, hotline, language and IVR path (@@ pop); when the
 * agent's phone hangs up the wrap-up form appears; the agent saves it and
 * is ready again at once (@@ wrapup); then not ready with a reason, and
 * logged out.  No reload anywhere.
 *
 *   node agent.mjs --url http://127.0.0.1:PORT --user U --password P
 *        [--category complaint] [--notes TEXT] [--timeout 90]
 */
import {check, checkClean, checkFits, log, mark, newPage, run, shot, signIn, until} from './lib.mjs';

const own = {
	user: {type: 'string'},
	password: {type: 'string'},
	category: {type: 'string', default: 'complaint'},
	notes: {type: 'string', default: '市民反映路灯不亮 — street light out'},
};

async function badge(page) {
	return page.locator('#my-state .badge').getAttribute('data-state', {timeout: 2000});
}

async function waitStateExact(page, want, timeoutMs = 15000) {
	await until(`the state badge to show ${want}`,
		    async () => (await badge(page)) === want, timeoutMs);
}

run('agent', own, async (browser, o) => {
	const page = await newPage(browser, {name: 'agent', locale: 'zh-CN'});
	await signIn(page, o.url, o.user, o.password, 'agent.html');
	await page.evaluate(() => { window.noReload = true; });
	await until('the events connection', async () =>
		(await page.locator('#live').getAttribute('class')).includes('on'));

	/* Ready (the phone is registered, so the server agrees). */
	const first = await badge(page);
	log(`state at sign-in: ${first}`);
	await page.locator('#btn-ready').click();
	await waitStateExact(page, 'ready');
	check(await page.locator('#btn-ready').isDisabled(), 'Ready stays enabled while ready');
	await until('the state message', async () =>
		/就绪/.test(await page.locator('#state-status').textContent()));
	mark('ready');

	/* The screen pop: the caller dials after @@ ready. */
	await page.locator('#pop').waitFor({state: 'visible', timeout: 45000});
	const popStatus = await page.locator('#pop-status').textContent();
	log(`pop: ${popStatus}`);
	await until('the caller in the pop', async () => {
		const c = (await page.locator('#pop-caller').textContent()).trim();
		return c !== '' && c !== '—';
	});
	const pop = {
		caller: (await page.locator('#pop-caller').textContent()).trim(),
		hotline: (await page.locator('#pop-hotline').textContent()).trim(),
		language: (await page.locator('#pop-language').textContent()).trim(),
		path: await page.locator('#pop-path').getAttribute('data-raw'),
		pathText: (await page.locator('#pop-path').textContent()).trim(),
		call: (await page.locator('#pop-call').textContent()).trim(),
		status: popStatus,
	};
	log(`pop: ${JSON.stringify(pop)}`);
	check(pop.path && pop.pathText.length > 0, 'the pop shows no IVR path');
	check(pop.hotline && pop.hotline !== '—', 'the pop shows no hotline');
	mark('pop', pop);
	await shot(page, 'agent-pop');
	await checkFits(page, 'agent desktop with a screen pop');

	/* The agent's phone hangs up: the wrap-up form. */
	await page.locator('#wrapup-card').waitFor({state: 'visible', timeout: 45000});
	check(/结束/.test(await page.locator('#pop-status').textContent()),
	      'the pop does not say the call ended');
	const wrapFor = await page.locator('#wrapup-for').textContent();
	check(wrapFor.includes(pop.caller), `the wrap-up is not for ${pop.caller}: ${wrapFor}`);
	await waitStateExact(page, 'wrap-up', 10000);
	await shot(page, 'agent-wrapup');
	/* Saving without a category is refused in the page. */
	await page.getByRole('button', {name: '保存并就绪'}).click();
	await until('the missing category message', async () =>
		(await page.locator('#wrapup-error').textContent()).length > 0);
	check(await page.locator('#wrapup-card').isVisible(), 'the form closed without a category');
	await page.getByLabel('类别').selectOption(o.category);
	await page.getByLabel('备注').fill(o.notes);
	await page.getByRole('button', {name: '保存并就绪'}).click();
	await page.locator('#wrapup-card').waitFor({state: 'hidden'});
	await until('the saved message', async () =>
		/已保存/.test(await page.locator('#wrapup-status').textContent()));
	/* ready: true — ready now, not after the queue's 60 s wrap-up. */
	await waitStateExact(page, 'ready', 5000);
	check(await page.locator('#pop-idle').isVisible(), 'the pop was not cleared');
	mark('wrapup', {call: pop.call});

	/* Not ready, with a reason; then out of the queues. */
	await page.getByLabel('小休原因').selectOption('lunch');
	await page.locator('#btn-notready').click();
	await waitStateExact(page, 'not-ready');
	await until('the reason', async () =>
		(await page.locator('#my-reason').textContent()) === '用餐');
	await page.locator('#btn-logout').click();
	await waitStateExact(page, 'logged-out');
	mark('states');

	check(await page.evaluate(() => window.noReload === true), 'the page was reloaded');
	checkClean(page);
});
