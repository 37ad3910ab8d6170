/*
 * laoyou web: what every page shares — the UI strings in Chinese and
 * English, a fetch wrapper that sends the session's CSRF token, the
 * session check, the live event stream (WebSocket, reconnecting) and the
 * top bar.  Plain ES modules: the Content-Security-Policy allows scripts
 * from this origin only, and no inline scripts or styles.
 */

/* ---------- UI strings ---------- */

const STRINGS = {
	zh: {
		'app.name': '老友',
		'app.tagline': '市民服务中心',
		'skip': '跳到主要内容',
		'lang.other': 'English',
		'lang.switch': '切换到英文界面',
		'nav.label': '页面导航',
		'nav.agent': '坐席工作台',
		'nav.wallboard': '实时监控',
		'nav.admin': '系统管理',
		'nav.booths': '老友亭运维',
		'signout': '退出登录',
		'who': '{user}（{role}）',
		'role.agent': '坐席', 'role.supervisor': '班长', 'role.admin': '管理员',
		'live.connecting': '正在连接…',
		'live.on': '实时更新',
		'live.off': '连接中断，正在重连…',
		'footer': '老友 laoyou 市民服务平台',

		'state.logged-out': '已签出',
		'state.ready': '就绪',
		'state.not-ready': '小休',
		'state.reserved': '振铃中',
		'state.on-call': '通话中',
		'state.wrap-up': '话后处理',
		'reason.break': '休息', 'reason.lunch': '用餐', 'reason.training': '培训',
		'reason.meeting': '会议', 'reason.paperwork': '处理工单',
		'reason.missed': '多次未接',
		'lang.zh': '中文', 'lang.en': '英语',

		'err.network': '无法连接服务器，请检查网络。',
		'err.unauthorized': '请重新登录。',
		'err.forbidden': '您没有执行此操作的权限。',
		'err.csrf': '会话已过期，请刷新页面。',
		'err.rate_limited': '登录失败次数过多，请一分钟后再试。',
		'err.phone_unregistered': '您的话机未注册，无法就绪。请先打开话机。',
		'err.conflict': '现在无法执行此操作。',
		'err.not_possible': '现在无法呼叫。',
		'err.not_found': '找不到该项目。',
		'err.bad_request': '输入有误。',
		'err.invalid_site': '站点文件有错误，未导入：',
		'err.busy': '站点已保存，但有来电正在排队，排队结束后生效。',
		'err.too_large': '文件太大。',
		'err.other': '操作失败。',

		/* sign-in */
		'signin.title': '登录 — 老友市民服务中心',
		'signin.h1': '登录',
		'signin.intro': '坐席、班长和管理员请用工作账号登录。',
		'signin.user': '用户名',
		'signin.password': '密码',
		'signin.submit': '登录',
		'signin.busy': '正在登录…',
		'signin.wrong': '用户名或密码错误。',
		'signin.missing': '请输入用户名和密码。',

		/* agent desktop */
		'agent.title': '坐席工作台 — 老友',
		'agent.h1': '坐席工作台',
		'agent.unlinked': '此用户没有关联坐席，无法接听热线。',
		'agent.state.h': '我的状态',
		'agent.ready': '就绪',
		'agent.notready': '小休',
		'agent.reason': '小休原因',
		'agent.logout': '签出队列',
		'agent.state.changed': '状态已改为：{state}',
		'agent.waiting.h': '排队情况',
		'agent.waiting.n': '人排队',
		'agent.waiting.none': '暂无队列。',
		'pop.h': '当前来电',
		'pop.idle': '暂无来电。就绪后，来电会显示在这里。',
		'pop.ringing': '来电振铃，请接听话机',
		'pop.connected': '通话中',
		'pop.ended': '通话已结束，请填写话后处理',
		'pop.missed': '来电未接听',
		'pop.caller': '来电号码',
		'pop.hotline': '热线',
		'pop.language': '语言',
		'pop.path': '语音导航路径',
		'pop.queue': '队列',
		'pop.call': '通话编号',
		'wrapup.h': '话后处理',
		'wrapup.for': '来电 {caller}（热线 {hotline}）',
		'wrapup.category': '类别',
		'wrapup.choose': '请选择…',
		'wrapup.notes': '备注',
		'wrapup.save': '保存并就绪',
		'wrapup.saved': '话后处理已保存，您已就绪。',
		'cat.inquiry': '咨询', 'cat.complaint': '投诉', 'cat.help': '求助',
		'cat.suggestion': '建议', 'cat.praise': '表扬', 'cat.other': '其他',
		'cb.h': '回拨任务',
		'cb.caption': '待回拨的来电',
		'cb.time': '时间', 'cb.caller': '来电', 'cb.number': '回拨号码',
		'cb.hotline': '热线', 'cb.kind': '类型', 'cb.actions': '操作',
		'cb.kind.missed': '未接来电', 'cb.kind.callback': '预约回拨',
		'cb.kind.message': '留言',
		'cb.call': '拨打', 'cb.call.label': '拨打 {number}',
		'cb.done': '完成', 'cb.done.label': '完成回拨任务 {number}',
		'cb.marked': '任务 {number} 已完成。',
		'cb.empty': '没有待回拨的任务。',
		'cb.refresh': '刷新',
		'ctc.h': '点击拨号',
		'ctc.number': '电话号码',
		'ctc.call': '拨打',
		'ctc.ringing': '正在呼叫您的话机，接听后将拨打 {number}。',

		/* wallboard */
		'wb.title': '实时监控 — 老友',
		'wb.h1': '实时监控',
		'wb.updated': '更新于 {time}',
		'wb.queues.h': '队列',
		'wb.queues.caption': '各队列的实时情况和今日数据',
		'wb.now': '实时',
		'wb.noqueues': '没有队列。请在站点文件中定义队列。',
		'wb.waiting': '排队人数',
		'wb.longest': '最长等待',
		'wb.aht': '平均处理时长',
		'wb.ready': '就绪坐席',
		'wb.busy': '忙碌坐席',
		'wb.notready': '小休坐席',
		'wb.today': '今日',
		'wb.offered': '呼入',
		'wb.answered': '接通',
		'wb.abandoned': '放弃',
		'wb.connect_rate': '接通率',
		'wb.service_level': '服务水平',
		'wb.asa': '平均应答',
		'wb.agents.h': '坐席',
		'wb.agents.caption': '坐席状态',
		'wb.agent': '坐席', 'wb.state': '状态', 'wb.reason': '原因',
		'wb.queue': '队列', 'wb.supervise': '班长操作',
		'wb.noagents': '没有坐席。',
		'wb.listen': '监听', 'wb.whisper': '耳语', 'wb.barge': '强插',
		'wb.listen.label': '监听 {agent} 的通话',
		'wb.whisper.label': '对 {agent} 耳语',
		'wb.barge.label': '强插 {agent} 的通话',
		'wb.sup.listen': '正在呼叫您的话机，接听后即可监听 {agent} 的通话。',
		'wb.sup.whisper': '正在呼叫您的话机，接听后即可对 {agent} 耳语（来电者听不到）。',
		'wb.sup.barge': '正在呼叫您的话机，接听后即可强插 {agent} 的通话。',
		'wb.calls.h': '进行中的通话',
		'wb.calls.caption': '当前通话',
		'wb.nocalls': '现在没有通话。',
		'wb.caller': '主叫', 'wb.dialled': '被叫号码', 'wb.hotline': '热线',
		'wb.callstate': '状态', 'wb.language': '语言', 'wb.path': '导航路径',
		'wb.duration': '时长',
		'call.routing': '接续中', 'call.ringing': '振铃', 'call.answered': '通话中',

		/* admin */
		'admin.title': '系统管理 — 老友',
		'admin.h1': '系统管理',
		'site.h': '站点导入',
		'site.intro': '站点文件（JSON）定义热线、语音导航、队列和坐席。导入前会完整检查；有错误时不会改动任何内容。',
		'site.file': '选择站点文件',
		'site.text': '站点文件内容（JSON）',
		'site.load': '读取当前站点',
		'site.import': '导入',
		'site.importing': '正在导入…',
		'site.imported': '站点已导入并生效。',
		'site.loaded': '已读取当前站点。',
		'site.none': '还没有导入过站点。',
		'site.empty': '请先选择文件或粘贴站点内容。',
		'site.errh': '站点文件有错误，未导入',
		'site.goto': '跳到第 {line} 行',
		'users.h': '用户',
		'users.caption': '网页用户',
		'users.name': '用户名', 'users.role': '角色', 'users.agent': '关联坐席',
		'users.created': '创建时间', 'users.actions': '操作',
		'users.add.h': '添加用户',
		'users.password': '密码（至少 8 位）',
		'users.agent.opt': '关联坐席（可选）',
		'users.add': '添加',
		'users.added': '已添加用户 {name}。',
		'users.del': '删除', 'users.del.label': '删除用户 {name}',
		'users.confirm': '确认删除', 'users.confirm.label': '确认删除用户 {name}',
		'users.deleted': '已删除用户 {name}。',
		'users.you': '（您）',
		'audit.h': '审计日志',
		'audit.caption': '最近 100 条操作记录',
		'audit.time': '时间', 'audit.who': '操作人', 'audit.action': '操作',
		'audit.detail': '详情',
		'audit.refresh': '刷新',
		'audit.empty': '没有记录。',
	},
	en: {
		'app.name': 'laoyou',
		'app.tagline': 'Citizen Service Centre',
		'skip': 'Skip to main content',
		'lang.other': '中文',
		'lang.switch': 'Switch to Chinese',
		'nav.label': 'Pages',
		'nav.agent': 'Agent desktop',
		'nav.wallboard': 'Wallboard',
		'nav.admin': 'Administration',
		'nav.booths': 'Booths',
		'signout': 'Sign out',
		'who': '{user} ({role})',
		'role.agent': 'agent', 'role.supervisor': 'supervisor', 'role.admin': 'administrator',
		'live.connecting': 'Connecting…',
		'live.on': 'Live',
		'live.off': 'Connection lost, reconnecting…',
		'footer': 'laoyou citizen-service platform',

		'state.logged-out': 'Logged out',
		'state.ready': 'Ready',
		'state.not-ready': 'Not ready',
		'state.reserved': 'Ringing',
		'state.on-call': 'On a call',
		'state.wrap-up': 'Wrap-up',
		'reason.break': 'Break', 'reason.lunch': 'Lunch', 'reason.training': 'Training',
		'reason.meeting': 'Meeting', 'reason.paperwork': 'Paperwork',
		'reason.missed': 'Missed calls',
		'lang.zh': 'Chinese', 'lang.en': 'English',

		'err.network': 'Cannot reach the server. Check the network.',
		'err.unauthorized': 'Please sign in again.',
		'err.forbidden': 'You may not do this.',
		'err.csrf': 'The session has expired; reload the page.',
		'err.rate_limited': 'Too many failed sign-ins. Try again in a minute.',
		'err.phone_unregistered': 'Your phone is not registered, so you cannot be ready. Switch your phone on first.',
		'err.conflict': 'This is not possible right now.',
		'err.not_possible': 'The call cannot be placed now.',
		'err.not_found': 'Not found.',
		'err.bad_request': 'Please check what you entered.',
		'err.invalid_site': 'The site file has an error and was not imported:',
		'err.busy': 'The site is stored; it takes effect when no caller is waiting in line.',
		'err.too_large': 'The file is too large.',
		'err.other': 'That did not work.',

		'signin.title': 'Sign in — laoyou Citizen Service Centre',
		'signin.h1': 'Sign in',
		'signin.intro': 'Agents, supervisors and administrators: sign in with your work account.',
		'signin.user': 'User name',
		'signin.password': 'Password',
		'signin.submit': 'Sign in',
		'signin.busy': 'Signing in…',
		'signin.wrong': 'Wrong user name or password.',
		'signin.missing': 'Enter your user name and password.',

		'agent.title': 'Agent desktop — laoyou',
		'agent.h1': 'Agent desktop',
		'agent.unlinked': 'This user is not linked to an agent and cannot take hotline calls.',
		'agent.state.h': 'My state',
		'agent.ready': 'Ready',
		'agent.notready': 'Not ready',
		'agent.reason': 'Reason',
		'agent.logout': 'Log out of the queues',
		'agent.state.changed': 'Your state is now: {state}',
		'agent.waiting.h': 'Callers waiting',
		'agent.waiting.n': 'waiting',
		'agent.waiting.none': 'No queues.',
		'pop.h': 'Current call',
		'pop.idle': 'No call. When you are ready, incoming calls appear here.',
		'pop.ringing': 'Incoming call: answer your phone',
		'pop.connected': 'On a call',
		'pop.ended': 'The call has ended: please wrap it up',
		'pop.missed': 'The call was not answered',
		'pop.caller': 'Caller',
		'pop.hotline': 'Hotline',
		'pop.language': 'Language',
		'pop.path': 'IVR path',
		'pop.queue': 'Queue',
		'pop.call': 'Call ID',
		'wrapup.h': 'Wrap-up',
		'wrapup.for': 'Call from {caller} (hotline {hotline})',
		'wrapup.category': 'Category',
		'wrapup.choose': 'Choose…',
		'wrapup.notes': 'Notes',
		'wrapup.save': 'Save and get ready',
		'wrapup.saved': 'Wrap-up saved; you are ready.',
		'cat.inquiry': 'Inquiry', 'cat.complaint': 'Complaint', 'cat.help': 'Request for help',
		'cat.suggestion': 'Suggestion', 'cat.praise': 'Praise', 'cat.other': 'Other',
		'cb.h': 'Call-back tasks',
		'cb.caption': 'Callers waiting for a call back',
		'cb.time': 'Time', 'cb.caller': 'Caller', 'cb.number': 'Call back on',
		'cb.hotline': 'Hotline', 'cb.kind': 'Kind', 'cb.actions': 'Actions',
		'cb.kind.missed': 'Missed call', 'cb.kind.callback': 'Call-back request',
		'cb.kind.message': 'Message',
		'cb.call': 'Call', 'cb.call.label': 'Call {number}',
		'cb.done': 'Done', 'cb.done.label': 'Mark the call back to {number} done',
		'cb.marked': 'Task {number} is done.',
		'cb.empty': 'No call-back tasks.',
		'cb.refresh': 'Refresh',
		'ctc.h': 'Click to call',
		'ctc.number': 'Phone number',
		'ctc.call': 'Call',
		'ctc.ringing': 'Ringing your phone; answer it to call {number}.',

		'wb.title': 'Wallboard — laoyou',
		'wb.h1': 'Wallboard',
		'wb.updated': 'Updated {time}',
		'wb.queues.h': 'Queues',
		'wb.queues.caption': 'Each queue now and today',
		'wb.now': 'Now',
		'wb.noqueues': 'No queues. Define them in the site file.',
		'wb.waiting': 'Waiting',
		'wb.longest': 'Longest wait',
		'wb.aht': 'Avg. handle time',
		'wb.ready': 'Agents ready',
		'wb.busy': 'Agents busy',
		'wb.notready': 'Not ready',
		'wb.today': 'Today',
		'wb.offered': 'Offered',
		'wb.answered': 'Answered',
		'wb.abandoned': 'Abandoned',
		'wb.connect_rate': 'Connect rate',
		'wb.service_level': 'Service level',
		'wb.asa': 'Avg. speed of answer',
		'wb.agents.h': 'Agents',
		'wb.agents.caption': 'Agent states',
		'wb.agent': 'Agent', 'wb.state': 'State', 'wb.reason': 'Reason',
		'wb.queue': 'Queue', 'wb.supervise': 'Supervise',
		'wb.noagents': 'No agents.',
		'wb.listen': 'Listen', 'wb.whisper': 'Whisper', 'wb.barge': 'Barge in',
		'wb.listen.label': 'Listen to {agent}\'s call',
		'wb.whisper.label': 'Whisper to {agent}',
		'wb.barge.label': 'Barge in on {agent}\'s call',
		'wb.sup.listen': 'Ringing your phone: answer it to listen to {agent}\'s call.',
		'wb.sup.whisper': 'Ringing your phone: answer it to whisper to {agent} (the caller does not hear you).',
		'wb.sup.barge': 'Ringing your phone: answer it to barge in on {agent}\'s call.',
		'wb.calls.h': 'Calls in progress',
		'wb.calls.caption': 'Calls now',
		'wb.nocalls': 'No calls right now.',
		'wb.caller': 'Caller', 'wb.dialled': 'Dialled', 'wb.hotline': 'Hotline',
		'wb.callstate': 'State', 'wb.language': 'Language', 'wb.path': 'IVR path',
		'wb.duration': 'Duration',
		'call.routing': 'Connecting', 'call.ringing': 'Ringing', 'call.answered': 'Answered',

		'admin.title': 'Administration — laoyou',
		'admin.h1': 'Administration',
		'site.h': 'Site import',
		'site.intro': 'The site file (JSON) declares the hotlines, IVR flows, queues and agents. It is checked in full before import; with an error nothing changes.',
		'site.file': 'Choose a site file',
		'site.text': 'Site file (JSON)',
		'site.load': 'Load the current site',
		'site.import': 'Import',
		'site.importing': 'Importing…',
		'site.imported': 'The site is imported and in force.',
		'site.loaded': 'The current site is loaded.',
		'site.none': 'No site has been imported yet.',
		'site.empty': 'Choose a file or paste the site first.',
		'site.errh': 'The site file has an error and was not imported',
		'site.goto': 'Go to line {line}',
		'users.h': 'Users',
		'users.caption': 'Web users',
		'users.name': 'User name', 'users.role': 'Role', 'users.agent': 'Agent',
		'users.created': 'Created', 'users.actions': 'Actions',
		'users.add.h': 'Add a user',
		'users.password': 'Password (8 characters or more)',
		'users.agent.opt': 'Agent (optional)',
		'users.add': 'Add',
		'users.added': 'User {name} added.',
		'users.del': 'Delete', 'users.del.label': 'Delete user {name}',
		'users.confirm': 'Confirm delete', 'users.confirm.label': 'Confirm: delete user {name}',
		'users.deleted': 'User {name} deleted.',
		'users.you': ' (you)',
		'audit.h': 'Audit log',
		'audit.caption': 'The latest 100 actions',
		'audit.time': 'Time', 'audit.who': 'Who', 'audit.action': 'Action',
		'audit.detail': 'Detail',
		'audit.refresh': 'Refresh',
		'audit.empty': 'No entries.',
	},
};

