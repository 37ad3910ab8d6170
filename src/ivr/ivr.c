/*
 * The IVR engine.  Each call to a hotline walks its flow one node at a
 * time; a node plays its prompts in the call's language and, if it asks
 * for a key, waits with a timer in the node's state.  Keys typed during a
 * prompt that allows barge-in stop it and count as the answer.
 *
 * Prompts are loaded once: the built-in set rendered at build time, then
 * the site's overrides on top.  A reload builds a new site; calls in
 * progress keep a reference to the one they started with.
 */
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <re.h>
#include "core/clock.h"
#include "core/log.h"
#include "core/event.h"
#include "site/json.h"
#include "store/store.h"
#include "media/audio.h"
#include "call/call.h"
#include "ivr/schedule.h"
#include "acd/desk.h"
#include "ivr/ivr_int.h"

enum { HT_PROMPTS = 256, MAX_PLAY = 24, DIGITS_MAX = 24,
       NUMBER_GAP_S = 10 };

struct prompt {
	struct le he;
	char key[NODE_NAME_MAX + 4];    /* "zh/name" */
	struct audio *audio;
};

struct ivr {
	struct calls *cs;
	struct store *st;
	struct ivr_site *site;
	struct hash *prompts;
	struct list calls;
	char *prompts_dir, *overrides_dir, *recordings_dir;
	uint32_t retention_days;
	struct tmr tmr_cleanup;
	struct call_app *app;
	struct desk *desk;
};

/* What a survey does when the hotline asks for one after the agent. */
static const struct node survey_node = {
	.name = "survey", .type = N_SURVEY, .prompts = {"survey"},
	.nprompts = 1, .next = -1, .timeout_s = 8, .retries = 1,
	.fallback = -1, .barge = true,
};

struct icall {
	struct le le;
	struct ivr *ivr;
	struct call *call;
	struct ivr_site *site;
	const struct hotline *hl;
	const struct flow *flow;
	const struct node *node;
	char lang[4];
	uint32_t tries;
	char digits[DIGITS_MAX + 1];
	size_t ndigits;
	bool waiting;              /* prompts done, a key is awaited */
	bool voicemail_on;         /* recording a message now */
	bool transferring;
	struct desk_wait *w;       /* in line, ringing or talking via the desk */
	bool announcing;
	struct tmr tmr;
};

static void enter(struct icall *ic, int idx);
static void run_node(struct icall *ic, const struct node *n);

/* ---------- prompts ---------- */

static void prompt_destructor(void *arg)
{
	struct prompt *p = arg;

	hash_unlink(&p->he);
	mem_deref(p->audio);
}

static bool prompt_cmp(struct le *le, void *arg)
{
	const struct prompt *p = le->data;
	return !strcmp(p->key, arg);
}

static struct audio *prompt_find(const struct ivr *ivr, const char *lang,
				 const char *name)
{
	char key[NODE_NAME_MAX + 4];
	struct prompt *p;

	re_snprintf(key, sizeof(key), "%s/%s", lang, name);
	p = list_ledata(hash_lookup(ivr->prompts, hash_joaat_str(key),
				    prompt_cmp, key));
	return p ? p->audio : NULL;
}

static int load_dir(struct ivr *ivr, const char *dir, const char *lang)
{
	char path[600], err[256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	re_snprintf(path, sizeof(path), "%s/%s", dir, lang);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct prompt *p, *old;
		char key[NODE_NAME_MAX + 4];

		if (len < 5 || len - 4 >= NODE_NAME_MAX ||
		    strcmp(de->d_name + len - 4, ".wav"))
			continue;
		re_snprintf(key, sizeof(key), "%s/%b", lang, de->d_name,
			    len - 4);
		p = mem_zalloc(sizeof(*p), prompt_destructor);
		if (!p)
			break;
		str_ncpy(p->key, key, sizeof(p->key));
		re_snprintf(path, sizeof(path), "%s/%s/%s", dir, lang,
			    de->d_name);
		if (audio_load_wav(&p->audio, path, err, sizeof(err))) {
			log_warn("ivr: prompt %s", err);
			mem_deref(p);
			continue;
		}
		/* A site's recording replaces the built-in one. */
		old = list_ledata(hash_lookup(ivr->prompts,
					      hash_joaat_str(key), prompt_cmp,
					      key));
		mem_deref(old);
		hash_append(ivr->prompts, hash_joaat_str(key), &p->he, p);
		n++;
	}
	closedir(d);
	return n;
}

