/*
 * One-touch elder help (助老一键通).  A call to the elder number — a
 * booth's help button or a home device — hears a short prompt and goes to
 * the front of the elder-care queue.  If no agent has answered after
 * elder_answer_s (or the queue cannot take it), it leaves the line and the
 * family is tried: every contact gets an SMS at once, then each is rung in
 * order, and the first to answer is bridged.  If nobody answers, the elder
 * is told so and an agent's call-back task is left.
 *
 * The desk drives the queue part exactly as it drives the IVR's: the call's
 * transfer results, the end of a bridge and the caller leaving go back to
 * it through desk_transfer_result, desk_bridge_end and desk_leave.
 *
 * Every step lands in the call record's path and, with its time, in the
 * escalation log: it is the evidence of who was tried and who answered.
 */
#include <string.h>
#include <errno.h>
#include <re.h>
#include "core/conf.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"
#include "store/elder.h"
#include "store/notify.h"
#include "media/audio.h"
#include "call/call.h"
#include "acd/desk.h"
#include "sms/sms.h"
#include "site/json.h"
#include "booth/booth.h"
#include "booth/elder.h"

/* Above anything a flow can ask for (at most 100, +10 for a device), so
 * aging never lets an ordinary caller overtake an elder. */
enum { ELDER_PRIORITY = 1000, FAMILY_RING_S = 20 };

enum prompt { P_CONNECTING, P_FAMILY, P_NOBODY, P_HOLD, P_MAX };
static const char *const prompt_names[P_MAX] = {
	"elder_connecting", "elder_family", "elder_no_answer", "hold_music",
};
static const char *const langs[2] = {"zh", "en"};

struct elder {
	struct conf cf;
	struct calls *cs;
	struct desk *desk;
	struct store *st;
	struct booths *booths;
	struct sms *sms;
	struct call_app *app;
	struct list calls;
	struct audio *prompts[2][P_MAX];
};

enum estate {
	E_PROMPT,       /* the first prompt plays */
	E_QUEUE,        /* in line (or an agent's phone rings) */
	E_FAMILY,       /* the contacts are tried */
	E_AGENT,        /* talking to an agent */
	E_RELATIVE,     /* talking to a contact */
	E_NOBODY,       /* nobody answered: told so, then hung up */
};

struct ecall {
	struct le le;
	struct elder *e;
	struct call *call;
	struct desk_wait *w;       /* in line, ringing or talking (desk) */
	struct tmr tmr;            /* the agents' time to answer */
	enum estate state;
	char kind[8];              /* elder, booth, other */
	char lang[4];
	bool booth;
	struct booth_info bi;
	bool has_profile;
	struct store_elder prof;
	uint32_t next;             /* the contact to ring next (from 0) */
	uint32_t ringing;          /* the contact ringing (from 1), 0 none */
	bool callback;             /* a call-back task was left */
	char outcome[16];
	char answered_by[64];
	char number[32];
};

/* ---------- prompts ---------- */

static void prompts_flush(struct elder *e)
{
	for (int l = 0; l < 2; l++)
		for (int p = 0; p < P_MAX; p++)
			e->prompts[l][p] = mem_deref(e->prompts[l][p]);
}

/* The built-in recordings, each replaced by the site's own (data_dir's
 * prompts/LANG/NAME.wav) where there is one, as the IVR does. */
static void prompts_load(struct elder *e)
{
	char path[1100], err[256];
	int n = 0;

	prompts_flush(e);
	for (int l = 0; l < 2; l++) {
		for (int p = 0; p < P_MAX; p++) {
			const char *dirs[2] = {e->cf.data_dir,
					       e->cf.prompts_dir};
			for (int d = 0; d < 2 && !e->prompts[l][p]; d++) {
				re_snprintf(path, sizeof(path), d ?
					    "%s/%s/%s.wav" :
					    "%s/prompts/%s/%s.wav", dirs[d],
					    langs[l], prompt_names[p]);
				if (audio_load_wav(&e->prompts[l][p], path,
						   err, sizeof(err)))
					e->prompts[l][p] = NULL;
			}
			if (e->prompts[l][p])
				n++;
			else
				log_warn("elder: no prompt %s/%s", langs[l],
					 prompt_names[p]);
		}
	}
	log_info("elder: %d prompt recordings loaded", n);
}

