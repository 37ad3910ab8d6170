/*
 * Scenario (b), the wallboard, never reloaded, in English:
 *   @@ baseline  the queue's figures before any call
 *   @@ waiting   the driver's caller waits with nobody ready: waiting 0→1,
 *                offered +1, the call listed (axe runs on this state)
 *   @@ oncall    the driver logged the agent in; it took the call: waiting
 *                1→0, answered +1, the agent on a call, with supervise buttons
 *   @@ listen    "Listen" pressed: the page says the supervisor's phone rings
 *   @@ done      the call ended: it left the list, the agent is off the call
 *                (the supervisor's own call may stay: see test_web.py)
 *
 *   node wallboard.mjs --url URL --user U --password P --queue Q --agent A
 */
import {check, checkAxe, checkClean, checkFits, log, mark, newPage, run, shot, signIn,
	until} from './lib.mjs';

const own = {
	user: {type: 'string'},
	password: {type: 'string'},
	queue: {type: 'string'},
	agent: {type: 'string'},
};

run('wallboard', own, async (browser, o) => {
	const page = await newPage(browser, {name: 'wallboard', locale: 'en-GB'});
	await signIn(page, o.url, o.user, o.password, 'wallboard.html');
	await page.evaluate(() => { window.noReload = true; });
	check(await page.locator('html').getAttribute('lang') === 'en', 'the page is not in English');

	const figure = async (k) => (await page.locator(
		`#queue-rows td[data-queue="${o.queue}"][data-k="${k}"]`).textContent({timeout: 5000})).trim();
	const num = async (k) => Number(await figure(k));
	const agentRow = page.locator(`#agent-rows tr[data-agent="${o.agent}"]`);
	const agentState = () => agentRow.getAttribute('data-state', {timeout: 5000});
	const callRows = page.locator('#call-rows tr');

	await until('the events connection', async () =>
		(await page.locator('#live').getAttribute('class')).includes('on'));
	const base = {waiting: await num('waiting'), offered: await num('offered'),
		      answered: await num('answered')};
	log(`baseline ${JSON.stringify(base)}, ${o.agent} ${await agentState()}`);
	check(base.waiting === 0, `waiting ${base.waiting} before any call`);
	check(await callRows.count() === 0, 'calls listed before any call');
	mark('baseline', base);

	/* A caller waits: nobody is ready. */
	await until('waiting 1 and offered +1', async () =>
		await num('waiting') === 1 && await num('offered') === base.offered + 1 ||
		`waiting ${await figure('waiting')} offered ${await figure('offered')}`, 30000);
	check((await page.locator(`#queue-rows tr[data-queue="${o.queue}"]`).getAttribute('class'))
	      .includes('has-waiting'), 'a waiting caller is not highlighted');
	await until('the waiting call in the list', async () => await callRows.count() >= 1);
	const calls = await callRows.allTextContents();
	const callId = await callRows.first().getAttribute('data-call');
	const callRow = page.locator(`#call-rows tr[data-call="${callId}"]`);
	log(`calls: ${JSON.stringify(calls)}`);
	mark('waiting', {calls, call: callId});
	await shot(page, 'wallboard-waiting');
	await checkAxe(page, 'wallboard with a caller waiting');
	await checkFits(page, 'wallboard');

	/* The agent logs in from its phone and takes the call. */
	await until(`${o.agent} on a call, waiting 0, answered +1`, async () =>
		await agentState() === 'on-call' && await num('waiting') === 0 &&
		await num('answered') === base.answered + 1 ||
		`${await agentState()} waiting ${await figure('waiting')} answered ${await figure('answered')}`,
		30000);
	const rate = await figure('connect_rate');
	check(rate !== '0.0%', `connect rate ${rate} with a call answered`);
	check(/On a call/.test(await agentRow.textContent()), 'the state is not written out');
	mark('oncall', {rate});

	/* Listen in: the supervisor's phone is rung (from the keyboard). */
	const listen = agentRow.getByRole('button', {name: `Listen to ${o.agent}'s call`});
	await listen.focus();
	await page.keyboard.press('Enter');
	await until('the supervision message', async () => {
		const err = await page.locator('#sup-error').textContent();
		check(!err, `supervision refused: ${err}`);
		return /Ringing your phone: answer it to listen to/.test(
			await page.locator('#sup-status').textContent());
	}, 10000);
	mark('listen');
	await shot(page, 'wallboard-oncall');

	/* The agent hangs up: off the call, the call gone from the list. */
	await until(`${o.agent} off the call and the call gone from the list`, async () =>
		await agentState() !== 'on-call' && await callRow.count() === 0 ||
		`${await agentState()}, calls ${JSON.stringify(await callRows.allTextContents())}`, 40000);
	check(await num('waiting') === 0, 'somebody waits after the call');
	check(await num('offered') === base.offered + 1, 'offered changed after the call');
	mark('done', {state: await agentState()});

	check(await page.evaluate(() => window.noReload === true), 'the page was reloaded');
	checkClean(page);
});
