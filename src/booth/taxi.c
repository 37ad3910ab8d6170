/*
 * taxi: one-touch taxi (docs/taxi-partner.md is the partner's side).
 *
 * A ride is written to the store at every step before anyone hears of it,
 * so a restart resumes it: a request not yet delivered is sent again (the
 * same body, the same ride id: the partner deduplicates), a ride not yet
 * accepted keeps its deadline.  Only rides still waiting for the partner
 * live in memory, with their timers; once a driver accepts, the ride moves
 * on the partner's callbacks alone, read from and written to the store.
 */
#include <string.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <sodium.h>
#include <re.h>
#include "core/conf.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"
#include "store/ride.h"
#include "site/json.h"
#include "booth/booth.h"
#include "booth/taxi.h"

enum {
	RESUME_MS = 50,            /* after start-up, once the API listens */
	CANCEL_TRIES = 3,
	REF_MAX = 64,
	ETA_PROMPTS = 30,          /* taxi_eta_1 … taxi_eta_30 */
};

struct taxi {
	struct conf cf;
	struct store *st;
	struct booths *b;
	struct dnsc *dnsc;
	struct http_cli *cli;
	struct list rides;         /* rides waiting for the partner */
	struct list cancels;       /* cancels on their way to the partner */
	struct tmr tmr_resume;
};

/* A ride until the partner has it accepted (or our request to it is
 * answered, whichever is later). */
struct ride {
	struct le le;
	struct taxi *t;
	struct store_ride r;
	struct tmr tmr;            /* a try's answer, or the wait for the next */
	struct tmr tmr_deadline;   /* accepted by then, or failed */
	struct http_req *req;
	uint32_t tries;            /* tries since this process took it on */
	const char *last;          /* the last failed try's reason */
	char last_detail[96];
};

/* Telling the partner a ride is off, with a few retries. */
struct pcancel {
	struct le le;
	struct taxi *t;
	struct tmr tmr;
	struct http_req *req;
	char ride[33];
	char url[320];
	char *body;
	uint32_t tries;
};

static const char *const states[] = {
	"requested", "sent", "accepted", "arriving", "arrived", "completed",
	"cancelled", "failed",
};

static int rank(const char *s)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(states); i++)
		if (!strcmp(s, states[i]))
			return (int)i;
	return -1;
}

bool taxi_state_final(const char *state)
{
	return rank(state) >= rank("completed");
}

bool taxi_transition_ok(const char *from, const char *to)
{
	int f = rank(from), n = rank(to);

	if (f < 0 || n < rank("accepted") || n == rank("failed") ||
	    taxi_state_final(from))
		return false;
	if (n == rank("cancelled"))
		return true;
	if (n == rank("completed"))
		return f >= rank("accepted");
	/* Forward, or the same state again with news (a new ETA). */
	return n >= f;
}

uint32_t taxi_backoff_ms(uint32_t n)
{
	uint64_t ms = TAXI_BACKOFF_MS;

	if (n < 1)
		return 0;
	for (uint32_t i = 1; i < n && ms < TAXI_BACKOFF_MAX_MS; i++)
		ms *= 2;
	return (uint32_t)(ms < TAXI_BACKOFF_MAX_MS ? ms : TAXI_BACKOFF_MAX_MS);
}

void taxi_sign(const char *key, int64_t ts, const char *body, size_t len,
	       char hex[65])
{
	crypto_auth_hmacsha256_state s;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	char t[24];
	int n = re_snprintf(t, sizeof(t), "%lld.", (long long)ts);

	crypto_auth_hmacsha256_init(&s, (const uint8_t *)key, strlen(key));
	crypto_auth_hmacsha256_update(&s, (const uint8_t *)t, (size_t)n);
	crypto_auth_hmacsha256_update(&s, (const uint8_t *)body, len);
	crypto_auth_hmacsha256_final(&s, mac);
	sodium_bin2hex(hex, 65, mac, sizeof(mac));
	sodium_memzero(&s, sizeof(s));
}

int taxi_sig_check(const char *key, const char *hdr, const char *body,
		   size_t len, int64_t now_s)
{
	char want[65], got[4][65];
	uint32_t ngot = 0;
	bool have_t = false, match = false;
	long long ts = 0;
	const char *p = hdr;

	if (!key || !key[0] || !hdr)
		return EPERM;
	/* "t=<ts>,v1=<hex>[,v1=<hex>…]": several v1 while a secret is
	 * being rotated. */
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 2 && n <= 14 && !strncmp(p, "t=", 2) && !have_t) {
			for (size_t i = 2; i < n; i++) {
				if (p[i] < '0' || p[i] > '9')
					return EPERM;
				ts = ts * 10 + (p[i] - '0');
			}
			have_t = true;
		}
		else if (n == 67 && !strncmp(p, "v1=", 3) &&
			 ngot < ARRAY_SIZE(got)) {
			for (size_t i = 0; i < 64; i++) {
				char c = p[3 + i];
				if (c >= 'A' && c <= 'F')
					c = (char)(c - 'A' + 'a');
				got[ngot][i] = c;
			}
			got[ngot++][64] = '\0';
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (!have_t || !ngot)
		return EPERM;
	taxi_sign(key, ts, body, len, want);
	for (uint32_t i = 0; i < ngot; i++)
		match |= !sodium_memcmp(want, got[i], 64);
	if (!match)
		return EPERM;
	if (ts > now_s + TAXI_SKEW_S || ts < now_s - TAXI_SKEW_S)
		return ETIMEDOUT;
	return 0;
}

