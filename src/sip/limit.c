/*
 * limit: per-address rate limits for the requests that cost us work
 * before anybody is authenticated — REGISTER, INVITE and OPTIONS outside
 * a dialog.  A token bucket per address and class, refilled at the
 * configured rate with room for a burst of twice that; idle addresses are
 * forgotten.  One flooding address then costs a hash lookup per packet
 * while everybody else is served.
 */
#include <string.h>
#include <re.h>
#include "core/clock.h"
#include "core/conf.h"
#include "core/log.h"
#include "sip/sip_int.h"

enum { HT_SIZE = 4096, SWEEP_MS = 30000, IDLE_MS = 60000 };

struct bucket {
	struct le he;
	struct sa ip;
	double tokens[LIMIT_CLASSES];
	uint64_t last_ms;
	uint64_t refused;
};

struct limit {
	struct hash *ht;
	struct tmr tmr_sweep;
	uint32_t rate[LIMIT_CLASSES];
	uint64_t refused;
};

static bool idle(struct le *le, void *arg)
{
	struct bucket *b = le->data;

	if (*(uint64_t *)arg - b->last_ms > IDLE_MS)
		mem_deref(b);
	return false;
}

static void sweep(void *arg)
{
	struct limit *l = arg;
	uint64_t now = clock_mono_ms();

	(void)hash_apply(l->ht, idle, &now);
	tmr_start(&l->tmr_sweep, SWEEP_MS, sweep, l);
}

static void bucket_destructor(void *arg)
{
	struct bucket *b = arg;

	hash_unlink(&b->he);
}

static void destructor(void *arg)
{
	struct limit *l = arg;

	tmr_cancel(&l->tmr_sweep);
	hash_flush(l->ht);
	mem_deref(l->ht);
}

int limit_alloc(struct limit **lp, const struct conf *cf)
{
	struct limit *l = mem_zalloc(sizeof(*l), destructor);

	if (!l)
		return ENOMEM;
	if (hash_alloc(&l->ht, HT_SIZE)) {
		mem_deref(l);
		return ENOMEM;
	}
	limit_reconf(l, cf);
	tmr_start(&l->tmr_sweep, SWEEP_MS, sweep, l);
	*lp = l;
	return 0;
}

void limit_reconf(struct limit *l, const struct conf *cf)
{
	memcpy(l->rate, cf->flood_rate, sizeof(l->rate));
}

static bool same_ip(struct le *le, void *arg)
{
	const struct bucket *b = le->data;

	return sa_cmp(&b->ip, arg, SA_ADDR);
}

bool limit_allow(struct limit *l, const struct sa *src, enum limit_class c)
{
	uint32_t key = sa_hash(src, SA_ADDR);
	uint64_t now = clock_mono_ms();
	struct bucket *b;
	double burst;

	if (!l || c >= LIMIT_CLASSES || !l->rate[c])
		return true;
	b = list_ledata(hash_lookup(l->ht, key, same_ip, (void *)src));
	if (!b) {
		b = mem_zalloc(sizeof(*b), bucket_destructor);
		if (!b)
			return true;    /* out of memory is not the caller's fault */
		b->ip = *src;
		for (int i = 0; i < LIMIT_CLASSES; i++)
			b->tokens[i] = 2.0 * l->rate[i];
		b->last_ms = now;
		hash_append(l->ht, key, &b->he, b);
	}
	for (int i = 0; i < LIMIT_CLASSES; i++) {
		burst = 2.0 * l->rate[i];
		b->tokens[i] += (double)(now - b->last_ms) * l->rate[i] / 1000.0;
		if (b->tokens[i] > burst)
			b->tokens[i] = burst;
	}
	b->last_ms = now;
	if (b->tokens[c] >= 1.0) {
		b->tokens[c] -= 1.0;
		return true;
	}
	/* Say so once per thousand, not once per packet of a flood. */
	if (b->refused++ % 1000 == 0)
		log_warn("sip: %j over its request rate (%llu refused)", src,
			 (unsigned long long)b->refused);
	l->refused++;
	return false;
}

uint64_t limit_refused(const struct limit *l)
{
	return l ? l->refused : 0;
}
