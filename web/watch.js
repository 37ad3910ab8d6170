/* 守望相助: the volunteers' page.  Opened from the link in their SMS
 * (watch.html?v=TOKEN); the token is their only credential and goes to the
 * API as "Authorization: Volunteer TOKEN".  Lists the open alerts of their
 * district (Accept) and the ones they took (Close); refreshes itself. */

const REFRESH_MS = 10000;

const TEXT = {
	zh: {
		skip: "跳到主要内容", app: "守望相助", tagline: "老友 · 邻里互助",
		title: "求助信息", open: "等待接单", mine: "我接的单",
		"open.empty": "目前本区没有等待接单的求助。", "mine.empty": "还没有。",
		nolink: "请从短信里的链接打开本页。",
		emergency: "遇到危及生命的情况，请先拨打 110 / 120 / 119。",
		lang: "English", who: "{name}（{district}）",
		accept: "我去帮忙", close: "已处理，结单", resolution: "处理情况（可不填）",
		nav: "导航前往", note: "留言：", spoken: "语音留言", raised: "{ago}发起",
		accepted: "已接单：{name}", updated: "已更新 {time}",
		taken: "这条求助已经有人接了。", done: "已结单，谢谢您！",
		took: "您已接单。请尽快前往，到场后可联系求助人。",
		badlink: "链接无效或已停用，请联系社区办。", offline: "网络不通，稍后自动重试。",
		failed: "操作没有成功：{msg}", minutes: "{n} 分钟前", just: "刚刚",
		"st.open": "待接单", "st.escalated": "已升级，急需接单", "st.accepted": "已接单",
		"st.closed": "已结单",
		"c.fall": "有人跌倒", "c.lost": "有人走失迷路", "c.suspicious": "可疑情况",
		"c.fire-smoke": "烟雾或火情", "c.quarrel": "争执纠纷", "c.other": "其他求助",
	},
	en: {
		skip: "Skip to main content", app: "Neighbourhood watch",
		tagline: "Laoyou · neighbours helping", title: "Requests for help",
		open: "Waiting for a volunteer", mine: "Taken by me",
		"open.empty": "No request is waiting in your district.", "mine.empty": "None yet.",
		nolink: "Open this page from the link in your text message.",
		emergency: "If a life is in danger, call 110 / 120 / 119 first.",
		lang: "中文", who: "{name} ({district})",
		accept: "I'll go", close: "Done, close it", resolution: "What happened (optional)",
		nav: "Directions", note: "Note: ", spoken: "Spoken note", raised: "raised {ago}",
		accepted: "Taken by {name}", updated: "Updated {time}",
		taken: "Somebody else took this request already.", done: "Closed. Thank you!",
		took: "It is yours. Please go now.",
		badlink: "This link is not valid any more; ask the community office.",
		offline: "No connection; retrying shortly.", failed: "That did not work: {msg}",
		minutes: "{n} min ago", just: "just now",
		"st.open": "waiting", "st.escalated": "escalated, urgent", "st.accepted": "taken",
		"st.closed": "closed",
		"c.fall": "Somebody fell", "c.lost": "Somebody is lost", "c.suspicious": "Suspicious",
		"c.fire-smoke": "Smoke or fire", "c.quarrel": "A quarrel", "c.other": "Other help",
	},
};

let lang = (localStorage.getItem("watch.lang") ||
	(navigator.language || "zh").slice(0, 2)) === "en" ? "en" : "zh";
const token = new URLSearchParams(location.search).get("v") || "";
let me = null;
let timer = null;

