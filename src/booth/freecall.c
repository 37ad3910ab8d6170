/*
 * The handsets' free calls.  A booth may call a local number for up to
 * freecall_limit_s, with a spoken warning freecall_warn_s before the end,
 * within a daily quota per booth and per dialled number; the emergency
 * numbers are always allowed, never limited, never counted.  Everything
 * else a booth dials that is not an application's number is refused.
 *
 * The quotas count calls that were answered: a call that rang out is
 * forgotten when it ends, so a busy line does not use up a citizen's day.
 */
#include <string.h>
#include <errno.h>
#include <re.h>
#include "core/conf.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "store/store.h"
#include "store/booth.h"
#include "media/audio.h"
#include "call/call.h"
#include "booth/booth.h"
#include "booth/booth_int.h"

struct freecall {
	struct booths *b;          /* not referenced: the fleet owns us */
	struct conf cf;
	struct store *st;
	struct calls *cs;
	struct event_sub *sub;
	struct audio *warn[2];     /* zh, en */
	struct hash *running;      /* struct tracked by Call-ID */
};

struct tracked {
	struct le he;
	char callid[128];
};

static const char *const emergency[] = {"110", "119", "120", "122"};

bool freecall_is_emergency(const char *number)
{
	for (size_t i = 0; i < ARRAY_SIZE(emergency); i++)
		if (!strcmp(number, emergency[i]))
			return true;
	return false;
}

static bool digits(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789") == n;
}

/* Shanghai landlines (8 digits, or 021 and 8), and mobiles. */
bool freecall_is_local(const char *n)
{
	if (digits(n, 8))
		return n[0] >= '2' && n[0] <= '9';
	if (digits(n, 11) && !strncmp(n, "021", 3))
		return n[3] >= '2' && n[3] <= '9';
	if (digits(n, 11) && n[0] == '1')
		return n[1] >= '3' && n[1] <= '9';
	return false;
}

static void destructor(void *arg)
{
	struct freecall *fc = arg;

	if (fc->cs)
		calls_set_policy(fc->cs, NULL, NULL);
	mem_deref(fc->sub);
	mem_deref(fc->warn[0]);
	mem_deref(fc->warn[1]);
	hash_flush(fc->running);
	mem_deref(fc->running);
}

int booths_prompt(const struct conf *cf, const char *lang, const char *name,
		  struct audio **ap)
{
	char path[700], err[200];

	/* A recording the operator imported replaces the rendered one. */
	re_snprintf(path, sizeof(path), "%s/prompts/%s/%s.wav", cf->data_dir,
		    lang, name);
	if (!audio_load_wav(ap, path, err, sizeof(err)))
		return 0;
	re_snprintf(path, sizeof(path), "%s/%s/%s.wav", cf->prompts_dir,
		    lang, name);
	return audio_load_wav(ap, path, err, sizeof(err));
}

static bool tracked_cmp(struct le *le, void *arg)
{
	const struct tracked *t = le->data;
	return !strcmp(t->callid, arg);
}

static void tracked_destructor(void *arg)
{
	struct tracked *t = arg;

	hash_unlink(&t->he);
}

static void track(struct freecall *fc, const char *callid)
{
	struct tracked *t = mem_zalloc(sizeof(*t), tracked_destructor);

	if (!t)
		return;
	str_ncpy(t->callid, callid, sizeof(t->callid));
	hash_append(fc->running, hash_joaat_str(t->callid), &t->he, t);
}

static void ended(enum event_type type, const void *data, void *arg)
{
	struct freecall *fc = arg;
	const struct store_cdr *rec;
	const char *callid;
	struct le *le;
	uint32_t secs;
	int64_t from;

	if (type != EVENT_CALL_ENDED)
		return;
	callid = call_id(data);
	le = hash_lookup(fc->running, hash_joaat_str(callid), tracked_cmp,
			 (void *)callid);
	if (!le)
		return;
	/* From the callee's answer: a call from the screen was answered by
	 * the handset long before. */
	rec = call_record(data);
	from = call_bridged_ms(data);
	secs = from && rec->end_ms > from ?
		(uint32_t)((rec->end_ms - from + 999) / 1000) : 0;
	if (store_freecall_end(fc->st, callid, secs))
		log_msg(LOG_WARN, callid, "booth: cannot record the free "
			"call's length");
	mem_deref(le->data);
}

