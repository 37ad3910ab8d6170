"""The booth's kiosk screen (web/kiosk/) and the operations page
(web/booths.html) in a real browser: Debian's Chromium driven by
playwright-core from tests/browser/, axe-core injected.

Each test starts laoyou with booths made through the API (SIP accounts of
kind booth, PUT /api/v1/booths/{id}, POST …/token), real peers where a
service needs them (a sipp phone as the booth's handset, a Python HTTP
server as the taxi partner, a volunteer through the watch API), and one
browser script.  The script is kept here (KIOSK_MJS), written into the
test's temp folder, and imports tests/browser/lib.mjs; like the scripts
of test_web.py it prints "@@ STEP {json}" lines at the moments this side
acts (kill laoyou, post a partner callback, accept an alert).  The
captions the page shows are checked word for word against the prompt
catalogs (prompts/*.tsv), and every prompt it speaks must have been
fetched from laoyou as a WAV (200)."""
import csv
import glob
import json
import os
import signal
import time
import urllib.error
import urllib.request

from harness import ROOT, Laoyou, TestFailure, check, free_port, register, uas
from test_taxi import SECRET, Partner, sign
from test_web import BROWSER_DIR, Browser, preflight

HOTLINE = "62580000"          # a local number: the handset may call it
USERS = {"admin": ("admin", "admin-web-pw"), "sup": ("supervisor", "sup-web-pw1")}
BOOTH = {"name": "甜爱路服务亭", "name_en": "Tian'ai Road booth",
         "address": "上海市虹口区甜爱路 1 号", "district": "虹口区",
         "lat": 31.274712, "lon": 121.483801, "ports": 4}
# Another booth, 1.2 km away, for the plot.
BOOTH2 = {"name": "多伦路服务亭", "name_en": "Duolun Road booth",
          "address": "上海市虹口区多伦路 200 号", "district": "虹口区",
          "lat": 31.265300, "lon": 121.481200, "ports": 2}
# Pharmacies at known distances north of the booth (1° lat ≈ 111.2 km).
POIS = [("p-far", "远药房", "Far Pharmacy", 0.0060),
        ("p-near", "近药房", "Near Pharmacy", 0.0015),
        ("p-mid", "中药房", "Middle Pharmacy", 0.0035)]


def catalogs():
    """Every prompt's words, as the page must caption them."""
    out = {"zh": {}, "en": {}}
    for path in sorted(glob.glob(os.path.join(ROOT, "prompts", "*.tsv"))):
        with open(path, encoding="utf-8") as f:
            for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if len(row) == 3 and row[0] != "name" and not row[0].startswith("#"):
                    out["zh"][row[0]], out["en"][row[0]] = row[1], row[2]
    return out


class Fleet:
    """A laoyou with booths and web users; HTTP as an ops token, as the
    booths' screens, and as signed-in users."""

    def __init__(self, conf=None, booths=(("tianai-1", BOOTH),), site=None):
        preflight()
        settings = {"booth_offline": "5", "taxi_hotline": HOTLINE}
        settings.update(conf or {})
        self.srv = Laoyou(settings)
        srv = self.srv
        for i, (bid, _) in enumerate(booths):
            srv.add_account(f"h-{bid}", "handset-pw1", f"90{i + 10}", "booth")
        for name, (role, pw) in USERS.items():
            srv.cli("user", "add", name, "--role", role, "--password", pw)
        self.ops = srv.cli("token", "add", "ops", "--scopes",
                           "read,control,admin").stdout.strip()
        if site:
            path = os.path.join(srv.tmp, "site.json")
            with open(path, "w") as f:
                json.dump(site, f, ensure_ascii=False)
            r = srv.cli("site", "import", path)
            check("imported" in r.stdout, r.stderr)
        srv.start()
        self.tokens = {}
        for bid, b in booths:
            self.call("PUT", f"/api/v1/booths/{bid}", dict(b, id=bid, account=f"h-{bid}"),
                      expect=200)
            self.tokens[bid] = self.call("POST", f"/api/v1/booths/{bid}/token",
                                         expect=201)["token"]
        self.tmp = srv.tmp
        self.spoken = os.path.join(srv.tmp, "spoken.json")
        with open(self.spoken, "w") as f:
            json.dump(catalogs(), f, ensure_ascii=False)
        self.script = os.path.join(srv.tmp, "kiosk.mjs")
        with open(self.script, "w") as f:
            f.write(KIOSK_MJS.replace("__LIB__", "file://" + os.path.join(BROWSER_DIR,
                                                                          "lib.mjs")))

    @property
    def base(self):
        return f"http://127.0.0.1:{self.srv.http_port}"

    def call(self, method, path, body=None, booth=None, expect=None, raw=None,
             ctype="application/json"):
        data = raw if raw is not None else (json.dumps(body).encode()
                                           if body is not None else None)
        req = urllib.request.Request(self.base + path, method=method, data=data)
        if data is not None:
            req.add_header("Content-Type", ctype)
        req.add_header("Authorization", f"Booth {self.tokens[booth]}" if booth
                       else f"Bearer {self.ops}")
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        check(expect is None or status == expect,
              f"{method} {path}: {status} {text} (wanted {expect})")
        return json.loads(text) if text else None

    def kiosk(self, booth="tianai-1", token=None, **params):
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return (f"{self.base}/kiosk/?booth={booth}&token={token or self.tokens[booth]}" +
                (f"&{q}" if q else ""))

    def browser(self, mode, *args, timeout=150):
        return Browser(self.srv, self.script, "--mode", mode, "--spoken", self.spoken,
                       *args, timeout=timeout)

    def booth(self, bid="tianai-1"):
        return self.call("GET", f"/api/v1/booths/{bid}", expect=200)["items"][0]

    def handset(self, bid="tianai-1", calls=1, mode="busy"):
        """A sipp phone registered as the booth's handset."""
        port = free_port()
        p = uas(self.tmp, f"handset-{bid}-{time.time():.3f}", f"h-{bid}", port, mode=mode,
                calls=calls)
        p.start(f"127.0.0.1:{self.srv.sip_port}")
        check(register(self.srv, self.tmp, f"h-{bid}", "handset-pw1", port)[0] == 0,
              "the handset registers")
        return p