static struct audio *prompt(const struct ecall *ec, enum prompt p)
{
	return ec->e->prompts[strcmp(ec->lang, "en") ? 0 : 1][p];
}

/* ---------- steps ---------- */

/* One step: into the call record's path and the escalation log. */
static void step(struct ecall *ec, const char *what, uint32_t contact,
		 const char *detail)
{
	const struct store_elder_contact *ct = contact &&
		contact <= ec->prof.ncontacts ?
		&ec->prof.contacts[contact - 1] : NULL;
	char path[64];

	if (contact)
		re_snprintf(path, sizeof(path), "elder:family%u:%s", contact,
			    what);
	else
		re_snprintf(path, sizeof(path), "elder:%s", what);
	call_path_add(ec->call, path);
	if (store_elder_step(ec->e->st, call_id(ec->call), clock_wall_ms(),
			     what, contact, ct ? ct->name : "",
			     ct ? ct->number : "", detail ? detail : ""))
		log_msg(LOG_ERROR, call_id(ec->call), "elder: step %s not "
			"logged", what);
	log_msg(LOG_INFO, call_id(ec->call), "elder: %s%s%s", path,
		detail && *detail ? " " : "", detail ? detail : "");
}

/* A step only the log keeps (the path has room for the essentials). */
static void note(struct ecall *ec, const char *what, uint32_t contact,
		 const char *name, const char *number, const char *detail)
{
	if (store_elder_step(ec->e->st, call_id(ec->call), clock_wall_ms(),
			     what, contact, name, number, detail))
		log_msg(LOG_ERROR, call_id(ec->call), "elder: step %s not "
			"logged", what);
}

static void outcome(struct ecall *ec, const char *what, const char *who,
		    const char *number, bool final)
{
	str_ncpy(ec->outcome, what, sizeof(ec->outcome));
	str_ncpy(ec->answered_by, who, sizeof(ec->answered_by));
	str_ncpy(ec->number, number, sizeof(ec->number));
	if (store_elder_call_end(ec->e->st, call_id(ec->call), ec->outcome,
				 ec->answered_by, ec->number,
				 final ? clock_wall_ms() : 0))
		log_msg(LOG_ERROR, call_id(ec->call), "elder: outcome %s not "
			"stored", what);
}

/* What a booth's screen should show about its help call. */
static void screen(struct ecall *ec, const char *state)
{
	if (!ec->booth)
		return;
	booths_notify(ec->e->booths, ec->bi.id, "elder", true,
		      "{\"state\":\"%s\",\"call\":\"%H\"}", state,
		      store_json_esc, call_id(ec->call));
}

/* ---------- the call ---------- */

static void ecall_destructor(void *arg)
{
	struct ecall *ec = arg;

	tmr_cancel(&ec->tmr);
	list_unlink(&ec->le);
	/* Freed before its call ended (the module goes first): nothing the
	 * call or the desk still holds may point here. */
	if (ec->w)
		desk_leave(ec->w, false);
	if (ec->call) {
		call_stop_play(ec->call);
		call_set_handlers(ec->call, &(struct call_handlers){0}, NULL);
	}
	mem_deref(ec->call);
}

static void hangup_cb(void *arg)
{
	struct ecall *ec = arg;
	call_hangup(ec->call, 200, "Elder Help Ended");
}

/* Play p; doneh(ec) once it has played, or at once if it cannot. */
static void play(struct ecall *ec, enum prompt p, mrelay_play_h *doneh)
{
	struct audio *a = prompt(ec, p);

	if (a && !call_play(ec->call, &a, 1, doneh, ec))
		return;
	if (doneh && p != P_HOLD)
		doneh(ec);
}

/* Comfort while the elder waits for an agent or a relative. */
static void hold(void *arg)
{
	struct ecall *ec = arg;

	if (ec->state == E_QUEUE || ec->state == E_FAMILY)
		play(ec, P_HOLD, hold);
}