function t(key, vars = {}) {
	const s = TEXT[lang][key] ?? TEXT.zh[key] ?? key;
	return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

function $(id) {
	return document.getElementById(id);
}

function el(tag, props = {}, ...kids) {
	const n = document.createElement(tag);
	for (const [k, v] of Object.entries(props)) {
		if (k === "class") n.className = v;
		else if (k === "text") n.textContent = v;
		else n.setAttribute(k, v);
	}
	for (const k of kids) if (k) n.append(k);
	return n;
}

function applyText() {
	document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
	for (const n of document.querySelectorAll("[data-w]"))
		n.textContent = t(n.dataset.w);
	$("w-lang").textContent = t("lang");
	document.title = `${t("app")} — 老友`;
	if (me)
		$("w-who").textContent = t("who", me);
}

function ago(ms) {
	const m = Math.floor((Date.now() - ms) / 60000);
	return m < 1 ? t("just") : t("minutes", {n: m});
}

function say(id, text) {
	$(id).textContent = text;
}

async function call(method, path, body) {
	const headers = {"Authorization": `Volunteer ${token}`};
	if (body !== undefined)
		headers["Content-Type"] = "application/json";
	const res = await fetch(path, {method, headers, cache: "no-store",
		body: body === undefined ? undefined : JSON.stringify(body)});
	let data = null;
	try {
		data = await res.json();
	} catch (e) {
		data = null;
	}
	return {status: res.status, data};
}

function alertItem(a, mine) {
	const li = el("li", {class: `w-alert ${a.state}`});
	const h = el("h3", {id: `w-a-${a.id}`}, t(`c.${a.category}`),
		el("span", {class: `w-state ${a.state}`, text: t(`st.${a.state}`)}));
	li.append(h, el("p", {class: "w-where", text: `${a.booth_name} · ${a.address}`}));
	if (a.note)
		li.append(el("p", {class: "w-note", text: t("note") + a.note}));
	if (a.audio) {
		// An <audio> sends no Authorization header: the token rides in
		// the URL, as in the link that opened this page.
		const au = el("audio", {controls: "", preload: "none",
			"aria-label": t("spoken"),
			src: `/api/v1/watch/alerts/${a.id}/audio?v=${encodeURIComponent(token)}`});
		li.append(el("p", {class: "w-audio"}, el("span", {text: t("spoken") + " "}), au));
	}
	li.append(el("p", {class: "w-meta", text: t("raised", {ago: ago(a.created_ms)}) +
		(a.volunteer ? ` · ${t("accepted", {name: a.volunteer})}` : "")}));
	const act = el("div", {class: "w-actions"});
	if (!mine && (a.state === "open" || a.state === "escalated")) {
		const b = el("button", {type: "button", class: "primary",
			"aria-describedby": `w-a-${a.id}`, text: t("accept")});
		b.addEventListener("click", () => doAction(b, "accept", a.id));
		act.append(b);
	}
	if (mine && a.state === "accepted") {
		const id = `w-res-${a.id}`;
		const box = el("div", {class: "w-close field"},
			el("label", {for: id, text: t("resolution")}),
			el("textarea", {id, maxlength: "500", rows: "2"}));
		const b = el("button", {type: "button", "aria-describedby": `w-a-${a.id}`,
			text: t("close")});
		b.addEventListener("click", () => doAction(b, "close", a.id,
			{resolution: $(id).value.trim()}));
		act.append(box, b);
	}
	if (a.state !== "closed" && (a.lat || a.lon)) {
		const url = `https://uri.amap.com/marker?position=${a.lon},${a.lat}` +
			`&name=${encodeURIComponent(a.booth_name)}`;
		act.append(el("a", {class: "w-nav", href: url, target: "_blank",
			rel: "noopener noreferrer", text: t("nav")}));
	}
	if (act.childElementCount)
		li.append(act);
	return li;
}

async function doAction(button, what, id, body) {
	button.disabled = true;
	say("w-error", "");
	try {
		const r = await call("POST", `/api/v1/watch/alerts/${id}/${what}`, body);
		if (r.status === 200)
			say("w-status", what === "accept" ? t("took") : t("done"));
		else if (r.status === 409 && what === "accept")
			say("w-error", t("taken"));
		else if (r.status === 401)
			say("w-error", t("badlink"));
		else
			say("w-error", t("failed", {msg: r.data?.message || r.status}));
	} catch (e) {
		say("w-error", t("offline"));
	}
	await refresh();
}

function render(data) {
	me = data.volunteer;
	const open = data.items.filter((a) => a.accepted_by !== me.id &&
		(a.state === "open" || a.state === "escalated"));
	const mine = data.items.filter((a) => a.accepted_by === me.id);
	const fill = (ul, list, isMine) => {
		// Keep what the volunteer is typing across refreshes.
		const typed = {};
		for (const ta of ul.querySelectorAll("textarea"))
			typed[ta.id] = ta.value;
		ul.replaceChildren(...list.map((a) => alertItem(a, isMine)));
		for (const [id, v] of Object.entries(typed))
			if ($(id)) $(id).value = v;
	};
	if (!document.activeElement || !document.activeElement.closest(".w-list") ||
	    document.activeElement.tagName !== "TEXTAREA") {
		fill($("w-open"), open, false);
		fill($("w-mine"), mine, true);
	}
	$("w-open-empty").hidden = open.length > 0;
	$("w-mine-empty").hidden = mine.length > 0;
	$("w-list-card").hidden = false;
	applyText();
	$("w-live").textContent = t("updated", {time: new Date().toLocaleTimeString(
		lang === "en" ? "en-GB" : "zh-CN", {hour: "2-digit", minute: "2-digit"})});
	$("w-live").className = "live on";
}

async function refresh() {
	clearTimeout(timer);
	try {
		const r = await call("GET", "/api/v1/watch/alerts");
		if (r.status === 200 && r.data) {
			render(r.data);
		} else if (r.status === 401) {
			say("w-error", t("badlink"));
			$("w-list-card").hidden = true;
			return;
		} else {
			say("w-error", t("failed", {msg: r.data?.message || r.status}));
		}
	} catch (e) {
		$("w-live").textContent = t("offline");
		$("w-live").className = "live off";
	}
	timer = setTimeout(refresh, REFRESH_MS);
}

function init() {
	$("w-lang").addEventListener("click", () => {
		lang = lang === "en" ? "zh" : "en";
		localStorage.setItem("watch.lang", lang);
		applyText();
		refresh();
	});
	applyText();
	if (!/^[0-9a-f]{32,64}$/.test(token)) {
		$("w-nolink").hidden = false;
		return;
	}
	refresh();
	document.addEventListener("visibilitychange", () => {
		if (!document.hidden)
			refresh();
	});
}

init();