def finish(b, timeout=60):
    try:
        return b.finish(timeout)
    finally:
        b.kill()


# ---------------------------------------------------------------- (a)

def test_kiosk_every_service_in_two_taps_both_languages():
    """Home and every service's screen, in Chinese and (after one tap) in
    English: each service's UI is reached in at most two taps (the life
    circle's list included), each step is spoken (its WAV fetched) and
    captioned with the catalog's words, text is 24 px and up, touch
    targets 64 px and up, no serious or critical axe-core violation.  The
    screen's heartbeats mark the booth online with its language."""
    fleet = Fleet({"taxi_url": "http://127.0.0.1:9/v1/rides", "taxi_secret": SECRET})
    csv_text = "id,name,name_en,category,address,lat,lon\n" + "".join(
        f"{pid},{zh},{en},pharmacy,虹口区 {pid},{BOOTH['lat'] + dlat:.6f},{BOOTH['lon']:.6f}\n"
        for pid, zh, en, dlat in POIS)
    fleet.call("POST", "/api/v1/pois", raw=csv_text.encode(), ctype="text/csv", expect=200)
    # Port 2 charging, port 3 broken: the charging screen shows it.
    fleet.call("POST", "/api/v1/booth/charging", {"port": 2, "event": "start"},
               booth="tianai-1", expect=201)
    fleet.call("POST", "/api/v1/booth/charging", {"port": 3, "event": "fault"},
               booth="tianai-1", expect=201)
    t0 = int(time.time() * 1000)
    order = [en for _, _, en, _ in sorted(POIS, key=lambda p: p[3])]
    b = fleet.browser("tour", "--kiosk", fleet.kiosk(heartbeat=2), "--ports", "4",
                      "--pois", json.dumps(order), "--ports-state",
                      json.dumps({"1": "idle", "2": "charging", "3": "fault", "4": "idle"}),
                      timeout=240)
    try:
        b.expect("online", 60)
        # The WebSocket's heartbeats: online, seen since the page opened.
        me = fleet.booth()
        check(me["online"] and me["last_seen_ms"] >= t0 - 1000, me)
        b.expect("english", 120)
        fleet.srv.wait_for(lambda: fleet.call("GET", "/api/v1/booth/me",
                                              booth="tianai-1")["lang"] == "en",
                           10, "the booth's language en after the toggle")
        b.expect("done", 150)
        # Heartbeats every 2 s kept it online all along (offline after 5 s).
        check("booth tianai-1: offline" not in fleet.srv.logtext(),
              "the booth went offline while its screen was open")
        finish(b)
    finally:
        b.kill()
    me = fleet.call("GET", "/api/v1/booth/me", booth="tianai-1")
    check(me["lang"] == "zh", f"back in Chinese, the booth says {me['lang']}")
    check(fleet.booth()["today"]["usage"].get("life", 0) >= 2,
          f"the life-circle queries were not counted: {fleet.booth()['today']}")


# ---------------------------------------------------------------- (b)

def test_kiosk_idle_offline_and_wrong_token():
    """Back home (and to Chinese) after a quiet spell; a service that is
    not configured (no taxi partner) is marked and explained, with the
    hotline offered; a wrong token is refused, logged and shown; laoyou
    killed: the screen says it is offline at once; laoyou back: the
    screen reconnects by itself."""
    fleet = Fleet()
    b = fleet.browser("idle", "--kiosk", fleet.kiosk(idle=3, heartbeat=2))
    finish(b, 90)

    # No taxi partner configured: the service says so and offers the hotline.
    b = fleet.browser("unavailable", "--kiosk", fleet.kiosk(heartbeat=2), "--hotline", HOTLINE)
    finish(b, 90)

    b = fleet.browser("badtoken", "--kiosk", fleet.kiosk(token="not-the-token"))
    finish(b, 90)
    check("with a wrong token" in fleet.srv.logtext(), "the wrong token was not logged")

    b = fleet.browser("offline", "--kiosk", fleet.kiosk(heartbeat=1))
    try:
        b.expect("ready", 60)
        pid = fleet.srv.proc.pid
        os.kill(pid, signal.SIGKILL)
        fleet.srv.proc.wait(10)
        b.expect("offline", 30)
        fleet.srv.start()
        b.expect("back", 60)
        finish(b)
    finally:
        b.kill()
    fleet.srv.wait_for(lambda: fleet.booth()["online"], 10, "the booth online again")


# ---------------------------------------------------------------- (c)

SITE_SERVICES = {
    "hotlines": [{"number": "12349", "name": "助老服务", "flow": "bye", "language": "zh"},
                 {"number": "123450", "name": "12345 手语视频", "flow": "bye", "language": "zh"}],
    "flows": {"bye": {"start": "bye", "nodes": {
        "bye": {"type": "hangup", "prompts": ["goodbye"]}}}},
}