/* The promise of a call back, for the agents' list. */
static void callback_leave(struct ecall *ec)
{
	const struct store_cdr *rec = call_record(ec->call);
	struct store_account acc;
	struct store_callback cb;
	char detail[32];

	if (ec->callback)
		return;
	memset(&cb, 0, sizeof(cb));
	cb.created_ms = clock_wall_ms();
	str_ncpy(cb.callid, call_id(ec->call), sizeof(cb.callid));
	str_ncpy(cb.caller, rec->caller, sizeof(cb.caller));
	str_ncpy(cb.hotline, ec->e->cf.elder_number, sizeof(cb.hotline));
	if (!store_account_get(ec->e->st, rec->caller, &acc) && acc.ext[0])
		str_ncpy(cb.number, acc.ext, sizeof(cb.number));
	else
		str_ncpy(cb.number, rec->caller, sizeof(cb.number));
	str_ncpy(cb.recording, "elder", sizeof(cb.recording));
	if (store_callback_add(ec->e->st, &cb)) {
		log_msg(LOG_ERROR, call_id(ec->call), "elder: call-back task "
			"not stored");
		return;
	}
	ec->callback = true;
	re_snprintf(detail, sizeof(detail), "%lld", (long long)cb.id);
	note(ec, "callback", 0, "", cb.number, detail);
}

static void nobody(struct ecall *ec)
{
	ec->state = E_NOBODY;
	ec->ringing = 0;
	step(ec, "nobody", 0, NULL);
	callback_leave(ec);
	outcome(ec, "nobody", "", "", false);
	screen(ec, "nobody");
	call_stop_play(ec->call);
	play(ec, P_NOBODY, hangup_cb);
}

static const char *why_not(uint16_t scode)
{
	switch (scode) {
	case 486:
	case 600: return "busy";
	case 603: return "rejected";
	case 404:
	case 484:
	case 604: return "unknown";
	case 408:
	case 480:
	case 487: return "no-answer";
	default:  return "failed";
	}
}

/* Ring the next contact that can be rung; nobody left: say so. */
static void ring_next(struct ecall *ec)
{
	uint32_t ring_s = ec->e->cf.ring_timeout_s < FAMILY_RING_S ?
		ec->e->cf.ring_timeout_s : FAMILY_RING_S;
	char detail[64];

	/* The numbers are the profile's, not the elder's choice. */
	call_allow_outside(ec->call);
	while (ec->has_profile && ec->next < ec->prof.ncontacts) {
		uint32_t k = ++ec->next;
		const char *number = ec->prof.contacts[k - 1].number;
		int err = call_transfer(ec->call, number, ring_s);

		if (!err) {
			ec->ringing = k;
			re_snprintf(detail, sizeof(detail), "%u s", ring_s);
			note(ec, "ring", k, ec->prof.contacts[k - 1].name,
			     number, detail);
			return;
		}
		/* An outside number needs the caller's account to be
		 * allowed out (the toll-fraud rule holds here too). */
		if (err == EPERM)
			log_msg(LOG_WARN, call_id(ec->call), "elder: %s may not"
				" call outside numbers: contact %u (%s) "
				"skipped", call_caller(ec->call), k, number);
		re_snprintf(detail, sizeof(detail), "%m", err);
		step(ec, err == EPERM ? "forbidden" : err == ENOENT ?
		     "unknown" : "failed", k, detail);
	}
	nobody(ec);
}

/* Tell every contact at once, before ringing the first. */
static void sms_all(struct ecall *ec)
{
	char ref[160], *text = NULL, detail[64];
	const char *who, *where;
	uint32_t ok = 0;
	int err;

	if (ec->booth) {
		who = ec->bi.name;
		where = ec->bi.address;
	}
	else {
		who = ec->prof.name[0] ? ec->prof.name :
			call_caller(ec->call);
		where = ec->prof.address;
	}
	/* In the elder's language: the family reads what the elder speaks;
	 * a booth's contacts are its district's, in Chinese. */
	if (ec->booth || strcmp(ec->lang, "en"))
		err = re_sdprintf(&text, ec->booth ?
				  "【老友助老】有人在%s（%s）按下了一键求助，"
				  "坐席暂未接听，我们正在依次致电联系人，请尽快"
				  "前往或回电。" :
				  "【老友助老】%s（%s）按下了一键求助，坐席暂未"
				  "接听，我们正在依次致电家属，请尽快联系。",
				  who, where);
	else
		err = re_sdprintf(&text, "Laoyou elder help: %s (%s) "
				  "pressed the help button and no agent was "
				  "free; we are calling the family in turn. "
				  "Please get in touch.", who, where);
	if (err)
		text = mem_deref(text);
	re_snprintf(ref, sizeof(ref), "elder:%s", call_id(ec->call));
	for (uint32_t i = 0; i < ec->prof.ncontacts; i++) {
		const struct store_elder_contact *ct = &ec->prof.contacts[i];
		int64_t id = 0;

		err = !text ? ENOMEM : ec->e->sms ? sms_send(ec->e->sms,
			ct->number, text, ref, &id) : ENODEV;
		if (err)
			re_snprintf(detail, sizeof(detail), "not sent: %m",
				    err);
		else
			re_snprintf(detail, sizeof(detail), "sms %lld",
				    (long long)id);
		note(ec, err ? "sms-failed" : "sms", i + 1, ct->name,
		     ct->number, detail);
		if (!err)
			ok++;
	}
	mem_deref(text);
	re_snprintf(detail, sizeof(detail), "%u of %u", ok,
		    ec->prof.ncontacts);
	step(ec, ok ? "sms" : "sms-failed", 0, detail);
}

