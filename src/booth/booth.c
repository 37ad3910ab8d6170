/*
 * booth: the fleet.  A booth's liveness is kept in memory — 10,000 screens
 * beating every 30 s would otherwise be a write every 3 ms — and written to
 * the store when it changes and on a periodic flush.  A sweep marks booths
 * silent for booth_offline_s offline and says so as EVENT_BOOTH news.
 */
#include <string.h>
#include <errno.h>
#include <time.h>
#include <sodium.h>
#include <re.h>
#include "core/conf.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "store/store.h"
#include "store/booth.h"
#include "site/json.h"
#include "booth/booth.h"
#include "booth/booth_int.h"

enum { SWEEP_MS = 5000, FLUSH_MS = 60000 };

struct live {
	struct le he;
	char id[32];
	char lang[4];
	uint64_t last_mono;        /* 0 = never heard since start */
	int64_t last_wall;
	bool online;
	bool dirty;                /* last_wall not yet written */
};

static void destructor(void *arg)
{
	struct booths *b = arg;

	tmr_cancel(&b->tmr_sweep);
	list_flush(&b->dials);
	hash_flush(b->live);
	mem_deref(b->live);
	mem_deref(b->fc);
	mem_deref(b->st);
	mem_deref(b->cs);
}

static bool live_cmp(struct le *le, void *arg)
{
	const struct live *l = le->data;
	return !strcmp(l->id, arg);
}

static struct live *live_find(struct booths *b, const char *id)
{
	struct le *le = hash_lookup(b->live, hash_joaat_str(id), live_cmp,
				    (void *)id);
	return le ? le->data : NULL;
}

static struct live *live_add(struct booths *b, const char *id)
{
	struct live *l = live_find(b, id);

	if (l)
		return l;
	l = mem_zalloc(sizeof(*l), NULL);
	if (!l)
		return NULL;
	str_ncpy(l->id, id, sizeof(l->id));
	str_ncpy(l->lang, "zh", sizeof(l->lang));
	hash_append(b->live, hash_joaat_str(l->id), &l->he, l);
	return l;
}

static void load_one(const struct store_booth *sb, void *arg)
{
	struct booths *b = arg;
	struct live *l = live_add(b, sb->id);

	if (!l)
		return;
	str_ncpy(l->lang, sb->lang[0] ? sb->lang : "zh", sizeof(l->lang));
	l->last_wall = sb->last_seen_ms;
	/* Nobody has been heard since we started: a booth online before a
	 * restart gets the full silence allowance from now. */
	l->online = sb->online;
	if (l->online)
		l->last_mono = clock_mono_ms();
}

int booths_seen_load(struct booths *b, const struct store_booth *sb)
{
	struct live *l = live_find(b, sb->id);

	if (l)
		return 0;
	load_one(sb, b);
	return live_find(b, sb->id) ? 0 : ENOMEM;
}

void booths_day(int64_t wall_ms, char day[11], int64_t *start_ms)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(day, 11, "%Y-%m-%d", &tm);
	if (start_ms) {
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		*start_ms = (int64_t)mktime(&tm) * 1000;
	}
}

void booths_notify(struct booths *b, const char *id, const char *kind,
		   bool to_screen, const char *fmt, ...)
{
	struct booth_news n = {id, kind, NULL, to_screen};
	char *json = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (re_vsdprintf(&json, fmt, ap) == 0) {
		n.json = json;
		event_publish(EVENT_BOOTH, &n);
	}
	va_end(ap);
	mem_deref(json);
}

static void set_online(struct booths *b, struct live *l, bool on)
{
	l->online = on;
	l->dirty = false;
	if (store_booth_seen(b->st, l->id, l->last_wall, on, l->lang))
		log_warn("booth %s: cannot record its liveness", l->id);
	log_info("booth %s: %s", l->id, on ? "online" : "offline");
	booths_notify(b, l->id, on ? "online" : "offline", false,
		      "{\"booth\":\"%H\",\"online\":%s,\"last_seen_ms\":%lld}",
		      store_json_esc, l->id, on ? "true" : "false",
		      (long long)l->last_wall);
}

static bool sweep_one(struct le *le, void *arg)
{
	struct booths *b = arg;
	struct live *l = le->data;
	uint64_t now = clock_mono_ms();

	if (l->online && now - l->last_mono >= b->cf.booth_offline_s * 1000ULL)
		set_online(b, l, false);
	else if (l->dirty && b->flush) {
		(void)store_booth_seen(b->st, l->id, l->last_wall, l->online,
				       l->lang);
		l->dirty = false;
	}
	return false;
}

