/*
 * Shared by the browser tests: Debian's Chromium driven by playwright-core,
 * axe-core injected into pages, and a tiny protocol with the Python driver
 * (tests/system/test_web.py): a line "@@ NAME {json}" on stdout marks a
 * step, so that the driver can act (start a caller, log an agent in) at
 * the right moment.  A test is bounded: it exits 1 after --timeout seconds.
 */
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {parseArgs} from 'node:util';
import {chromium} from 'playwright-core';

const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Command-line options: --url, --timeout, --artifacts and the test's own. */
export function options(own = {}) {
	const {values} = parseArgs({
		options: {
			url: {type: 'string'},
			timeout: {type: 'string', default: '90'},
			artifacts: {type: 'string'},
			...own,
		},
		strict: true,
	});
	if (!values.url)
		throw new Error('--url http://HOST:PORT is required');
	values.url = values.url.replace(/\/+$/, '');
	return values;
}

const t0 = Date.now();

export function log(...a) {
	const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
	console.log(`[${s}s]`, ...a);
}

/** A step for the driver: "@@ name {json}". */
export function mark(name, data = {}) {
	process.stdout.write(`@@ ${name} ${JSON.stringify(data)}\n`);
}

export class Failure extends Error {}

export function check(cond, msg) {
	if (!cond)
		throw new Failure(msg);
}

export async function launch() {
	check(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium)`);
	const args = ['--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'];
	if (process.getuid && process.getuid() === 0)
		args.push('--no-sandbox');       /* root cannot use the sandbox */
	return chromium.launch({executablePath: CHROMIUM, headless: true, args, timeout: 30000});
}

/**
 * A page in a fresh context (its own cookies) at 1280×800.  Console
 * errors, page errors and Content-Security-Policy violations are kept in
 * page.problems: a page that breaks its CSP is a failure.
 */
export async function newPage(browser, {locale = 'zh-CN', name = 'page'} = {}) {
	const context = await browser.newContext({viewport: {width: 1280, height: 800}, locale});
	const page = await context.newPage();
	page.problems = [];
	page.label = name;
	page.setDefaultTimeout(15000);
	page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
	page.on('console', (m) => {
		const text = m.text();
		if (m.type() === 'error' || /Content Security Policy/i.test(text)) {
			/* Failed requests the page handles itself (a 401 before
			 * sign-in, a 422 it shows) are not problems. */
			if (/Failed to load resource: the server responded with a status of (401|404|409|422)/.test(text))
				return;
			page.problems.push(`console ${m.type()}: ${text}`);
		}
	});
	return page;
}

/** No page errors, no CSP violations so far. */
export function checkClean(page) {
	check(page.problems.length === 0,
	      `${page.label}: problems in the browser:\n  ${page.problems.join('\n  ')}`);
}

/** Sign in on index.html and wait for the page the role leads to. */
export async function signIn(page, base, user, password, expectPage) {
	await page.goto(`${base}/`, {waitUntil: 'domcontentloaded'});
	await page.getByLabel(/用户名|User name/).fill(user);
	await page.getByLabel(/密码|Password/).fill(password);
	await Promise.all([
		page.waitForURL((u) => u.pathname.endsWith('/' + expectPage), {timeout: 15000}),
		page.getByRole('button', {name: /^(登录|Sign in)$/}).click(),
	]);
	await page.waitForSelector('body[data-ready="1"]', {timeout: 15000});
	log(`${user} signed in: ${page.url()}`);
}

/** Poll fn (async) until it returns true; anything else it returns (a
 * string saying how things stand) is shown if time runs out. */
export async function until(what, fn, timeoutMs = 15000, everyMs = 100) {
	const end = Date.now() + timeoutMs;
	let last;
	for (;;) {
		try {
			last = await fn();
			if (last === true)
				return true;
		} catch (e) {
			last = e.message;
		}
		if (Date.now() > end)
			throw new Failure(`timed out after ${timeoutMs / 1000}s waiting for ${what}` +
					  (last !== undefined && last !== false ? ` (last: ${JSON.stringify(last)})` : ''));
		await new Promise((r) => setTimeout(r, everyMs));
	}
}

/** axe-core in the page (without relaxing its CSP): the violations. */
export async function axe(page) {
	const source = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
	/* Evaluated over the DevTools protocol, which the page's CSP does not
	 * govern; an injected <script> would be (rightly) refused. */
	await page.evaluate(source);
	return page.evaluate(async () => {
		const r = await window.axe.run(document, {
			runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
							'wcag22aa', 'best-practice']},
			resultTypes: ['violations'],
		});
		return r.violations.map((v) => ({
			id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
		}));
	});
}

/** Fail on serious or critical violations; report the others. */
export async function checkAxe(page, label) {
	const vs = await axe(page);
	const bad = vs.filter((v) => v.impact === 'serious' || v.impact === 'critical');
	for (const v of vs)
		log(`axe ${label}: ${v.impact} ${v.id}: ${v.help}` +
		    (bad.includes(v) ? `\n    ${v.nodes.join('\n    ')}` : ''));
	check(bad.length === 0, `axe ${label}: ${bad.length} serious/critical violation(s): ` +
	      bad.map((v) => v.id).join(', '));
	log(`axe ${label}: no serious or critical violations (${vs.length} minor/moderate)`);
}

let artifacts = null;

/** A screenshot into --artifacts (if given), for people to look at. */
export async function shot(page, name) {
	if (!artifacts)
		return;
	fs.mkdirSync(artifacts, {recursive: true});
	await page.screenshot({path: path.join(artifacts, `${name}.png`), timeout: 5000})
		.catch(() => {});
}

/** Nothing wider than the 1280-pixel window. */
export async function checkFits(page, label) {
	const w = await page.evaluate(() => document.documentElement.scrollWidth);
	check(w <= 1280, `${label}: the page is ${w}px wide at a 1280px window`);
}

/**
 * Run a test: launch Chromium, run fn(browser, opts), close; on failure a
 * screenshot of each open page goes to --artifacts, and the exit code is 1.
 */
export async function run(name, own, fn) {
	let opts;
	try {
		opts = options(own);
	} catch (e) {
		console.error(`${name}: ${e.message}`);
		process.exit(2);
	}
	artifacts = opts.artifacts || null;
	const limit = Number(opts.timeout) * 1000;
	const timer = setTimeout(() => {
		console.error(`${name}: FAILED: the whole test took over ${opts.timeout}s`);
		process.exit(1);
	}, limit);
	let browser = null, rc = 0;
	try {
		browser = await launch();
		await fn(browser, opts);
		log(`${name}: passed`);
	} catch (e) {
		rc = 1;
		console.error(`${name}: FAILED: ${e instanceof Failure ? e.message : e.stack || e}`);
		if (browser && opts.artifacts) {
			fs.mkdirSync(opts.artifacts, {recursive: true});
			let i = 0;
			for (const ctx of browser.contexts())
				for (const p of ctx.pages()) {
					const f = path.join(opts.artifacts, `${name}-${i++}.png`);
					try {
						await p.screenshot({path: f, fullPage: true, timeout: 5000});
						console.error(`  screenshot: ${f} (${p.url()})`);
					} catch (err) { /* the page may be gone */ }
				}
		}
	} finally {
		clearTimeout(timer);
		if (browser)
			await browser.close().catch(() => {});
	}
	process.exit(rc);
}