/* The agents could not help in time: the family's turn. */
static void escalate(struct ecall *ec)
{
	uint32_t n = ec->has_profile ? ec->prof.ncontacts : 0;
	char detail[48];

	tmr_cancel(&ec->tmr);
	ec->state = E_FAMILY;
	re_snprintf(detail, sizeof(detail), "%u contact(s)", n);
	note(ec, "escalate", 0, "", "", detail);
	if (!n) {
		nobody(ec);
		return;
	}
	screen(ec, "family");
	sms_all(ec);
	call_stop_play(ec->call);
	play(ec, P_FAMILY, hold);
	ring_next(ec);
}

static void answer_timeout(void *arg)
{
	struct ecall *ec = arg;
	struct desk_wait *w = ec->w;
	char detail[32];

	if (ec->state != E_QUEUE)
		return;
	/* Out of line: a ringing agent's phone is cancelled. */
	ec->w = NULL;
	if (w)
		desk_leave(w, false);
	re_snprintf(detail, sizeof(detail), "%u s", ec->e->cf.elder_answer_s);
	step(ec, "timeout", 0, detail);
	escalate(ec);
}

static void desk_handler(enum desk_event ev, uint32_t position,
			 uint32_t ewt_s, void *arg)
{
	struct ecall *ec = arg;
	const char *agent, *callee;
	(void)position;
	(void)ewt_s;

	switch (ev) {

	case DESK_POSITION:
		/* First in line: no place to announce. */
		return;

	case DESK_CONNECTED:
		tmr_cancel(&ec->tmr);
		ec->state = E_AGENT;
		callee = call_record(ec->call)->callee;
		agent = desk_agent_of(ec->e->desk, callee);
		step(ec, "agent", 0, agent ? agent : callee);
		outcome(ec, "agent", agent ? agent : callee, "", false);
		screen(ec, "agent");
		return;

	default:
		/* Out of line for the desk's reason: w is gone. */
		ec->w = NULL;
		if (ec->state != E_QUEUE)
			return;
		step(ec, ev == DESK_TIMEOUT ? "queue-timeout" :
		     ev == DESK_FULL ? "full" : "empty", 0, NULL);
		escalate(ec);
		return;
	}
}

static void queue_now(void *arg)
{
	struct ecall *ec = arg;
	struct elder *e = ec->e;
	int err = ENOENT;

	if (ec->state != E_PROMPT)
		return;
	ec->state = E_QUEUE;
	if (e->desk)
		err = desk_join(e->desk, ec->call, e->cf.elder_queue, ec->lang,
				NULL, ELDER_PRIORITY, desk_handler, ec,
				&ec->w);
	if (err) {
		ec->w = NULL;
		if (err == ENOENT)
			log_msg(LOG_ERROR, call_id(ec->call), "elder: the site"
				" has no queue \"%s\": straight to the family",
				e->cf.elder_queue);
		step(ec, err == ENOENT ? "no-queue" : err == EOVERFLOW ?
		     "full" : err == ENODEV ? "empty" : "unavailable", 0,
		     e->cf.elder_queue);
		escalate(ec);
		return;
	}
	step(ec, "queue", 0, e->cf.elder_queue);
	screen(ec, "queue");
	tmr_start(&ec->tmr, e->cf.elder_answer_s * 1000ULL, answer_timeout,
		  ec);
	if (ec->w)
		hold(ec);
}

