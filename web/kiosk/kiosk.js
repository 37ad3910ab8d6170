/*
 * The booth's kiosk screen (/kiosk/?booth=ID&token=TOKEN).  The seven
 * services as big buttons, each at most two taps from home; Chinese and
 * English with one tap; every step spoken (prompt audio from laoyou) and
 * captioned; back home after a quiet spell; the booth's link to laoyou (a
 * WebSocket with heartbeats) shown plainly when it is down.
 *
 * The token is a device secret: it goes to localStorage and out of the
 * address bar at once.  URL parameters for tests and set-up: idle=S (back
 * home after S s, default 60), heartbeat=S (default 30), silent=S (offline
 * when nothing is heard for S s, default 75), lang=zh|en (the language a
 * fresh screen starts in).
 */

/* ---------- settings ---------- */

const Q = new URLSearchParams(location.search);
const TOKEN_KEY = 'laoyou.kiosk.token';
const BOOTH_KEY = 'laoyou.kiosk.booth';

function num(name, dflt, min) {
	const v = Number(Q.get(name));
	return Number.isFinite(v) && v >= min ? v : dflt;
}

const IDLE_S = num('idle', 60, 1);
const HEARTBEAT_S = num('heartbeat', 30, 1);
const SILENT_S = num('silent', 75, 2);
const HOME_LANG = Q.get('lang') === 'en' ? 'en' : 'zh';
/* A rider or a citizen waiting for a volunteer keeps the screen, but not
 * for ever. */
const HOLD_MAX_MS = 15 * 60 * 1000;

function store(key, value) {
	try {
		if (value === undefined)
			return localStorage.getItem(key);
		localStorage.setItem(key, value);
	} catch (e) { /* storage may be off */ }
	return null;
}

/* The token leaves the URL before anything else happens. */
(function takeToken() {
	const tok = Q.get('token');
	if (tok === null)
		return;
	store(TOKEN_KEY, tok);
	if (Q.get('booth'))
		store(BOOTH_KEY, Q.get('booth'));
	const q = new URLSearchParams(location.search);
	q.delete('token');
	const rest = q.toString();
	history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') +
			     location.hash);
})();

const token = store(TOKEN_KEY) || '';

/* ---------- words ---------- */

/* What is spoken, word for word as in the catalogs (prompts/kiosk.tsv,
 * the taxi's prompts/taxi.tsv, numbers from prompts/catalog.tsv): the
 * captions. */
const SPOKEN = {
	zh: {
		kiosk_home: '您好，欢迎使用老友服务亭。请点屏幕上的大按钮选择服务。',
		kiosk_taxi: '一键叫车。点一下叫车按钮，出租车会到这个服务亭接您。',
		kiosk_taxi_unavailable: '一键叫车暂停服务。您可以点按钮拨打出租车热线。',
		kiosk_elder: '助老一键通。点一下大按钮，助老服务人员会接听您的电话。',
		kiosk_elder_calling: '正在为您接通助老服务，请拿起听筒。',
		kiosk_watch: '守望相助。请选择您遇到的情况，志愿者和社区会马上收到通知。',
		kiosk_watch_sent: '求助已发出，正在通知附近的志愿者，请稍等。',
		kiosk_watch_accepted: '志愿者已接单，正在赶来。',
		kiosk_watch_escalated: '已通知社区办公室，工作人员会尽快处理。',
		kiosk_watch_closed: '这次求助已处理完毕。',
		kiosk_sign: '手语视频。请面对摄像头，点一下开始按钮，手语客服会和您视频通话。',
		kiosk_sign_calling: '正在接通手语客服，请面对摄像头。',
		kiosk_life: '十五分钟生活圈。请选择您要找的服务。',
		kiosk_life_list: '这些地方步行十五分钟内可以到达，最近的排在最前面。',
		kiosk_life_nearest: '最近的一处步行大约',
		kiosk_life_empty: '抱歉，步行十五分钟内没有找到这类服务。',
		kiosk_minute: '分钟',
		kiosk_charging: '免费充电。把充电线插到手机上，再插入充电口，充电会自动开始。',
		kiosk_call: '免费通话。请输入本地电话号码，再点拨打。每次最多三分钟，紧急电话随时免费。',
		kiosk_call_empty: '请先输入电话号码。',
		kiosk_call_ringing: '请拿起听筒，正在为您接通。',
		kiosk_call_ended: '通话已结束。',
		kiosk_call_quota: '抱歉，今天的免费通话次数已经用完。紧急电话仍然可以拨打。',
		kiosk_call_not_local: '抱歉，免费通话只能拨打本地电话。',
		kiosk_unavailable: '抱歉，这项服务暂时不能使用。',
		kiosk_error: '抱歉，出了点问题，请稍后再试。',
		kiosk_offline: '服务亭暂时断网，正在重新连接，请稍后再试。',
		taxi_requested: '正在为您叫车，请在电话亭旁稍等。',
		taxi_waiting: '出租车公司已经收到，正在为您安排司机。',
		taxi_accepted: '司机已接单，正在赶来。车牌号码显示在屏幕上。',
		taxi_arriving: '车辆马上就到，请在电话亭旁准备上车。',
		taxi_arrived: '车辆已到达，请核对屏幕上的车牌后上车。',
		taxi_completed: '行程已结束，祝您一路平安。',
		taxi_cancelled: '叫车已取消。',
		taxi_cancelled_partner: '很抱歉，出租车公司取消了这次叫车。',
		taxi_failed: '很抱歉，暂时没有叫到车。',
		taxi_fallback: '请点屏幕上的按钮，拿起听筒，拨打出租车电话叫车。',
		taxi_eta_long: '预计要三十分钟以上才能到达。',
		minutes: '分钟',
		num_2_liang: '两',
	},
	en: {
		kiosk_home: 'Hello, welcome to the Laoyou booth. Tap a big button on the screen to choose a service.',
		kiosk_taxi: 'One-touch taxi. Tap the taxi button, and a taxi will come to this booth for you.',
		kiosk_taxi_unavailable: 'One-touch taxi is not available now. Tap the button to call the taxi hotline.',
		kiosk_elder: 'Elder help. Tap the big button, and an elder-care helper will answer your call.',
		kiosk_elder_calling: 'Connecting you to elder help. Please pick up the handset.',
		kiosk_watch: 'Neighbourhood watch. Choose what has happened, and volunteers and the community office will be told at once.',
		kiosk_watch_sent: 'Your request is sent. We are telling volunteers nearby. Please wait.',
		kiosk_watch_accepted: 'A volunteer has taken your request and is on the way.',
		kiosk_watch_escalated: 'The community office has been told and will act soon.',
		kiosk_watch_closed: 'This request for help is closed.',
		kiosk_sign: 'Sign language video. Face the camera and tap start, and a sign language agent will join you on video.',
		kiosk_sign_calling: 'Connecting you to a sign language agent. Please face the camera.',
		kiosk_life: 'Fifteen minute life circle. Choose what you are looking for.',
		kiosk_life_list: 'These places are within a fifteen minute walk, nearest first.',
		kiosk_life_nearest: 'The nearest is a walk of about',
		kiosk_life_empty: 'Sorry, there is no such place within a fifteen minute walk.',
		kiosk_minute: 'minute',
		kiosk_charging: 'Free charging. Plug the cable into your phone and into a charging port, and charging starts by itself.',
		kiosk_call: 'Free calls. Enter a local number, then tap call. Each call lasts up to three minutes. Emergency calls are always free.',
		kiosk_call_empty: 'Please enter a phone number first.',
		kiosk_call_ringing: 'Please pick up the handset. We are connecting your call.',
		kiosk_call_ended: 'The call has ended.',
		kiosk_call_quota: 'Sorry, today\'s free calls are used up. You can still call emergency numbers.',
		kiosk_call_not_local: 'Sorry, free calls are for local numbers only.',
		kiosk_unavailable: 'Sorry, this service is not available right now.',
		kiosk_error: 'Sorry, something went wrong. Please try again later.',
		kiosk_offline: 'This booth is offline and reconnecting. Please try again shortly.',
		taxi_requested: 'We are calling a taxi for you. Please wait by the booth.',
		taxi_waiting: 'The taxi company has your request and is finding a driver.',
		taxi_accepted: 'A driver has taken your ride and is on the way. The number plate is on the screen.',
		taxi_arriving: 'Your taxi is almost here. Please get ready by the booth.',
		taxi_arrived: 'Your taxi has arrived. Check the number plate on the screen, then get in.',
		taxi_completed: 'The ride is complete. Have a safe journey.',
		taxi_cancelled: 'Your taxi request is cancelled.',
		taxi_cancelled_partner: 'Sorry, the taxi company has cancelled this ride.',
		taxi_failed: 'Sorry, we could not get a taxi right now.',
		taxi_fallback: 'Tap the button on the screen and pick up the handset to call the taxi hotline.',
		taxi_eta_long: 'It will take more than thirty minutes to arrive.',
		minutes: 'minutes',
		num_2_liang: 'two',
	},
};