static void load_prompts(struct ivr *ivr)
{
	int n = 0;

	hash_flush(ivr->prompts);
	n += load_dir(ivr, ivr->prompts_dir, "zh");
	n += load_dir(ivr, ivr->prompts_dir, "en");
	n += load_dir(ivr, ivr->overrides_dir, "zh");
	n += load_dir(ivr, ivr->overrides_dir, "en");
	log_info("ivr: %d prompt recordings loaded", n);
}

/* ---------- saying numbers ---------- */

static size_t words_en(uint32_t n, const char **w, size_t max)
{
	static const char *teens[] = {"num_10", "num_11", "num_12", "num_13",
				      "num_14", "num_15", "num_16", "num_17",
				      "num_18", "num_19"};
	static const char *tens[] = {"", "", "num_20", "num_30", "num_40",
				     "num_50", "num_60", "num_70", "num_80",
				     "num_90"};
	static const char *digits[] = {"digit_0", "digit_1", "digit_2",
				       "digit_3", "digit_4", "digit_5",
				       "digit_6", "digit_7", "digit_8",
				       "digit_9"};
	size_t k = 0;

#define PUT(x) do { if (k < max) w[k++] = (x); } while (0)
	if (n == 0) {
		PUT(digits[0]);
		return k;
	}
	if (n >= 1000) {
		k += words_en(n / 1000, w + k, max - k);
		PUT("num_1000");
		n %= 1000;
	}
	if (n >= 100) {
		PUT(digits[n / 100]);
		PUT("num_100");
		n %= 100;
	}
	if (n >= 20) {
		PUT(tens[n / 10]);
		if (n % 10)
			PUT(digits[n % 10]);
	}
	else if (n >= 10) {
		PUT(teens[n - 10]);
	}
	else if (n) {
		PUT(digits[n]);
	}
	return k;
}

/* Chinese: 3 三, 12 十二, 20 二十, 105 一百零五, 2000 两千, 10086 一万零八十六. */
static size_t words_zh(uint32_t n, const char **w, size_t max)
{
	static const char *digits[] = {"digit_0", "digit_1", "digit_2",
				       "digit_3", "digit_4", "digit_5",
				       "digit_6", "digit_7", "digit_8",
				       "digit_9"};
	static const char *units[] = {"num_1000", "num_100", "num_10", ""};
	static const uint32_t vals[] = {1000, 100, 10, 1};
	size_t k = 0;
	bool zero = false, started = false;

	if (n == 0) {
		PUT(digits[0]);
		return k;
	}
	if (n >= 10000) {
		k += words_zh(n / 10000, w + k, max - k);
		PUT("num_10000");
		n %= 10000;
		started = true;
		zero = n > 0 && n < 1000;
	}
	for (int i = 0; i < 4; i++) {
		uint32_t d = n / vals[i] % 10;
		if (!d) {
			if (started)
				zero = true;
			continue;
		}
		if (zero && started)
			PUT(digits[0]);
		zero = false;
		/* 十二 not 一十二 when ten leads; 两 before 百, 千 */
		if (!(i == 2 && d == 1 && !started))
			PUT(d == 2 && i < 2 ? "num_2_liang" : digits[d]);
		if (units[i][0])
			PUT(units[i]);
		started = true;
	}
	return k;
#undef PUT
}

size_t ivr_number_words(const char *lang, uint32_t n, const char **names,
			size_t max)
{
	if (n > 99999999)
		return 0;
	return !strcmp(lang, "en") ? words_en(n, names, max) :
		words_zh(n, names, max);
}

size_t ivr_duration_words(const char *lang, uint32_t seconds,
			  const char **names, size_t max)
{
	bool minutes = seconds >= 60;
	uint32_t n = minutes ? (seconds + 59) / 60 : seconds;
	size_t k;

	if (max < 2)
		return 0;
	k = ivr_number_words(lang, n, names, max - 1);
	if (!k)
		return 0;
	names[k++] = minutes ? "minutes" : "seconds";
	return k;
}