static void transfer_handler(struct call *c, uint16_t scode, void *arg)
{
	struct ecall *ec = arg;
	const struct store_elder_contact *ct;
	uint32_t k = ec->ringing;
	char detail[32];
	(void)c;

	if (ec->w) {
		desk_transfer_result(ec->w, scode);
		return;
	}
	if (ec->state != E_FAMILY || !k)
		return;
	ec->ringing = 0;
	ct = &ec->prof.contacts[k - 1];
	re_snprintf(detail, sizeof(detail), "SIP %u", scode);
	if (scode != 200) {
		step(ec, why_not(scode), k, detail);
		ring_next(ec);
		return;
	}
	ec->state = E_RELATIVE;
	step(ec, "answered", k, ct->relation);
	outcome(ec, "family", ct->name, ct->number, false);
	screen(ec, "family-answered");
}

static void unbridge_handler(struct call *c, void *arg)
{
	struct ecall *ec = arg;

	if (ec->w) {
		desk_bridge_end(ec->w, true);
		ec->w = NULL;
	}
	call_hangup(c, 200, ec->state == E_AGENT ? "Agent Hung Up" :
		    "Family Hung Up");
}

static void close_handler(struct call *c, void *arg)
{
	struct ecall *ec = arg;
	(void)c;

	if (ec->w) {
		/* An elder who hangs up in line is an abandon: the desk
		 * leaves its own missed-call task. */
		if (ec->state == E_QUEUE)
			ec->callback = true;
		desk_leave(ec->w, true);
		ec->w = NULL;
	}
	if (ec->state == E_PROMPT || ec->state == E_QUEUE ||
	    ec->state == E_FAMILY) {
		/* Gone before anybody answered: still somebody's to call. */
		note(ec, "hangup", ec->ringing, "", "", "before an answer");
		callback_leave(ec);
		outcome(ec, "hung-up", "", "", true);
	}
	else if (store_elder_call_end(ec->e->st, call_id(ec->call),
				      ec->outcome, ec->answered_by,
				      ec->number, clock_wall_ms())) {
		log_msg(LOG_ERROR, call_id(ec->call), "elder: the end of the "
			"help call not stored");
	}
	screen(ec, "ended");
	mem_deref(ec);
}

static void office_one(const struct store_volunteer *v, void *arg)
{
	struct store_elder *pe = arg;
	const char *numbers[2] = {v->phone, v->escalation};

	if (strcmp(v->kind, "office"))
		return;
	for (int i = 0; i < 2; i++) {
		struct store_elder_contact *ct;
		bool seen = !numbers[i][0];

		for (uint32_t k = 0; k < pe->ncontacts && !seen; k++)
			seen = !strcmp(pe->contacts[k].number, numbers[i]);
		if (seen || pe->ncontacts >= ELDER_CONTACTS_MAX)
			continue;
		ct = &pe->contacts[pe->ncontacts++];
		str_ncpy(ct->name, v->name, sizeof(ct->name));
		str_ncpy(ct->relation, i ? "社区值班" : "社区",
			 sizeof(ct->relation));
		str_ncpy(ct->number, numbers[i], sizeof(ct->number));
	}
}

int elder_booth_contacts(struct store *st, const char *district,
			 struct store_elder *pe)
{
	int err;

	if (pe->ncontacts)
		return 0;
	err = store_volunteer_list(st, district, office_one, pe);
	if (!err)
		err = store_volunteer_list(st, "*", office_one, pe);
	return err;
}

static bool claim_handler(const char *dialled, void *arg)
{
	struct elder *e = arg;
	return e->cf.elder_number[0] && !strcmp(dialled, e->cf.elder_number);
}