/* The shared catalog's numbers (digit_N, num_NN) and the taxi's ETAs
 * (taxi_eta_1 … taxi_eta_30), in words. */
(function numberWords() {
	const zh = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
	const en = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight',
		    'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen',
		    'sixteen', 'seventeen', 'eighteen', 'nineteen'];
	const tens = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy',
		      'eighty', 'ninety'];
	for (let i = 0; i < 10; i++) {
		SPOKEN.zh[`digit_${i}`] = zh[i];
		SPOKEN.en[`digit_${i}`] = en[i];
	}
	for (let i = 10; i < 20; i++) {
		SPOKEN.zh[`num_${i}`] = '十' + (i > 10 ? zh[i - 10] : '');
		SPOKEN.en[`num_${i}`] = en[i];
	}
	for (let i = 2; i < 10; i++) {
		SPOKEN.zh[`num_${i * 10}`] = zh[i] + '十';
		SPOKEN.en[`num_${i * 10}`] = tens[i];
	}
	const zhNum = (n) => (n === 2 ? '两' : n < 10 ? zh[n] : n < 20 ? SPOKEN.zh[`num_${n}`] :
			      zh[Math.floor(n / 10)] + '十' + (n % 10 ? zh[n % 10] : ''));
	const enNum = (n) => (n < 20 ? en[n] : tens[Math.floor(n / 10)] + (n % 10 ? ' ' + en[n % 10] : ''));
	for (let m = 1; m <= 30; m++) {
		SPOKEN.zh[`taxi_eta_${m}`] = `预计${zhNum(m)}分钟后到达。`;
		SPOKEN.en[`taxi_eta_${m}`] = `It will arrive in about ${enNum(m)} minute${m > 1 ? 's' : ''}.`;
	}
})();