/* ---------- the ride's JSON (the booth's news, the API's answers) ---- */

static int eta_min(int32_t eta_s)
{
	return eta_s < 0 ? -1 : eta_s <= 60 ? 1 : (eta_s + 59) / 60;
}

static int prompts_print(struct mbuf *mb, const struct store_ride *r)
{
	const char *s = r->state;
	int m = eta_min(r->eta_s), err;
	bool partner = !strcmp(r->reason, "partner");

	if (!strcmp(s, "requested"))
		return mbuf_write_str(mb, "\"taxi_requested\"");
	if (!strcmp(s, "sent"))
		return mbuf_write_str(mb, "\"taxi_waiting\"");
	if (!strcmp(s, "arrived"))
		return mbuf_write_str(mb, "\"taxi_arrived\"");
	if (!strcmp(s, "completed"))
		return mbuf_write_str(mb, "\"taxi_completed\"");
	if (!strcmp(s, "failed"))
		return mbuf_write_str(mb, "\"taxi_failed\",\"taxi_fallback\"");
	if (!strcmp(s, "cancelled"))
		return mbuf_write_str(mb, partner ? "\"taxi_cancelled_partner\","
				      "\"taxi_fallback\"" :
				      "\"taxi_cancelled\"");
	err = mbuf_printf(mb, "\"taxi_%s\"", s);
	if (!err && m > ETA_PROMPTS)
		err = mbuf_write_str(mb, ",\"taxi_eta_long\"");
	else if (!err && m > 0)
		err = mbuf_printf(mb, ",\"taxi_eta_%d\"", m);
	return err;
}

static bool offers_fallback(const struct store_ride *r)
{
	return !strcmp(r->state, "failed") || (!strcmp(r->state,
		"cancelled") && !strcmp(r->reason, "partner"));
}

static int ride_print(struct mbuf *mb, const struct store_ride *r,
		      const char *hotline)
{
	int m = eta_min(r->eta_s);
	int err;

	err = mbuf_printf(mb, "{\"id\":\"%s\",\"booth\":\"%H\",\"state\":"
			  "\"%s\",\"reason\":\"%H\",\"detail\":\"%H\","
			  "\"partner_ref\":\"%H\",\"plate\":\"%H\",\"driver\":"
			  "\"%H\",", r->id, store_json_esc, r->booth,
			  r->state, store_json_esc, r->reason,
			  store_json_esc, r->detail, store_json_esc,
			  r->partner_ref, store_json_esc, r->plate,
			  store_json_esc, r->driver);
	if (!err && r->eta_s >= 0)
		err = mbuf_printf(mb, "\"eta_s\":%d,\"eta_min\":%d,",
				  (int)r->eta_s, m);
	else if (!err)
		err = mbuf_write_str(mb, "\"eta_s\":null,\"eta_min\":null,");
	if (!err)
		err = mbuf_printf(mb, "\"passengers\":%u,\"note\":\"%H\","
				  "\"attempts\":%u,\"created_ms\":%lld,"
				  "\"updated_ms\":%lld,\"deadline_ms\":%lld,",
				  r->passengers, store_json_esc, r->note,
				  r->attempts, (long long)r->created_ms,
				  (long long)r->updated_ms,
				  (long long)r->deadline_ms);
	if (!err && offers_fallback(r))
		err = mbuf_printf(mb, "\"fallback\":\"%H\",", store_json_esc,
				  hotline);
	else if (!err)
		err = mbuf_write_str(mb, "\"fallback\":null,");
	if (!err)
		err = mbuf_write_str(mb, "\"prompts\":[");
	if (!err)
		err = prompts_print(mb, r);
	if (!err)
		err = mbuf_write_str(mb, "]}");
	return err;
}

/* Tell the booth's screen (and operations) where the ride is now. */
static void news(struct taxi *t, const struct store_ride *r)
{
	struct mbuf *mb = mbuf_alloc(1024);

	if (mb && !ride_print(mb, r, t->cf.taxi_hotline))
		booths_notify(t->b, r->booth, "taxi", true, "%b", mb->buf,
			      mb->end);
	mem_deref(mb);
}

