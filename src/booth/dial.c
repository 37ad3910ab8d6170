/*
 * The screen's dial pad and service buttons.  A screen cannot place a SIP
 * call itself: laoyou rings the booth's handset (its speaker phone), and
 * when it is picked up connects it — to an application's number (the
 * elder line, the sign-language line, a hotline) or, as a free call
 * under the same rules as one dialled on the handset, to a local number.
 */
#include <string.h>
#include <errno.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "store/store.h"
#include "call/call.h"
#include "booth/booth.h"
#include "booth/booth_int.h"

struct dial {
	struct le le;              /* booths->dials */
	struct booths *b;
	struct booth_info bi;
	struct call *call;
	char target[32];
	char callid[128];
	bool app;                  /* an application's number */
	bool answered;
};

/* The screen follows its call: ringing, answered, failed, ended. */
static void news(const struct dial *d, const char *state, uint16_t scode)
{
	booths_notify(d->b, d->bi.id, "call", true, "{\"call\":\"%H\","
		      "\"number\":\"%H\",\"state\":\"%s\",\"code\":%u}",
		      store_json_esc, d->callid, store_json_esc, d->target,
		      state, scode);
}

static void dial_destructor(void *arg)
{
	struct dial *d = arg;

	list_unlink(&d->le);
	if (d->call)
		call_set_handlers(d->call, &(struct call_handlers){0}, NULL);
	mem_deref(d->call);
}

static void dial_answer(struct call *c, uint16_t scode, void *arg)
{
	struct dial *d = arg;
	struct call_policy p;
	char d_target_copy[32];
	int err;

	str_ncpy(d_target_copy, d->target, sizeof(d_target_copy));
	if (scode != 200) {
		log_info("booth %s: the handset did not answer (%u)",
			 d->bi.id, scode);
		news(d, "failed", scode);
		mem_deref(d);
		return;
	}
	d->answered = true;
	news(d, "answered", 200);
	if (d->app) {
		/* The application takes the call (and its handlers) over;
		 * our reference goes, and nothing of ours may touch it. */
		struct call *ref = d->call;
		d->call = NULL;
		call_set_handlers(c, &(struct call_handlers){0}, NULL);
		mem_deref(d);
		err = calls_app_start(c, d_target_copy);
		if (err)
			call_hangup(c, 480, "Not Available");
		mem_deref(ref);
		return;
	}
	(void)freecall_check(d->b->fc, &d->bi, d->target, call_id(c), &p);
	if (p.scode) {
		call_hangup(c, p.scode, p.reason);
		return;
	}
	if (p.limit_s)
		(void)call_set_limit(c, p.limit_s, p.warn_s, p.warn);
	err = call_transfer(c, d->target, 0);
	if (err) {
		log_warn("booth %s: cannot call %s: %m", d->bi.id, d->target,
			 err);
		call_hangup(c, err == EPERM ? 403 : 480, "Not Possible");
	}
}

static void dial_transfer(struct call *c, uint16_t scode, void *arg)
{
	(void)arg;
	if (scode != 200)
		call_hangup(c, scode, "Callee Unavailable");
}

static void dial_unbridge(struct call *c, void *arg)
{
	(void)arg;
	call_hangup(c, 200, "Ended");
}

static void dial_close(struct call *c, void *arg)
{
	struct dial *d = arg;

	(void)c;
	news(d, d->answered ? "ended" : "failed", 0);
	mem_deref(d);
}

int booths_dial(struct booths *b, const char *id, const char *number,
		const char *service, uint16_t *scode, char *why, size_t sz,
		char *callid, size_t csz)
{
	static const struct call_handlers h = {
		.answerh = dial_answer, .transferh = dial_transfer,
		.unbridgeh = dial_unbridge, .closeh = dial_close,
	};
	struct store_account acc;
	struct call_policy p;
	struct dial *d;
	int err;

	*scode = 0;
	if (!b->cs || !b->fc) {
		*scode = 503;
		re_snprintf(why, sz, "calls are not running");
		return ENODEV;
	}
	d = mem_zalloc(sizeof(*d), dial_destructor);
	if (!d)
		return ENOMEM;
	d->b = b;
	err = booths_get(b, id, &d->bi);
	if (err) {
		*scode = 404;
		re_snprintf(why, sz, "no booth %s", id);
		goto out;
	}
	if (service && !strcmp(service, "elder"))
		str_ncpy(d->target, b->cf.elder_number, sizeof(d->target));
	else if (service && !strcmp(service, "sign"))
		str_ncpy(d->target, b->cf.sign_number, sizeof(d->target));
	else if (!service && number && number[0] && strlen(number) < 20 &&
		 strspn(number, "0123456789") == strlen(number))
		str_ncpy(d->target, number, sizeof(d->target));
	else {
		*scode = 400;
		re_snprintf(why, sz, "send \"number\" (digits) or \"service\""
			    " (elder or sign)");
		err = EINVAL;
		goto out;
	}
	d->app = calls_claimed(b->cs, d->target);
	if (!d->app) {
		err = freecall_check(b->fc, &d->bi, d->target, NULL, &p);
		if (err) {
			*scode = p.scode == 500 ? 500 : 403;
			str_ncpy(why, p.reason, sz);
			goto out;
		}
	}
	if (store_account_get(b->st, d->bi.account, &acc)) {
		*scode = 409;
		re_snprintf(why, sz, "the booth's handset account %s does not "
			    "exist", d->bi.account);
		err = ENOENT;
		goto out;
	}
	err = calls_originate(b->cs, acc.ext, acc.user, &h, d, &d->call);
	if (err) {
		*scode = err == ENOTCONN ? 409 : 503;
		re_snprintf(why, sz, err == ENOTCONN ? "the booth's handset is "
			    "not registered" : "cannot place the call: %m", err);
		goto out;
	}
	str_ncpy(callid, call_id(d->call), csz);
	str_ncpy(d->callid, call_id(d->call), sizeof(d->callid));
	list_append(&b->dials, &d->le, d);
	news(d, "ringing", 0);
	log_info("booth %s: ringing the handset for %s", d->bi.id, d->target);
	return 0;
 out:
	mem_deref(d);
	return err;
}
