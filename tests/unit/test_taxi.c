/* taxi: the partner signature against vectors computed independently
 * (Python's hmac module), the backoff schedule, the ride's state machine,
 * the rides' store, and a restart resumed against a partner played by a
 * libre HTTP server on loopback. */
#include <stdlib.h>
#include <errno.h>
#include <re.h>
#include "core/conf.h"
#include "core/clock.h"
#include "store/store.h"
#include "store/ride.h"
#include "site/json.h"
#include "booth/booth.h"
#include "booth/taxi.h"
#include "unit.h"

static const char vec_body[] =
	"{\"ride_id\":\"0123456789abcdef0123456789abcdef\",\"status\":"
	"\"accepted\",\"plate\":\"\xe6\xb2\xaa" "A12345\",\"eta_s\":300}";

/* python3 -c 'import hmac,hashlib; print(hmac.new(KEY, b"1700000000." +
 * BODY, hashlib.sha256).hexdigest())' */
static void signature_vectors(void)
{
	char hex[65], key100[101];

	taxi_sign("whsec_laoyou_demo", 1700000000, vec_body,
		  strlen(vec_body), hex);
	CHECK_STR(hex, "cc1b2418de79054e19272a851a71d51652fe0ef65c1094736324"
		  "a917c6a071da");
	/* A key longer than SHA-256's block is hashed first. */
	memset(key100, 'k', 100);
	key100[100] = '\0';
	taxi_sign(key100, 1700000000, vec_body, strlen(vec_body), hex);
	CHECK_STR(hex, "098a63b2fe8665d5bccd7ca9de5593bb8bfbbfecc221ca1ee402"
		  "a1ae60766fff");
	taxi_sign("whsec_laoyou_demo", 1700000000, "", 0, hex);
	CHECK_STR(hex, "f25cb06854dd7c65a3805fd7844f802f8d2f315799feabd31293"
		  "ed2d2d15c6b0");
}

/* The worked examples of docs/taxi-partner.md § 2, byte for byte. */
static void signature_doc_examples(void)
{
	static const char req[] =
		"{\"ride_id\":\"4f1c2a7b3d4e5f6071829aabbccddeef\",\"created_ms"
		"\":1700000000123,\"accept_within_s\":120,\"booth\":{\"id\":"
		"\"tianai-1\",\"name\":\"甜爱路 老友亭\",\"name_en\":\"Tian'ai "
		"Road booth\",\"address\":\"上海市虹口区甜爱路 1号\",\"district"
		"\":\"虹口区\",\"lat\":31.274712,\"lon\":121.483801},"
		"\"passengers\":1,\"note\":\"\",\"lang\":\"zh\",\"callback_url"
		"\":\"https://laoyou.example.org/api/v1/partner/taxi/4f1c2a7b3d"
		"4e5f6071829aabbccddeef/status\"}";
	static const char cb[] =
		"{\"ride_id\":\"4f1c2a7b3d4e5f6071829aabbccddeef\",\"status\":"
		"\"accepted\",\"plate\":\"沪A·D12345\",\"eta_s\":300,"
		"\"driver\":\"王师傅\"}";
	char hex[65];

	CHECK_EQ(strlen(req), 423);
	CHECK_EQ(strlen(cb), 122);
	taxi_sign("whsec_laoyou_demo", 1700000000, req, strlen(req), hex);
	CHECK_STR(hex, "e577ea59cd206fb93da0a6b9e0e1073dfb58813e2eedb1db689f"
		  "e785ae02dc47");
	taxi_sign("whsec_laoyou_demo", 1700000000, cb, strlen(cb), hex);
	CHECK_STR(hex, "6d075cfeac8f9631902b42372cf35557937ad91e07478c5530b6"
		  "9436027c512c");
}