const LANG_KEY = 'laoyou.lang';

function initialLang() {
	let stored = null;
	try {
		stored = localStorage.getItem(LANG_KEY);
	} catch (e) { /* storage may be off */ }
	if (stored === 'zh' || stored === 'en')
		return stored;
	const nav = (navigator.language || 'zh').toLowerCase();
	return nav.startsWith('en') ? 'en' : 'zh';
}

let lang = initialLang();

export function getLang() {
	return lang;
}

/** The UI string for key, with {name} replaced from vars. */
export function t(key, vars) {
	let s = STRINGS[lang][key];
	if (s === undefined)
		s = STRINGS.zh[key] !== undefined ? STRINGS.zh[key] : key;
	if (vars)
		s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
	return s;
}

/** Has key a string (to translate server values when we know them)? */
export function has(key) {
	return STRINGS[lang][key] !== undefined;
}

/** Fill the static texts: data-i18n (text), data-i18n-label (aria-label),
 * data-i18n-placeholder. */
export function applyI18n(root = document) {
	document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
	root.querySelectorAll('[data-i18n]').forEach((e) => {
		e.textContent = t(e.dataset.i18n);
	});
	root.querySelectorAll('[data-i18n-label]').forEach((e) => {
		e.setAttribute('aria-label', t(e.dataset.i18nLabel));
	});
	root.querySelectorAll('[data-i18n-placeholder]').forEach((e) => {
		e.setAttribute('placeholder', t(e.dataset.i18nPlaceholder));
	});
	const title = document.querySelector('title[data-i18n]');
	if (title)
		document.title = title.textContent;
	const btn = document.getElementById('lang');
	if (btn) {
		btn.textContent = t('lang.other');
		btn.lang = lang === 'zh' ? 'en' : 'zh-CN';
		btn.title = t('lang.switch');
	}
}

