/*
 * sms: the outbox.  sms_send commits a message to the store and only then
 * asks the gateway; one request is out at a time, so the order holds and
 * a gateway that is down costs one probe per back-off, not one per
 * message.  A failed try moves that message's next try back (retry_s,
 * doubling); a failure that says the gateway is down (no answer, 5xx) also
 * pauses the outbox for as long, and the first success brings every message
 * held back that way forward again.  A message is retried until the gateway
 * takes it: crashing between the gateway's accept and our commit sends it
 * twice, never zero times.
 */
#include <string.h>
#include <errno.h>
#include <re.h>
#include "core/conf.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"
#include "store/notify.h"
#include "sms/sms.h"

enum {
	REQ_TIMEOUT_MS = 20000,    /* a gateway that takes longer is down */
	RECHECK_MS = 60000,        /* the wall clock may jump: look again */
	BACKOFF_CAP_S = 3600,
};

struct sms {
	struct conf cf;
	struct store *st;
	struct dnsc *dnsc;
	struct http_cli *cli;
	struct http_req *req;      /* the one request out, if any */
	struct tmr tmr;            /* the next message due */
	struct tmr tmr_req;        /* the request out gives up */
	int64_t id;                /* the message of req */
	uint32_t attempts;         /* its failed tries so far */
	uint64_t pause_until;      /* mono ms: the gateway looked down */
	char dlr_base[320];
};

static void tick(void *arg);

static void destructor(void *arg)
{
	struct sms *s = arg;

	tmr_cancel(&s->tmr);
	tmr_cancel(&s->tmr_req);
	/* Before the client: a request freed first is not answered. */
	s->req = mem_deref(s->req);
	mem_deref(s->cli);
	mem_deref(s->dnsc);
	mem_deref(s->st);
}

/* ---------- pure helpers (unit-tested) ---------- */

bool sms_number_ok(const char *to)
{
	size_t n;

	if (!to)
		return false;
	if (*to == '+')
		to++;
	n = strlen(to);
	return n >= 3 && n <= 20 && strspn(to, "0123456789") == n;
}

bool sms_text_ok(const char *text)
{
	const uint8_t *p = (const uint8_t *)text;

	if (!p || !*p)
		return false;
	while (*p) {
		uint32_t c = *p, min;
		int more;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				return false;
			p++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			more = 1; c &= 0x1f; min = 0x80;
		}
		else if ((c & 0xf0) == 0xe0) {
			more = 2; c &= 0x0f; min = 0x800;
		}
		else if ((c & 0xf8) == 0xf0) {
			more = 3; c &= 0x07; min = 0x10000;
		}
		else {
			return false;
		}
		p++;
		for (int i = 0; i < more; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (*p & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF are not
		 * characters a phone can show. */
		if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
			return false;
	}
	return true;
}

int sms_url_esc(struct re_printf *pf, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int err = 0;

	for (; s && *s && !err; s++) {
		uint8_t c = (uint8_t)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			err = pf->vph((const char *)&c, 1, pf->arg);
		}
		else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			err = pf->vph(e, 3, pf->arg);
		}
	}
	return err;
}

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((uint8_t)*s >= 0x80)
			return false;
	return true;
}

int sms_url_build(struct mbuf *mb, const char *base, const char *from,
		  const char *to, const char *text, const char *dlr_base,
		  int64_t id, const char *key)
{
	char dlr[512];
	int err;

	if (!mb || !base || !base[0] || !to || !text || !dlr_base || !key)
		return EINVAL;
	/* Kannel fills in %d (the report's type) and %A (the SMSC's
	 * answer) when it calls back; the rest is ours. */
	if (re_snprintf(dlr, sizeof(dlr), "%s?id=%lld&k=%s&status=%%d&"
			"answer=%%A", dlr_base, (long long)id, key) < 0)
		return ENAMETOOLONG;
	err = mbuf_printf(mb, "%s%sto=%H&text=%H", base,
			  strchr(base, '?') ? (base[strlen(base) - 1] == '?' ||
					       base[strlen(base) - 1] == '&' ?
					       "" : "&") : "?",
			  sms_url_esc, to, sms_url_esc, text);
	if (!err && from && from[0])
		err = mbuf_printf(mb, "&from=%H", sms_url_esc, from);
	/* UCS-2 for anything beyond ASCII: Chinese needs it. */
	if (!err)
		err = mbuf_printf(mb, "&charset=UTF-8%s&dlr-mask=31&dlr-url=%H",
				  ascii(text) ? "" : "&coding=2", sms_url_esc,
				  dlr);
	return err;
}