const STRINGS = {
	zh: {
		'title': '老友服务亭',
		'brand': '老友服务亭',
		'lang.other': 'English',
		'home': '首页',
		'home.h': '请选择服务',
		'home.lead': '请点一下您需要的服务',
		'svc.taxi': '一键叫车',
		'svc.elder': '助老一键通',
		'svc.watch': '守望相助',
		'svc.sign': '手语视频',
		'svc.life': '15分钟生活圈',
		'svc.charging': '免费充电',
		'svc.call': '免费通话',
		'unavail.badge': '暂停服务',
		'unavail.text': '这项服务暂时不能使用，请稍后再试。',
		'conn.on': '在线',
		'conn.off': '离线',
		'conn.connecting': '正在连接…',
		'off.h': '服务亭暂时断网',
		'off.network': '正在重新连接，请稍后再试。',
		'off.h.token': '服务亭未登记',
		'off.token': '本服务亭的令牌无效，请联系运维人员。',
		'busy': '请稍等…',

		'taxi.where': '出租车会到这里接您：',
		'taxi.unavail': '一键叫车暂停服务，您可以拨打出租车热线。',
		'taxi.go': '立即叫车',
		'taxi.cancel': '取消叫车',
		'taxi.hotline': '拨打出租车热线',
		'taxi.plate': '车牌',
		'taxi.eta': '预计 {min} 分钟后到达',
		'taxi.calling': '正在拨打出租车热线，请拿起听筒。',

		'elder.text': '按下大按钮，助老服务人员会接听。请拿起听筒说话。',
		'elder.go': '呼叫助老服务',

		'watch.text': '请选择您遇到的情况，志愿者和社区会马上收到通知。危及生命请拨打 110 或 120。',
		'watch.note': '补充说明（可不填）',
		'watch.cat.fall': '有人摔倒',
		'watch.cat.lost': '走失迷路',
		'watch.cat.suspicious': '可疑情况',
		'watch.cat.fire-smoke': '火情烟雾',
		'watch.cat.quarrel': '争吵纠纷',
		'watch.cat.other': '其他求助',
		'watch.volunteer': '志愿者：{name}',

		'sign.s1': '请站在屏幕正前方，面对上方的摄像头。',
		'sign.s2': '点“开始视频通话”，手语客服会接听。',
		'sign.s3': '打手语时，双手请保持在画面内。',
		'sign.go': '开始视频通话',

		'life.text': '步行 15 分钟内的生活服务。请选择类别：',
		'life.back': '返回类别',
		'life.dist': '{dist} · 步行 {min} 分钟',
		'life.m': '{n} 米',
		'life.km': '{n} 公里',
		'life.nocats': '暂时没有生活服务信息。',
		'life.count': '共 {n} 处，最近的排在最前面。',

		'charge.s1': '把充电线插到您的手机上。',
		'charge.s2': '把另一头插入服务亭的充电口，充电自动开始，完全免费。',
		'charge.s3': '充好后拔下充电线，别忘了带走手机。',
		'charge.ports': '充电口状态',
		'charge.none': '本服务亭没有充电口。',
		'port': '充电口 {n}',
		'port.idle': '空闲，可以使用',
		'port.charging': '正在充电 · {min} 分钟',
		'port.fault': '故障，请用其他充电口',

		'call.limit': '拨打本地电话免费，每次最长 {min} 分钟。',
		'call.sos': '110、119、120、122 紧急电话随时免费，不限时间。',
		'call.number': '电话号码',
		'call.go': '拨打',
		'call.clear': '清除',
		'call.del': '删除',
		'call.del.label': '删除一位',
		'call.pad': '拨号键盘',
		'call.to': '正在接通 {number}。',
		'call.state.ringing': '听筒正在响铃，请拿起听筒。',
		'call.state.answered': '已接通，请通话。',
		'call.state.warning': '通话即将结束。',
	},
	en: {
		'title': 'Hello Laoyou booth',
		'brand': 'Hello Laoyou',
		'lang.other': '中文',
		'home': 'Home',
		'home.h': 'Choose a service',
		'home.lead': 'Tap the service you need',
		'svc.taxi': 'Taxi',
		'svc.elder': 'Elder help',
		'svc.watch': 'Neighbourhood watch',
		'svc.sign': 'Sign language video',
		'svc.life': '15-minute life circle',
		'svc.charging': 'Free charging',
		'svc.call': 'Free call',
		'unavail.badge': 'Not available',
		'unavail.text': 'This service is not available right now. Please try again later.',
		'conn.on': 'Online',
		'conn.off': 'Offline',
		'conn.connecting': 'Connecting…',
		'off.h': 'This booth is offline',
		'off.network': 'Reconnecting, please try again shortly.',
		'off.h.token': 'Booth not registered',
		'off.token': 'This booth\'s token is not valid. Please tell the operations team.',
		'busy': 'Please wait…',

		'taxi.where': 'The taxi will pick you up here: ',
		'taxi.unavail': 'One-touch taxi is not available now. You can call the taxi hotline.',
		'taxi.go': 'Call a taxi now',
		'taxi.cancel': 'Cancel the taxi',
		'taxi.hotline': 'Call the taxi hotline',
		'taxi.plate': 'Plate',
		'taxi.eta': 'Arrives in about {min} min',
		'taxi.calling': 'Calling the taxi hotline: please pick up the handset.',

		'elder.text': 'Press the big button and an elder-care helper will answer. Pick up the handset to talk.',
		'elder.go': 'Call elder help',

		'watch.text': 'Choose what has happened; volunteers and the community office are told at once. If a life is in danger, call 110 or 120.',
		'watch.note': 'Anything to add (optional)',
		'watch.cat.fall': 'Someone fell',
		'watch.cat.lost': 'Lost person',
		'watch.cat.suspicious': 'Something suspicious',
		'watch.cat.fire-smoke': 'Fire or smoke',
		'watch.cat.quarrel': 'Quarrel or fight',
		'watch.cat.other': 'Other help',
		'watch.volunteer': 'Volunteer: {name}',

		'sign.s1': 'Stand in front of the screen and face the camera above it.',
		'sign.s2': 'Tap "Start video call"; a sign-language agent answers.',
		'sign.s3': 'Keep both hands in the picture while you sign.',
		'sign.go': 'Start video call',

		'life.text': 'Services within a 15-minute walk. Choose a category:',
		'life.back': 'Back to categories',
		'life.dist': '{dist} · {min} min walk',
		'life.m': '{n} m',
		'life.km': '{n} km',
		'life.nocats': 'No local services are listed yet.',
		'life.count': '{n} places, nearest first.',

		'charge.s1': 'Plug the charging cable into your phone.',
		'charge.s2': 'Plug the other end into one of the booth\'s ports: charging starts by itself, free of charge.',
		'charge.s3': 'When you are done, unplug the cable and take your phone.',
		'charge.ports': 'Charging ports',
		'charge.none': 'This booth has no charging ports.',
		'port': 'Port {n}',
		'port.idle': 'Free to use',
		'port.charging': 'Charging · {min} min',
		'port.fault': 'Out of order, use another port',

		'call.limit': 'Local calls are free, up to {min} minutes each.',
		'call.sos': 'Emergency numbers 110, 119, 120 and 122 are always free, with no time limit.',
		'call.number': 'Phone number',
		'call.go': 'Call',
		'call.clear': 'Clear',
		'call.del': 'Delete',
		'call.del.label': 'Delete one digit',
		'call.pad': 'Dial pad',
		'call.to': 'Connecting {number}.',
		'call.state.ringing': 'The handset is ringing: please pick it up.',
		'call.state.answered': 'Connected: please talk.',
		'call.state.warning': 'The call will end soon.',
	},
};

let lang = HOME_LANG;

function t(key, vars) {
	let s = STRINGS[lang][key];
	if (s === undefined)
		s = STRINGS.zh[key] !== undefined ? STRINGS.zh[key] : key;
	if (vars)
		s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
	return s;
}

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
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

/* ---------- speech and captions ---------- */

const player = new Audio();
player.preload = 'auto';
let speech = {gen: 0, queue: []};