static void start_handler(struct call *c, void *arg)
{
	static const struct call_handlers h = {
		.transferh = transfer_handler,
		.unbridgeh = unbridge_handler,
		.closeh = close_handler,
	};
	struct elder *e = arg;
	struct store_account acc;
	struct store_elder_call rec;
	struct ecall *ec;
	const char *caller = call_caller(c);

	ec = mem_zalloc(sizeof(*ec), ecall_destructor);
	if (!ec) {
		call_hangup(c, 500, "Server Error");
		return;
	}
	ec->e = e;
	ec->call = mem_ref(c);
	list_append(&e->calls, &ec->le, ec);
	str_ncpy(ec->lang, "zh", sizeof(ec->lang));

	ec->has_profile = !store_elder_get(e->st, caller, &ec->prof);
	if (e->booths && !booths_of_account(e->booths, caller, &ec->bi)) {
		ec->booth = true;
		str_ncpy(ec->kind, "booth", sizeof(ec->kind));
		if (ec->bi.lang[0])
			str_ncpy(ec->lang, ec->bi.lang, sizeof(ec->lang));
		/* A booth has no family: its own contacts if it has any,
		 * else its district's community office. */
		if (!ec->has_profile)
			memset(&ec->prof, 0, sizeof(ec->prof));
		if (elder_booth_contacts(e->st, ec->bi.district, &ec->prof))
			log_msg(LOG_WARN, call_id(c), "elder: the community "
				"offices of %s cannot be read",
				ec->bi.district);
		ec->has_profile = ec->has_profile || ec->prof.ncontacts;
	}
	else if (!store_account_get(e->st, caller, &acc) &&
		 !strcmp(acc.kind, "elder-device")) {
		str_ncpy(ec->kind, "elder", sizeof(ec->kind));
		if (ec->has_profile && ec->prof.lang[0])
			str_ncpy(ec->lang, ec->prof.lang, sizeof(ec->lang));
	}
	else {
		/* Anybody may ask for help; only known callers have
		 * somebody to escalate to. */
		str_ncpy(ec->kind, "other", sizeof(ec->kind));
		ec->has_profile = false;
		memset(&ec->prof, 0, sizeof(ec->prof));
	}

	call_set_hotline(c, e->cf.elder_number);
	call_set_language(c, ec->lang);
	call_set_handlers(c, &h, ec);
	call_path_add(c, "elder");

	memset(&rec, 0, sizeof(rec));
	str_ncpy(rec.callid, call_id(c), sizeof(rec.callid));
	str_ncpy(rec.caller, caller, sizeof(rec.caller));
	str_ncpy(rec.kind, ec->kind, sizeof(rec.kind));
	if (ec->booth)
		str_ncpy(rec.booth, ec->bi.id, sizeof(rec.booth));
	rec.start_ms = clock_wall_ms();
	if (store_elder_call_add(e->st, &rec))
		log_msg(LOG_ERROR, call_id(c), "elder: help call not stored");
	note(ec, "start", 0, ec->has_profile ? ec->prof.name : "", "",
	     ec->kind);
	log_msg(LOG_INFO, call_id(c), "elder: help call from %s (%s%s%s), "
		"%u contact(s)", caller, ec->kind, ec->booth ? " " : "",
		ec->booth ? ec->bi.id : "", ec->has_profile ?
		ec->prof.ncontacts : 0);
	if (ec->booth) {
		booths_count(e->booths, ec->bi.id, "elder");
		screen(ec, "calling");
	}
	play(ec, P_CONNECTING, queue_now);
}

/* ---------- the module ---------- */

static void settings(struct elder *e, const struct conf *cf)
{
	e->cf.elder_answer_s = cf->elder_answer_s;
	e->cf.ring_timeout_s = cf->ring_timeout_s;
	str_ncpy(e->cf.elder_number, cf->elder_number,
		 sizeof(e->cf.elder_number));
	str_ncpy(e->cf.elder_queue, cf->elder_queue,
		 sizeof(e->cf.elder_queue));
}

void elder_reconf(struct elder *e, const struct conf *cf)
{
	if (!e || !cf)
		return;
	settings(e, cf);
	prompts_load(e);
}

static void elder_destructor(void *arg)
{
	struct elder *e = arg;

	mem_deref(e->app);
	list_flush(&e->calls);
	prompts_flush(e);
}

int elder_alloc(struct elder **ep, const struct conf *cf, struct calls *cs,
		struct desk *d, struct store *st, struct booths *b,
		struct sms *sms)
{
	struct elder *e;
	int err;

	if (!ep || !cf || !cs || !st)
		return EINVAL;
	e = mem_zalloc(sizeof(*e), elder_destructor);
	if (!e)
		return ENOMEM;
	/* The directories were settled at start-up; a reload's conf may
	 * leave them empty. */
	e->cf = *cf;
	e->cs = cs;
	e->desk = d;
	e->st = st;
	e->booths = b;
	e->sms = sms;
	prompts_load(e);
	err = calls_app_register(&e->app, cs, claim_handler, start_handler, e);
	if (err) {
		mem_deref(e);
		return err;
	}
	log_info("elder: help on %s, queue %s, agents have %u s",
		 e->cf.elder_number, e->cf.elder_queue, e->cf.elder_answer_s);
	*ep = e;
	return 0;
}

