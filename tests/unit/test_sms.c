/* sms: the outbox against a gateway played by libre's HTTP server on
 * loopback (down, failing, then taking messages, across a restart), the
 * back-off schedule, the state machine of delivery reports, and the
 * gateway URL with its UTF-8 escaping.  Kannel itself is driven in
 * tests/system/test_watch.py. */
#include <string.h>
#include <errno.h>
#include <re.h>
#include "core/conf.h"
#include "core/clock.h"
#include "store/store.h"
#include "store/notify.h"
#include "sms/sms.h"
#include "booth/watch.h"
#include "site/json.h"
#include "unit.h"

static void url_escaping(void)
{
	char buf[256];

	re_snprintf(buf, sizeof(buf), "%H", sms_url_esc,
		    "你好 a+b&c=d/é~-._");
	CHECK_STR(buf, "%E4%BD%A0%E5%A5%BD%20a%2Bb%26c%3Dd%2F%C3%A9~-._");
	re_snprintf(buf, sizeof(buf), "%H", sms_url_esc, "");
	CHECK_STR(buf, "");
	re_snprintf(buf, sizeof(buf), "[%H]", sms_url_esc, "100%\n");
	CHECK_STR(buf, "[100%25%0A]");
}

static void url_building(void)
{
	struct mbuf *mb = mbuf_alloc(512);
	char *s = NULL;

	CHECK_EQ(sms_url_build(mb, "http://k:13013/cgi-bin/sendsms?username="
			       "u&password=p", "12345", "+8613800001111",
			       "跌倒 help", "https://ly.example/api/v1/sms/dlr",
			       42, "abc"), 0);
	mb->pos = 0;
	CHECK_EQ(mbuf_strdup(mb, &s, mb->end), 0);
	CHECK_STR(s, "http://k:13013/cgi-bin/sendsms?username=u&password=p"
		  "&to=%2B8613800001111&text=%E8%B7%8C%E5%80%92%20help"
		  "&from=12345&charset=UTF-8&coding=2&dlr-mask=31&dlr-url="
		  "https%3A%2F%2Fly.example%2Fapi%2Fv1%2Fsms%2Fdlr%3Fid%3D42"
		  "%26k%3Dabc%26status%3D%25d%26answer%3D%25A");
	s = mem_deref(s);

	/* Plain ASCII goes as GSM text; no sender means the gateway's; a
	 * base without a query gets one. */
	mbuf_reset(mb);
	CHECK_EQ(sms_url_build(mb, "http://k/sendsms", "", "110", "ok",
			       "http://l/d", 7, "k1"), 0);
	mb->pos = 0;
	CHECK_EQ(mbuf_strdup(mb, &s, mb->end), 0);
	CHECK_STR(s, "http://k/sendsms?to=110&text=ok&charset=UTF-8"
		  "&dlr-mask=31&dlr-url=http%3A%2F%2Fl%2Fd%3Fid%3D7%26k%3Dk1"
		  "%26status%3D%25d%26answer%3D%25A");
	s = mem_deref(s);
	mbuf_reset(mb);
	CHECK_EQ(sms_url_build(mb, "", "", "110", "ok", "http://l/d", 7, "k"),
		 EINVAL);
	mem_deref(mb);
}

static void backoff_schedule(void)
{
	static const uint32_t want30[] = {30, 60, 120, 240, 480, 960, 1920,
					  3600, 3600, 3600};

	for (uint32_t i = 0; i < ARRAY_SIZE(want30); i++)
		CHECK_EQ(sms_backoff_s(30, i + 1), want30[i]);
	CHECK_EQ(sms_backoff_s(1, 1), 1);
	CHECK_EQ(sms_backoff_s(1, 4), 8);
	CHECK_EQ(sms_backoff_s(1, 13), 3600);
	CHECK_EQ(sms_backoff_s(1, 100000), 3600);
	/* A first retry longer than an hour is kept, not shortened. */
	CHECK_EQ(sms_backoff_s(7200, 1), 7200);
	CHECK_EQ(sms_backoff_s(7200, 5), 7200);
}