size_t ivr_say_number(const struct ivr *ivr, const char *lang, uint32_t n,
		      struct audio **parts, size_t max)
{
	const char *names[32];
	size_t k = ivr_number_words(lang, n, names, max < 32 ? max : 32);

	for (size_t i = 0; i < k; i++) {
		parts[i] = prompt_find(ivr, lang, names[i]);
		if (!parts[i])
			return 0;
	}
	return k;
}

/* ---------- the walk ---------- */

static void icall_destructor(void *arg)
{
	struct icall *ic = arg;

	tmr_cancel(&ic->tmr);
	list_unlink(&ic->le);
	mem_deref(ic->call);
	mem_deref(ic->site);
}

static void hangup_cb(void *arg)
{
	struct icall *ic = arg;
	call_hangup(ic->call, 200, "IVR Hangup");
}

/* Play names in the call's language; doneh(ic) when they have played. */
static void play_names(struct icall *ic, const char (*names)[NODE_NAME_MAX],
		       size_t n, mrelay_play_h *doneh)
{
	struct audio *list[MAX_PLAY];
	size_t k = 0;

	for (size_t i = 0; i < n && k < MAX_PLAY; i++) {
		struct audio *a = prompt_find(ic->ivr, ic->lang, names[i]);
		if (a)
			list[k++] = a;
		else
			log_warn("ivr: no prompt %s/%s", ic->lang, names[i]);
	}
	if (!k || call_play(ic->call, list, k, doneh, ic)) {
		if (doneh)
			doneh(ic);
	}
}

static void play_one(struct icall *ic, const char *name, mrelay_play_h *doneh)
{
	char one[1][NODE_NAME_MAX];

	str_ncpy(one[0], name, NODE_NAME_MAX);
	play_names(ic, one, 1, doneh);
}

static void input_timeout(void *arg);

/* The prompts have played; now it is the caller's turn. */
static void await_key(void *arg)
{
	struct icall *ic = arg;
	const struct node *n = ic->node;
	uint32_t t = n->type == N_VOICEMAIL ? (n->vm == VM_NUMBER ?
					      NUMBER_GAP_S : n->max_s) :
		n->timeout_s ? n->timeout_s : 5;

	ic->waiting = true;
	if (n->type == N_VOICEMAIL && n->vm == VM_MESSAGE) {
		char path[512];
		re_snprintf(path, sizeof(path), "%s/vm-%s.wav",
			    ic->ivr->recordings_dir, call_id(ic->call));
		ic->voicemail_on = !call_record_start(ic->call, path, false);
	}
	tmr_start(&ic->tmr, t * 1000ULL, input_timeout, ic);
}

static void replay(void *arg)
{
	struct icall *ic = arg;
	run_node(ic, ic->node);
}

static void give_up(void *arg)
{
	struct icall *ic = arg;
	const struct node *n = ic->node;

	if (n->type == N_LANGUAGE && n->fallback < 0) {
		/* Nobody chose: the hotline's own language. */
		enter(ic, n->next);
		return;
	}
	if (n->fallback >= 0 && n != &survey_node) {
		enter(ic, n->fallback);
		return;
	}
	call_hangup(ic->call, 200, "IVR No Input");
}

/* A wrong key or no key at all: say so, then ask again or give up. */
static void retry(struct icall *ic, const char *prompt)
{
	const struct node *n = ic->node;

	tmr_cancel(&ic->tmr);
	ic->waiting = false;
	ic->ndigits = 0;
	call_path_add(ic->call, prompt);
	play_one(ic, prompt, ++ic->tries <= n->retries ? replay : give_up);
}

static void next_or_hangup(struct icall *ic, int next)
{
	if (next >= 0)
		enter(ic, next);
	else
		call_hangup(ic->call, 200, "IVR Hangup");
}

static void next_cb(void *arg)
{
	struct icall *ic = arg;
	next_or_hangup(ic, ic->node->next);
}