def test_kiosk_calls_ring_the_handset():
    """The dial pad: a number that is not local and one over its daily
    quota are refused with the reason shown and spoken; 110 (never
    counted) rings the booth's handset; elder help and sign language ring
    it too — three INVITEs reach the sipp handset."""
    fleet = Fleet({"freecall_number_daily": "0"}, site=SITE_SERVICES)
    phone = fleet.handset(calls=3, mode="busy")
    b = fleet.browser("calls", "--kiosk", fleet.kiosk(heartbeat=2))
    finish(b, 120)
    check(phone.wait(30) == 0, "the handset was not rung three times: " + phone.errors())
    log = fleet.srv.logtext()
    for target in ("110", "12349", "123450"):
        check(f"ringing the handset for {target}" in log, f"no call for {target}")


# ---------------------------------------------------------------- (d)

PLATE = "沪A·D12345"


def test_kiosk_taxi_status_and_hotline_fallback():
    """A ride asked for on the screen reaches the partner (signed); its
    callbacks (accepted with plate and ETA, arrived) show on the screen
    and are spoken; a second ride the partner refuses fails with the
    hotline offered, and one tap on it rings the handset for the
    hotline."""
    rides = []

    def script(rec):
        rides.append(rec)
        if len(rides) == 1:
            return 202, json.dumps({"ref": "P-1"})
        return 400, json.dumps({"error": "no cars"})

    partner = Partner(script)
    try:
        fleet = Fleet({"taxi_url": partner.url, "taxi_secret": SECRET,
                       "public_url": "http://127.0.0.1:1"})
        phone = fleet.handset(calls=1, mode="busy")
        b = fleet.browser("taxi", "--kiosk", fleet.kiosk(heartbeat=2), "--plate", PLATE)
        try:
            b.expect("requested", 60)
            partner.wait(lambda got: len(got) >= 1, 20, "ride request")
            req = partner.requests()[0]
            check(req["signed"], "the ride request is not signed")
            ride = req["json"]["ride_id"]
            check(req["json"]["booth"]["id"] == "tianai-1", req["json"])

            def status(body):
                data = json.dumps(dict(body, ride_id=ride), ensure_ascii=False).encode()
                r = urllib.request.Request(
                    f"{fleet.base}/api/v1/partner/taxi/{ride}/status", data=data,
                    method="POST", headers={"Content-Type": "application/json",
                                            "X-Laoyou-Signature": sign(data, secret=SECRET)})
                with urllib.request.urlopen(r, timeout=5) as resp:
                    check(resp.status == 200, resp.status)

            status({"status": "accepted", "plate": PLATE, "eta_s": 300, "driver": "王师傅"})
            b.expect("accepted", 30)
            status({"status": "arrived"})
            b.expect("arrived", 30)
            b.expect("fallback", 60)
            finish(b)
        finally:
            b.kill()
        check(phone.wait(30) == 0, "the handset was not rung for the hotline: " +
              phone.errors())
        check(f"ringing the handset for {HOTLINE}" in fleet.srv.logtext(),
              "the hotline was not called")
        check(len(partner.requests()) == 2, f"{len(partner.requests())} ride requests")
    finally:
        partner.close()


# ---------------------------------------------------------------- (e)