static void signature_check(void)
{
	const char *k = "whsec_laoyou_demo";
	const char *good = "cc1b2418de79054e19272a851a71d51652fe0ef65c1094736"
		"324a917c6a071da";
	const size_t n = strlen(vec_body);
	const int64_t t0 = 1700000000;
	char h[300];

	re_snprintf(h, sizeof(h), "t=1700000000,v1=%s", good);
	CHECK_EQ(taxi_sig_check(k, h, vec_body, n, t0), 0);
	CHECK_EQ(taxi_sig_check(k, h, vec_body, n, t0 + TAXI_SKEW_S), 0);
	CHECK_EQ(taxi_sig_check(k, h, vec_body, n, t0 - TAXI_SKEW_S), 0);
	CHECK_EQ(taxi_sig_check(k, h, vec_body, n, t0 + TAXI_SKEW_S + 1),
		 ETIMEDOUT);
	CHECK_EQ(taxi_sig_check(k, h, vec_body, n, t0 - TAXI_SKEW_S - 1),
		 ETIMEDOUT);
	/* One byte of the body, the key or the time changed. */
	CHECK_EQ(taxi_sig_check(k, h, vec_body, n - 1, t0), EPERM);
	CHECK_EQ(taxi_sig_check("whsec_laoyou_dem0", h, vec_body, n, t0),
		 EPERM);
	re_snprintf(h, sizeof(h), "t=1700000001,v1=%s", good);
	CHECK_EQ(taxi_sig_check(k, h, vec_body, n, t0), EPERM);
	/* Spaces, upper-case hex, and a second v1 while rotating. */
	re_snprintf(h, sizeof(h), " v1=%064d , t=1700000000 , v1=%s", 0,
		    "CC1B2418DE79054E19272A851A71D51652FE0EF65C1094736324A917C"
		    "6A071DA");
	CHECK_EQ(taxi_sig_check(k, h, vec_body, n, t0), 0);
	/* Malformed or missing. */
	CHECK_EQ(taxi_sig_check(k, NULL, vec_body, n, t0), EPERM);
	CHECK_EQ(taxi_sig_check(k, "", vec_body, n, t0), EPERM);
	CHECK_EQ(taxi_sig_check(k, "t=1700000000", vec_body, n, t0), EPERM);
	re_snprintf(h, sizeof(h), "v1=%s", good);
	CHECK_EQ(taxi_sig_check(k, h, vec_body, n, t0), EPERM);
	re_snprintf(h, sizeof(h), "t=17000x0000,v1=%s", good);
	CHECK_EQ(taxi_sig_check(k, h, vec_body, n, t0), EPERM);
	re_snprintf(h, sizeof(h), "t=1700000000,v1=%b", good, (size_t)63);
	CHECK_EQ(taxi_sig_check(k, h, vec_body, n, t0), EPERM);
	/* No secret configured: nothing is ever valid. */
	re_snprintf(h, sizeof(h), "t=1700000000,v1=%s", good);
	CHECK_EQ(taxi_sig_check("", h, vec_body, n, t0), EPERM);
}

static void backoff_schedule(void)
{
	const uint32_t want[] = {0, 1000, 2000, 4000, 8000, 16000, 16000};
	uint32_t total = 0;

	for (uint32_t i = 0; i < ARRAY_SIZE(want); i++)
		CHECK_EQ(taxi_backoff_ms(i), want[i]);
	CHECK_EQ(taxi_backoff_ms(1000), TAXI_BACKOFF_MAX_MS);
	/* Between the TAXI_TRIES tries: 1 + 2 + 4 + 8 s of waiting. */
	for (uint32_t i = 1; i < TAXI_TRIES; i++)
		total += taxi_backoff_ms(i);
	CHECK_EQ(total, 15000);
}