static void callback_store(struct icall *ic, const char *number,
			   const char *recording)
{
	struct store_callback cb;
	const struct store_cdr *rec = call_record(ic->call);

	memset(&cb, 0, sizeof(cb));
	cb.created_ms = clock_wall_ms();
	str_ncpy(cb.callid, call_id(ic->call), sizeof(cb.callid));
	str_ncpy(cb.caller, rec->caller, sizeof(cb.caller));
	str_ncpy(cb.hotline, ic->hl->number, sizeof(cb.hotline));
	str_ncpy(cb.number, number, sizeof(cb.number));
	str_ncpy(cb.recording, recording, sizeof(cb.recording));
	if (store_callback_add(ic->ivr->st, &cb))
		log_msg(LOG_ERROR, call_id(ic->call), "ivr: call-back request"
			" not stored");
	else
		log_msg(LOG_INFO, call_id(ic->call), "ivr: call-back request "
			"%lld (%s)", (long long)cb.id, number[0] ? number :
			"message");
}

/* A message or a number is complete: keep it, thank, move on. */
static void voicemail_done(struct icall *ic)
{
	const struct store_cdr *rec = call_record(ic->call);

	tmr_cancel(&ic->tmr);
	ic->waiting = false;
	if (ic->voicemail_on) {
		ic->voicemail_on = false;
		call_record_stop(ic->call);
		callback_store(ic, rec->caller, rec->recording);
		call_path_add(ic->call, "message");
		play_one(ic, "callback_ok", next_cb);
		return;
	}
	ic->digits[ic->ndigits] = '\0';
	if (!ic->ndigits) {
		retry(ic, "timeout");
		return;
	}
	callback_store(ic, ic->digits, "");
	call_path_add(ic->call, "number");
	play_one(ic, "callback_ok", next_cb);
}

static void input_timeout(void *arg)
{
	struct icall *ic = arg;
	const struct node *n = ic->node;

	if (n->type == N_VOICEMAIL && (ic->voicemail_on || ic->ndigits)) {
		voicemail_done(ic);
		return;
	}
	retry(ic, "timeout");
}

static void survey_thanks_done(void *arg)
{
	struct icall *ic = arg;
	next_or_hangup(ic, ic->node == &survey_node ? -1 : ic->node->next);
}

/* A key that answers the current node. */
static void answer(struct icall *ic, char key)
{
	const struct node *n = ic->node;
	char step[NODE_NAME_MAX + 4];
	int k = key_index(key);

	switch (n->type) {

	case N_MENU:
		if (k < 0 || n->options[k] < 0) {
			retry(ic, "invalid");
			return;
		}
		tmr_cancel(&ic->tmr);
		re_snprintf(step, sizeof(step), "%s:%c", n->name, key);
		call_path_add(ic->call, step);
		enter(ic, n->options[k]);
		return;

	case N_LANGUAGE:
		if (key != '1' && key != '2') {
			retry(ic, "invalid");
			return;
		}
		tmr_cancel(&ic->tmr);
		str_ncpy(ic->lang, key == '1' ? "zh" : "en", sizeof(ic->lang));
		call_set_language(ic->call, ic->lang);
		re_snprintf(step, sizeof(step), "%s:%s", n->name, ic->lang);
		call_path_add(ic->call, step);
		enter(ic, n->next);
		return;

	case N_SURVEY:
		if (key < '1' || key > '5') {
			retry(ic, "invalid");
			return;
		}
		tmr_cancel(&ic->tmr);
		ic->waiting = false;
		call_set_survey(ic->call, key - '0');
		re_snprintf(step, sizeof(step), "survey:%c", key);
		call_path_add(ic->call, step);
		play_one(ic, "survey_thanks", survey_thanks_done);
		return;

	case N_VOICEMAIL:
		if (key == '#') {
			voicemail_done(ic);
			return;
		}
		if (n->vm == VM_NUMBER && key >= '0' && key <= '9' &&
		    ic->ndigits < DIGITS_MAX) {
			ic->digits[ic->ndigits++] = key;
			tmr_start(&ic->tmr, NUMBER_GAP_S * 1000ULL,
				  input_timeout, ic);
		}
		return;

	default:
		return;
	}
}