int freecall_check(struct freecall *fc, const struct booth_info *bi,
		   const char *number, const char *callid,
		   struct call_policy *p)
{
	uint32_t by_booth = 0, by_number = 0;
	bool sos = freecall_is_emergency(number);
	/* The taxi fallback is offered by laoyou itself: no quota. */
	bool hotline = fc->cf.taxi_hotline[0] &&
		!strcmp(number, fc->cf.taxi_hotline);
	/* 021 and the 8 digits are one number, for the quota too. */
	const char *key = strlen(number) == 11 && !strncmp(number, "021", 3) ?
		number + 3 : number;
	char day[11];
	int err;

	memset(p, 0, sizeof(*p));
	if (!sos && !hotline && !freecall_is_local(number)) {
		p->scode = 403;
		str_ncpy(p->reason, "Forbidden (free calls are to local "
			 "numbers only)", sizeof(p->reason));
		return EPERM;
	}
	booths_day(clock_wall_ms(), day, NULL);
	if (!sos && !hotline) {
		err = store_freecall_count(fc->st, bi->id, key, day,
					   &by_booth, &by_number);
		if (err) {
			p->scode = 500;
			str_ncpy(p->reason, "Server Error (store)",
				 sizeof(p->reason));
			return err;
		}
		if (by_booth >= fc->cf.freecall_booth_day ||
		    by_number >= fc->cf.freecall_number_day) {
			p->scode = 403;
			str_ncpy(p->reason, by_booth >= fc->cf.freecall_booth_day
				 ? "Forbidden (booth's daily free calls used)"
				 : "Forbidden (daily free calls to this "
				 "number used)", sizeof(p->reason));
			return EDQUOT;
		}
	}
	if (!sos) {
		p->limit_s = fc->cf.freecall_limit_s;
		p->warn_s = fc->cf.freecall_warn_s < p->limit_s ?
			fc->cf.freecall_warn_s : 0;
		p->warn = fc->warn[!strcmp(bi->lang, "en")];
	}
	if (callid && hotline) {
		booths_count(fc->b, bi->id, "taxi-hotline");
	}
	else if (callid) {
		err = store_freecall(fc->st, bi->id, key, day, callid,
				     clock_wall_ms(), 0, sos);
		if (err && !sos) {
			p->scode = 500;
			str_ncpy(p->reason, "Server Error (store)",
				 sizeof(p->reason));
			return err;
		}
		/* An emergency call goes through even unrecorded. */
		if (err)
			log_msg(LOG_WARN, callid, "booth %s: emergency call "
				"not recorded", bi->id);
		else
			track(fc, callid);
		booths_count(fc->b, bi->id, sos ? "emergency" : "call");
	}
	return 0;
}

static void policy(struct call *c, const struct store_account *caller,
		   const char *dialled, struct call_policy *p, void *arg)
{
	struct freecall *fc = arg;
	struct booth_info bi;

	if (strcmp(caller->kind, "booth"))
		return;
	if (booths_of_account(fc->b, caller->user, &bi)) {
		if (freecall_is_emergency(dialled))
			return;    /* always: p is zeroed, no limit */
		p->scode = 403;
		str_ncpy(p->reason, "Forbidden (not a booth of the fleet)",
			 sizeof(p->reason));
		return;
	}
	(void)freecall_check(fc, &bi, dialled, call_id(c), p);
	if (!p->scode)
		log_msg(LOG_INFO, call_id(c), "booth %s: free call to %s%s",
			bi.id, dialled, p->limit_s ? "" : " (emergency)");
}

void freecall_reconf(struct freecall *fc, const struct conf *cf)
{
	if (fc)
		fc->cf = *cf;
}

int freecall_alloc(struct freecall **fcp, struct booths *b,
		   const struct conf *cf, struct calls *cs, struct store *st)
{
	struct freecall *fc = mem_zalloc(sizeof(*fc), destructor);
	int err;

	if (!fc)
		return ENOMEM;
	fc->b = b;
	fc->cf = *cf;
	fc->st = st;
	for (int i = 0; i < 2; i++)
		if (booths_prompt(cf, i ? "en" : "zh", "freecall_warning",
				  &fc->warn[i]))
			log_warn("booth: no freecall_warning prompt (%s): the "
				 "free-call limit comes without a warning",
				 i ? "en" : "zh");
	/* Calls a crash cut short never ended here: forget them, as an
	 * unanswered call is forgotten. */
	if (store_freecall_sweep(st))
		log_warn("booth: cannot sweep free calls left by a crash");
	err = hash_alloc(&fc->running, 64);
	if (!err)
		err = event_subscribe(&fc->sub, ended, fc);
	if (err) {
		mem_deref(fc);
		return err;
	}
	fc->cs = cs;
	calls_set_policy(cs, policy, fc);
	*fcp = fc;
	return 0;
}