static void report_states(void)
{
	CHECK_STR(sms_state_after("sent", 8), "accepted");
	CHECK_STR(sms_state_after("sent", 4), "accepted");
	CHECK_STR(sms_state_after("accepted", 1), "delivered");
	CHECK_STR(sms_state_after("sent", 1), "delivered");
	CHECK_STR(sms_state_after("accepted", 2), "failed");
	CHECK_STR(sms_state_after("sent", 16), "failed");
	/* A report before the gateway's own answer: it was sent. */
	CHECK_STR(sms_state_after("queued", 8), "accepted");
	/* Out of order, or after the end: nothing moves back. */
	CHECK_STR(sms_state_after("delivered", 8), "delivered");
	CHECK_STR(sms_state_after("delivered", 16), "delivered");
	CHECK_STR(sms_state_after("failed", 1), "failed");
	CHECK_STR(sms_state_after("accepted", 4), "accepted");
	CHECK_STR(sms_state_after("sent", 3), "sent");
	CHECK_STR(sms_state_after("sent", 0), "sent");
}

static void input_checks(void)
{
	CHECK(sms_number_ok("13800001111"));
	CHECK(sms_number_ok("+8613800001111"));
	CHECK(sms_number_ok("110"));
	CHECK(!sms_number_ok("11"));
	CHECK(!sms_number_ok("+"));
	CHECK(!sms_number_ok("138 0000 1111"));
	CHECK(!sms_number_ok("123456789012345678901"));
	CHECK(!sms_number_ok(NULL));
	CHECK(sms_text_ok("守望相助 ok\n"));
	CHECK(sms_text_ok("😀"));
	CHECK(!sms_text_ok(""));
	CHECK(!sms_text_ok("a\x01"));
	CHECK(!sms_text_ok("\xe4\xbd"));          /* cut short */
	CHECK(!sms_text_ok("\xc0\xaf"));          /* overlong '/' */
	CHECK(!sms_text_ok("\xed\xa0\x80"));      /* a surrogate */
	CHECK(!sms_text_ok("\xff"));
}

/* ---------- the outbox against a fake gateway ---------- */

struct gw {
	struct http_sock *sock;
	uint16_t port;
	uint16_t codes[8];         /* answer for request i (last repeats) */
	uint32_t n;                /* requests seen */
	char last[1024];           /* the last request's path and query */
};

static void gw_req(struct http_conn *conn, const struct http_msg *msg,
		   void *arg)
{
	struct gw *g = arg;
	uint16_t code = g->codes[g->n < 8 ? g->n : 7];

	re_snprintf(g->last, sizeof(g->last), "%r%r", &msg->path, &msg->prm);
	g->n++;
	(void)http_reply(conn, code, code < 300 ? "Accepted" : "Unavailable",
			 "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "\r\n%s", strlen(code < 300 ? "0: Accepted for "
					  "delivery" : "busy"),
			 code < 300 ? "0: Accepted for delivery" : "busy");
}

static int gw_listen(struct gw *g)
{
	struct sa la;
	int err;

	sa_set_str(&la, "127.0.0.1", g->port);
	err = http_listen(&g->sock, &la, gw_req, g);
	if (!err && !g->port) {
		err = tcp_sock_local_get(http_sock_tcp(g->sock), &la);
		g->port = sa_port(&la);
	}
	return err;
}

static void outbox_state(struct store *st, int64_t id, const char *state,
			 uint32_t attempts)
{
	struct store_sms m;

	CHECK_EQ(store_sms_get(st, id, &m), 0);
	CHECK_STR(m.state, state);
	CHECK_EQ(m.attempts, attempts);
}