def test_kiosk_watch_alert_accepted_by_a_volunteer():
    """A neighbourhood-watch alert raised on the screen (category and
    note) reaches the watch; a volunteer of the booth's district accepts
    it; the screen shows and says so, with the volunteer's name."""
    fleet = Fleet()
    vol = fleet.call("POST", "/api/v1/volunteers",
                     {"id": "li", "name": "李阿姨", "phone": "13800000001",
                      "district": BOOTH["district"]}, expect=201)
    b = fleet.browser("watch", "--kiosk", fleet.kiosk(heartbeat=2), "--volunteer", "李阿姨")
    try:
        raised = b.expect("raised", 60)
        alert = raised["id"]
        rows = fleet.srv.sql("SELECT category, note, booth FROM watch_alerts WHERE id=?",
                             alert) if alert else []
        check(rows and rows[0][0] == "fall" and rows[0][1] == "路口 east gate" and
              rows[0][2] == "tianai-1", f"alert {alert}: {rows}")
        req = urllib.request.Request(f"{fleet.base}/api/v1/watch/alerts/{alert}/accept",
                                     method="POST", data=b"{}",
                                     headers={"Authorization": f"Volunteer {vol['token']}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            check(r.status == 200, r.status)
        b.expect("accepted", 30)
        finish(b)
    finally:
        b.kill()


# ---------------------------------------------------------------- (f)

def test_operations_page_lists_plots_and_follows_booths():
    """The operations page lists both booths and plots them; a screen
    opening turns its booth online live; a fault it reports appears live
    (and clears); when the screen goes away the booth turns offline with
    an alert, without a reload; axe-core in both languages."""
    fleet = Fleet(booths=(("tianai-1", BOOTH), ("duolun-1", BOOTH2)))
    b = fleet.browser("ops", "--kiosk", fleet.kiosk(heartbeat=1), "--user", "sup",
                      "--password", USERS["sup"][1], "--booth", "tianai-1",
                      "--other", "duolun-1", timeout=180)
    try:
        b.expect("online", 60)
        fleet.call("POST", "/api/v1/booth/faults",
                   {"kind": "charger", "detail": "port 3 no power"},
                   booth="tianai-1", expect=201)
        b.expect("fault", 30)
        fleet.call("POST", "/api/v1/booth/faults",
                   {"kind": "charger", "detail": "", "cleared": True},
                   booth="tianai-1", expect=201)
        b.expect("cleared", 30)
        t_closed = time.time()
        b.expect("offline", 60)
        finish(b)
    finally:
        b.kill()
    took = time.time() - t_closed
    check(took < 5 + 5 + 10, f"offline shown {took:.1f}s after the screen closed")
    check(not fleet.booth()["online"], "the booth is still online")


# ---------------------------------------------------------------- the script

KIOSK_MJS = r"""
/*
 * The kiosk screen and the operations page (written out by
 * tests/system/test_kiosk.py; see there).  --mode chooses the scenario.
 */
import fs from 'node:fs';
import {check, checkAxe, checkClean, checkFits, log, mark, newPage, run, shot, signIn,
	until} from '__LIB__';

const own = {
	mode: {type: 'string'},
	kiosk: {type: 'string'},
	spoken: {type: 'string'},
	ports: {type: 'string', default: '0'},
	'ports-state': {type: 'string', default: '{}'},
	pois: {type: 'string', default: '[]'},
	plate: {type: 'string', default: ''},
	volunteer: {type: 'string', default: ''},
	hotline: {type: 'string', default: ''},
	user: {type: 'string'},
	password: {type: 'string'},
	booth: {type: 'string'},
	other: {type: 'string'},
};

let SPOKEN = null;
const SERVICES = ['taxi', 'elder', 'watch', 'sign', 'life', 'charging', 'call'];
const NAMES = {
	zh: {taxi: '一键叫车', elder: '助老一键通', watch: '守望相助', sign: '手语视频',
	     life: '15分钟生活圈', charging: '免费充电', call: '免费通话'},
	en: {taxi: 'Taxi', elder: 'Elder help', watch: 'Neighbourhood watch',
	     sign: 'Sign language video', life: '15-minute life circle',
	     charging: 'Free charging', call: 'Free call'},
};

/* A kiosk page: its prompt fetches recorded, taps counted. */
async function kioskPage(browser, url, name = 'kiosk') {
	const page = await newPage(browser, {name});
	page.prompts = [];
	page.taps = 0;
	page.on('response', (r) => {
		const m = r.url().match(/\/api\/v1\/prompts\/(zh|en)\/([a-z0-9_]+)\.wav$/);
		if (m)
			page.prompts.push({lang: m[1], name: m[2], status: r.status()});
	});
	const res = await page.goto(url);
	check(res.status() === 200, `${new URL(url).pathname} answered ${res.status()}: ` +
	      'laoyou must serve web/kiosk/index.html for /kiosk/');
	check((res.headers()['content-security-policy'] || '').includes("default-src 'self'"),
	      'the kiosk page is served without the CSP');
	await page.waitForSelector('body[data-ready="1"]');
	return page;
}

async function tap(page, locator) {
	page.taps++;
	await locator.click();
}

const lang = async (page) => ((await page.locator('html').getAttribute('lang')) === 'en' ?
			      'en' : 'zh');
const screenOf = (page) => page.evaluate(() => document.body.dataset.screen);

async function onScreen(page, name) {
	await until(`the ${name} screen`, async () => (await screenOf(page)) === name ||
		    `on ${await screenOf(page)}`, 10000);
	check(await page.locator(`#s-${name}`).isVisible(), `#s-${name} is not visible`);
}

/* The step was spoken: these prompts, captioned word for word, each one
 * fetched from laoyou (200). */
async function spoken(page, label, names) {
	const l = await lang(page);
	const want = names.join(' ');
	await until(`${label}: spoken "${want}"`, async () => {
		const got = await page.evaluate(() => document.body.dataset.spoken || '');
		return got === want || `spoken "${got}"`;
	}, 15000);
	for (const n of names)
		check(SPOKEN[l][n] !== undefined, `${label}: prompt ${n} is in no catalog`);
	const caption = (await page.locator('#k-caption').textContent()).trim();
	const words = names.map((n) => SPOKEN[l][n]).join(l === 'zh' ? '' : ' ');
	check(caption === words, `${label}: caption "${caption}", the catalog says "${words}"`);
	check(await page.locator('#k-caption').getAttribute('lang') === (l === 'zh' ? 'zh-CN' : 'en'),
	      `${label}: the caption's lang attribute`);
	for (const n of names)
		await until(`${label}: ${l}/${n}.wav fetched`, async () =>
			page.prompts.some((p) => p.lang === l && p.name === n && p.status === 200) ||
			JSON.stringify(page.prompts.filter((p) => p.name === n)), 30000);
}

/* Text 24 px and up, touch targets 64 px and up, on what is visible. */
async function checkSizes(page, label) {
	const bad = await page.evaluate(() => {
		const out = [];
		const shown = (e) => {
			const r = e.getBoundingClientRect();
			return r.width > 2 && r.height > 2 && e.checkVisibility({visibilityProperty: true});
		};
		const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let n = w.nextNode(); n; n = w.nextNode()) {
			const e = n.parentElement;
			if (!n.textContent.trim() || !shown(e))
				continue;
			const fs = parseFloat(getComputedStyle(e).fontSize);
			if (fs < 24)
				out.push(`"${n.textContent.trim().slice(0, 24)}" (${e.tagName.toLowerCase()}` +
					 `${e.id ? '#' + e.id : ''}) is ${fs}px`);
		}
		for (const e of document.querySelectorAll('button, input, select, textarea, a[href], [role="button"]')) {
			if (!shown(e))
				continue;
			const r = e.getBoundingClientRect();
			if (r.width < 64 || r.height < 64)
				out.push(`${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''} ` +
					 `"${(e.textContent || '').trim().slice(0, 20)}" is ` +
					 `${r.width.toFixed(0)}×${r.height.toFixed(0)}px`);
		}
		return out;
	});
	check(bad.length === 0, `${label}: too small:\n  ${bad.join('\n  ')}`);
}

async function goHome(page) {
	if (await screenOf(page) === 'home')
		return;
	await page.locator('#k-home').click();
	await onScreen(page, 'home');
	await spoken(page, 'home', ['kiosk_home']);
}

/* One service from home: its UI in at most two taps. */
async function reach(page, svc, o, l) {
	await goHome(page);
	page.taps = 0;
	const tile = page.locator(`.svc[data-go="${svc}"]`);
	check((await tile.textContent()).includes(NAMES[l][svc]),
	      `the ${svc} button says "${(await tile.textContent()).trim()}"`);
	await tap(page, tile);
	await onScreen(page, svc);
	check(await page.evaluate(() => document.activeElement.tagName) === 'H2',
	      `${svc}: focus did not move to the screen's heading`);
	const label = `${svc} (${l})`;
	switch (svc) {
	case 'taxi':
		await page.locator('#taxi-go').waitFor({state: 'visible'});
		check((await page.locator('#s-taxi .k-addr').textContent()).includes('甜爱路'),
		      'the pick-up address is not shown');
		await spoken(page, label, ['kiosk_taxi']);
		break;
	case 'elder':
		await page.locator('#elder-go').waitFor({state: 'visible'});
		await spoken(page, label, ['kiosk_elder']);
		break;
	case 'watch':
		await until('six watch categories', async () =>
			await page.locator('#watch-cats button').count() === 6);
		await page.getByLabel(l === 'zh' ? '补充说明（可不填）' : 'Anything to add (optional)')
			.waitFor({state: 'visible'});
		await spoken(page, label, ['kiosk_watch']);
		break;
	case 'sign':
		await page.locator('#sign-go').waitFor({state: 'visible'});
		check(await page.locator('#s-sign ol li').count() === 3, 'no instructions');
		await spoken(page, label, ['kiosk_sign']);
		break;
	case 'life': {
		await spoken(page, label, ['kiosk_life']);
		const cat = page.locator('#life-cats button[data-cat="pharmacy"]');
		await cat.waitFor({state: 'visible'});
		check((await cat.textContent()).trim() === (l === 'zh' ? '药店' : 'Pharmacy'),
		      `the pharmacy category says ${await cat.textContent()}`);
		await checkAxe(page, `life categories (${l})`);
		await checkSizes(page, `life categories (${l})`);
		await tap(page, cat);
		await page.locator('#life-list-view').waitFor({state: 'visible'});
		const names = (await page.locator('#life-list .p-name').allTextContents()).map((s) => s.trim());
		const want = JSON.parse(o.pois).map((n) => (l === 'zh' ? {
			'Near Pharmacy': '近药房', 'Middle Pharmacy': '中药房', 'Far Pharmacy': '远药房'}[n] : n));
		check(JSON.stringify(names) === JSON.stringify(want),
		      `places ${JSON.stringify(names)}, nearest first should be ${JSON.stringify(want)}`);
		const dist = (await page.locator('#life-list .p-dist').first().textContent()).trim();
		check(/\d/.test(dist) && dist.includes(l === 'zh' ? '步行' : 'walk'), `distance "${dist}"`);
		const minutes = await page.evaluate(() => Number(
			document.querySelector('#life-list .p-dist').textContent.match(/(\d+) *(分钟|min)/)[1]));
		const num = minutes === 2 ? ['num_2_liang'] : minutes < 10 ? [`digit_${minutes}`] :
			[`num_${minutes}`];
		await spoken(page, `${label} list`, ['kiosk_life_list', 'kiosk_life_nearest', ...num,
						     minutes === 1 ? 'kiosk_minute' : 'minutes']);
		break;
	}
	case 'charging': {
		const want = JSON.parse(o['ports-state']);
		await until(`${o.ports} ports`, async () =>
			await page.locator('#charge-ports li').count() === Number(o.ports));
		for (const [port, st] of Object.entries(want)) {
			const got = await page.locator(`#charge-ports li[data-port="${port}"]`).getAttribute('data-state');
			check(got === st, `port ${port} is ${got}, not ${st}`);
		}
		await spoken(page, label, ['kiosk_charging']);
		break;
	}
	case 'call':
		check(await page.locator('#call-pad button').count() === 12, 'no dial pad');
		await page.locator('#call-go').waitFor({state: 'visible'});
		check((await page.locator('#call-limit').textContent()).includes('3'),
		      'the 3-minute limit is not shown');
		check((await page.locator('#s-call .k-sos').textContent()).includes('110'),
		      'the emergency numbers are not shown');
		await spoken(page, label, ['kiosk_call']);
		break;
	default:
		break;
	}
	check(page.taps <= 2, `${svc} took ${page.taps} taps`);
	log(`${label}: reached in ${page.taps} tap(s)`);
	await checkAxe(page, label);
	await checkSizes(page, label);
	await checkFits(page, label);
	await shot(page, `kiosk-${svc}-${l}`);
}

async function tour(page, o, l) {
	await goHome(page);
	check(await lang(page) === l, `not in ${l}`);
	check(await page.locator('.svc').count() === 7, 'not seven services');
	check(await page.locator('h1').count() === 1, 'not one h1');
	await checkAxe(page, `home (${l})`);
	await checkSizes(page, `home (${l})`);
	await checkFits(page, `home (${l})`);
	await shot(page, `kiosk-home-${l}`);
	for (const svc of SERVICES)
		await reach(page, svc, o, l);
	await goHome(page);
}

async function toggle(page, to) {
	const before = page.taps;
	await tap(page, page.locator('#k-lang'));
	await until(`the page in ${to}`, async () => await lang(page) === to);
	check(page.taps - before === 1, 'the language took more than one tap');
	const h1 = (await page.locator('h1').textContent()).trim();
	check(to === 'en' ? h1.startsWith('Hello Laoyou') : h1.startsWith('老友服务亭'), `h1 "${h1}"`);
	const toggleText = (await page.locator('#k-lang').textContent()).trim();
	check(toggleText === (to === 'en' ? '中文' : 'English'), `the toggle says ${toggleText}`);
	check(await page.locator('#k-lang').getAttribute('lang') === (to === 'en' ? 'zh-CN' : 'en'),
	      'the toggle has no lang attribute of its own language');
}

async function online(page) {
	await until('the booth online', async () =>
		await page.evaluate(() => document.body.dataset.online) === '1', 20000);
	check(await page.locator('#k-offline').isHidden(), 'the offline banner shows while online');
}

/* ---------- scenarios ---------- */

const scenarios = {
	async tour(browser, o) {
		const page = await kioskPage(browser, o.kiosk);
		check(!page.url().includes('token='), `the token stays in the address: ${page.url()}`);
		check(await page.evaluate(() => !!localStorage.getItem('laoyou.kiosk.token')),
		      'the token was not kept');
		await online(page);
		mark('online');
		await tour(page, o, 'zh');
		await toggle(page, 'en');
		await spoken(page, 'home in English', ['kiosk_home']);
		mark('english');
		await tour(page, o, 'en');
		await toggle(page, 'zh');
		await spoken(page, 'home in Chinese again', ['kiosk_home']);
		checkClean(page);
		mark('done');
	},

	async idle(browser, o) {
		const page = await kioskPage(browser, o.kiosk);
		await online(page);
		await tap(page, page.locator('.svc[data-go="call"]'));
		await onScreen(page, 'call');
		await page.locator('#call-pad button[data-key="5"]').click();
		check((await page.locator('#call-number').textContent()) === '5', 'the key was not taken');
		const t = Date.now();
		await until('home after 3 s of quiet', async () => (await screenOf(page)) === 'home', 8000);
		const took = (Date.now() - t) / 1000;
		check(took >= 2.5, `home after ${took}s, before the 3 s`);
		check((await page.locator('#k-caption').textContent()) === '', 'still speaking after idle');
		await toggle(page, 'en');
		await tap(page, page.locator('.svc[data-go="life"]'));
		await onScreen(page, 'life');
		await until('home and Chinese after quiet', async () =>
			(await screenOf(page)) === 'home' && (await lang(page)) === 'zh', 8000);
		await tap(page, page.locator('.svc[data-go="call"]'));
		check((await page.locator('#call-number').textContent()) === '', 'the number stayed');
		log('idle: back home and to Chinese, nothing left behind');
		checkClean(page);
	},

	async unavailable(browser, o) {
		/* No taxi partner configured: services.taxi is false. */
		const page = await kioskPage(browser, o.kiosk);
		await online(page);
		const tile = page.locator('.svc[data-go="taxi"]');
		await page.locator('#u-taxi').waitFor({state: 'visible'});
		check((await page.locator('#u-taxi').textContent()).trim() === '暂停服务', 'no badge');
		check(await tile.getAttribute('aria-describedby') === 'u-taxi',
		      'the badge is not the button\'s description');
		check(await page.locator('#u-elder').isHidden(), 'elder help marked unavailable');
		await tap(page, tile);
		await onScreen(page, 'taxi');
		check(await page.locator('#s-taxi .k-unavail').isVisible(), 'no unavailable note');
		check(await page.locator('#taxi-go').isHidden(), 'the taxi button is offered');
		const hot = page.locator('#taxi-hotline');
		await hot.waitFor({state: 'visible'});
		check((await hot.textContent()).includes(o.hotline), `hotline: ${await hot.textContent()}`);
		await spoken(page, 'taxi unavailable', ['kiosk_taxi_unavailable']);
		await checkAxe(page, 'taxi unavailable');
		await checkSizes(page, 'taxi unavailable');
		log('taxi unavailable: badge, note, hotline offered');
		checkClean(page);
	},

	async badtoken(browser, o) {
		const page = await kioskPage(browser, o.kiosk);
		const banner = page.locator('#k-offline');
		await banner.waitFor({state: 'visible', timeout: 15000});
		check(await banner.getAttribute('data-why') === 'token', 'not said to be the token');
		check((await banner.textContent()).includes('令牌'), `banner: ${await banner.textContent()}`);
		check(await banner.getAttribute('role') === 'alert', 'the banner is not an alert');
		check(await page.evaluate(() => document.body.dataset.online) === '0', 'online?');
		await checkAxe(page, 'kiosk with a wrong token');
		await checkSizes(page, 'kiosk with a wrong token');
		log('a wrong token: the banner says so');
	},

	async offline(browser, o) {
		const page = await kioskPage(browser, o.kiosk);
		await online(page);
		mark('ready');
		const banner = page.locator('#k-offline');
		await banner.waitFor({state: 'visible', timeout: 15000});
		check(await banner.getAttribute('data-why') === 'network', 'not said to be the network');
		check((await page.locator('#k-conn').textContent()).trim() === '离线', 'status not offline');
		check((await page.locator('#k-caption').textContent()) === SPOKEN.zh.kiosk_offline,
		      'the offline notice is not captioned');
		/* A service tapped offline says why it cannot work. */
		await tap(page, page.locator('.svc[data-go="elder"]'));
		await onScreen(page, 'elder');
		check(await page.locator('#elder-go').getAttribute('aria-disabled') === 'true',
		      'the call button looks usable offline');
		await page.locator('#elder-go').click({force: true});   /* aria-disabled: still tappable */
		await until('the offline reason on the elder screen', async () =>
			(await page.locator('#elder-status').textContent()).includes('断网'));
		await checkAxe(page, 'kiosk offline');
		await shot(page, 'kiosk-offline');
		await checkSizes(page, 'kiosk offline');
		log('offline: banner, caption, disabled actions');
		mark('offline');
		await until('back online by itself', async () =>
			await page.evaluate(() => document.body.dataset.online) === '1' &&
			await banner.isHidden(), 45000);
		check(await page.locator('#elder-go').getAttribute('aria-disabled') === null,
		      'the call button stays disabled');
		mark('back');
	},

	async calls(browser, o) {
		const page = await kioskPage(browser, o.kiosk);
		await online(page);
		await tap(page, page.locator('.svc[data-go="call"]'));
		await onScreen(page, 'call');
		const dial = async (number, prompt, label) => {
			await page.locator('#call-pad button[data-key="clear"]').click();
			for (const k of number)
				await page.locator(`#call-pad button[data-key="${k}"]`).click();
			check((await page.locator('#call-number').textContent()) === number, 'the number');
			await page.locator('#call-go').click();
			await until(`${label}: said on screen`, async () =>
				(await page.locator('#call-status').textContent()).includes(SPOKEN.zh[prompt]));
			await spoken(page, label, [prompt]);
			log(`${label}: ${(await page.locator('#call-status').textContent()).trim()}`);
		};
		await dial('1234567', 'kiosk_call_not_local', 'not a local number');
		await dial('64001234', 'kiosk_call_quota', 'over the daily quota');
		await dial('110', 'kiosk_call_ringing', '110');
		check((await page.locator('#call-status').getAttribute('class')).includes('ok'), 'not ok');
		await checkAxe(page, 'free call ringing');
		for (const svc of ['elder', 'sign']) {
			await page.locator('#k-home').click();
			await onScreen(page, 'home');
			await tap(page, page.locator(`.svc[data-go="${svc}"]`));
			await onScreen(page, svc);
			await page.locator(`#${svc}-go`).click();
			const p = `kiosk_${svc}_calling`;
			/* The handset here is busy: the screen may already
			 * say so (the call news) when we look. */
			await until(`${svc}: calling`, async () => {
				const text = await page.locator(`#${svc}-status`).textContent();
				return text.includes(SPOKEN.zh[p]) ||
					text.includes(SPOKEN.zh.kiosk_call_ended);
			});
			await spoken(page, svc, [p]);
			await checkAxe(page, `${svc} calling`);
		}
		/* The two refusals are 403s the page shows: nothing else. */
		page.problems = page.problems.filter((m) => !/status of 403 /.test(m));
		checkClean(page);
	},

	async taxi(browser, o) {
		const page = await kioskPage(browser, o.kiosk);
		await online(page);
		await tap(page, page.locator('.svc[data-go="taxi"]'));
		await onScreen(page, 'taxi');
		await tap(page, page.locator('#taxi-go'));
		await until('the ride asked for', async () =>
			['requested', 'sent'].includes(await page.locator('#taxi-status').getAttribute('data-state')));
		await page.locator('#taxi-cancel').waitFor({state: 'visible'});
		mark('requested');
		await until('the ride accepted', async () =>
			await page.locator('#taxi-status').getAttribute('data-state') === 'accepted', 20000);
		const text = await page.locator('#taxi-status').textContent();
		check(text.includes(o.plate), `the plate is not shown: ${text}`);
		check(/5 分钟/.test(text), `the ETA is not shown: ${text}`);
		await spoken(page, 'taxi accepted', ['taxi_accepted', 'taxi_eta_5']);
		await checkAxe(page, 'taxi accepted');
		await checkSizes(page, 'taxi accepted');
		await shot(page, 'kiosk-taxi-accepted');
		mark('accepted');
		await until('the car arrived', async () =>
			await page.locator('#taxi-status').getAttribute('data-state') === 'arrived', 20000);
		await spoken(page, 'taxi arrived', ['taxi_arrived']);
		check(await page.locator('#taxi-cancel').isHidden(), 'cancel offered after arrival');
		mark('arrived');
		/* The next ride: refused by the partner; the hotline is offered. */
		await page.locator('#taxi-go').click();
		await until('the second ride failed', async () =>
			await page.locator('#taxi-status').getAttribute('data-state') === 'failed' ||
			await page.locator('#taxi-status').getAttribute('data-state'), 30000);
		await spoken(page, 'taxi failed', ['taxi_failed', 'taxi_fallback']);
		const hot = page.locator('#taxi-hotline');
		await hot.waitFor({state: 'visible'});
		await checkAxe(page, 'taxi failed');
		await checkSizes(page, 'taxi failed');
		await shot(page, 'kiosk-taxi-failed');
		await tap(page, hot);
		await until('the hotline call placed', async () =>
			(await page.locator('#taxi-status').textContent()).includes('出租车热线'));
		await spoken(page, 'hotline', ['kiosk_call_ringing']);
		mark('fallback');
		checkClean(page);
	},

	async watch(browser, o) {
		const page = await kioskPage(browser, o.kiosk);
		await online(page);
		page.taps = 0;
		await tap(page, page.locator('.svc[data-go="watch"]'));
		await onScreen(page, 'watch');
		await page.getByLabel('补充说明（可不填）').fill('路口 east gate');
		await tap(page, page.locator('#watch-cats button[data-cat="fall"]'));
		check(page.taps === 2, `${page.taps} taps to raise an alert`);
		await until('the alert raised', async () =>
			await page.locator('#watch-status').getAttribute('data-state') === 'open');
		await spoken(page, 'watch raised', ['kiosk_watch_sent']);
		const id = await page.evaluate(() => document.querySelector('#watch-status').dataset.alert);
		mark('raised', {id: Number(id)});
		await until('the alert accepted', async () =>
			await page.locator('#watch-status').getAttribute('data-state') === 'accepted', 20000);
		check((await page.locator('#watch-status').textContent()).includes(o.volunteer),
		      'the volunteer is not named');
		await spoken(page, 'watch accepted', ['kiosk_watch_accepted']);
		await checkAxe(page, 'watch accepted');
		mark('accepted');
		checkClean(page);
	},

	async ops(browser, o) {
		const page = await newPage(browser, {name: 'booths'});
		await signIn(page, o.url, o.user, o.password, 'wallboard.html');
		await page.goto(`${o.url}/booths.html`);
		await page.waitForSelector('body[data-ready="1"]');
		await until('the events connection', async () =>
			(await page.locator('#live').getAttribute('class')).includes('on'));
		const row = (id) => page.locator(`#b-rows tr[data-booth="${id}"]`);
		const marker = (id) => page.locator(`#b-svg g.marker[data-booth="${id}"]`);
		for (const id of [o.booth, o.other]) {
			await row(id).waitFor({state: 'visible'});
			check(await row(id).getAttribute('data-status') === 'offline', `${id} not offline`);
			check(await marker(id).count() === 1, `${id} not plotted`);
		}
		/* North up: the other booth is south of this one. */
		const y = async (id) => (await marker(id).boundingBox()).y;
		check(await y(o.other) > await y(o.booth), 'the plot is not north up');
		check((await row(o.booth).textContent()).includes('甜爱路服务亭'), 'the name');
		await checkAxe(page, 'booths (中文)');
		await checkFits(page, 'booths');

		/* A screen opens: online, live. */
		const kctx = await browser.newContext({viewport: {width: 1280, height: 800}});
		const kiosk = await kctx.newPage();
		await kiosk.goto(o.kiosk);
		await until('the booth online on the page', async () =>
			await row(o.booth).getAttribute('data-status') === 'online', 20000);
		check(await marker(o.booth).getAttribute('data-status') === 'online', 'marker');
		check(await page.locator('.b-sum-online .b-sum-n').textContent() === '1', 'summary');
		mark('online');

		await until('the fault shown', async () =>
			await row(o.booth).getAttribute('data-status') === 'fault', 20000);
		check((await row(o.booth).locator('.b-faults').textContent()).includes('port 3 no power'),
		      'the fault detail');
		await page.locator('#b-alerts .b-alert-fault').waitFor({state: 'visible'});
		check(await page.locator('#b-svg g.marker polygon').count() === 1, 'no fault marker');
		await checkAxe(page, 'booths with a fault');
		mark('fault');
		await until('the fault cleared', async () =>
			await row(o.booth).getAttribute('data-status') === 'online', 20000);
		mark('cleared');

		/* The screen goes away: offline, with an alert, no reload. */
		await page.evaluate(() => { window.notReloaded = true; });
		await kctx.close();
		await until('the booth offline on the page', async () =>
			await row(o.booth).getAttribute('data-status') === 'offline', 30000);
		const alert = page.locator('#b-alerts .b-alert-offline');
		await alert.waitFor({state: 'visible'});
		check((await alert.textContent()).includes(o.booth), 'the alert does not name the booth');
		check(await page.locator('#b-alerts').getAttribute('role') === 'alert', 'not an alert');
		check(await page.evaluate(() => window.notReloaded === true), 'the page was reloaded');
		check(await marker(o.booth).getAttribute('data-status') === 'offline', 'marker');
		await page.getByRole('button', {name: 'English'}).click();
		await until('in English', async () => (await page.locator('h1').textContent()) === 'Booth operations');
		check((await alert.textContent()).includes('Booth offline'), 'the alert in English');
		await checkAxe(page, 'booths (English) with an alert');
		await shot(page, 'booths-offline');
		checkClean(page);
		mark('offline');
	},
};

run('kiosk', own, async (browser, o) => {
	SPOKEN = JSON.parse(fs.readFileSync(o.spoken, 'utf8'));
	const fn = scenarios[o.mode];
	check(fn, `no scenario ${o.mode}`);
	await fn(browser, o);
});
"""