uint32_t sms_backoff_s(uint32_t retry_s, uint32_t failed)
{
	uint64_t d = retry_s ? retry_s : 1;
	uint64_t cap = d > BACKOFF_CAP_S ? d : BACKOFF_CAP_S;

	for (uint32_t i = 1; i < failed && d < cap; i++)
		d *= 2;
	return (uint32_t)(d < cap ? d : cap);
}

static int rank(const char *state)
{
	static const char *const order[] = {
		"queued", "sent", "accepted", "delivered",
	};

	if (!strcmp(state, "failed"))
		return 3;
	for (int i = 0; i < (int)ARRAY_SIZE(order); i++)
		if (!strcmp(state, order[i]))
			return i;
	return 0;
}

const char *sms_state_after(const char *cur, int status)
{
	const char *next;

	switch (status) {
	case 1:  next = "delivered"; break;
	case 2:
	case 16: next = "failed"; break;
	case 4:
	case 8:  next = "accepted"; break;
	default: return cur;
	}
	/* delivered and failed are final; nothing moves back. */
	return rank(next) > rank(cur) ? next : cur;
}

/* ---------- the outbox ---------- */

static bool on(const struct sms *s)
{
	return s->cf.sms_url[0] != '\0';
}

/* Arm the timer for the next message due, unless a request is out. */
static void schedule(struct sms *s)
{
	int64_t next, now = clock_wall_ms(), delay;
	uint64_t mono = clock_mono_ms();
	int err;

	if (!on(s) || s->req)
		return;
	err = store_sms_next(s->st, &next);
	if (err == ENOENT) {
		tmr_cancel(&s->tmr);
		return;
	}
	if (err)  /* the store is unwell: look again later */
		next = now + RECHECK_MS;
	delay = next > now ? next - now : 0;
	if (s->pause_until > mono && (int64_t)(s->pause_until - mono) > delay)
		delay = (int64_t)(s->pause_until - mono);
	tmr_start(&s->tmr, (uint64_t)(delay < RECHECK_MS ? delay : RECHECK_MS),
		  tick, s);
}

static void failed(struct sms *s, uint16_t code, const char *why)
{
	uint32_t wait_s;

	s->attempts++;
	wait_s = sms_backoff_s(s->cf.sms_retry_s, s->attempts);
	if (store_sms_retry(s->st, s->id, s->attempts, clock_wall_ms() +
			    (int64_t)wait_s * 1000, code, why)) {
		log_error("sms: message %lld: cannot record the failed try",
			  (long long)s->id);
		code = 0;  /* or it would be due again at once */
	}
	if (!code || code >= 500)
		s->pause_until = clock_mono_ms() + (uint64_t)wait_s * 1000;
	log_warn("sms: message %lld not sent (try %u): %s; next try in %u s",
		 (long long)s->id, s->attempts, why, wait_s);
}