function promptUrl(l, name) {
	return `/api/v1/prompts/${l}/${name}.wav`;
}

/* The offline notice is spoken when laoyou cannot be reached: load it
 * while it can. */
const offlineAudio = {};
for (const l of ['zh', 'en']) {
	offlineAudio[l] = new Audio(promptUrl(l, 'kiosk_offline'));
	offlineAudio[l].preload = 'auto';
}

function playNext(gen) {
	if (gen !== speech.gen)
		return;
	const name = speech.queue.shift();
	if (!name)
		return;
	const next = () => playNext(gen);
	player.onended = next;
	player.onerror = next;
	player.src = promptUrl(lang, name);
	/* Without sound (no speaker, autoplay refused) the steps still go
	 * on, and the caption says it all. */
	player.play().catch(() => setTimeout(next, 200));
}

/* A number 0..99 as prompts of the shared catalog (digit_N, num_NN). */
function numberPrompts(n) {
	n = Math.max(0, Math.min(99, Math.round(n)));
	if (n === 2)
		return ['num_2_liang'];
	if (n < 10)
		return [`digit_${n}`];
	if (n < 20 || n % 10 === 0)
		return [`num_${n}`];
	return [`num_${n - (n % 10)}`, `digit_${n % 10}`];
}

/**
 * Say parts (prompt names, or {n: number}) in the current language and
 * caption them with the catalogs' words; a new step cuts off the one
 * before.
 */
function speak(...parts) {
	const names = [];
	for (const p of parts)
		if (typeof p === 'object')
			names.push(...numberPrompts(p.n));
		else if (p)
			names.push(p);
	const caption = names.map((n) => SPOKEN[lang][n] || '').filter(Boolean)
		.join(lang === 'zh' ? '' : ' ');
	$('k-caption').textContent = caption;
	$('k-caption').lang = lang === 'zh' ? 'zh-CN' : 'en';
	document.body.dataset.spoken = names.join(' ');
	speech = {gen: speech.gen + 1, queue: names, last: parts};
	player.pause();
	playNext(speech.gen);
}

function hush() {
	speech = {gen: speech.gen + 1, queue: []};
	player.pause();
	$('k-caption').textContent = '';
}

/* ---------- the booth API ---------- */

class KioskError extends Error {
	constructor(status, code, message) {
		super(message || code);
		this.status = status;
		this.code = code;
	}
}

async function bapi(method, path, body) {
	const headers = {'Accept': 'application/json', 'Authorization': `Booth ${token}`};
	if (body !== undefined)
		headers['Content-Type'] = 'application/json';
	let res;
	try {
		res = await fetch(path, {method, headers, cache: 'no-store',
					 body: body === undefined ? undefined : JSON.stringify(body)});
	} catch (e) {
		throw new KioskError(0, 'network', '');
	}
	const text = await res.text();
	let data = null;
	try {
		data = text ? JSON.parse(text) : null;
	} catch (e) {
		data = null;
	}
	if (!res.ok) {
		const err = new KioskError(res.status, (data && data.error) || `http_${res.status}`,
					   (data && data.message) || '');
		if (res.status === 401)
			setOffline('token');
		throw err;
	}
	return data;
}

/* ---------- the booth and its link to laoyou ---------- */

let booth = null;           /* GET /api/v1/booth/me, or the WebSocket's hello */
let online = false;
let offlineWhy = '';        /* '', 'network' or 'token' */
let ws = null;
let wsDelay = 1000;
let lastHeard = 0;
/* Services that answered 503 lately: unavailable until laoyou says hello
 * again (or five minutes pass). */
const down = {};

function serviceOk(svc) {
	if (down[svc] && Date.now() - down[svc] < 5 * 60 * 1000)
		return false;
	delete down[svc];
	if (svc === 'taxi')
		return !booth || !booth.services || booth.services.taxi !== false;
	return true;
}

function markDown(svc) {
	down[svc] = Date.now();
	renderAvailability();
}

function setOnline() {
	const was = online;
	online = true;
	offlineWhy = '';
	if (!was)
		renderConn();
	document.body.dataset.online = '1';
}

function setOffline(why) {
	const changed = online || offlineWhy !== why;
	online = false;
	offlineWhy = why;
	document.body.dataset.online = '0';
	if (!changed)
		return;
	renderConn();
	/* Spoken from what was loaded while online; captioned either way. */
	const a = offlineAudio[lang];
	$('k-caption').textContent = SPOKEN[lang].kiosk_offline;
	speech = {gen: speech.gen + 1, queue: []};
	player.pause();
	a.currentTime = 0;
	a.play().catch(() => {});
}

function renderConn() {
	const conn = $('k-conn');
	const banner = $('k-offline');
	if (online) {
		conn.textContent = t('conn.on');
		conn.className = 'k-conn';
		banner.hidden = true;
	}
	else if (offlineWhy) {
		conn.textContent = t('conn.off');
		conn.className = 'k-conn off';
		$('k-offline-h').textContent = t(offlineWhy === 'token' ? 'off.h.token' : 'off.h');
		$('k-offline-p').textContent = t(offlineWhy === 'token' ? 'off.token' : 'off.network');
		banner.hidden = false;
		banner.dataset.why = offlineWhy;
	}
	else {
		conn.textContent = t('conn.connecting');
		conn.className = 'k-conn';
		banner.hidden = true;
	}
	renderAvailability();
}

function applyBooth(b) {
	if (!b || typeof b !== 'object')
		return;
	booth = b;
	store(BOOTH_KEY, b.id || '');
	renderBooth();
	renderAvailability();
}

function renderBooth() {
	const name = booth ? (lang === 'en' && booth.name_en ? booth.name_en : booth.name) : '';
	$('k-booth').textContent = name || store(BOOTH_KEY) || '';
	document.querySelector('#s-taxi .k-addr').textContent = booth ? booth.address || '' : '';
	const mins = Math.round(((booth && booth.free_call_s) || 180) / 60);
	$('call-limit').textContent = t('call.limit', {min: mins});
	const hot = taxiHotline();
	document.querySelector('#taxi-hotline .num').textContent = hot;
}

function taxiHotline() {
	if (ride && ride.fallback)
		return ride.fallback;
	return (booth && booth.taxi_hotline) || '';
}