static void dtmf_handler(struct call *c, char key, void *arg)
{
	struct icall *ic = arg;
	const struct node *n = ic->node;
	(void)c;

	if (ic->w && key == '*' && !desk_callback(ic->w)) {
		/* A call back instead of waiting: the place in line stays. */
		char step[NODE_NAME_MAX + 16];
		ic->w = NULL;
		re_snprintf(step, sizeof(step), "%s:callback", n->name);
		call_path_add(ic->call, step);
		call_stop_play(ic->call);
		play_one(ic, "callback_ok", hangup_cb);
		return;
	}
	if (!n || ic->transferring || ic->w)
		return;
	log_msg(LOG_DEBUG, call_id(ic->call), "ivr: key %c at %s", key,
		n->name);
	if (ic->waiting) {
		answer(ic, key);
		return;
	}
	/* During a prompt: barge in where the node allows it. */
	if (!n->barge)
		return;
	switch (n->type) {
	case N_PLAY:
		call_stop_play(ic->call);
		next_or_hangup(ic, n->next);
		break;
	case N_MENU:
	case N_LANGUAGE:
	case N_SURVEY:
		call_stop_play(ic->call);
		ic->waiting = true;
		answer(ic, key);
		break;
	case N_VOICEMAIL:
		/* Skip to the recording, or to the digits. */
		call_stop_play(ic->call);
		await_key(ic);
		if (n->vm == VM_NUMBER)
			answer(ic, key);
		break;
	default:
		break;
	}
}

static void hold_music(void *arg);

/* In line: the comfort prompt, over and over, until the desk decides. */
static void hold_music(void *arg)
{
	struct icall *ic = arg;

	ic->announcing = false;
	if (ic->w)
		play_one(ic, "hold_music", hold_music);
}

static void desk_handler(enum desk_event ev, uint32_t position,
			 uint32_t ewt_s, void *arg)
{
	struct icall *ic = arg;
	const struct node *n = ic->node;
	char step[NODE_NAME_MAX + 16];

	switch (ev) {

	case DESK_POSITION: {
		/* "您前面还有 3 位" / "You are number 3 in line", then
		 * "预计等待 2 分钟" / "Your estimated wait is 2 minutes" */
		struct audio *list[32];
		size_t k = 0, m;
		struct audio *a = prompt_find(ic->ivr, ic->lang, "pos_before");

		if (a)
			list[k++] = a;
		m = ivr_say_number(ic->ivr, ic->lang,
				   !strcmp(ic->lang, "zh") ? position - 1 :
				   position, list + k, 12);
		k += m;
		a = prompt_find(ic->ivr, ic->lang, "pos_after");
		if (a)
			list[k++] = a;
		if (m && ewt_s) {
			const char *names[12];
			size_t nw = ivr_duration_words(ic->lang, ewt_s, names,
						       ARRAY_SIZE(names));
			struct audio *wb = prompt_find(ic->ivr, ic->lang,
						       "wait_before");
			if (nw && wb)
				list[k++] = wb;
			for (size_t i = 0; wb && i < nw; i++) {
				a = prompt_find(ic->ivr, ic->lang, names[i]);
				if (a)
					list[k++] = a;
			}
		}
		if (m && !call_play(ic->call, list, k, hold_music, ic))
			ic->announcing = true;
		return;
	}

	case DESK_CONNECTED:
		re_snprintf(step, sizeof(step), "%s:connected", n->name);
		call_path_add(ic->call, step);
		if (ic->hl->record != REC_NONE) {
			char path[512];
			re_snprintf(path, sizeof(path), "%s/%s.wav",
				    ic->ivr->recordings_dir,
				    call_id(ic->call));
			(void)call_record_start(ic->call, path,
						ic->hl->record == REC_STEREO);
		}
		return;

	default:
		/* Out of line (timeout, full, empty): w is gone. */
		ic->w = NULL;
		re_snprintf(step, sizeof(step), "%s:%s", n->name,
			    ev == DESK_TIMEOUT ? "timeout" : ev == DESK_FULL ?
			    "full" : "empty");
		call_path_add(ic->call, step);
		call_stop_play(ic->call);
		if (n->fallback >= 0)
			enter(ic, n->fallback);
		else
			play_one(ic, "no_agent", hangup_cb);
		return;
	}
}