export function setLang(l) {
	lang = l === 'en' ? 'en' : 'zh';
	try {
		localStorage.setItem(LANG_KEY, lang);
	} catch (e) { /* storage may be off */ }
	applyI18n();
	document.dispatchEvent(new CustomEvent('langchange'));
}

/* ---------- small helpers ---------- */

/** An element: el('td', {class: 'num', text: '3'}, child…). */
export function el(tag, props = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(props)) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === 'text')
			e.textContent = v;
		else if (k === 'class')
			e.className = v;
		else if (k === 'dataset')
			Object.assign(e.dataset, v);
		else if (k.startsWith('on'))
			e.addEventListener(k.slice(2), v);
		else
			e.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children.flat())
		if (c !== null && c !== undefined && c !== false)
			e.append(c);
	return e;
}

/** Seconds as m:ss (h:mm:ss from an hour). */
export function fmtDuration(secs) {
	const s = Math.max(0, Math.round(Number(secs) || 0));
	const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
	const ss = String(s % 60).padStart(2, '0');
	return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export function fmtPct(x) {
	return `${(Number(x) || 0).toFixed(1)}%`;
}

export function fmtSecs(x) {
	const n = Number(x) || 0;
	return lang === 'zh' ? `${n.toFixed(1)} 秒` : `${n.toFixed(1)} s`;
}

export function fmtTime(ms, withDate = false) {
	if (!ms)
		return '';
	const d = new Date(Number(ms));
	const loc = lang === 'zh' ? 'zh-CN' : 'en-GB';
	return withDate ? d.toLocaleString(loc, {hour12: false}) :
		d.toLocaleTimeString(loc, {hour12: false});
}

/** An IVR path "menu>lang:en>q:connected" as readable steps. */
export function fmtPath(path) {
	return (path || '').split('>').filter(Boolean).join(' › ');
}

export function fmtLanguage(code) {
	return code && has('lang.' + code) ? t('lang.' + code) : (code || '');
}

export function stateName(state) {
	return has('state.' + state) ? t('state.' + state) : state;
}

/** A state badge: the state's name in words, coloured by class. */
export function stateBadge(state, big = false) {
	return el('span', {class: `badge st-${state}${big ? ' big' : ''}`,
			   text: stateName(state), dataset: {state}});
}

/** Put text in a message element (role=alert / role=status), re-setting it
 * so that a repeated message is announced again. */
export function say(node, text) {
	if (!node)
		return;
	clearTimeout(node.sayTimer);
	node.textContent = '';
	if (text)
		node.sayTimer = setTimeout(() => { node.textContent = text; }, 50);
}

/** Set a message at once (no frame delay): for tests and chained steps. */
export function sayNow(node, text) {
	if (node) {
		clearTimeout(node.sayTimer);
		node.textContent = text || '';
	}
}

/* ---------- the API ---------- */

let csrf = '';

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message || code);
		this.status = status;
		this.code = code;
	}
}