static void state_machine(void)
{
	static const struct { const char *from, *to; bool ok; } t[] = {
		{"requested", "accepted", true},  /* callback beat the answer */
		{"sent", "accepted", true},
		{"sent", "arriving", true},
		{"sent", "cancelled", true},
		{"sent", "completed", false},     /* never accepted */
		{"requested", "completed", false},
		{"accepted", "accepted", true},   /* a new ETA */
		{"accepted", "arriving", true},
		{"accepted", "arrived", true},
		{"accepted", "completed", true},
		{"arriving", "accepted", false},  /* backwards */
		{"arrived", "arriving", false},
		{"arrived", "completed", true},
		{"arrived", "cancelled", true},
		{"completed", "cancelled", false},
		{"cancelled", "accepted", false},
		{"failed", "accepted", false},    /* too late */
		{"failed", "cancelled", false},
		{"sent", "failed", false},        /* ours, not the partner's */
		{"sent", "sent", false},
		{"sent", "requested", false},
		{"sent", "teleported", false},
		{"nowhere", "accepted", false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		bool ok = taxi_transition_ok(t[i].from, t[i].to);
		if (ok != t[i].ok)
			fprintf(stderr, "  %s -> %s\n", t[i].from, t[i].to);
		CHECK(ok == t[i].ok);
	}
	CHECK(taxi_state_final("completed"));
	CHECK(taxi_state_final("cancelled"));
	CHECK(taxi_state_final("failed"));
	CHECK(!taxi_state_final("arrived"));
	CHECK(!taxi_state_final("requested"));
}

static void ride_fill(struct store_ride *r, const char *id, const char *booth,
		      const char *state, int64_t created, int64_t deadline)
{
	memset(r, 0, sizeof(*r));
	str_ncpy(r->id, id, sizeof(r->id));
	str_ncpy(r->booth, booth, sizeof(r->booth));
	str_ncpy(r->state, state, sizeof(r->state));
	r->eta_s = -1;
	r->passengers = 1;
	r->created_ms = r->updated_ms = created;
	r->deadline_ms = deadline;
	re_snprintf(r->request, sizeof(r->request), "{\"ride_id\":\"%s\"}",
		    id);
}

static void count_ride(const struct store_ride *r, void *arg)
{
	uint32_t *n = arg;
	(void)r;
	++*n;
}

static void last_id(const struct store_ride *r, void *arg)
{
	str_ncpy(arg, r->id, 33);
}

static void count_step(int64_t ts, const char *state, const char *detail,
		       void *arg)
{
	uint32_t *n = arg;
	(void)ts;
	(void)state;
	(void)detail;
	++*n;
}

static void ride_store(void)
{
	struct store *st = NULL;
	struct store_ride r, g;
	char id[33] = "";
	uint32_t n = 0;

	CHECK_EQ(store_open(&st, unit_tmpfile("rides.db")), 0);
	ride_fill(&r, "r1", "b1", "requested", 1000, 121000);
	CHECK_EQ(store_ride_add(st, &r), 0);
	CHECK_EQ(store_ride_add(st, &r), EEXIST);
	ride_fill(&r, "r2", "b1", "accepted", 2000, 122000);
	CHECK_EQ(store_ride_add(st, &r), 0);
	ride_fill(&r, "r3", "b2", "sent", 3000, 123000);
	CHECK_EQ(store_ride_add(st, &r), 0);

	CHECK_EQ(store_ride_get(st, "r1", &g), 0);
	CHECK_STR(g.state, "requested");
	CHECK_STR(g.request, "{\"ride_id\":\"r1\"}");
	CHECK_EQ(g.eta_s, -1);
	CHECK_EQ(store_ride_get(st, "nope", &g), ENOENT);

	CHECK_EQ(store_ride_pending_of(st, "b1", id, sizeof(id)), 0);
	CHECK_STR(id, "r1");
	CHECK_EQ(store_ride_pending_of(st, "b3", id, sizeof(id)), ENOENT);
	CHECK_EQ(store_ride_pending(st, count_ride, &n), 0);
	CHECK_EQ(n, 2);

	str_ncpy(g.state, "sent", sizeof(g.state));
	str_ncpy(g.partner_ref, "P-9", sizeof(g.partner_ref));
	g.attempts = 2;
	g.eta_s = 240;
	CHECK_EQ(store_ride_update(st, &g), 0);
	CHECK_EQ(store_ride_get(st, "r1", &r), 0);
	CHECK_STR(r.partner_ref, "P-9");
	CHECK_EQ(r.attempts, 2);
	CHECK_EQ(r.eta_s, 240);
	str_ncpy(g.id, "nope", sizeof(g.id));
	CHECK_EQ(store_ride_update(st, &g), ENOENT);

	n = 0;
	CHECK_EQ(store_ride_list(st, "b1", "", 10, count_ride, &n), 0);
	CHECK_EQ(n, 2);
	n = 0;
	CHECK_EQ(store_ride_list(st, "", "sent", 10, count_ride, &n), 0);
	CHECK_EQ(n, 2);
	n = 0;
	CHECK_EQ(store_ride_list(st, "", "", 1, last_id, id), 0);
	CHECK_STR(id, "r3");            /* newest first */

	CHECK_EQ(store_ride_log(st, "r1", 1000, "requested", "x"), 0);
	CHECK_EQ(store_ride_log(st, "r1", 1500, "sent", "y"), 0);
	n = 0;
	CHECK_EQ(store_ride_steps(st, "r1", count_step, &n), 0);
	CHECK_EQ(n, 2);
	mem_deref(st);
}

/* ---------- a restart, against a partner on loopback ---------- */

struct partner {
	struct http_sock *sock;
	const char *key;
	uint32_t posts, tries_a, bad_sigs, cancels;
	char cancel_path[128];
};

/* The text in mb, NUL-terminated, for strstr. */
static const char *mbstr(struct mbuf *mb)
{
	(void)mbuf_write_u8(mb, 0);
	mb->end--;
	return (const char *)mb->buf;
}

static void partner_req(struct http_conn *conn, const struct http_msg *msg,
			void *arg)
{
	struct partner *p = arg;
	const struct http_hdr *h = http_msg_xhdr(msg, "X-Laoyou-Signature");
	const char *body = (const char *)mbuf_buf(msg->mb);
	size_t len = mbuf_get_left(msg->mb);
	char sig[200] = "";

	if (h)
		pl_strcpy(&h->val, sig, sizeof(sig));
	if (taxi_sig_check(p->key, sig, body, len, clock_wall_s()))
		p->bad_sigs++;
	if (!pl_strcmp(&msg->path, "/rides")) {
		p->posts++;
		/* The ride that must run out of time is never answered. */
		if (!re_regex(body, len, "hang"))
			return;
		p->tries_a++;
		http_creply(conn, p->tries_a == 1 ? 503 : 201,
			    p->tries_a == 1 ? "Busy" : "Created",
			    "application/json", "{\"ref\":\"P-1\"}");
		return;
	}
	p->cancels++;
	pl_strcpy(&msg->path, p->cancel_path, sizeof(p->cancel_path));
	http_creply(conn, 200, "OK", "application/json", "{}");
}

static const char *status_sig(const char *key, const char *body, char *h,
			      size_t sz)
{
	char hex[65];
	int64_t now = clock_wall_s();

	taxi_sign(key, now, body, strlen(body), hex);
	re_snprintf(h, sz, "t=%lld,v1=%s", (long long)now, hex);
	return h;
}

static void resume_after_restart(void)
{
	const char *key = "unit-secret";
	struct partner p;
	struct store *st = NULL;
	struct taxi *t = NULL;
	struct store_ride r;
	struct mbuf *mb = mbuf_alloc(1024);
	struct conf cf;
	struct sa la;
	const char *why;
	char h[200], body[300];
	int64_t now = clock_wall_ms();
	const char *a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

	memset(&p, 0, sizeof(p));
	p.key = key;
	sa_set_str(&la, "127.0.0.1", 0);
	CHECK_EQ(http_listen(&p.sock, &la, partner_req, &p), 0);
	CHECK_EQ(tcp_sock_local_get(http_sock_tcp(p.sock), &la), 0);

	CHECK_EQ(store_open(&st, unit_tmpfile("resume.db")), 0);
	/* Left half-delivered: one try made before the restart. */
	ride_fill(&r, a, "b1", "requested", now - 1000, now + 20000);
	r.attempts = 1;
	CHECK_EQ(store_ride_add(st, &r), 0);
	/* Delivered, and its time ran out while we were down. */
	ride_fill(&r, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "b2", "sent",
		  now - 200000, now - 80000);
	str_ncpy(r.partner_ref, "PB", sizeof(r.partner_ref));
	CHECK_EQ(store_ride_add(st, &r), 0);
	/* A partner that never answers, 400 ms left. */
	ride_fill(&r, "cccccccccccccccccccccccccccchang", "b3", "requested",
		  now, now + 400);
	CHECK_EQ(store_ride_add(st, &r), 0);
	/* On its way: the partner's business now, not ours. */
	ride_fill(&r, "dddddddddddddddddddddddddddddddd", "b4", "accepted",
		  now - 5000, now - 1000);
	CHECK_EQ(store_ride_add(st, &r), 0);

	conf_defaults(&cf);
	re_snprintf(cf.taxi_url, sizeof(cf.taxi_url), "http://%J/rides", &la);
	str_ncpy(cf.taxi_secret, key, sizeof(cf.taxi_secret));
	CHECK_EQ(taxi_alloc(&t, &cf, st, NULL), 0);
	/* The first try meets a 503, the next (after ~1 s) a 201. */
	unit_run_loop(1800);

	CHECK_EQ(store_ride_get(st, a, &r), 0);
	CHECK_STR(r.state, "sent");
	CHECK_STR(r.partner_ref, "P-1");
	CHECK_EQ(r.attempts, 3);
	CHECK_EQ(store_ride_get(st, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", &r),
		 0);
	CHECK_STR(r.state, "failed");
	CHECK_STR(r.reason, "not_accepted");
	CHECK_EQ(store_ride_get(st, "cccccccccccccccccccccccccccchang", &r),
		 0);
	CHECK_STR(r.state, "failed");
	CHECK_STR(r.reason, "no_answer");
	CHECK_EQ(store_ride_get(st, "dddddddddddddddddddddddddddddddd", &r),
		 0);
	CHECK_STR(r.state, "accepted");
	CHECK_EQ(p.posts, 3);
	CHECK_EQ(p.tries_a, 2);
	CHECK_EQ(p.bad_sigs, 0);
	/* The expired ride's partner and the silent one heard it is off. */
	CHECK_EQ(p.cancels, 2);

	/* The partner's callbacks move the resumed ride on. */
	re_snprintf(body, sizeof(body), "{\"ride_id\":\"%s\",\"status\":"
		    "\"accepted\",\"plate\":\"A1\",\"eta_s\":61}", a);
	mb->pos = mb->end = 0;
	CHECK_EQ(taxi_status(t, a, status_sig(key, body, h, sizeof(h)), body,
			     strlen(body), mb, &why), 0);
	CHECK(strstr(mbstr(mb), "\"prompts\":[\"taxi_accepted\","
		     "\"taxi_eta_2\"]") != NULL);
	CHECK(strstr(mbstr(mb), "\"fallback\":null") != NULL);
	/* A signature of another body, a stale one, another ride. */
	CHECK_EQ(taxi_status(t, a, status_sig(key, "{}", h, sizeof(h)), body,
			     strlen(body), mb, &why), EPERM);
	CHECK_EQ(taxi_status(t, a, NULL, body, strlen(body), mb, &why), EPERM);
	{
		char hex[65];
		int64_t old = clock_wall_s() - TAXI_SKEW_S - 5;
		taxi_sign(key, old, body, strlen(body), hex);
		re_snprintf(h, sizeof(h), "t=%lld,v1=%s", (long long)old, hex);
		CHECK_EQ(taxi_status(t, a, h, body, strlen(body), mb, &why),
			 ETIMEDOUT);
	}
	CHECK_EQ(taxi_status(t, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
			     status_sig(key, body, h, sizeof(h)), body,
			     strlen(body), mb, &why), EBADMSG);
	re_snprintf(body, sizeof(body), "{\"ride_id\":\"%s\",\"status\":"
		    "\"arrived\"}", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
	CHECK_EQ(taxi_status(t, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
			     status_sig(key, body, h, sizeof(h)), body,
			     strlen(body), mb, &why), ENOENT);
	re_snprintf(body, sizeof(body), "{\"ride_id\":\"%s\",\"status\":"
		    "\"arrived\"}", a);
	CHECK_EQ(taxi_status(t, a, status_sig(key, body, h, sizeof(h)), body,
			     strlen(body), mb, &why), 0);
	re_snprintf(body, sizeof(body), "{\"ride_id\":\"%s\",\"status\":"
		    "\"accepted\",\"plate\":\"A1\"}", a);
	CHECK_EQ(taxi_status(t, a, status_sig(key, body, h, sizeof(h)), body,
			     strlen(body), mb, &why), EPROTO);
	re_snprintf(body, sizeof(body), "{\"ride_id\":\"%s\",\"status\":"
		    "\"accepted\"}", a);     /* no plate */
	CHECK_EQ(taxi_status(t, a, status_sig(key, body, h, sizeof(h)), body,
			     strlen(body), mb, &why), EBADMSG);
	CHECK_EQ(store_ride_get(st, a, &r), 0);
	CHECK_STR(r.state, "arrived");
	CHECK_STR(r.plate, "A1");
	CHECK_EQ(r.eta_s, -1);
	mb->pos = mb->end = 0;
	CHECK_EQ(taxi_rides_json(t, "b2", "", 10, mb), 0);
	CHECK(strstr(mbstr(mb), "\"state\":\"failed\"") != NULL);
	CHECK(strstr(mbstr(mb), "\"fallback\":\"96840\"") != NULL);
	CHECK(strstr(mbstr(mb), "\"prompts\":[\"taxi_failed\","
		     "\"taxi_fallback\"]") != NULL);

	mem_deref(t);
	mem_deref(st);
	mem_deref(p.sock);
	mem_deref(mb);
}

/* ---------- a callback that overtakes the answer to the request ---------- */

struct slow {
	struct http_sock *sock;
	struct http_conn *held;
	uint32_t posts;
};

static void slow_req(struct http_conn *conn, const struct http_msg *msg,
		     void *arg)
{
	struct slow *p = arg;

	if (pl_strcmp(&msg->path, "/rides")) {
		http_creply(conn, 200, "OK", "application/json", "{}");
		return;
	}
	p->posts++;
	mem_deref(p->held);
	p->held = mem_ref(conn);
}

static void ride_id_of(struct mbuf *mb, char *id, size_t sz)
{
	struct json *j = NULL;
	char err[100];

	id[0] = '\0';
	if (!json_parse(&j, (const char *)mb->buf, mb->end, err, sizeof(err)))
		str_ncpy(id, json_str(json_get(j, "id")) ?
			 json_str(json_get(j, "id")) : "", sz);
	mem_deref(j);
}

static void callback_overtakes_answer(void)
{
	const char *key = "unit-secret";
	struct slow p;
	struct store *st = NULL;
	struct taxi *t = NULL;
	struct store_ride r;
	struct booth_info bi;
	struct mbuf *mb = mbuf_alloc(1024);
	struct conf cf;
	struct sa la;
	const char *why;
	char id[33], h[200], body[300];

	memset(&p, 0, sizeof(p));
	memset(&bi, 0, sizeof(bi));
	str_ncpy(bi.id, "b9", sizeof(bi.id));
	str_ncpy(bi.name, "测试亭", sizeof(bi.name));
	bi.lat = 31.2;
	bi.lon = 121.4;
	sa_set_str(&la, "127.0.0.1", 0);
	CHECK_EQ(http_listen(&p.sock, &la, slow_req, &p), 0);
	CHECK_EQ(tcp_sock_local_get(http_sock_tcp(p.sock), &la), 0);
	CHECK_EQ(store_open(&st, unit_tmpfile("race.db")), 0);
	conf_defaults(&cf);
	re_snprintf(cf.taxi_url, sizeof(cf.taxi_url), "http://%J/rides", &la);
	str_ncpy(cf.taxi_secret, key, sizeof(cf.taxi_secret));
	CHECK_EQ(taxi_alloc(&t, &cf, st, NULL), 0);

	/* The partner holds its answer and calls back "accepted" first. */
	CHECK_EQ(taxi_request(t, &bi, "", 1, mb), 0);
	ride_id_of(mb, id, sizeof(id));
	CHECK_EQ(strlen(id), 32);
	unit_run_loop(300);
	CHECK_EQ(p.posts, 1);
	CHECK(p.held != NULL);
	re_snprintf(body, sizeof(body), "{\"ride_id\":\"%s\",\"status\":"
		    "\"accepted\",\"plate\":\"Z9\"}", id);
	mb->pos = mb->end = 0;
	CHECK_EQ(taxi_status(t, id, status_sig(key, body, h, sizeof(h)), body,
			     strlen(body), mb, &why), 0);
	/* Its late answer still brings the reference, and nothing else. */
	http_reply(p.held, 201, "Created", "Content-Type: application/json\r\n"
		   "Connection: close\r\nContent-Length: 13\r\n\r\n"
		   "{\"ref\":\"P-R\"}");
	p.held = mem_deref(p.held);
	unit_run_loop(300);
	CHECK_EQ(store_ride_get(st, id, &r), 0);
	CHECK_STR(r.state, "accepted");
	CHECK_STR(r.partner_ref, "P-R");

	/* Cancelled by the partner while the request is out; the request
	 * then dies: no retry, the ride stays cancelled. */
	mb->pos = mb->end = 0;
	CHECK_EQ(taxi_request(t, &bi, "", 1, mb), 0);
	ride_id_of(mb, id, sizeof(id));
	unit_run_loop(300);
	CHECK_EQ(p.posts, 2);
	re_snprintf(body, sizeof(body), "{\"ride_id\":\"%s\",\"status\":"
		    "\"cancelled\"}", id);
	CHECK_EQ(taxi_status(t, id, status_sig(key, body, h, sizeof(h)), body,
			     strlen(body), mb, &why), 0);
	if (p.held)
		http_conn_close(p.held);
	p.held = mem_deref(p.held);
	unit_run_loop(1500);
	CHECK_EQ(p.posts, 2);
	CHECK_EQ(store_ride_get(st, id, &r), 0);
	CHECK_STR(r.state, "cancelled");
	CHECK_STR(r.reason, "partner");

	/* No partner secret: the service is off. */
	cf.taxi_secret[0] = '\0';
	taxi_reconf(t, &cf);
	CHECK_EQ(taxi_request(t, &bi, "", 1, mb), ENOTSUP);

	mem_deref(t);
	mem_deref(st);
	mem_deref(p.sock);
	mem_deref(mb);
}

const struct unit_case taxi_cases[] = {
	{"signature_vectors", signature_vectors},
	{"signature_doc_examples", signature_doc_examples},
	{"signature_check", signature_check},
	{"backoff_schedule", backoff_schedule},
	{"state_machine", state_machine},
	{"ride_store", ride_store},
	{"resume_after_restart", resume_after_restart},
	{"callback_overtakes_answer", callback_overtakes_answer},
	{NULL, NULL},
};