static void outbox(void)
{
	struct gw g;
	struct conf cf;
	struct store *st = NULL;
	struct sms *s = NULL;
	struct store_sms m;
	struct mbuf *mb;
	int64_t id = 0, id2 = 0, id3 = 0;
	uint32_t n = 9;
	char dlr[200];

	memset(&g, 0, sizeof(g));
	g.codes[0] = 503;
	for (int i = 1; i < 8; i++)
		g.codes[i] = 202;
	CHECK_EQ(gw_listen(&g), 0);
	conf_defaults(&cf);
	cf.sms_retry_s = 1;
	re_snprintf(cf.sms_url, sizeof(cf.sms_url), "http://127.0.0.1:%u/"
		    "cgi-bin/sendsms?username=u&password=p", g.port);
	str_ncpy(cf.public_url, "http://laoyou.test/", sizeof(cf.public_url));
	CHECK_EQ(store_open(&st, unit_tmpfile("sms.db")), 0);
	CHECK_EQ(sms_alloc(&s, &cf, st), 0);

	/* Refused input is not queued. */
	CHECK_EQ(sms_send(s, "12", "x", "t", NULL), EINVAL);
	CHECK_EQ(sms_send(s, "13800001111", "\xe4\xbd", "t", NULL), EINVAL);
	CHECK_EQ(sms_send(s, "13800001111", "", "t", NULL), EINVAL);
	CHECK_EQ(store_sms_queued(st, &n), 0);
	CHECK_EQ(n, 0);

	/* Committed before the gateway hears of it. */
	CHECK_EQ(sms_send(s, "13800001111", "你好", "test:1", &id), 0);
	CHECK(id > 0);
	outbox_state(st, id, "queued", 0);
	unit_run_loop(300);
	/* The gateway failed it: retried after sms_retry_s. */
	CHECK_EQ(g.n, 1);
	outbox_state(st, id, "queued", 1);
	CHECK_EQ(store_sms_get(st, id, &m), 0);
	CHECK(m.next_ms > clock_wall_ms() + 300 &&
	      m.next_ms <= clock_wall_ms() + 1000);
	unit_run_loop(1200);
	CHECK_EQ(g.n, 2);
	outbox_state(st, id, "sent", 1);
	CHECK(strstr(g.last, "/cgi-bin/sendsms?username=u&password=p&to="
		     "13800001111&text=%E4%BD%A0%E5%A5%BD&from=12345&"
		     "charset=UTF-8&coding=2&dlr-mask=31&dlr-url=http%3A%2F%2F"
		     "laoyou.test%2Fapi%2Fv1%2Fsms%2Fdlr%3Fid%3D") == g.last);
	re_snprintf(dlr, sizeof(dlr), "%%26k%%3D%s%%26status%%3D%%25d", m.key);
	CHECK(strstr(g.last, dlr) != NULL);
	CHECK_EQ(strlen(m.key), 32);

	/* Reports: only with the message's key; forward only. */
	CHECK_EQ(sms_dlr_auth(s, id, m.key), 0);
	CHECK_EQ(sms_dlr_auth(s, id, "00000000000000000000000000000000"),
		 EPERM);
	CHECK_EQ(sms_dlr_auth(s, id, ""), EPERM);
	CHECK_EQ(sms_dlr_auth(s, id + 100, m.key), ENOENT);
	CHECK_EQ(sms_dlr(s, id, 8, "ACK/"), 0);
	outbox_state(st, id, "accepted", 1);
	CHECK_EQ(sms_dlr(s, id, 1, ""), 0);
	outbox_state(st, id, "delivered", 1);
	CHECK_EQ(sms_dlr(s, id, 16, "late"), 0);
	outbox_state(st, id, "delivered", 1);
	CHECK_EQ(sms_dlr(s, id + 100, 1, ""), ENOENT);
	mb = mbuf_alloc(2048);
	CHECK_EQ(store_sms_json(st, "test:", "", 10, mb), 0);
	mbuf_write_u8(mb, 0);
	CHECK(strstr((char *)mb->buf, "\"state\":\"delivered\"") != NULL);
	CHECK(strstr((char *)mb->buf, "\"status\":8,\"answer\":\"ACK/\"") !=
	      NULL);
	CHECK(strstr((char *)mb->buf, "\"delivered_ms\":0") == NULL);
	mbuf_reset(mb);
	CHECK_EQ(store_sms_json(st, "other", "", 10, mb), 0);
	mbuf_write_u8(mb, 0);
	CHECK_STR((char *)mb->buf, "{\"items\":[]}");
	mem_deref(mb);

	/* The gateway goes down: messages wait, survive a restart, and go
	 * once it is back. */
	g.sock = mem_deref(g.sock);
	CHECK_EQ(sms_send(s, "13800002222", "watch 1", "test:2", &id2), 0);
	unit_run_loop(200);
	outbox_state(st, id2, "queued", 1);
	CHECK_EQ(sms_send(s, "13800003333", "watch 2", "test:3", &id3), 0);
	unit_run_loop(100);
	/* Paused: the second waits behind the first's probe. */
	outbox_state(st, id3, "queued", 0);
	s = mem_deref(s);
	CHECK_EQ(gw_listen(&g), 0);
	CHECK_EQ(sms_alloc(&s, &cf, st), 0);
	/* The newer one is due first; its success brings the older one,
	 * held back by its back-off, forward. */
	unit_run_loop(300);
	outbox_state(st, id2, "sent", 1);
	outbox_state(st, id3, "sent", 0);
	CHECK_EQ(g.n, 4);
	CHECK(strstr(g.last, "text=watch%201") != NULL);
	s = mem_deref(s);

	/* SMS off: queued all the same, sent by nobody. */
	cf.sms_url[0] = '\0';
	CHECK_EQ(sms_alloc(&s, &cf, st), 0);
	CHECK_EQ(sms_send(s, "13800004444", "off", "test:4", &id), 0);
	unit_run_loop(100);
	outbox_state(st, id, "queued", 0);
	CHECK_EQ(g.n, 4);
	/* Turned on while running: the outbox empties. */
	re_snprintf(cf.sms_url, sizeof(cf.sms_url), "http://127.0.0.1:%u/"
		    "cgi-bin/sendsms?username=u&password=p", g.port);
	sms_reconf(s, &cf);
	unit_run_loop(200);
	outbox_state(st, id, "sent", 0);
	CHECK_EQ(g.n, 5);

	mem_deref(s);
	mem_deref(g.sock);
	mem_deref(st);
}