/** A readable message for an API error: ours, then the server's words. */
export function errorText(err) {
	if (!(err instanceof ApiError))
		return t('err.other') + (err && err.message ? ` (${err.message})` : '');
	const key = 'err.' + err.code;
	const mine = has(key) ? t(key) : t('err.other');
	if (err.code === 'network' || err.code === 'phone_unregistered' ||
	    err.code === 'rate_limited' || err.code === 'csrf' || !err.message ||
	    err.message === err.code)
		return mine;
	return `${mine} ${err.message}`;
}

function signInUrl() {
	const here = location.pathname.replace(/^.*\//, '') || 'index.html';
	return here === 'index.html' ? 'index.html' :
		`index.html?next=${encodeURIComponent(here)}`;
}

/**
 * A JSON request.  body: an object (sent as JSON) or a string (sent as
 * is, as JSON).  Non-GET requests carry the X-CSRF-Token.  A 401 sends
 * the browser to the sign-in page unless opts.noRedirect.
 */
export async function api(method, path, body, opts = {}) {
	const headers = {'Accept': 'application/json'};
	let payload;
	if (body !== undefined) {
		headers['Content-Type'] = 'application/json';
		payload = typeof body === 'string' ? body : JSON.stringify(body);
	}
	if (method !== 'GET' && method !== 'HEAD' && csrf)
		headers['X-CSRF-Token'] = csrf;
	let res;
	try {
		res = await fetch(path, {method, headers, body: payload,
					 credentials: 'same-origin', cache: 'no-store'});
	} catch (e) {
		throw new ApiError(0, 'network', '');
	}
	const text = await res.text();
	let data = null;
	if (text) {
		try {
			data = JSON.parse(text);
		} catch (e) {
			data = null;
		}
	}
	if (!res.ok) {
		if (res.status === 401 && !opts.noRedirect)
			location.assign(signInUrl());
		throw new ApiError(res.status, (data && data.error) || `http_${res.status}`,
				   (data && data.message) || '');
	}
	return data;
}

export function setCsrf(token) {
	csrf = token || '';
}

const RANK = {agent: 1, supervisor: 2, admin: 3};

export function roleRank(role) {
	return RANK[role] || 0;
}

/** The page a role starts on. */
export function homeOf(role) {
	return role === 'admin' ? 'admin.html' :
		role === 'supervisor' ? 'wallboard.html' : 'agent.html';
}

/** Pages and the role each needs. */
export const PAGES = [
	{href: 'agent.html', key: 'nav.agent', role: 'agent'},
	{href: 'wallboard.html', key: 'nav.wallboard', role: 'supervisor'},
	{href: 'booths.html', key: 'nav.booths', role: 'supervisor'},
	{href: 'admin.html', key: 'nav.admin', role: 'admin'},
];

export class Redirect extends Error {}

/**
 * Who is signed in (GET /api/v1/me), keeping the CSRF token; sends the
 * browser to sign in, or to its own page if its role is below minRole.
 */
export async function session(minRole) {
	const me = await api('GET', '/api/v1/me');
	setCsrf(me.csrf);
	if (roleRank(me.role) < roleRank(minRole)) {
		location.replace(homeOf(me.role));
		throw new Redirect('role');
	}
	return me;
}

/* ---------- the top bar ---------- */

function renderNav(me) {
	const nav = document.getElementById('nav');
	if (!nav)
		return;
	const here = location.pathname.replace(/^.*\//, '');
	const ul = el('ul');
	for (const p of PAGES) {
		if (roleRank(me.role) < roleRank(p.role))
			continue;
		ul.append(el('li', {}, el('a', {href: p.href, text: t(p.key),
			'aria-current': p.href === here ? 'page' : null})));
	}
	nav.replaceChildren(ul);
	const who = document.getElementById('who');
	if (who)
		who.textContent = t('who', {user: me.user, role: t('role.' + me.role)});
}

/** The language toggle (every page, signed in or not). */
export function initLang() {
	applyI18n();
	const btn = document.getElementById('lang');
	if (btn)
		btn.addEventListener('click', () => setLang(lang === 'zh' ? 'en' : 'zh'));
}

/** The top bar of a signed-in page: navigation, user, sign-out. */
export function initChrome(me) {
	renderNav(me);
	document.addEventListener('langchange', () => renderNav(me));
	const out = document.getElementById('signout');
	if (out) {
		out.hidden = false;
		out.addEventListener('click', async () => {
			try {
				await api('POST', '/api/v1/logout', undefined, {noRedirect: true});
			} catch (e) { /* signed out either way */ }
			location.assign('index.html');
		});
	}
}

/* ---------- live events ---------- */

/**
 * Connect to /api/v1/events and keep connected.  onMessage({type, data})
 * for each event; onOpen() after every (re)connection, when the page
 * should re-read what it may have missed.  The status element #live shows
 * the connection.  A silent connection (no kpi.tick for 20 s) is
 * replaced.
 */
export function connectEvents(onMessage, onOpen) {
	const live = document.getElementById('live');
	let ws = null, delay = 1000, last = 0, status = 'connecting';
	const show = () => {
		if (!live)
			return;
		live.textContent = t('live.' + status);
		live.className = 'live ' + status;
	};
	const setStatus = (s) => {
		status = s;
		show();
	};
	document.addEventListener('langchange', show);

	function open() {
		setStatus('connecting');
		const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/events`;
		try {
			ws = new WebSocket(url);
		} catch (e) {
			retry();
			return;
		}
		ws.addEventListener('open', () => {
			delay = 1000;
			last = Date.now();
			setStatus('on');
			if (onOpen)
				onOpen();
		});
		ws.addEventListener('message', (ev) => {
			last = Date.now();
			let m;
			try {
				m = JSON.parse(ev.data);
			} catch (e) {
				return;
			}
			if (m && m.type)
				onMessage(m);
		});
		ws.addEventListener('close', () => {
			ws = null;
			setStatus('off');
			retry();
		});
	}

	function retry() {
		setTimeout(async () => {
			/* Signed out or expired: api() goes to the sign-in page. */
			try {
				await api('GET', '/api/v1/me');
			} catch (e) {
				if (e instanceof ApiError && e.status === 401)
					return;
			}
			open();
		}, delay);
		delay = Math.min(delay * 2, 15000);
	}

	setInterval(() => {
		if (ws && ws.readyState === WebSocket.OPEN && Date.now() - last > 20000)
			ws.close();
	}, 5000);
	open();
}

/** Run fn at most once per wait ms (trailing): for bursts of events. */
export function debounce(fn, wait) {
	let timer = null;
	return () => {
		if (timer)
			return;
		timer = setTimeout(() => {
			timer = null;
			fn();
		}, wait);
	};
}

/* A table wider than its box scrolls: then it must be reachable from the
 * keyboard (a focusable, labelled region); otherwise not a tab stop. */
function watchScrolling() {
	const fix = () => {
		document.querySelectorAll('.table-wrap').forEach((w) => {
			const scrolls = w.scrollWidth > w.clientWidth + 1;
			if (scrolls && !w.hasAttribute('tabindex')) {
				const cap = w.querySelector('caption');
				w.tabIndex = 0;
				w.setAttribute('role', 'region');
				if (cap)
					w.setAttribute('aria-label', cap.textContent);
			}
			else if (!scrolls && w.hasAttribute('tabindex')) {
				w.removeAttribute('tabindex');
				w.removeAttribute('role');
				w.removeAttribute('aria-label');
			}
		});
	};
	const ro = new ResizeObserver(fix);
	document.querySelectorAll('.table-wrap').forEach((w) => {
		ro.observe(w);
		const t = w.querySelector('table');
		if (t)
			ro.observe(t);
	});
	document.addEventListener('langchange', fix);
}

/** Page start-up: strings, language toggle, then main(); errors shown. */
export function start(main) {
	initLang();
	watchScrolling();
	main().catch((e) => {
		if (e instanceof Redirect || (e instanceof ApiError && e.status === 401))
			return;
		const box = document.getElementById('page-error');
		if (box)
			say(box, errorText(e));
		console.warn(e);
	});
}