static void queue_now(void *arg)
{
	struct icall *ic = arg;
	const struct node *n = ic->node;
	char step[NODE_NAME_MAX + 16];
	int err = ENOENT;

	if (ic->ivr->desk)
		err = desk_join(ic->ivr->desk, ic->call, n->queue, ic->lang,
				n->skill, n->priority, desk_handler, ic,
				&ic->w);
	if (err) {
		re_snprintf(step, sizeof(step), "%s:%s", n->name,
			    err == EOVERFLOW ? "full" : err == ENODEV ?
			    "empty" : "unavailable");
		call_path_add(ic->call, step);
		if (n->fallback >= 0)
			enter(ic, n->fallback);
		else
			play_one(ic, "no_agent", hangup_cb);
		return;
	}
	if (ic->w)
		hold_music(ic);
}

static void transfer_now(void *arg)
{
	struct icall *ic = arg;
	const struct node *n = ic->node;
	int err;

	ic->transferring = true;
	err = call_transfer(ic->call, n->target, 0);
	if (err) {
		ic->transferring = false;
		call_path_add(ic->call, err == EPERM ? "forbidden" :
			      "unreachable");
		if (n->fallback >= 0)
			enter(ic, n->fallback);
		else
			play_one(ic, "no_agent", hangup_cb);
	}
}

static void transfer_handler(struct call *c, uint16_t scode, void *arg)
{
	struct icall *ic = arg;
	const struct node *n = ic->node;
	char step[NODE_NAME_MAX + 16];

	if (ic->w) {
		desk_transfer_result(ic->w, scode);
		return;
	}

	ic->transferring = false;
	if (scode == 200) {
		re_snprintf(step, sizeof(step), "%s:connected", n->name);
		call_path_add(c, step);
		if (ic->hl->record != REC_NONE) {
			char path[512];
			re_snprintf(path, sizeof(path), "%s/%s.wav",
				    ic->ivr->recordings_dir, call_id(c));
			(void)call_record_start(c, path,
						ic->hl->record == REC_STEREO);
		}
		return;
	}
	re_snprintf(step, sizeof(step), "%s:%u", n->name, scode);
	call_path_add(c, step);
	if (n->fallback >= 0)
		enter(ic, n->fallback);
	else
		play_one(ic, "no_agent", hangup_cb);
}

static void unbridge_handler(struct call *c, void *arg)
{
	struct icall *ic = arg;

	call_record_stop(c);
	if (ic->w) {
		desk_bridge_end(ic->w, true);
		ic->w = NULL;
	}
	if (!ic->hl->survey) {
		call_hangup(c, 200, "Agent Hung Up");
		return;
	}
	ic->node = &survey_node;
	ic->tries = 0;
	call_path_add(c, survey_node.name);
	run_node(ic, &survey_node);
}

static void close_handler(struct call *c, void *arg)
{
	struct icall *ic = arg;
	(void)c;

	if (ic->w) {
		desk_leave(ic->w, true);
		ic->w = NULL;
	}
	/* A caller who hangs up while leaving a message still leaves it. */
	if (ic->voicemail_on) {
		const struct store_cdr *rec = call_record(ic->call);
		callback_store(ic, rec->caller, rec->recording);
	}
	else if (ic->node && ic->node->type == N_VOICEMAIL && ic->ndigits) {
		ic->digits[ic->ndigits] = '\0';
		callback_store(ic, ic->digits, "");
	}
	mem_deref(ic);
}

static void hours_next(struct icall *ic, const struct node *n)
{
	bool open = schedule_is_open(ic->site->schedules[n->schedule],
				     clock_wall_s());
	char step[NODE_NAME_MAX + 8];

	re_snprintf(step, sizeof(step), "%s:%s", n->name,
		    open ? "open" : "closed");
	call_path_add(ic->call, step);
	enter(ic, open ? n->open : n->closed);
}

/* Start node n (again): its prompts, then what it waits for. */
static void run_node(struct icall *ic, const struct node *n)
{
	ic->waiting = false;
	ic->ndigits = 0;
	tmr_cancel(&ic->tmr);

	switch (n->type) {
	case N_PLAY:
		play_names(ic, n->prompts, n->nprompts, next_cb);
		break;
	case N_MENU:
	case N_LANGUAGE:
	case N_SURVEY:
	case N_VOICEMAIL:
		play_names(ic, n->prompts, n->nprompts, await_key);
		break;
	case N_HOURS:
		hours_next(ic, n);
		break;
	case N_QUEUE:
	case N_TRANSFER:
		play_names(ic, n->prompts, n->nprompts, n->queue[0] ?
			   queue_now : transfer_now);
		break;
	case N_HANGUP:
		play_names(ic, n->prompts, n->nprompts, hangup_cb);
		break;
	default:
		call_hangup(ic->call, 500, "IVR Error");
		break;
	}
}

