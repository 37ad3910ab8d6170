/*
 * Scenario (c), administration:
 *   @@ error     a site file with an error, chosen with the file input and
 *                imported: the server's "site.json:LINE: what is wrong"
 *                shows in a role="alert" element; "go to line" selects it
 *   @@ imported  a good file is imported; "load the current site" shows it
 *   @@ users     a user is added, listed, deleted (two clicks); the audit
 *                log shows both
 *
 *   node admin.mjs --url URL --user U --password P --bad FILE
 *        --expect "site.json:LINE: what is wrong" --line LINE --good FILE
 */
import fs from 'node:fs';
import {check, checkClean, checkFits, log, mark, newPage, run, shot, signIn, until} from './lib.mjs';

const own = {
	user: {type: 'string'},
	password: {type: 'string'},
	bad: {type: 'string'},
	expect: {type: 'string'},
	line: {type: 'string'},
	good: {type: 'string'},
};

run('admin', own, async (browser, o) => {
	const page = await newPage(browser, {name: 'admin', locale: 'zh-CN'});
	await signIn(page, o.url, o.user, o.password, 'admin.html');
	const text = page.getByLabel('站点文件内容（JSON）');

	/* The bad file, through the file input. */
	await page.getByLabel('选择站点文件').setInputFiles(o.bad);
	const badText = fs.readFileSync(o.bad, 'utf8');
	await until('the file in the text box', async () => await text.inputValue() === badText);
	await page.getByRole('button', {name: '导入', exact: true}).click();
	const alert = page.getByRole('alert').filter({hasText: o.expect});
	await alert.waitFor({state: 'visible', timeout: 15000});
	const shown = (await page.locator('#site-error-text').textContent()).trim();
	log(`alert: ${(await alert.textContent()).trim()}`);
	check(shown === o.expect, `the alert says ${JSON.stringify(shown)}, the server ${JSON.stringify(o.expect)}`);
	check(!(await page.locator('#site-status').textContent()), 'a success message with the error');
	await checkFits(page, 'admin page with a site error');

	/* "Go to line N" selects that line of the file. */
	await page.getByRole('button', {name: `跳到第 ${o.line} 行`}).click();
	const sel = await text.evaluate((ta) => ({
		focused: document.activeElement === ta,
		line: ta.value.slice(0, ta.selectionStart).split('\n').length,
		selected: ta.value.slice(ta.selectionStart, ta.selectionEnd),
	}));
	check(sel.focused && sel.line === Number(o.line), `go to line: ${JSON.stringify(sel)}`);
	check(sel.selected.includes('nosuch'), `line ${o.line} selected: ${sel.selected}`);
	mark('error', {text: shown});
	await shot(page, 'admin-site-error');

	/* The good file: imported; the alert goes. */
	await page.getByLabel('选择站点文件').setInputFiles(o.good);
	await until('the good file in the text box', async () =>
		await text.inputValue() === fs.readFileSync(o.good, 'utf8'));
	check((await page.locator('#site-error').textContent()) === '', 'the old error stays');
	await page.getByRole('button', {name: '导入', exact: true}).click();
	await until('the imported message', async () =>
		(await page.locator('#site-status').textContent()).includes('站点已导入'));
	await text.fill('');
	await page.getByRole('button', {name: '读取当前站点'}).click();
	await until('the current site in the text box', async () =>
		(await text.inputValue()).includes('改名的热线'));
	mark('imported');

	/* Users: a bad password is refused in the page; then add, delete. */
	await page.getByLabel('用户名', {exact: true}).fill('dora');
	await page.getByLabel('密码（至少 8 位）').fill('short');
	await page.getByRole('button', {name: '添加', exact: true}).click();
	await until('the password message', async () =>
		(await page.locator('#users-error').textContent()).length > 0);
	check(await page.locator('#user-rows tr[data-user="dora"]').count() === 0, 'dora added');
	await page.getByLabel('密码（至少 8 位）').fill('dora-long-pw');
	await page.getByLabel('角色').selectOption('agent');
	await page.getByLabel('关联坐席（可选）').fill('alice');
	await page.getByRole('button', {name: '添加', exact: true}).click();
	const row = page.locator('#user-rows tr[data-user="dora"]');
	await row.waitFor({state: 'visible'});
	check((await row.textContent()).includes('坐席') && (await row.textContent()).includes('alice'),
	      `dora's row: ${await row.textContent()}`);
	await until('user.add in the audit log', async () =>
		(await page.locator('#audit-rows').textContent()).includes('user.add'));
	const del = page.getByRole('button', {name: '删除用户 dora'});
	await del.click();
	await page.getByRole('button', {name: '确认删除用户 dora'}).click();
	await row.waitFor({state: 'detached'});
	await until('user.del in the audit log', async () =>
		(await page.locator('#audit-rows').textContent()).includes('user.del'));
	check(await page.locator(`#user-rows tr[data-user="${o.user}"] button`).count() === 0,
	      'the admin may delete itself');
	mark('users');

	checkClean(page);
});