function heartbeat() {
	if (ws && ws.readyState === WebSocket.OPEN)
		ws.send(JSON.stringify({type: 'heartbeat', lang}));
}

function connect() {
	if (!token) {
		setOffline('token');
		return;
	}
	const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}` +
		`/api/v1/booth/ws?token=${encodeURIComponent(token)}`;
	let opened = false;
	try {
		ws = new WebSocket(url);
	} catch (e) {
		reconnect(false);
		return;
	}
	ws.addEventListener('open', () => {
		opened = true;
		wsDelay = 1000;
		lastHeard = Date.now();
		heartbeat();
	});
	ws.addEventListener('message', (ev) => {
		let m;
		try {
			m = JSON.parse(ev.data);
		} catch (e) {
			return;
		}
		if (!m || typeof m.type !== 'string')
			return;
		lastHeard = Date.now();
		onMessage(m);
	});
	ws.addEventListener('close', () => {
		ws = null;
		reconnect(opened);
	});
}

/* Down: say so, and try again later (with jitter, so that a fleet does
 * not come back all at once).  A handshake that never opened may be a
 * refused token: ask /me, which answers 401 for that. */
async function reconnect(wasOpen) {
	let why = 'network';
	if (!wasOpen) {
		try {
			applyBooth(await bapi('GET', '/api/v1/booth/me'));
		} catch (e) {
			if (e.status === 401)
				why = 'token';
		}
	}
	setOffline(why);
	const wait = wsDelay * (0.75 + Math.random() * 0.5);
	wsDelay = Math.min(wsDelay * 2, 30000);
	setTimeout(connect, wait);
}

function onMessage(m) {
	switch (m.type) {
	case 'hello':
		for (const k of Object.keys(down))
			delete down[k];
		applyBooth(m.booth);
		setOnline();
		refreshAfterReconnect();
		break;
	case 'ack':
		setOnline();
		break;
	case 'taxi':
		onTaxi(m.data || {});
		break;
	case 'watch':
		onWatch(m.data || {});
		break;
	case 'call':
		onCall(m.data || {});
		break;
	default:
		break;
	}
}

/* Nothing heard for too long: the link is dead even if the socket
 * does not know it yet. */
setInterval(() => {
	if (ws && ws.readyState === WebSocket.OPEN && Date.now() - lastHeard > SILENT_S * 1000) {
		setOffline('network');
		ws.close();
	}
}, 1000);
setInterval(heartbeat, HEARTBEAT_S * 1000);

/* ---------- screens ---------- */

const SCREENS = ['home', 'taxi', 'elder', 'watch', 'sign', 'life', 'charging', 'call'];
let screen = 'home';
let lastTouch = Date.now();
const pollers = {};

function stopPolls() {
	for (const k of Object.keys(pollers)) {
		clearInterval(pollers[k]);
		delete pollers[k];
	}
}

/* The prompt a screen opens with. */
function screenPrompt(name) {
	if (name === 'taxi')
		return serviceOk('taxi') ? 'kiosk_taxi' : 'kiosk_taxi_unavailable';
	if (name !== 'home' && !serviceOk(name))
		return 'kiosk_unavailable';
	return 'kiosk_' + name;
}

function show(name, opts = {}) {
	const {quiet = false, focus = true} = opts;
	if (!SCREENS.includes(name))
		name = 'home';
	if (screen !== name)
		stopPolls();
	screen = name;
	for (const s of SCREENS)
		$('s-' + s).hidden = s !== name;
	$('k-home').hidden = name === 'home';
	document.body.dataset.screen = name;
	enter(name);
	if (focus) {
		const h = $('h-' + name);
		if (h)
			h.focus({preventScroll: true});
	}
	if (!quiet)
		speak(screenPrompt(name));
}

function enter(name) {
	switch (name) {
	case 'home':
		showLifeCats();
		break;
	case 'taxi':
		renderRide();
		break;
	case 'watch':
		renderWatchCats();
		renderWatch();
		break;
	case 'life':
		showLifeCats();
		loadCategories();
		break;
	case 'charging':
		loadPorts();
		pollers.ports = setInterval(loadPorts, 10000);
		break;
	case 'call':
		renderNumber();
		break;
	default:
		break;
	}
}

/* Each screen says whether its service can be used now. */
function renderAvailability() {
	for (const svc of SCREENS.slice(1)) {
		const ok = serviceOk(svc);
		const tile = document.querySelector(`.svc[data-go="${svc}"]`);
		const badge = $('u-' + svc);
		badge.hidden = ok;
		tile.classList.toggle('unavailable', !ok);
		if (ok)
			tile.removeAttribute('aria-describedby');
		else
			tile.setAttribute('aria-describedby', 'u-' + svc);
		const note = document.querySelector(`#s-${svc} .k-unavail`);
		if (note)
			note.hidden = ok;
	}
	const usable = online;
	for (const b of document.querySelectorAll('.k-act, .k-cats button')) {
		if (b.id === 'life-back')
			continue;
		const svc = b.closest('.screen').dataset.screen;
		const off = !usable || (!serviceOk(svc) && b.id !== 'taxi-hotline');
		if (off)
			b.setAttribute('aria-disabled', 'true');
		else
			b.removeAttribute('aria-disabled');
	}
	renderRide();
}

/* A button that cannot work now says why when tapped. */
function blocked(svc, statusId) {
	if (!online) {
		status(statusId, t('off.h') + ' ' + t('off.network'), 'bad');
		speak('kiosk_offline');
		return true;
	}
	if (!serviceOk(svc)) {
		status(statusId, t('unavail.text'), 'bad');
		speak('kiosk_unavailable');
		return true;
	}
	return false;
}

function status(id, content, kind = '') {
	const box = $(id);
	box.className = 'k-status' + (kind ? ' ' + kind : '');
	if (!content)
		box.replaceChildren();
	else if (typeof content === 'string')
		box.replaceChildren(el('p', {text: content}));
	else
		box.replaceChildren(...content);
}

/* An API failure: said on screen and aloud. */
function failed(svc, statusId, e) {
	if (e.status === 503) {
		markDown(svc);
		status(statusId, t('unavail.text'), 'bad');
		speak('kiosk_unavailable');
	}
	else if (e.code === 'network' || e.status === 401) {
		status(statusId, t('off.h') + ' ' + t('off.network'), 'bad');
		if (e.code === 'network')
			setOffline('network');
		else
			speak('kiosk_offline');
	}
	else {
		status(statusId, SPOKEN[lang].kiosk_error + (e.message && e.message !== e.code ?
			` (${e.message})` : ''), 'bad');
		speak('kiosk_error');
	}
}