static void enter(struct icall *ic, int idx)
{
	if (idx < 0 || (size_t)idx >= ic->flow->n) {
		call_hangup(ic->call, 200, "IVR Hangup");
		return;
	}
	ic->node = &ic->flow->nodes[idx];
	ic->tries = 0;
	call_path_add(ic->call, ic->node->name);
	run_node(ic, ic->node);
}

/* ---------- the application ---------- */

/* *65EXT listen, *66EXT whisper, *67EXT barge */
static bool is_supervision(const char *dialled)
{
	return strlen(dialled) > 3 && dialled[0] == '*' && dialled[1] == '6' &&
		dialled[2] >= '5' && dialled[2] <= '7';
}

static bool is_feature(const char *dialled)
{
	return !strcmp(dialled, "*61") || !strcmp(dialled, "*62") ||
		!strcmp(dialled, "*63") || !strcmp(dialled, "*64") ||
		is_supervision(dialled);
}

static bool claim_handler(const char *dialled, void *arg)
{
	struct ivr *ivr = arg;
	return site_hotline(ivr->site, dialled) != NULL ||
		(ivr->desk && is_feature(dialled));
}

/* No reference is held: if the call ends first, its player stops and
 * this is never called. */
static void feature_done(void *arg)
{
	call_hangup(arg, 200, "Feature Code");
}

static void supervise(struct ivr *ivr, struct call *c, const char *code)
{
	const enum msup_mode modes[] = {MSUP_LISTEN, MSUP_WHISPER,
					MSUP_BARGE};
	struct call *target = desk_supervisable(ivr->desk, call_caller(c),
						code + 3);

	call_path_add(c, code);
	if (!target) {
		struct audio *a = prompt_find(ivr, "zh", "invalid");
		if (!a || call_play(c, &a, 1, feature_done, c))
			call_hangup(c, 200, "Nothing To Supervise");
		return;
	}
	call_set_handlers(c, &(struct call_handlers){0}, NULL);
	if (call_supervise(target, c, modes[code[2] - '5']))
		call_hangup(c, 200, "Cannot Supervise");
}

/* An agent's phone dialled a feature code: change its state, say so. */
static void feature(struct ivr *ivr, struct call *c, const char *code)
{
	const char *prompt = "agent_unknown";
	struct audio *a;

	if (is_supervision(code)) {
		supervise(ivr, c, code);
		return;
	}
	(void)desk_feature(ivr->desk, call_caller(c), code, &prompt);
	call_path_add(c, code);
	a = prompt_find(ivr, "zh", prompt);
	if (!a || call_play(c, &a, 1, feature_done, c))
		call_hangup(c, 200, "Feature Code");
}

static void start_handler(struct call *c, void *arg)
{
	static const struct call_handlers h = {
		.dtmfh = dtmf_handler,
		.transferh = transfer_handler,
		.unbridgeh = unbridge_handler,
		.closeh = close_handler,
	};
	struct ivr *ivr = arg;
	const struct store_cdr *rec = call_record(c);
	struct icall *ic;

	if (is_feature(rec->dialled) && !site_hotline(ivr->site,
						      rec->dialled)) {
		feature(ivr, c, rec->dialled);
		return;
	}
	ic = mem_zalloc(sizeof(*ic), icall_destructor);
	if (!ic) {
		call_hangup(c, 500, "Server Error");
		return;
	}
	ic->ivr = ivr;
	ic->call = mem_ref(c);
	ic->site = mem_ref(ivr->site);
	ic->hl = site_hotline(ic->site, rec->dialled);
	ic->flow = &ic->site->flows[ic->hl->flow];
	str_ncpy(ic->lang, ic->hl->lang, sizeof(ic->lang));
	list_append(&ivr->calls, &ic->le, ic);

	call_set_hotline(c, ic->hl->number);
	call_set_language(c, ic->lang);
	call_set_handlers(c, &h, ic);
	log_msg(LOG_INFO, call_id(c), "ivr: hotline %s (%s), flow %s",
		ic->hl->number, ic->hl->name, ic->flow->name);
	enter(ic, ic->flow->start);
}