static void sweep_all(struct booths *b, bool flush)
{
	bool batch;

	b->flush = flush;
	if (flush)
		b->last_flush = clock_mono_ms();
	batch = flush && !store_booth_batch(b->st, false);
	(void)hash_apply(b->live, sweep_one, b);
	if (batch && store_booth_batch(b->st, true))
		log_warn("booths: cannot write the fleet's liveness");
}

static void sweep(void *arg)
{
	struct booths *b = arg;

	sweep_all(b, clock_mono_ms() - b->last_flush >= FLUSH_MS);
	tmr_start(&b->tmr_sweep, SWEEP_MS, sweep, b);
}

void booths_flush(struct booths *b)
{
	if (b)
		sweep_all(b, true);
}

void booths_forget(struct booths *b, const char *id)
{
	struct live *l = b && id ? live_find(b, id) : NULL;

	if (!l)
		return;
	hash_unlink(&l->he);
	mem_deref(l);
}

void booths_seen(struct booths *b, const char *id, const char *lang)
{
	struct live *l;

	if (!b || !id)
		return;
	l = live_add(b, id);
	if (!l)
		return;
	l->last_mono = clock_mono_ms();
	l->last_wall = clock_wall_ms();
	l->dirty = true;
	if (lang && (!strcmp(lang, "zh") || !strcmp(lang, "en")) &&
	    strcmp(lang, l->lang)) {
		str_ncpy(l->lang, lang, sizeof(l->lang));
		l->dirty = true;
	}
	if (!l->online)
		set_online(b, l, true);
}

static void info_of(struct booths *b, const struct store_booth *sb,
		    struct booth_info *bi)
{
	struct live *l = live_find(b, sb->id);

	memset(bi, 0, sizeof(*bi));
	str_ncpy(bi->id, sb->id, sizeof(bi->id));
	str_ncpy(bi->name, sb->name, sizeof(bi->name));
	str_ncpy(bi->name_en, sb->name_en, sizeof(bi->name_en));
	str_ncpy(bi->address, sb->address, sizeof(bi->address));
	str_ncpy(bi->district, sb->district, sizeof(bi->district));
	str_ncpy(bi->account, sb->account, sizeof(bi->account));
	str_ncpy(bi->lang, l ? l->lang : sb->lang, sizeof(bi->lang));
	bi->lat = sb->lat;
	bi->lon = sb->lon;
	bi->ports = sb->ports;
	bi->online = l ? l->online : sb->online;
	bi->last_seen_ms = (uint64_t)(l ? l->last_wall : sb->last_seen_ms);
}

int booths_get(struct booths *b, const char *id, struct booth_info *bi)
{
	struct store_booth sb;
	int err;

	if (!b || !id)
		return EINVAL;
	err = store_booth_get(b->st, id, &sb);
	if (!err)
		info_of(b, &sb, bi);
	return err;
}

int booths_of_account(struct booths *b, const char *account,
		      struct booth_info *bi)
{
	struct store_booth sb;
	int err;

	if (!b || !account)
		return EINVAL;
	err = store_booth_of_account(b->st, account, &sb);
	if (!err)
		info_of(b, &sb, bi);
	return err;
}

void booths_count(struct booths *b, const char *id, const char *service)
{
	char day[11];

	if (!b || !id)
		return;
	booths_day(clock_wall_ms(), day, NULL);
	if (store_booth_usage(b->st, id, day, service))
		log_warn("booth %s: cannot count a use of %s", id, service);
}

struct store *booths_store(struct booths *b)
{
	return b ? b->st : NULL;
}

void booths_token_hash(const char *token, char out[65])
{
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), (const uint8_t *)token,
			   strlen(token), NULL, 0);
	for (size_t i = 0; i < sizeof(h); i++)
		(void)re_snprintf(out + 2 * i, 3, "%02x", h[i]);
}

void booths_reconf(struct booths *b, const struct conf *cf)
{
	if (!b)
		return;
	b->cf = *cf;
	freecall_reconf(b->fc, cf);
}

int booths_alloc(struct booths **bp, const struct conf *cf,
		 struct calls *cs, struct store *st)
{
	struct booths *b;
	int err;

	if (!bp || !cf || !st)
		return EINVAL;
	if (sodium_init() < 0)
		return EIO;
	b = mem_zalloc(sizeof(*b), destructor);
	if (!b)
		return ENOMEM;
	b->cf = *cf;
	b->st = mem_ref(st);
	b->cs = mem_ref(cs);
	b->last_flush = clock_mono_ms();
	err = hash_alloc(&b->live, 256);
	if (!err)
		err = store_booth_list(st, load_one, b);
	if (!err && cs)
		err = freecall_alloc(&b->fc, b, cf, cs, st);
	if (err) {
		mem_deref(b);
		return err;
	}
	tmr_start(&b->tmr_sweep, SWEEP_MS, sweep, b);
	*bp = b;
	return 0;
}