/* ---------- profiles ---------- */


static bool only_keys(const struct json *o, const char *allowed,
		      size_t *bad_idx)
{
	char pat[72];

	for (size_t k = 0; k < json_count(o); k++) {
		if (strlen(json_key(o, k)) > 60) {
			*bad_idx = k;
			return false;
		}
		re_snprintf(pat, sizeof(pat), " %s ", json_key(o, k));
		if (!strstr(allowed, pat)) {
			*bad_idx = k;
			return false;
		}
	}
	return true;
}

/* A string member into dst: absent is "" unless need; too long, empty
 * when needed, a control character or not a string is an error. */
static int text(const struct json *o, const char *what, const char *key,
		bool need, char *dst, size_t sz, const char *file, char *err,
		size_t errsz)
{
	const struct json *v = json_get(o, key);
	const char *s = json_str(v);

	dst[0] = '\0';
	if (!v && !need)
		return 0;
	if (!v)
		return json_fail(err, errsz, file, json_line(o), "%s needs "
				 "\"%s\"", what, key);
	if (!s || strlen(s) >= sz || (need && !*s))
		return json_fail(err, errsz, file, json_line(v), "\"%s\" must "
				 "be a %sstring of at most %zu bytes", key,
				 need ?
			   "non-empty " : "",
				 sz - 1);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n')
			return json_fail(err, errsz, file, json_line(v),
					 "\"%s\" holds a control character",
					 key);
	str_ncpy(dst, s, sz);
	return 0;
}

static bool number_ok(const char *s)
{
	size_t n = strlen(s), i = s[0] == '+' ? 1 : 0;

	if (n - i < 3 || n >= 32)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool account_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n && n < 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789-_.+") == n;
}

static int contact_parse(const struct json *o, const char *file, size_t i,
			 struct store_elder_contact *ct, char *err,
			 size_t errsz)
{
	char what[32];
	size_t k;
	int e;

	re_snprintf(what, sizeof(what), "contact %zu", i + 1);
	if (json_type(o) != JSON_OBJECT)
		return json_fail(err, errsz, file, json_line(o), "%s must be "
				 "an object with \"name\", \"relation\" and "
				 "\"number\"", what);
	if (!only_keys(o, " name relation number ", &k))
		return json_fail(err, errsz, file, json_key_line(o, k), "%s "
				 "has no field \"%s\" (name, relation, number)",
				 what, json_key(o, k));
	e = text(o, what, "name", true, ct->name, sizeof(ct->name), file,
		 err, errsz);
	if (!e)
		e = text(o, what, "relation", false, ct->relation,
			 sizeof(ct->relation), file, err, errsz);
	if (!e)
		e = text(o, what, "number", true, ct->number,
			 sizeof(ct->number), file, err, errsz);
	if (!e && !number_ok(ct->number))
		e = json_fail(err, errsz, file,
			      json_line(json_get(o, "number")), "%s: "
			      "\"number\" must be 3 to 31 digits, optionally "
			      "after a +", what);
	return e;
}

int elder_parse(const struct json *o, const char *file, const char *account,
		struct store_elder *pe, char *err, size_t errsz)
{
	const struct json *cs, *acc;
	bool booth;
	size_t k;
	int e;