void ivr_set_desk(struct ivr *ivr, struct desk *desk)
{
	ivr->desk = desk;
	(void)ivr_reload(ivr);
}

int ivr_reload(struct ivr *ivr)
{
	struct ivr_site *site = NULL;
	struct json *root = NULL;
	char *body = NULL, err[512];
	int e;

	load_prompts(ivr);
	e = store_site_get(ivr->st, &body);
	if (e == ENOENT) {
		log_info("ivr: no site imported yet; no hotlines");
		ivr->site = mem_deref(ivr->site);
		return 0;
	}
	if (e)
		return e;
	e = json_parse(&root, body, strlen(body), err, sizeof(err));
	if (!e && ivr->desk) {
		int de = desk_site_load(ivr->desk, root, "(stored site)", err,
					sizeof(err));
		if (de && de != EBUSY)
			log_error("ivr: queues and agents not loaded: %s",
				  err);
	}
	if (!e)
		e = ivr_site_load(&site, root, "(stored site)",
				  ivr->prompts_dir, ivr->overrides_dir, err,
				  sizeof(err));
	if (e) {
		log_error("ivr: the stored site is not usable: %s", err);
		goto out;
	}
	mem_deref(ivr->site);
	ivr->site = site;
	log_info("ivr: %zu hotline(s), %zu flow(s)", site->nhotlines,
		 site->nflows);
 out:
	mem_deref(root);
	mem_deref(body);
	return e;
}

/* Recordings are personal data: none is kept past the retention. */
static void cleanup(void *arg)
{
	struct ivr *ivr = arg;
	time_t limit = time(NULL) - (time_t)ivr->retention_days * 86400;
	struct dirent *de;
	unsigned n = 0;
	DIR *d = opendir(ivr->recordings_dir);

	while (d && (de = readdir(d))) {
		char path[768];
		struct stat stt;
		size_t len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 4, ".wav"))
			continue;
		re_snprintf(path, sizeof(path), "%s/%s", ivr->recordings_dir,
			    de->d_name);
		if (!stat(path, &stt) && stt.st_mtime < limit && !unlink(path))
			n++;
	}
	if (d)
		closedir(d);
	if (n)
		log_info("ivr: %u recording(s) older than %u days deleted", n,
			 ivr->retention_days);
	tmr_start(&ivr->tmr_cleanup, 3600 * 1000, cleanup, ivr);
}

void ivr_set_retention(struct ivr *ivr, uint32_t days)
{
	ivr->retention_days = days;
	cleanup(ivr);
}

static void ivr_destructor(void *arg)
{
	struct ivr *ivr = arg;

	tmr_cancel(&ivr->tmr_cleanup);
	mem_deref(ivr->app);
	list_flush(&ivr->calls);
	hash_flush(ivr->prompts);
	mem_deref(ivr->prompts);
	mem_deref(ivr->site);
	mem_deref(ivr->st);
	mem_deref(ivr->prompts_dir);
	mem_deref(ivr->overrides_dir);
	mem_deref(ivr->recordings_dir);
}

int ivr_alloc(struct ivr **ivrp, struct calls *cs, struct store *st,
	      const char *prompts_dir, const char *overrides_dir,
	      const char *recordings_dir)
{
	struct ivr *ivr;
	int err;

	ivr = mem_zalloc(sizeof(*ivr), ivr_destructor);
	if (!ivr)
		return ENOMEM;
	ivr->cs = cs;
	ivr->st = mem_ref(st);
	err = str_dup(&ivr->prompts_dir, prompts_dir);
	err |= str_dup(&ivr->overrides_dir, overrides_dir);
	err |= str_dup(&ivr->recordings_dir, recordings_dir);
	err |= hash_alloc(&ivr->prompts, HT_PROMPTS);
	if (!err)
		err = ivr_reload(ivr);
	if (err) {
		mem_deref(ivr);
		return err;
	}
	err = calls_app_register(&ivr->app, cs, claim_handler, start_handler,
				 ivr);
	if (err) {
		mem_deref(ivr);
		return err;
	}
	*ivrp = ivr;
	return 0;
}