/* A WAV header for n data bytes (fmt, channels, rate, bits). */
static size_t wav(uint8_t *b, uint16_t fmt, uint16_t ch, uint32_t rate,
		  uint16_t bits, uint32_t n)
{
	uint32_t v[] = {36 + n, 16, rate, rate * ch * bits / 8, n};

	memcpy(b, "RIFF", 4);
	memcpy(b + 4, &v[0], 4);
	memcpy(b + 8, "WAVEfmt ", 8);
	memcpy(b + 16, &v[1], 4);
	memcpy(b + 20, &fmt, 2);
	memcpy(b + 22, &ch, 2);
	memcpy(b + 24, &v[2], 4);
	memcpy(b + 28, &v[3], 4);
	b[32] = (uint8_t)(ch * bits / 8);
	b[33] = 0;
	memcpy(b + 34, &bits, 2);
	memcpy(b + 36, "data", 4);
	memcpy(b + 40, &v[4], 4);
	memset(b + 44, 0, n);
	return 44 + n;
}

static void watch_wav(void)
{
	static uint8_t b[44 + 32000];
	uint32_t ms = 0;
	size_t n;

	n = wav(b, 1, 1, 8000, 16, 16000);          /* 1 s of 16-bit PCM */
	CHECK(watch_wav_ok(b, n, &ms));
	CHECK_EQ(ms, 1000);
	n = wav(b, 7, 1, 8000, 8, 4000);            /* 0.5 s of u-law */
	CHECK(watch_wav_ok(b, n, &ms));
	CHECK_EQ(ms, 500);
	CHECK(!watch_wav_ok(b, n - 1, &ms));        /* data cut short */
	n = wav(b, 1, 2, 8000, 16, 32000);          /* stereo */
	CHECK(!watch_wav_ok(b, n, &ms));
	n = wav(b, 1, 1, 4000, 16, 16000);          /* too slow a rate */
	CHECK(!watch_wav_ok(b, n, &ms));
	n = wav(b, 3, 1, 8000, 32, 32000);          /* float */
	CHECK(!watch_wav_ok(b, n, &ms));
	n = wav(b, 1, 1, 8000, 16, 1000);           /* 62 ms: too short */
	CHECK(!watch_wav_ok(b, n, &ms));
	n = wav(b, 1, 1, 8000, 16, 16000);
	memcpy(b + 8, "AVI ", 4);
	CHECK(!watch_wav_ok(b, n, &ms));
	CHECK(!watch_wav_ok(b, 10, &ms));
	CHECK(!watch_wav_ok(NULL, 0, &ms));
}

static void watch_categories(void)
{
	CHECK(watch_category_ok("fall"));
	CHECK(watch_category_ok("fire-smoke"));
	CHECK(!watch_category_ok("Fall"));
	CHECK(!watch_category_ok(""));
	CHECK(!watch_category_ok(NULL));
	CHECK_STR(watch_category_zh("lost"), "有人走失迷路");
}

/* Load text as a site's volunteers (check only if w is NULL). */
static int site_vol(struct watch *w, const char *text, char *err, size_t sz)
{
	struct json *root = NULL;
	char why[200];
	int e;

	err[0] = '\0';
	e = json_parse(&root, text, strlen(text), why, sizeof(why));
	if (!e)
		e = watch_site_load(w, root, "site.json", err, sz);
	mem_deref(root);
	return e;
}