/* Write the ride's new state and its step, then say so. */
static void step(struct taxi *t, struct store_ride *r, const char *fmt, ...)
{
	char detail[200];
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	r->updated_ms = clock_wall_ms();
	if (store_ride_update(t->st, r) ||
	    store_ride_log(t->st, r->id, r->updated_ms, r->state, detail))
		log_error("taxi: ride %s: cannot record %s", r->id, r->state);
	log_info("taxi: ride %s of booth %s: %s (%s)", r->id, r->booth,
		 r->state, detail);
	news(t, r);
}

/* ---------- cancels to the partner ---------- */

static void pcancel_destructor(void *arg)
{
	struct pcancel *pc = arg;

	list_unlink(&pc->le);
	tmr_cancel(&pc->tmr);
	mem_deref(pc->req);
	mem_deref(pc->body);
}

static void pcancel_send(void *arg);

static void pcancel_answer(int err, const struct http_msg *msg, void *arg)
{
	struct pcancel *pc = arg;
	uint16_t sc = msg ? msg->scode : 0;

	tmr_cancel(&pc->tmr);
	if (!err && sc && (sc < 500 && sc != 429 && sc != 408)) {
		if (sc >= 300 && sc != 404 && sc != 409)
			log_warn("taxi: ride %s: the partner answered the "
				 "cancel with %u", pc->ride, sc);
		else
			log_info("taxi: ride %s: the partner took the cancel "
				 "(%u)", pc->ride, sc);
		mem_deref(pc);
		return;
	}
	if (pc->tries >= CANCEL_TRIES) {
		log_warn("taxi: ride %s: the partner never took the cancel "
			 "(%m, HTTP %u)", pc->ride, err, sc);
		mem_deref(pc);
		return;
	}
	tmr_start(&pc->tmr, taxi_backoff_ms(pc->tries), pcancel_send, pc);
}

static void pcancel_timeout(void *arg)
{
	struct pcancel *pc = arg;

	pc->req = mem_deref(pc->req);
	pcancel_answer(ETIMEDOUT, NULL, pc);
}

static void pcancel_send(void *arg)
{
	struct pcancel *pc = arg;
	struct taxi *t = pc->t;
	size_t len = strlen(pc->body);
	char sig[65];
	int64_t ts = clock_wall_s();
	int err;

	pc->tries++;
	taxi_sign(t->cf.taxi_secret, ts, pc->body, len, sig);
	err = http_request(&pc->req, t->cli, "POST", pc->url, pcancel_answer,
			   NULL, pc, "Content-Type: application/json\r\n"
			   "Content-Length: %zu\r\n"
			   "X-Laoyou-Signature: t=%lld,v1=%s\r\n"
			   "Connection: close\r\n\r\n%b", len, (long long)ts,
			   sig, pc->body, len);
	if (err) {
		log_warn("taxi: ride %s: cannot send the cancel to %s: %m",
			 pc->ride, pc->url, err);
		mem_deref(pc);
		return;
	}
	tmr_start(&pc->tmr, TAXI_ATTEMPT_MS, pcancel_timeout, pc);
}

/* The partner may hold the ride: tell it the ride is off.  Its path is
 * the partner's ref, or our ride id when we never learnt the ref. */
static void partner_cancel(struct taxi *t, const struct store_ride *r,
			   const char *why)
{
	struct pcancel *pc;
	size_t n = strlen(t->cf.taxi_url);

	if (!t->cf.taxi_url[0])
		return;
	pc = mem_zalloc(sizeof(*pc), pcancel_destructor);
	if (!pc)
		return;
	pc->t = t;
	str_ncpy(pc->ride, r->id, sizeof(pc->ride));
	while (n && t->cf.taxi_url[n - 1] == '/')
		n--;
	if (re_snprintf(pc->url, sizeof(pc->url), "%b/%s/cancel",
			t->cf.taxi_url, n, r->partner_ref[0] ? r->partner_ref
			: r->id) < 0 ||
	    re_sdprintf(&pc->body, "{\"ride_id\":\"%s\",\"ref\":\"%H\","
			"\"reason\":\"%s\",\"ts_ms\":%lld}", r->id,
			store_json_esc, r->partner_ref, why,
			(long long)clock_wall_ms())) {
		mem_deref(pc);
		return;
	}
	list_append(&t->cancels, &pc->le, pc);
	pcancel_send(pc);
}

/* ---------- delivering a ride ---------- */

static void ride_destructor(void *arg)
{
	struct ride *rd = arg;

	list_unlink(&rd->le);
	tmr_cancel(&rd->tmr);
	tmr_cancel(&rd->tmr_deadline);
	mem_deref(rd->req);
}

static struct ride *ride_find(struct taxi *t, const char *id)
{
	for (struct le *le = t->rides.head; le; le = le->next) {
		struct ride *rd = le->data;
		if (!strcmp(rd->r.id, id))
			return rd;
	}
	return NULL;
}