/* The gateway's reply text, printable and short, for the record. */
static void answer_of(const struct http_msg *msg, char *buf, size_t sz)
{
	size_t n = 0;

	buf[0] = '\0';
	if (!msg || !msg->mb)
		return;
	for (size_t i = 0; i < msg->mb->end && n + 1 < sz; i++) {
		uint8_t c = msg->mb->buf[i];
		buf[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	buf[n] = '\0';
}

static void resp_handler(int err, const struct http_msg *msg, void *arg)
{
	struct sms *s = arg;
	char answer[128], why[200];

	tmr_cancel(&s->tmr_req);
	s->req = NULL;
	answer_of(msg, answer, sizeof(answer));
	if (err) {
		re_snprintf(why, sizeof(why), "gateway unreachable: %m", err);
		failed(s, 0, why);
	}
	else if (msg->scode < 200 || msg->scode > 299) {
		re_snprintf(why, sizeof(why), "gateway answered %u %r: %s",
			    msg->scode, &msg->reason, answer);
		failed(s, msg->scode, why);
	}
	else {
		int64_t now = clock_wall_ms();
		if (store_sms_sent(s->st, s->id, now, msg->scode, answer))
			log_error("sms: message %lld was sent but the store "
				  "did not record it", (long long)s->id);
		else
			log_info("sms: message %lld taken by the gateway: %s",
				 (long long)s->id, answer);
		/* It answers: whatever waits for it being down goes now. */
		(void)store_sms_kick(s->st, now);
		s->pause_until = 0;
	}
	schedule(s);
}

static void req_timeout(void *arg)
{
	struct sms *s = arg;

	s->req = mem_deref(s->req);
	failed(s, 0, "the gateway did not answer in time");
	schedule(s);
}

static int client(struct sms *s)
{
	struct sa nsv[4];
	uint32_t nsn = ARRAY_SIZE(nsv);
	char domain[64];
	int err;

	if (s->cli)
		return 0;
	/* libre's client wants a resolver even for addresses; the system's
	 * servers serve gateways named by host name. */
	if (dns_srv_get(domain, sizeof(domain), nsv, &nsn) || !nsn) {
		sa_set_str(&nsv[0], "127.0.0.1", 53);
		nsn = 1;
	}
	err = dnsc_alloc(&s->dnsc, NULL, nsv, nsn);
	if (!err)
		err = http_client_alloc(&s->cli, s->dnsc);
	if (err)
		log_error("sms: no HTTP client: %m", err);
	return err;
}

static void tick(void *arg)
{
	struct sms *s = arg;
	struct store_sms m;
	struct mbuf *mb = NULL;
	char *url = NULL;
	int err;

	if (!on(s) || s->req)
		return;
	if (s->pause_until > clock_mono_ms()) {
		schedule(s);
		return;
	}
	err = store_sms_due(s->st, clock_wall_ms(), &m);
	if (err == ENOENT) {
		schedule(s);
		return;
	}
	if (err) {
		tmr_start(&s->tmr, RECHECK_MS, tick, s);
		return;
	}
	s->id = m.id;
	s->attempts = m.attempts;
	mb = mbuf_alloc(1024);
	err = mb ? client(s) : ENOMEM;
	if (!err)
		err = sms_url_build(mb, s->cf.sms_url, s->cf.sms_from, m.to,
				    m.text, s->dlr_base, m.id, m.key);
	if (!err) {
		mb->pos = 0;
		err = mbuf_strdup(mb, &url, mb->end);
	}
	if (!err)
		err = http_request(&s->req, s->cli, "GET", url, resp_handler,
				   NULL, s, "User-Agent: laoyou\r\n\r\n");
	if (err) {
		char why[120];
		s->req = NULL;
		re_snprintf(why, sizeof(why), "cannot ask the gateway: %m",
			    err);
		failed(s, 0, why);
		schedule(s);
	}
	else {
		tmr_start(&s->tmr_req, REQ_TIMEOUT_MS, req_timeout, s);
	}
	mem_deref(url);
	mem_deref(mb);
}

static void configure(struct sms *s, const struct conf *cf)
{
	char base[300];

	s->cf = *cf;
	conf_public_url(cf, base, sizeof(base));
	re_snprintf(s->dlr_base, sizeof(s->dlr_base), "%s/api/v1/sms/dlr",
		    base);
}

static void report_off(struct sms *s)
{
	uint32_t n = 0;

	(void)store_sms_queued(s->st, &n);
	if (!on(s) && n)
		log_warn("sms: SMS is off (no sms_url): %u message(s) wait "
			 "in the outbox", n);
	else if (!on(s))
		log_info("sms: SMS is off (no sms_url)");
	else if (n)
		log_info("sms: %u message(s) in the outbox from before; "
			 "sending", n);
}

int sms_alloc(struct sms **sp, const struct conf *cf, struct store *st)
{
	struct sms *s;

	if (!sp || !cf || !st)
		return EINVAL;
	s = mem_zalloc(sizeof(*s), destructor);
	if (!s)
		return ENOMEM;
	s->st = mem_ref(st);
	tmr_init(&s->tmr);
	tmr_init(&s->tmr_req);
	configure(s, cf);
	report_off(s);
	/* What an earlier run left queued goes first. */
	schedule(s);
	*sp = s;
	return 0;
}

void sms_reconf(struct sms *s, const struct conf *cf)
{
	bool was_on;

	if (!s || !cf)
		return;
	was_on = on(s);
	if (strcmp(s->cf.sms_url, cf->sms_url))
		s->pause_until = 0;
	configure(s, cf);
	if (was_on != on(s))
		report_off(s);
	if (on(s))
		schedule(s);
	else
		tmr_cancel(&s->tmr);
}

int sms_send(struct sms *s, const char *to, const char *text,
	     const char *ref, int64_t *idp)
{
	uint8_t raw[16];
	char key[33];
	int64_t id = 0;
	int err;

	if (!s || !sms_number_ok(to) || !sms_text_ok(text) ||
	    strlen(text) > STORE_SMS_TEXT_MAX ||
	    (ref && strlen(ref) >= sizeof(((struct store_sms *)0)->ref)))
		return EINVAL;
	rand_bytes(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		re_snprintf(key + 2 * i, 3, "%02x", raw[i]);
	err = store_sms_add(s->st, to, text, ref ? ref : "", key,
			    clock_wall_ms(), &id);
	if (err) {
		log_error("sms: message to %s (%s) not queued: %m", to,
			  ref ? ref : "", err);
		return err;
	}
	if (!on(s))
		log_warn("sms: SMS is off (no sms_url): message %lld to %s "
			 "(%s) queued", (long long)id, to, ref ? ref : "");
	else
		log_info("sms: message %lld to %s (%s) queued", (long long)id,
			 to, ref ? ref : "");
	if (idp)
		*idp = id;
	if (on(s) && !s->req && s->pause_until <= clock_mono_ms())
		tmr_start(&s->tmr, 0, tick, s);
	return 0;
}

int sms_dlr_auth(struct sms *s, int64_t id, const char *key)
{
	struct store_sms m;
	uint8_t diff = 0;
	size_t n;

	if (!s || !key)
		return EINVAL;
	if (store_sms_get(s->st, id, &m))
		return ENOENT;
	n = strlen(m.key);
	/* In constant time: the key is the only thing guarding the URL. */
	if (strlen(key) != n)
		return EPERM;
	for (size_t i = 0; i < n; i++)
		diff |= (uint8_t)(key[i] ^ m.key[i]);
	return diff ? EPERM : 0;
}

int sms_dlr(struct sms *s, int64_t id, int status, const char *answer)
{
	struct store_sms m;
	const char *next;
	int err;

	if (!s)
		return EINVAL;
	if (store_sms_get(s->st, id, &m))
		return ENOENT;
	next = sms_state_after(m.state, status);
	err = store_sms_report(s->st, id, status, answer ? answer : "", next,
			       clock_wall_ms());
	if (err) {
		log_error("sms: report %d for message %lld not stored: %m",
			  status, (long long)id, err);
		return err;
	}
	log_info("sms: message %lld report %d (%s): %s -> %s", (long long)id,
		 status, answer ? answer : "", m.state, next);
	return 0;
}