/* ---------- taxi ---------- */

let ride = null;
const RIDE_LIVE = ['requested', 'sent', 'accepted', 'arriving'];

function rideLive() {
	return ride && RIDE_LIVE.includes(ride.state);
}

/* What the taxi module says of the ride (its catalog), or our guess. */
function ridePrompts() {
	if (Array.isArray(ride.prompts) && ride.prompts.length)
		return ride.prompts;
	const p = ['taxi_' + (ride.state === 'sent' ? 'waiting' : ride.state)];
	if (ride.fallback)
		p.push('taxi_fallback');
	return p;
}

function renderRide() {
	const go = $('taxi-go'), cancel = $('taxi-cancel'), hot = $('taxi-hotline');
	const ok = serviceOk('taxi');
	const live = rideLive();
	go.hidden = live || !ok;
	cancel.hidden = !live;
	const number = taxiHotline();
	hot.hidden = !number || (ok && !(ride && ride.fallback));
	document.querySelector('#taxi-hotline .num').textContent = number;
	if (!ride) {
		if ($('taxi-status').dataset.ride)
			status('taxi-status', '');
		$('taxi-status').dataset.ride = '';
		return;
	}
	const words = ridePrompts().map((n) => SPOKEN[lang][n]).filter(Boolean);
	const parts = [el('p', {text: words.join(lang === 'zh' ? '' : ' ') || ride.state})];
	if (ride.plate && ['accepted', 'arriving', 'arrived'].includes(ride.state))
		parts.push(el('p', {}, t('taxi.plate'), el('span', {class: 'k-plate', text: ride.plate})));
	if (ride.eta_s > 0 && ['accepted', 'arriving'].includes(ride.state))
		parts.push(el('p', {text: t('taxi.eta', {min: Math.max(1, Math.ceil(ride.eta_s / 60))})}));
	status('taxi-status', parts, ride.state === 'failed' || ride.state === 'cancelled' ? 'bad' :
	       ['requested', 'sent'].includes(ride.state) ? '' : 'ok');
	$('taxi-status').dataset.ride = ride.id || '';
	$('taxi-status').dataset.state = ride.state;
}

function rideUpdate(r, announce) {
	if (!r || !r.id)
		return;
	const before = ride && ride.id === r.id ? ride.state : '';
	ride = Object.assign(ride && ride.id === r.id ? ride : {}, r);
	ride.touched = Date.now();
	renderRide();
	if (!announce || before === ride.state)
		return;
	/* News for a rider who may have wandered to the home screen. */
	if (screen === 'home')
		show('taxi', {quiet: true});
	if (screen === 'taxi')
		speak(...ridePrompts());
}

async function taxiGo() {
	if (blocked('taxi', 'taxi-status'))
		return;
	status('taxi-status', t('busy'));
	try {
		const res = await bapi('POST', '/api/v1/booth/taxi', {});
		rideUpdate((res && res.ride) || res, true);
		pollers.ride = pollers.ride || setInterval(pollRide, 15000);
	} catch (e) {
		failed('taxi', 'taxi-status', e);
	}
}

async function pollRide() {
	if (!ride || !ride.id || !rideLive()) {
		clearInterval(pollers.ride);
		delete pollers.ride;
		return;
	}
	try {
		const res = await bapi('GET', `/api/v1/booth/taxi/${encodeURIComponent(ride.id)}`);
		rideUpdate((res && res.ride) || res, true);
	} catch (e) { /* the news will tell */ }
}

async function taxiCancel() {
	if (!ride || !ride.id)
		return;
	try {
		const res = await bapi('POST', `/api/v1/booth/taxi/${encodeURIComponent(ride.id)}/cancel`, {});
		rideUpdate(Object.assign({state: 'cancelled'}, (res && res.ride) || res || {},
					 {id: ride.id}), true);
	} catch (e) {
		if (e.status === 409)      /* over already: read how it ended */
			pollRide();
		else
			failed('taxi', 'taxi-status', e);
	}
}

function onTaxi(d) {
	rideUpdate(d, true);
}

async function taxiHotlineCall() {
	const number = taxiHotline();
	if (!number)
		return;
	if (!online) {
		blocked('taxi', 'taxi-status');
		return;
	}
	callFrom = 'taxi';
	try {
		await bapi('POST', '/api/v1/booth/call', {number});
		status('taxi-status', t('taxi.calling'), 'ok');
		speak('kiosk_call_ringing');
	} catch (e) {
		callError(e, 'taxi-status', 'taxi');
	}
}

/* ---------- calls: elder help, sign language, free calls ---------- */

let callFrom = '';

async function serviceCall(svc, prompt) {
	const id = svc + '-status';
	if (blocked(svc, id))
		return;
	status(id, t('busy'));
	callFrom = svc;
	try {
		await bapi('POST', '/api/v1/booth/call', {service: svc});
		status(id, SPOKEN[lang][prompt], 'ok');
		speak(prompt);
	} catch (e) {
		callError(e, id, svc);
	}
}

/* Why laoyou refused a call: by its error code, or by its words. */
function callRefusal(e) {
	const m = (e.message || '').toLowerCase();
	if (e.code === 'quota_exceeded' || (e.status === 403 && /daily|quota|used/.test(m)))
		return 'kiosk_call_quota';
	if (e.code === 'not_local' || (e.status === 403 && /local/.test(m)))
		return 'kiosk_call_not_local';
	if (e.status === 409)           /* the handset is not there */
		return 'kiosk_unavailable';
	return '';
}

function callError(e, statusId, svc) {
	const why = callRefusal(e);
	if (why) {
		status(statusId, SPOKEN[lang][why], 'bad');
		speak(why);
	}
	else {
		failed(svc, statusId, e);
	}
}

function onCall(d) {
	const svc = callFrom || (screen === 'call' ? 'call' : '');
	if (!svc || screen !== svc)
		return;
	const st = d.state || d.event || '';
	const id = svc + '-status';
	/* The page said "calling" already when the request was taken. */
	if (st === 'ringing')
		return;
	if (st === 'ended' || st === 'failed' || st === 'hangup') {
		status(id, SPOKEN[lang].kiosk_call_ended);
		speak('kiosk_call_ended');
		callFrom = '';
	}
	else if (STRINGS.zh['call.state.' + st]) {
		status(id, t('call.state.' + st), 'ok');
	}
}