/* The ride is failed: the booth is offered the hotline. */
static void ride_fail(struct ride *rd, const char *reason, const char *fmt,
		      ...)
{
	struct taxi *t = rd->t;
	bool tell;
	va_list ap;

	rd->req = mem_deref(rd->req);
	tmr_cancel(&rd->tmr);
	tmr_cancel(&rd->tmr_deadline);
	str_ncpy(rd->r.state, "failed", sizeof(rd->r.state));
	str_ncpy(rd->r.reason, reason, sizeof(rd->r.reason));
	va_start(ap, fmt);
	(void)re_vsnprintf(rd->r.detail, sizeof(rd->r.detail), fmt, ap);
	va_end(ap);
	/* A partner that may hold the ride hears it is off, so no car
	 * comes for nobody; one that refused it or was never reached does
	 * not. */
	tell = rd->r.partner_ref[0] || (rd->r.attempts > 0 &&
					 strcmp(reason, "rejected") &&
					 strcmp(reason, "unreachable"));
	step(t, &rd->r, "%s: %s", reason, rd->r.detail);
	if (tell)
		partner_cancel(t, &rd->r, reason);
	mem_deref(rd);
}

static void ride_send(struct ride *rd);

static void ride_retry(void *arg)
{
	ride_send(arg);
}

/* A try failed in a way worth another: wait, then try again. */
static void try_failed(struct ride *rd, const char *reason, const char *fmt,
		       ...)
{
	uint32_t wait;
	va_list ap;

	rd->last = reason;
	va_start(ap, fmt);
	(void)re_vsnprintf(rd->last_detail, sizeof(rd->last_detail), fmt, ap);
	va_end(ap);
	if (rd->tries >= TAXI_TRIES) {
		ride_fail(rd, reason, "%s, %u tries", rd->last_detail,
			  rd->tries);
		return;
	}
	wait = taxi_backoff_ms(rd->tries);
	/* A little jitter keeps booths that failed together apart. */
	wait += randombytes_uniform(wait / 10 + 1);
	log_warn("taxi: ride %s: try %u failed (%s: %s); next in %u ms",
		 rd->r.id, rd->tries, reason, rd->last_detail, wait);
	tmr_start(&rd->tmr, wait, ride_retry, rd);
}

/* Has a callback moved the ride on while a try was out? */
static bool moved_on(const struct ride *rd)
{
	return strcmp(rd->r.state, "requested") != 0;
}

static void try_timeout(void *arg)
{
	struct ride *rd = arg;

	rd->req = mem_deref(rd->req);
	if (moved_on(rd)) {
		mem_deref(rd);
		return;
	}
	try_failed(rd, "no_answer", "no answer within %u s",
		   TAXI_ATTEMPT_MS / 1000);
}

/* The partner's ride reference: [A-Za-z0-9._-], it goes into a path. */
static bool ref_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > REF_MAX)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._-") == n;
}

static void ride_answer(int err, const struct http_msg *msg, void *arg)
{
	struct ride *rd = arg;
	struct taxi *t = rd->t;
	struct json *j = NULL;
	const char *ref = NULL;
	char why[160];
	uint16_t sc;

	tmr_cancel(&rd->tmr);
	sc = msg ? msg->scode : 0;
	if (moved_on(rd) && (!msg || err || sc < 200 || sc > 299)) {
		mem_deref(rd);          /* nothing to learn from this one */
		return;
	}
	if (!msg) {
		try_failed(rd, err == ETIMEDOUT ? "no_answer" : "unreachable",
			   "%s: %m", t->cf.taxi_url, err);
		return;
	}
	if (!err && (sc >= 500 || sc == 429 || sc == 408)) {
		try_failed(rd, "partner_error", "HTTP %u %r", sc,
			   &msg->reason);
		return;
	}
	if (!err && sc >= 400) {
		ride_fail(rd, "rejected", "the partner refused it: HTTP %u "
			  "%r", sc, &msg->reason);
		return;
	}
	why[0] = '\0';
	if (err)
		re_snprintf(why, sizeof(why), "a broken answer: %m", err);
	else if (sc < 200 || sc > 299)
		re_snprintf(why, sizeof(why), "HTTP %u is no answer", sc);
	else if (!msg->mb || !mbuf_get_left(msg->mb) ||
		 json_parse(&j, (const char *)mbuf_buf(msg->mb),
			    mbuf_get_left(msg->mb), why, sizeof(why)))
		str_ncpy(why, why[0] ? "the answer is not JSON" :
			 "the answer is empty", sizeof(why));
	else if (!ref_ok(ref = json_str(json_get(j, "ref"))))
		str_ncpy(why, "the answer has no valid \"ref\"", sizeof(why));

	if (moved_on(rd)) {
		/* A callback overtook the answer: the ride has moved on;
		 * only the reference is still news. */
		if (!why[0] && !rd->r.partner_ref[0]) {
			str_ncpy(rd->r.partner_ref, ref,
				 sizeof(rd->r.partner_ref));
			(void)store_ride_update(t->st, &rd->r);
		}
		mem_deref(j);
		mem_deref(rd);
		return;
	}
	if (why[0]) {
		mem_deref(j);
		ride_fail(rd, "bad_answer", "%s", why);
		return;
	}
	str_ncpy(rd->r.partner_ref, ref, sizeof(rd->r.partner_ref));
	str_ncpy(rd->r.state, "sent", sizeof(rd->r.state));
	mem_deref(j);
	step(t, &rd->r, "the partner has it as %s (try %u)",
	     rd->r.partner_ref, rd->tries);
	/* Now it waits for a driver, under the same deadline. */
}