	memset(pe, 0, sizeof(*pe));
	if (json_type(o) != JSON_OBJECT)
		return json_fail(err, errsz, file, json_line(o), "a profile is "
				 "an object");
	if (!only_keys(o, " account kind name address district conditions "
		       "lang contacts ", &k))
		return json_fail(err, errsz, file, json_key_line(o, k),
				 "unknown profile field \"%s\" (account, kind, "
				 "name, address, district, conditions, lang, "
				 "contacts)", json_key(o, k));
	acc = json_get(o, "account");
	if (acc && (!json_str(acc) || strcmp(json_str(acc), account)))
		return json_fail(err, errsz, file, json_line(acc),
				 "\"account\" differs from the profile's "
				 "account \"%s\"", account);
	if (!account_ok(account))
		return json_fail(err, errsz, file, json_line(o), "the account "
				 "must be 1-63 of letters, digits, - _ . +");
	str_ncpy(pe->account, account, sizeof(pe->account));
	e = text(o, "a profile", "kind", false, pe->kind, sizeof(pe->kind),
		 file, err, errsz);
	if (e)
		return e;
	if (!pe->kind[0])
		str_ncpy(pe->kind, "elder", sizeof(pe->kind));
	if (strcmp(pe->kind, "elder") && strcmp(pe->kind, "booth"))
		return json_fail(err, errsz, file,
				 json_line(json_get(o, "kind")), "\"kind\" is "
				 "elder (a home device) or booth (a booth's "
				 "handset)");
	/* A booth's name and address are the booth's own. */
	booth = !strcmp(pe->kind, "booth");
	e = text(o, "an elder's profile", "name", !booth, pe->name,
		 sizeof(pe->name), file, err, errsz);
	if (!e)
		e = text(o, "an elder's profile", "address", !booth,
			 pe->address, sizeof(pe->address), file, err, errsz);
	if (!e)
		e = text(o, "a profile", "district", false, pe->district,
			 sizeof(pe->district), file, err, errsz);
	if (!e)
		e = text(o, "a profile", "conditions", false, pe->conditions,
			 sizeof(pe->conditions), file, err, errsz);
	if (!e)
		e = text(o, "a profile", "lang", false, pe->lang,
			 sizeof(pe->lang), file, err, errsz);
	if (e)
		return e;
	if (!pe->lang[0])
		str_ncpy(pe->lang, "zh", sizeof(pe->lang));
	if (strcmp(pe->lang, "zh") && strcmp(pe->lang, "en"))
		return json_fail(err, errsz, file,
				 json_line(json_get(o, "lang")), "\"lang\" is "
				 "zh or en");
	cs = json_get(o, "contacts");
	if (cs && (json_type(cs) != JSON_ARRAY ||
		   json_count(cs) > ELDER_CONTACTS_MAX))
		return json_fail(err, errsz, file, json_line(cs),
				 "\"contacts\" must be a list of at most %u "
				 "contacts, in the order they are called",
				 ELDER_CONTACTS_MAX);
	for (size_t i = 0; i < json_count(cs); i++) {
		e = contact_parse(json_at(cs, i), file, i, &pe->contacts[i],
				  err, errsz);
		if (e)
			return e;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(pe->contacts[j].number,
				    pe->contacts[i].number))
				return json_fail(err, errsz, file, json_line(
						   json_at(cs, i)), "contact "
					   "%zu has the number of contact %zu",
					   i + 1, j + 1);
		pe->ncontacts++;
	}
	pe->updated_ms = clock_wall_ms();
	return 0;
}

int elder_site_load(struct elder *e, const struct json *root,
		    const char *file, char *err, size_t errsz)
{
	const struct json *els = json_get(root, "elders");
	struct store_elder *pe;
	int r = 0;

	if (!els)
		return 0;
	if (json_type(els) != JSON_OBJECT)
		return json_fail(err, errsz, file, json_line(els), "\"elders\" "
				 "must be an object of account: profile");
	pe = mem_zalloc(sizeof(*pe) * (json_count(els) ? json_count(els) :
				       1), NULL);
	if (!pe)
		return ENOMEM;
	/* Every profile is checked before any is stored: all or nothing. */
	for (size_t i = 0; i < json_count(els) && !r; i++) {
		if (!account_ok(json_key(els, i)))
			r = json_fail(err, errsz, file, json_key_line(els, i),
				"profile \"%s\": the account must be 1-63 of "
				"letters, digits, - _ . +", json_key(els, i));
		else
			r = elder_parse(json_at(els, i), file,
					json_key(els, i), &pe[i], err, errsz);
	}
	for (size_t i = 0; e && !r && i < json_count(els); i++) {
		struct store_account acc;
		if (store_account_get(e->st, pe[i].account, &acc))
			log_warn("elder: profile %s: no such SIP account yet",
				 pe[i].account);
		else if (strcmp(acc.kind, !strcmp(pe[i].kind, "booth") ?
				"booth" : "elder-device"))
			log_warn("elder: profile %s is of kind %s but the "
				 "account is of kind %s", pe[i].account,
				 pe[i].kind, acc.kind);
		r = store_elder_put(e->st, &pe[i]);
		if (r)
			re_snprintf(err, errsz, "%s: the store refused the "
				    "profile %s: %m", file, pe[i].account, r);
	}
	if (e && !r && json_count(els))
		log_info("elder: %zu profile(s) from %s", json_count(els),
			 file);
	mem_deref(pe);
	return r;
}