let dialled = '';

function renderNumber() {
	$('call-number').textContent = dialled;
}

function dialKey(k) {
	if (k === 'del')
		dialled = dialled.slice(0, -1);
	else if (k === 'clear')
		dialled = '';
	else if (dialled.length < 20)
		dialled += k;
	renderNumber();
}

async function dial() {
	if (blocked('call', 'call-status'))
		return;
	if (!dialled) {
		status('call-status', SPOKEN[lang].kiosk_call_empty, 'bad');
		speak('kiosk_call_empty');
		return;
	}
	status('call-status', t('busy'));
	callFrom = 'call';
	try {
		await bapi('POST', '/api/v1/booth/call', {number: dialled});
		status('call-status', [el('p', {text: SPOKEN[lang].kiosk_call_ringing}),
				       el('p', {text: t('call.to', {number: dialled})})], 'ok');
		speak('kiosk_call_ringing');
	} catch (e) {
		callError(e, 'call-status', 'call');
	}
}

function buildPad() {
	const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'clear', '0', 'del'];
	$('call-pad').replaceChildren(...keys.map((k) => {
		const b = el('button', {type: 'button', dataset: {key: k},
					class: /^\d$/.test(k) ? '' : 'k-word',
					onclick: () => dialKey(k)});
		b.textContent = /^\d$/.test(k) ? k : t('call.' + k);
		if (k === 'del')
			b.setAttribute('aria-label', t('call.del.label'));
		return b;
	}));
}

/* ---------- neighbourhood watch ---------- */

const WATCH_CATS = ['fall', 'lost', 'suspicious', 'fire-smoke', 'quarrel', 'other'];
let watchAlert = null;

function renderWatchCats() {
	const ul = $('watch-cats');
	if (ul.children.length === WATCH_CATS.length &&
	    ul.dataset.lang === lang) {
		renderAvailability();
		return;
	}
	ul.replaceChildren(...WATCH_CATS.map((c) => el('li', {},
		el('button', {type: 'button', dataset: {cat: c}, text: t('watch.cat.' + c),
			      onclick: () => watchGo(c)}))));
	ul.dataset.lang = lang;
	renderAvailability();
}

function renderWatch() {
	if (!watchAlert) {
		status('watch-status', '');
		return;
	}
	const key = 'kiosk_watch_' + (watchAlert.state === 'open' ? 'sent' : watchAlert.state);
	const parts = [el('p', {text: SPOKEN[lang][key] || watchAlert.state})];
	if (watchAlert.volunteer)
		parts.push(el('p', {text: t('watch.volunteer', {name: watchAlert.volunteer.name || watchAlert.volunteer})}));
	status('watch-status', parts, watchAlert.state === 'open' ? '' : 'ok');
	$('watch-status').dataset.state = watchAlert.state;
	$('watch-status').dataset.alert = String(watchAlert.id || '');
}

async function watchGo(category) {
	if (blocked('watch', 'watch-status'))
		return;
	status('watch-status', t('busy'));
	try {
		const note = $('watch-note').value.trim();
		const res = await bapi('POST', '/api/v1/booth/watch', {category, note});
		watchAlert = Object.assign({state: 'open'}, (res && res.alert) || res || {});
		watchAlert.touched = Date.now();
		renderWatch();
		speak('kiosk_watch_sent');
	} catch (e) {
		failed('watch', 'watch-status', e);
	}
}

function onWatch(d) {
	if (!d || !d.id)
		return;
	const before = watchAlert && watchAlert.id === d.id ? watchAlert.state : '';
	watchAlert = Object.assign(watchAlert && watchAlert.id === d.id ? watchAlert : {}, d);
	watchAlert.touched = Date.now();
	if (screen === 'home' && watchAlert.state !== 'closed')
		show('watch', {quiet: true});
	renderWatch();
	if (screen === 'watch' && before !== watchAlert.state && watchAlert.state !== 'open')
		speak('kiosk_watch_' + watchAlert.state);
}

/* ---------- the 15-minute life circle ---------- */

let categories = null;
let places = null;          /* {category, items} shown */

function catId(c) {
	return c.id || c.key;
}

function catName(c) {
	return (lang === 'en' ? c.en : c.zh) || c.zh || c.en || catId(c);
}

function walkMin(p) {
	return Math.max(1, Math.round(Number(p.walk_min ?? p.minutes) || 0));
}

async function loadCategories() {
	if (categories) {
		renderCategories();
		return;
	}
	try {
		const res = await bapi('GET', '/api/v1/booth/categories');
		categories = Array.isArray(res) ? res : (res && (res.items || res.categories)) || [];
		renderCategories();
	} catch (e) {
		failed('life', 'life-status', e);
	}
}

function renderCategories() {
	const ul = $('life-cats');
	ul.replaceChildren(...(categories || []).map((c) => el('li', {},
		el('button', {type: 'button', dataset: {cat: catId(c)}, text: catName(c),
			      onclick: () => showPlaces(c)}))));
	if (categories && !categories.length)
		status('life-status', t('life.nocats'));
	renderAvailability();
}

function showLifeCats() {
	places = null;
	$('life-cats-view').hidden = false;
	$('life-list-view').hidden = true;
	status('life-status', '');
}

function fmtDist(m) {
	m = Math.round(Number(m) || 0);
	return m >= 1000 ? t('life.km', {n: (m / 1000).toFixed(1)}) : t('life.m', {n: m});
}

function renderPlaces() {
	if (!places)
		return;
	$('life-list-h').textContent = catName(places.category);
	$('life-list').replaceChildren(...places.items.map((p) => el('li', {},
		el('span', {class: 'p-name', text: lang === 'en' && p.name_en ? p.name_en : p.name}),
		el('span', {class: 'p-dist', text: t('life.dist', {dist: fmtDist(p.distance_m),
								   min: walkMin(p)})}),
		el('span', {class: 'p-addr', text: p.address || ''}))));
	/* laoyou's own sentence names the nearest place; ours is the fallback. */
	const said = places.say && places.say[lang];
	status('life-status', said || (places.items.length ? t('life.count', {n: places.items.length}) :
				       SPOKEN[lang].kiosk_life_empty), places.items.length ? '' : 'bad');
}