static void ride_send(struct ride *rd)
{
	struct taxi *t = rd->t;
	size_t len = strlen(rd->r.request);
	int64_t ts = clock_wall_s();
	char sig[65];
	int err;

	rd->tries++;
	rd->r.attempts++;
	(void)store_ride_update(t->st, &rd->r);
	taxi_sign(t->cf.taxi_secret, ts, rd->r.request, len, sig);
	err = http_request(&rd->req, t->cli, "POST", t->cf.taxi_url,
			   ride_answer, NULL, rd,
			   "Content-Type: application/json\r\n"
			   "Content-Length: %zu\r\n"
			   "X-Laoyou-Signature: t=%lld,v1=%s\r\n"
			   "Idempotency-Key: %s\r\n"
			   "User-Agent: laoyou/" LAOYOU_VERSION "\r\n"
			   "Connection: close\r\n\r\n%b", len, (long long)ts,
			   sig, rd->r.id, rd->r.request, len);
	if (err) {
		ride_fail(rd, "unreachable", "cannot send to %s: %m",
			  t->cf.taxi_url, err);
		return;
	}
	tmr_start(&rd->tmr, TAXI_ATTEMPT_MS, try_timeout, rd);
}

static void ride_deadline(void *arg)
{
	struct ride *rd = arg;
	uint32_t s = (uint32_t)((rd->r.deadline_ms - rd->r.created_ms) / 1000);

	if (!strcmp(rd->r.state, "sent"))
		ride_fail(rd, "not_accepted", "no driver accepted within %u s",
			  s);
	else if (rd->req || !rd->last)
		ride_fail(rd, "no_answer", "the partner did not answer within "
			  "%u s", s);
	else
		ride_fail(rd, rd->last, "not delivered within %u s: %s", s,
			  rd->last_detail);
}

/* Take a ride waiting for the partner into memory, with its deadline. */
static struct ride *ride_track(struct taxi *t, const struct store_ride *r)
{
	struct ride *rd = mem_zalloc(sizeof(*rd), ride_destructor);
	int64_t left;

	if (!rd)
		return NULL;
	rd->t = t;
	rd->r = *r;
	list_append(&t->rides, &rd->le, rd);
	left = r->deadline_ms - clock_wall_ms();
	tmr_start(&rd->tmr_deadline, left > 0 ? (uint64_t)left : 0,
		  ride_deadline, rd);
	return rd;
}

/* ---------- the booth's side ---------- */

static int request_body(struct taxi *t, const struct store_ride *r,
			const struct booth_info *bi, char *out, size_t sz)
{
	const struct conf *cf = &t->cf;
	char base[300], lat[24], lon[24];

	conf_public_url(cf, base, sizeof(base));
	/* libre's %f truncates instead of rounding (121.483801 prints as
	 * 121.483800): the partner gets libc's correctly rounded digits. */
	snprintf(lat, sizeof(lat), "%.6f", bi->lat);
	snprintf(lon, sizeof(lon), "%.6f", bi->lon);
	return re_snprintf(out, sz, "{\"ride_id\":\"%s\",\"created_ms\":%lld,"
			   "\"accept_within_s\":%u,\"booth\":{\"id\":\"%H\","
			   "\"name\":\"%H\",\"name_en\":\"%H\",\"address\":"
			   "\"%H\",\"district\":\"%H\",\"lat\":%s,\"lon\":"
			   "%s},\"passengers\":%u,\"note\":\"%H\",\"lang\":"
			   "\"%s\",\"callback_url\":\"%H/api/v1/partner/taxi/"
			   "%s/status\"}", r->id, (long long)r->created_ms,
			   cf->taxi_accept_s, store_json_esc, bi->id,
			   store_json_esc, bi->name, store_json_esc,
			   bi->name_en, store_json_esc, bi->address,
			   store_json_esc, bi->district, lat, lon,
			   r->passengers, store_json_esc, r->note,
			   bi->lang[0] ? bi->lang : "zh", store_json_esc,
			   base, r->id) < 0 ? ENOSPC : 0;
}