static void watch_site(void)
{
	static const char good[] = "{\"volunteers\":[\n"
		"{\"id\":\"wang\",\"name\":\"王阿姨\",\"phone\":\"13800001111\","
		"\"district\":\"虹口区\"},\n"
		"{\"id\":\"hk\",\"name\":\"社区办\",\"phone\":\"02165550001\","
		"\"district\":\"虹口区\",\"kind\":\"office\",\"escalation\":"
		"\"13900000009\",\"token\":\"0123456789abcdef0123456789abcdef\"}]}";
	struct store_volunteer v, again;
	struct watch *w = NULL;
	struct store *st = NULL;
	struct conf cf;
	char err[300];

	CHECK_EQ(site_vol(NULL, good, err, sizeof(err)), 0);
	CHECK_EQ(site_vol(NULL, "{}", err, sizeof(err)), 0);
	CHECK_EQ(site_vol(NULL, "{\"volunteers\":{}}", err, sizeof(err)),
		 EINVAL);
	CHECK_STR(err, "site.json:1: \"volunteers\" is an array of volunteers");
	CHECK_EQ(site_vol(NULL, "{\"volunteers\":[\n{\"id\":\"a\",\"name\":"
			  "\"n\",\n\"phone\":\"12\",\"district\":\"d\"}]}", err,
			  sizeof(err)), EINVAL);
	CHECK_STR(err, "site.json:3: \"phone\" must be a number of 3-20 "
		  "digits, + first allowed");
	CHECK_EQ(site_vol(NULL, "{\"volunteers\":[{\"id\":\"a\",\"name\":"
			  "\"n\",\"phone\":\"123\",\"district\":\"d\"},\n"
			  "{\"id\":\"a\",\"name\":\"n\",\"phone\":\"123\","
			  "\"district\":\"d\"}]}", err, sizeof(err)), EINVAL);
	CHECK_STR(err, "site.json:2: volunteer \"a\" is listed twice");
	CHECK_EQ(site_vol(NULL, "{\"volunteers\":[{\"id\":\"a\",\"name\":"
			  "\"n\",\"phone\":\"123\",\"district\":\"d\",\n"
			  "\"token\":\"xyz\"}]}", err, sizeof(err)), EINVAL);
	CHECK_STR(err, "site.json:2: \"token\" is 32-64 hex digits (a-f 0-9)");

	/* Applied: a new volunteer gets a token, a given one is kept, and a
	 * second import changes neither. */
	conf_defaults(&cf);
	CHECK_EQ(store_open(&st, unit_tmpfile("watch.db")), 0);
	CHECK_EQ(watch_alloc(&w, &cf, st, NULL, NULL), 0);
	CHECK_EQ(site_vol(w, good, err, sizeof(err)), 0);
	CHECK_EQ(store_volunteer_get(st, "wang", &v), 0);
	CHECK_EQ(strlen(v.token), 48);
	CHECK_STR(v.kind, "volunteer");
	CHECK_EQ(watch_volunteer_auth(w, v.token, &again), 0);
	CHECK_STR(again.id, "wang");
	CHECK_EQ(store_volunteer_get(st, "hk", &v), 0);
	CHECK_STR(v.token, "0123456789abcdef0123456789abcdef");
	CHECK_STR(v.escalation, "13900000009");
	CHECK_EQ(store_volunteer_get(st, "wang", &v), 0);
	CHECK_EQ(site_vol(w, good, err, sizeof(err)), 0);
	CHECK_EQ(store_volunteer_get(st, "wang", &again), 0);
	CHECK_STR(again.token, v.token);
	CHECK_EQ(watch_volunteer_auth(w, "0123456789abcdef", &again), ENOENT);
	mem_deref(w);
	mem_deref(st);
}

const struct unit_case sms_cases[] = {
	{"url_escaping", url_escaping},
	{"url_building", url_building},
	{"backoff_schedule", backoff_schedule},
	{"report_states", report_states},
	{"input_checks", input_checks},
	{"outbox", outbox},
	{"watch_wav", watch_wav},
	{"watch_categories", watch_categories},
	{"watch_site", watch_site},
	{NULL, NULL},
};