async function showPlaces(c) {
	if (blocked('life', 'life-status'))
		return;
	try {
		const res = await bapi('GET', '/api/v1/booth/nearby?category=' + encodeURIComponent(catId(c)));
		places = {category: c, items: (res && res.items) || [], say: res && res.say};
	} catch (e) {
		failed('life', 'life-status', e);
		return;
	}
	$('life-cats-view').hidden = true;
	$('life-list-view').hidden = false;
	renderPlaces();
	$('life-list-h').focus({preventScroll: true});
	if (places.items.length) {
		const m = walkMin(places.items[0]);
		speak('kiosk_life_list', 'kiosk_life_nearest', {n: m}, m === 1 ? 'kiosk_minute' : 'minutes');
	}
	else
		speak('kiosk_life_empty');
}

/* ---------- free charging ---------- */

let ports = null;

async function loadPorts() {
	try {
		const res = await bapi('GET', '/api/v1/booth/charging');
		ports = (res && res.ports) || [];
		renderPorts();
	} catch (e) {
		ports = null;
		renderPorts();
		if (e.status === 503 || e.status === 404)
			status('charging-status', t('unavail.text'), 'bad');
		else if (e.code === 'network')
			setOffline('network');
	}
}

function renderPorts() {
	const ul = $('charge-ports');
	if (!ports) {
		ul.replaceChildren();
		return;
	}
	status('charging-status', ports.length ? '' : t('charge.none'));
	const now = Date.now();
	ul.replaceChildren(...ports.map((p) => {
		const st = ['idle', 'charging', 'fault'].includes(p.state) ? p.state : 'fault';
		const min = Math.max(0, Math.round((now - (p.since_ms || now)) / 60000));
		return el('li', {dataset: {state: st, port: p.port}},
			  el('strong', {text: t('port', {n: p.port})}),
			  t('port.' + st, {min}));
	}));
}

/* ---------- language ---------- */

function applyStrings() {
	document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
	document.title = t('title');
	for (const e of document.querySelectorAll('[data-k]'))
		e.textContent = t(e.dataset.k);
	for (const e of document.querySelectorAll('[data-klabel]'))
		e.setAttribute('aria-label', t(e.dataset.klabel));
	const other = lang === 'zh' ? 'en' : 'zh';
	$('k-lang-text').textContent = t('lang.other');
	$('k-lang').lang = other === 'zh' ? 'zh-CN' : 'en';
	buildPad();
	renderBooth();
	renderConn();
	renderRide();
	renderWatchCats();
	renderWatch();
	renderCategories();
	renderPlaces();
	renderPorts();
}

function setLang(l, {quiet = false} = {}) {
	if (l === lang)
		return;
	lang = l;
	applyStrings();
	heartbeat();
	if (quiet)
		return;
	/* The step in hand, said again in the new language. */
	if (speech.last)
		speak(...speech.last);
	else
		speak(screenPrompt(screen));
}

/* ---------- quiet spells ---------- */

function touched() {
	lastTouch = Date.now();
}

function holding() {
	const fresh = (x) => x && Date.now() - (x.touched || 0) < HOLD_MAX_MS;
	return (rideLive() && fresh(ride)) ||
		(watchAlert && ['open', 'accepted'].includes(watchAlert.state) && fresh(watchAlert));
}

/* Back to the start for the next person: home, the home language, no
 * number or note left behind, silence. */
function reset() {
	dialled = '';
	renderNumber();
	$('watch-note').value = '';
	for (const id of ['elder-status', 'sign-status', 'call-status'])
		status(id, '');
	if (ride && !rideLive())
		ride = null;
	if (watchAlert && !['open', 'accepted'].includes(watchAlert.state))
		watchAlert = null;
	callFrom = '';
	setLang(HOME_LANG, {quiet: true});
	show('home', {quiet: true});
	hush();
}

setInterval(() => {
	if (Date.now() - lastTouch < IDLE_S * 1000)
		return;
	if (screen === 'home' && lang === HOME_LANG && !$('k-caption').textContent)
		return;
	if (holding())
		return;
	reset();
	lastTouch = Date.now();
}, 500);

/* ---------- start ---------- */

function refreshAfterReconnect() {
	if (rideLive())
		pollRide();
	if (screen === 'charging')
		loadPorts();
}

function wire() {
	for (const b of document.querySelectorAll('.svc'))
		b.addEventListener('click', () => show(b.dataset.go));
	$('k-home').addEventListener('click', () => show('home'));
	$('k-lang').addEventListener('click', () => setLang(lang === 'zh' ? 'en' : 'zh'));
	$('taxi-go').addEventListener('click', taxiGo);
	$('taxi-cancel').addEventListener('click', taxiCancel);
	$('taxi-hotline').addEventListener('click', taxiHotlineCall);
	$('elder-go').addEventListener('click', () => serviceCall('elder', 'kiosk_elder_calling'));
	$('sign-go').addEventListener('click', () => serviceCall('sign', 'kiosk_sign_calling'));
	$('call-go').addEventListener('click', dial);
	$('life-back').addEventListener('click', () => {
		showLifeCats();
		$('h-life').focus({preventScroll: true});
		speak('kiosk_life');
	});
	for (const ev of ['pointerdown', 'keydown', 'input', 'touchstart'])
		document.addEventListener(ev, touched, {passive: true, capture: true});
	/* A keyboard on the call screen dials too. */
	document.addEventListener('keydown', (e) => {
		if (screen !== 'call' || e.target.tagName === 'INPUT')
			return;
		if (/^[0-9]$/.test(e.key))
			dialKey(e.key);
		else if (e.key === 'Backspace')
			dialKey('del');
		else if (e.key === 'Enter' && e.target === document.body)
			dial();
	});
}

async function main() {
	wire();
	applyStrings();
	show('home', {quiet: true, focus: false});
	if (!token) {
		setOffline('token');
		document.body.dataset.ready = '1';
		return;
	}
	try {
		applyBooth(await bapi('GET', '/api/v1/booth/me'));
	} catch (e) {
		if (e.status !== 401)
			setOffline('network');
	}
	connect();
	document.body.dataset.ready = '1';
}

main();