static bool text_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (!s || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int taxi_request(struct taxi *t, const struct booth_info *bi,
		 const char *note, uint32_t passengers, struct mbuf *mb)
{
	struct store_ride *r;
	struct ride *rd;
	uint8_t rnd[16];
	int err;

	if (!t || !bi || !mb)
		return EINVAL;
	/* Without the secret no callback could ever be believed. */
	if (!t->cf.taxi_url[0] || !t->cf.taxi_secret[0])
		return ENOTSUP;
	if (!note)
		note = "";
	if (!text_ok(note, 200) || passengers < 1 || passengers > 6)
		return EINVAL;
	r = mem_zalloc(sizeof(*r), NULL);
	if (!r)
		return ENOMEM;
	/* A second touch while a ride is on its way is the same ride. */
	if (!store_ride_pending_of(t->st, bi->id, r->id, sizeof(r->id))) {
		err = taxi_ride_json(t, r->id, bi->id, false, mb);
		mem_deref(r);
		return err ? err : EALREADY;
	}
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(r->id, sizeof(r->id), rnd, sizeof(rnd));
	str_ncpy(r->booth, bi->id, sizeof(r->booth));
	str_ncpy(r->state, "requested", sizeof(r->state));
	str_ncpy(r->note, note, sizeof(r->note));
	r->passengers = passengers;
	r->eta_s = -1;
	r->created_ms = r->updated_ms = clock_wall_ms();
	r->deadline_ms = r->created_ms + t->cf.taxi_accept_s * 1000LL;
	err = request_body(t, r, bi, r->request, sizeof(r->request));
	if (!err)
		err = store_ride_add(t->st, r);
	if (err)
		goto out;
	(void)store_ride_log(t->st, r->id, r->created_ms, r->state,
			     "asked for at the booth");
	booths_count(t->b, bi->id, "taxi");
	log_info("taxi: ride %s requested at booth %s", r->id, bi->id);
	news(t, r);
	rd = ride_track(t, r);
	if (!rd) {
		err = ENOMEM;
		goto out;
	}
	ride_send(rd);
	/* Whatever the first try did by now (even failing at once). */
	err = taxi_ride_json(t, r->id, "", false, mb);
 out:
	mem_deref(r);
	return err;
}

struct steps_arg {
	struct mbuf *mb;
	int err;
	bool first;
};

static void step_print(int64_t ts_ms, const char *state, const char *detail,
		       void *arg)
{
	struct steps_arg *sa = arg;

	if (!sa->err)
		sa->err = mbuf_printf(sa->mb, "%s{\"ts_ms\":%lld,\"state\":"
				      "\"%H\",\"detail\":\"%H\"}", sa->first ?
				      "" : ",", (long long)ts_ms,
				      store_json_esc, state, store_json_esc,
				      detail);
	sa->first = false;
}

/* The ride by id: in memory while waiting, else from the store. */
static int ride_load(struct taxi *t, const char *id, struct store_ride *r)
{
	struct ride *rd = ride_find(t, id);

	if (rd) {
		*r = rd->r;
		return 0;
	}
	return store_ride_get(t->st, id, r);
}

int taxi_ride_json(struct taxi *t, const char *id, const char *booth,
		   bool steps, struct mbuf *mb)
{
	struct store_ride *r;
	struct steps_arg sa = {mb, 0, true};
	int err;

	if (!t || !id || !mb)
		return EINVAL;
	r = mem_zalloc(sizeof(*r), NULL);
	if (!r)
		return ENOMEM;
	err = ride_load(t, id, r);
	if (!err && booth && booth[0] && strcmp(booth, r->booth))
		err = ENOENT;
	if (!err)
		err = ride_print(mb, r, t->cf.taxi_hotline);
	if (!err && steps) {
		mb->end--;                      /* the closing brace */
		mb->pos = mb->end;
		err = mbuf_write_str(mb, ",\"steps\":[");
		if (!err)
			err = store_ride_steps(t->st, id, step_print, &sa);
		if (!err)
			err = sa.err ? sa.err : mbuf_write_str(mb, "]}");
	}
	mem_deref(r);
	return err;
}

int taxi_cancel(struct taxi *t, const char *id, const char *booth,
		struct mbuf *mb)
{
	struct store_ride *r;
	struct ride *rd;
	bool tell;
	int err;

	if (!t || !id || !booth || !mb)
		return EINVAL;
	r = mem_zalloc(sizeof(*r), NULL);
	if (!r)
		return ENOMEM;
	err = ride_load(t, id, r);
	if (!err && strcmp(booth, r->booth))
		err = ENOENT;
	if (!err && taxi_state_final(r->state))
		err = EALREADY;
	if (err)
		goto out;
	rd = ride_find(t, id);
	mem_deref(rd);                  /* its try in flight is dropped */
	tell = r->partner_ref[0] || r->attempts > 0;
	str_ncpy(r->state, "cancelled", sizeof(r->state));
	str_ncpy(r->reason, "booth", sizeof(r->reason));
	str_ncpy(r->detail, "cancelled at the booth", sizeof(r->detail));
	step(t, r, "cancelled at the booth");
	if (tell)
		partner_cancel(t, r, "booth");
	err = ride_print(mb, r, t->cf.taxi_hotline);
 out:
	mem_deref(r);
	return err;
}

/* ---------- the partner's side ---------- */

static const char *const partner_states[] = {
	"accepted", "arriving", "arrived", "cancelled", "completed",
};

/* A status callback's body: the new state and its fields into r. */
static int status_parse(const struct json *j, const char *id,
			struct store_ride *r, const char **why)
{
	const char *rid = json_str(json_get(j, "ride_id"));
	const char *status = json_str(json_get(j, "status"));
	const struct json *plate = json_get(j, "plate");
	const struct json *driver = json_get(j, "driver");
	const struct json *eta = json_get(j, "eta_s");
	const struct json *reason = json_get(j, "reason");
	bool known = false;

	if (json_type(j) != JSON_OBJECT) {
		*why = "the body must be a JSON object";
		return EBADMSG;
	}
	if (!rid || strcmp(rid, id)) {
		*why = "\"ride_id\" must be the ride of the URL";
		return EBADMSG;
	}
	for (size_t i = 0; status && i < ARRAY_SIZE(partner_states); i++)
		known |= !strcmp(status, partner_states[i]);
	if (!known) {
		*why = "\"status\" must be accepted, arriving, arrived, "
			"cancelled or completed";
		return EBADMSG;
	}
	if ((plate && (json_type(plate) != JSON_STRING ||
		       !text_ok(json_str(plate), 32) ||
		       !json_str(plate)[0])) ||
	    (!plate && !strcmp(status, "accepted"))) {
		*why = "\"plate\" must be the car's plate (1 to 32 bytes); an "
			"accepted status needs it";
		return EBADMSG;
	}
	if (driver && (json_type(driver) != JSON_STRING ||
		       !text_ok(json_str(driver), 64))) {
		*why = "\"driver\" must be a string of at most 64 bytes";
		return EBADMSG;
	}
	if (reason && (json_type(reason) != JSON_STRING ||
		       !text_ok(json_str(reason), 150))) {
		*why = "\"reason\" must be a string of at most 150 bytes";
		return EBADMSG;
	}
	if (eta && (json_type(eta) != JSON_NUMBER || !isfinite(json_num(eta))
		    || json_num(eta) < 0 || json_num(eta) > 86400 ||
		    json_num(eta) != floor(json_num(eta)))) {
		*why = "\"eta_s\" must be whole seconds from 0 to 86400";
		return EBADMSG;
	}
	str_ncpy(r->state, status, sizeof(r->state));
	if (plate)
		str_ncpy(r->plate, json_str(plate), sizeof(r->plate));
	if (driver)
		str_ncpy(r->driver, json_str(driver), sizeof(r->driver));
	if (eta)
		r->eta_s = (int32_t)json_num(eta);
	else if (strcmp(status, "accepted") && strcmp(status, "arriving"))
		r->eta_s = -1;          /* an ETA is over once it arrived */
	if (!strcmp(status, "cancelled")) {
		str_ncpy(r->reason, "partner", sizeof(r->reason));
		str_ncpy(r->detail, reason ? json_str(reason) : "",
			 sizeof(r->detail));
	}
	return 0;
}

int taxi_status(struct taxi *t, const char *id, const char *sig,
		const char *body, size_t len, struct mbuf *mb,
		const char **why)
{
	struct store_ride *r = NULL, *next = NULL;
	struct json *j = NULL;
	struct ride *rd;
	static char msg[200];
	char eta[24];
	int err;

	*why = "";
	if (!t || !id || !body || !mb)
		return EINVAL;
	err = taxi_sig_check(t->cf.taxi_secret, sig, body, len,
			     clock_wall_s());
	if (err) {
		*why = err == ETIMEDOUT ? "the signature's time is more than "
			"300 s from ours" : !sig ? "no X-Laoyou-Signature "
			"header" : "the signature does not match";
		return err;
	}
	if (json_parse(&j, body, len, msg, sizeof(msg))) {
		*why = "the body is not JSON";
		return EBADMSG;
	}
	r = mem_zalloc(sizeof(*r), NULL);
	next = mem_zalloc(sizeof(*next), NULL);
	if (!r || !next) {
		err = ENOMEM;
		goto out;
	}
	err = ride_load(t, id, r);
	*next = *r;
	if (err == ENOENT) {
		/* Malformed beats unknown: a bad body says more. */
		err = status_parse(j, id, next, why);
		if (!err) {
			*why = "no such ride";
			err = ENOENT;
		}
		goto out;
	}
	if (err)
		goto out;
	err = status_parse(j, id, next, why);
	if (err)
		goto out;
	if (!strcmp(next->state, r->state) && taxi_state_final(r->state)) {
		/* The partner repeats itself (our answer was lost). */
		err = ride_print(mb, r, t->cf.taxi_hotline);
		goto out;
	}
	if (!taxi_transition_ok(r->state, next->state)) {
		re_snprintf(msg, sizeof(msg), "the ride is %s: it cannot "
			    "become %s", r->state, next->state);
		*why = msg;
		err = EPROTO;
		goto out;
	}
	eta[0] = '\0';
	if (next->eta_s >= 0)
		re_snprintf(eta, sizeof(eta), ", eta %d s", (int)next->eta_s);
	step(t, next, "the partner says %s%s%s%s", next->state,
	     next->plate[0] ? ", plate " : "", next->plate, eta);
	err = ride_print(mb, next, t->cf.taxi_hotline);
	rd = ride_find(t, id);
	if (rd) {
		/* Out of the waiting: no deadline, no more tries; an answer
		 * in flight may still bring the reference. */
		tmr_cancel(&rd->tmr_deadline);
		tmr_cancel(&rd->tmr);
		rd->r = *next;
		if (!rd->req)
			mem_deref(rd);
	}
 out:
	mem_deref(next);
	mem_deref(r);
	mem_deref(j);
	return err;
}

/* ---------- operations ---------- */

struct list_arg {
	struct mbuf *mb;
	const char *hotline;
	int err;
	bool first;
};

static void list_one(const struct store_ride *r, void *arg)
{
	struct list_arg *la = arg;

	if (!la->err && !la->first)
		la->err = mbuf_write_str(la->mb, ",");
	if (!la->err)
		la->err = ride_print(la->mb, r, la->hotline);
	la->first = false;
}

int taxi_rides_json(struct taxi *t, const char *booth, const char *state,
		    uint32_t limit, struct mbuf *mb)
{
	struct list_arg la = {mb, NULL, 0, true};
	int err;

	if (!t || !mb)
		return EINVAL;
	la.hotline = t->cf.taxi_hotline;
	err = mbuf_write_str(mb, "{\"items\":[");
	if (!err)
		err = store_ride_list(t->st, booth ? booth : "", state ? state :
				      "", limit, list_one, &la);
	if (!err)
		err = la.err ? la.err : mbuf_write_str(mb, "]}");
	return err;
}

/* ---------- the module ---------- */

static void collect(const struct store_ride *r, void *arg)
{
	struct taxi *t = arg;
	struct ride *rd;

	if (ride_find(t, r->id))
		return;                 /* asked for since the start */
	rd = mem_zalloc(sizeof(*rd), ride_destructor);
	if (!rd)
		return;
	rd->t = t;
	rd->r = *r;
	list_append(&t->rides, &rd->le, rd);
}

/* Rides left waiting by the last run: go on where they stopped. */
static void resume(void *arg)
{
	struct taxi *t = arg;
	int64_t now = clock_wall_ms();
	struct le *le;

	/* Read first, then act: acting writes the rows being read. */
	if (store_ride_pending(t->st, collect, t))
		log_error("taxi: cannot read the rides left waiting");
	le = t->rides.head;
	while (le) {
		struct ride *rd = le->data;
		int64_t left = rd->r.deadline_ms - now;

		le = le->next;
		if (tmr_isrunning(&rd->tmr_deadline))
			continue;       /* asked for since the start */
		log_info("taxi: ride %s of booth %s resumes %s, %lld ms left",
			 rd->r.id, rd->r.booth, rd->r.state, (long long)left);
		if (left <= 0) {
			ride_deadline(rd);
			continue;
		}
		tmr_start(&rd->tmr_deadline, (uint64_t)left, ride_deadline,
			  rd);
		if (!strcmp(rd->r.state, "requested"))
			ride_send(rd);
	}
}

static void destructor(void *arg)
{
	struct taxi *t = arg;

	tmr_cancel(&t->tmr_resume);
	/* Requests in flight go before the client that carries them. */
	list_flush(&t->rides);
	list_flush(&t->cancels);
	mem_deref(t->cli);
	mem_deref(t->dnsc);
	mem_deref(t->st);
	mem_deref(t->b);
}

int taxi_alloc(struct taxi **tp, const struct conf *cf, struct store *st,
	       struct booths *b)
{
	struct sa ns[4];
	uint32_t nsn = ARRAY_SIZE(ns);
	char domain[64];
	struct taxi *t;
	int err;

	if (!tp || !cf || !st)
		return EINVAL;
	t = mem_zalloc(sizeof(*t), destructor);
	if (!t)
		return ENOMEM;
	t->cf = *cf;
	t->st = mem_ref(st);
	t->b = mem_ref(b);
	list_init(&t->rides);
	list_init(&t->cancels);
	tmr_init(&t->tmr_resume);
	/* The partner is usually named: use the system's resolvers. */
	if (dns_srv_get(domain, sizeof(domain), ns, &nsn))
		nsn = 0;
	err = dnsc_alloc(&t->dnsc, NULL, ns, nsn);
	if (!err)
		err = http_client_alloc(&t->cli, t->dnsc);
	if (err) {
		mem_deref(t);
		return err;
	}
	tmr_start(&t->tmr_resume, RESUME_MS, resume, t);
	*tp = t;
	return 0;
}

void taxi_reconf(struct taxi *t, const struct conf *cf)
{
	if (!t || !cf)
		return;
	t->cf = *cf;
}
