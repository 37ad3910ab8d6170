/*
 * api resources under /api/v1: the route table (role for users, scope for
 * tokens) and one handler per resource.  Handlers read the other modules
 * through their public headers and reply with JSON.
 */
#define _GNU_SOURCE  /* strptime */
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <sodium.h>
#include <re.h>
#include "core/clock.h"
#include "core/log.h"
#include "call/call.h"
#include "media/media.h"
#include "sip/sip.h"
#include "store/store.h"
#include "site/json.h"
#include "site/site.h"
#include "acd/desk.h"
#include "kpi/kpi.h"
#include "api/api.h"
#include "api/api_int.h"

static void print_err(struct req *r)
{
	api_error(r, 500, "internal", "out of memory");
}

/* ---------- me ---------- */

static void me(struct req *r)
{
	api_json(r, 200, "{\"user\":\"%H\",\"role\":\"%s\",\"agent\":\"%H\","
		 "\"token\":%s,\"scopes\":\"%H\",\"csrf\":\"%s\"}",
		 store_json_esc, r->who.name, api_role_name(r->who.role),
		 store_json_esc, r->who.agent, r->who.token ? "true" : "false",
		 store_json_esc, r->who.scopes, r->who.csrf);
}

/* ---------- agents ---------- */

struct print_ctx {
	struct api *api;
	struct mbuf *mb;
	const char *only;
	bool first;
	int err;
};

static void agent_print(const struct desk_agent_info *ai, void *arg)
{
	struct print_ctx *pc = arg;

	if (pc->only && strcmp(pc->only, ai->id))
		return;
	pc->err |= mbuf_printf(pc->mb, "%s{\"id\":\"%H\",\"account\":\"%H\","
			       "\"state\":\"%s\",\"reason\":\"%H\","
			       "\"call\":\"%H\",\"queue\":\"%H\","
			       "\"supervisor\":%s}", pc->first ? "" : ",",
			       store_json_esc, ai->id, store_json_esc,
			       ai->account, ai->state, store_json_esc,
			       ai->reason, store_json_esc, ai->callid,
			       store_json_esc, ai->queue,
			       ai->supervisor ? "true" : "false");
	pc->first = false;
}

/* {"items":[…]} from a walk that prints each item into pc. */
static void items_reply(struct req *r, void (*walk)(struct print_ctx *pc))
{
	struct print_ctx pc = {.api = r->api, .mb = mbuf_alloc(1024),
			       .first = true};

	if (!pc.mb)
		return print_err(r);
	pc.err = mbuf_write_str(pc.mb, "{\"items\":[");
	walk(&pc);
	pc.err |= mbuf_write_str(pc.mb, "]}\n");
	if (pc.err)
		print_err(r);
	else
		api_reply(r, 200, "application/json", pc.mb, NULL);
	mem_deref(pc.mb);
}

static void agents_walk(struct print_ctx *pc)
{
	desk_agents(pc->api->desk, agent_print, pc);
}

static void agents_list(struct req *r)
{
	items_reply(r, agents_walk);
}

static void agent_state(struct req *r)
{
	struct json *b;
	const char *state, *reason;
	int err;

	/* An agent changes its own state; supervisors anyone's. */
	if (!r->who.token && r->who.role < ROLE_SUPERVISOR &&
	    strcmp(r->who.agent, r->seg[0])) {
		api_error(r, 403, "forbidden", "agents may set only their own "
			  "state");
		return;
	}
	b = api_body(r);
	if (!b)
		return;
	state = json_str(json_get(b, "state"));
	reason = json_str(json_get(b, "reason"));
	if (!state) {
		api_error(r, 400, "bad_request", "\"state\" is required: "
			  "ready, not-ready or logged-out");
		goto out;
	}
	err = desk_agent_set(r->api->desk, r->seg[0], state, reason);
	if (err == ENOENT)
		api_error(r, 404, "not_found", "no agent %s", r->seg[0]);
	else if (err == EINVAL)
		api_error(r, 400, "bad_request", "state must be ready, "
			  "not-ready or logged-out");
	else if (err == ENOTCONN)
		api_error(r, 409, "phone_unregistered", "agent %s's phone is "
			  "not registered", r->seg[0]);
	else if (err)
		api_error(r, 409, "conflict", "agent %s cannot become %s now "
			  "(its phone is ringing)", r->seg[0], state);
	else {
		struct print_ctx pc = {.mb = mbuf_alloc(256), .first = true,
				       .only = r->seg[0]};
		api_audit(r, "agent.state", "%s %s %s", r->seg[0], state,
			  reason ? reason : "");
		if (pc.mb) {
			desk_agents(r->api->desk, agent_print, &pc);
			api_reply(r, 200, "application/json", pc.mb, NULL);
		}
		mem_deref(pc.mb);
	}
 out:
	mem_deref(b);
}

/* ---------- queues ---------- */

static int64_t midnight_ms(void)
{
	time_t now = (time_t)(clock_wall_ms() / 1000);
	struct tm tm;

	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return (int64_t)mktime(&tm) * 1000;
}

static void queue_print(const struct desk_queue_info *qi, void *arg)
{
	struct print_ctx *pc = arg;
	struct kpi_query q;
	struct kpi k;

	if (pc->only && strcmp(pc->only, qi->name))
		return;
	kpi_query_init(&q);
	q.queue = qi->name;
	q.from_ms = midnight_ms();
	q.occupancy = false;       /* an agent figure, and costly here */
	if (kpi_compute(pc->api->st, &q, &k))
		memset(&k, 0, sizeof(k));
	pc->err |= mbuf_printf(pc->mb, "%s{\"name\":\"%H\",\"waiting\":%u,"
			       "\"longest_wait_s\":%llu,\"aht_s\":%u,"
			       "\"agents\":{\"ready\":%u,\"busy\":%u,"
			       "\"not_ready\":%u,\"logged_out\":%u},"
			       "\"today\":%H}",
			       pc->first ? "" : ",", store_json_esc, qi->name,
			       qi->waiting,
			       (unsigned long long)(qi->longest_wait_ms / 1000),
			       qi->aht_s, qi->ready, qi->busy, qi->not_ready,
			       qi->logged_out, kpi_json, &k);
	pc->first = false;
}

int api_queues_json(struct api *api, struct mbuf *mb)
{
	struct print_ctx pc = {.api = api, .mb = mb, .first = true};

	pc.err = mbuf_write_str(mb, "{\"items\":[");
	desk_queues(api->desk, queue_print, &pc);
	pc.err |= mbuf_write_str(mb, "]}");
	return pc.err ? ENOMEM : 0;
}

static void queues_reply(struct req *r, const char *only)
{
	struct print_ctx pc = {.api = r->api, .mb = mbuf_alloc(1024),
			       .first = true, .only = only};

	if (!pc.mb)
		return print_err(r);
	if (only) {
		desk_queues(r->api->desk, queue_print, &pc);
		pc.err |= mbuf_write_str(pc.mb, "\n");
	}
	else {
		pc.err = api_queues_json(r->api, pc.mb) ||
			mbuf_write_str(pc.mb, "\n");
	}
	if (pc.err)
		print_err(r);
	else if (only && pc.first)
		api_error(r, 404, "not_found", "no queue %s", only);
	else
		api_reply(r, 200, "application/json", pc.mb, NULL);
	mem_deref(pc.mb);
}

static void queues_list(struct req *r)
{
	queues_reply(r, NULL);
}

static void queue_get(struct req *r)
{
	queues_reply(r, r->seg[0]);
}

/* ---------- calls in progress ---------- */

static void call_print(const struct call *c, const char *state, void *arg)
{
	struct print_ctx *pc = arg;
	const struct store_cdr *rec = call_record(c);

	pc->err |= mbuf_printf(pc->mb, "%s{\"id\":\"%H\",\"state\":\"%s\","
			       "\"caller\":\"%H\",\"callee\":\"%H\","
			       "\"dialled\":\"%H\",\"hotline\":\"%H\","
			       "\"language\":\"%H\",\"path\":\"%H\","
			       "\"start_ms\":%lld,\"answer_ms\":%lld}",
			       pc->first ? "" : ",", store_json_esc,
			       call_id(c), state, store_json_esc, rec->caller,
			       store_json_esc, rec->callee, store_json_esc,
			       rec->dialled, store_json_esc, rec->hotline,
			       store_json_esc, rec->language, store_json_esc,
			       rec->path, (long long)rec->start_ms,
			       (long long)rec->answer_ms);
	pc->first = false;
}

static void calls_walk(struct print_ctx *pc)
{
	calls_foreach(pc->api->cs, call_print, pc);
}

static void calls_list(struct req *r)
{
	items_reply(r, calls_walk);
}

/* ---------- lists from the store ---------- */

/* A time parameter: ms since the epoch, or YYYY-MM-DD[THH:MM:SS] local. */
static bool time_param(struct req *r, const char *name, int64_t *v)
{
	char buf[40], *end;
	struct tm tm;

	if (!api_param(r, name, buf, sizeof(buf)))
		return true;
	*v = strtoll(buf, &end, 10);
	if (*buf && !*end)
		return true;
	memset(&tm, 0, sizeof(tm));
	end = strptime(buf, "%Y-%m-%d", &tm);
	if (end && *end == 'T')
		end = strptime(end + 1, "%H:%M:%S", &tm);
	if (!end || *end) {
		api_error(r, 400, "bad_request", "%s must be milliseconds or "
			  "YYYY-MM-DD[THH:MM:SS]", name);
		return false;
	}
	tm.tm_isdst = -1;
	*v = (int64_t)mktime(&tm) * 1000;
	return true;
}

static bool num_param(struct req *r, const char *name, int64_t min,
		      int64_t max, int64_t *v)
{
	char buf[24], *end;
	long long n;

	if (!api_param(r, name, buf, sizeof(buf)))
		return true;
	n = strtoll(buf, &end, 10);
	if (!*buf || *end || n < min || n > max) {
		api_error(r, 400, "bad_request", "%s must be a whole number "
			  "from %lld to %lld", name, (long long)min,
			  (long long)max);
		return false;
	}
	*v = n;
	return true;
}

struct filter_bufs {
	char hotline[32], queue[48], agent[48], caller[128];
};

static bool filter(struct req *r, struct store_filter *f,
		   struct filter_bufs *b)
{
	memset(f, 0, sizeof(*f));
	memset(b, 0, sizeof(*b));
	f->to_ms = INT64_MAX;
	f->limit = 100;
	(void)api_param(r, "hotline", b->hotline, sizeof(b->hotline));
	(void)api_param(r, "queue", b->queue, sizeof(b->queue));
	(void)api_param(r, "agent", b->agent, sizeof(b->agent));
	(void)api_param(r, "caller", b->caller, sizeof(b->caller));
	f->hotline = b->hotline;
	f->queue = b->queue;
	f->agent = b->agent;
	f->caller = b->caller;
	return time_param(r, "from", &f->from_ms) &&
		time_param(r, "to", &f->to_ms) &&
		num_param(r, "limit", 1, 1000, &f->limit) &&
		num_param(r, "offset", 0, INT64_MAX / 2, &f->offset);
}

static void list_reply(struct req *r, enum store_list which,
		       struct store_filter *f)
{
	char fmt[8] = "";
	bool csv = api_param(r, "format", fmt, sizeof(fmt)) &&
		!strcmp(fmt, "csv");
	struct mbuf *mb = mbuf_alloc(4096);
	uint64_t total = 0;
	int err;

	if (!mb)
		return print_err(r);
	if (!csv)
		(void)mbuf_write_str(mb, "{\"items\":[");
	err = store_list(r->api->st, which, f, csv, mb, &total);
	if (!csv)
		err |= mbuf_printf(mb, "],\"total\":%llu,\"limit\":%lld,"
				   "\"offset\":%lld}\n",
				   (unsigned long long)total,
				   (long long)f->limit, (long long)f->offset);
	if (err)
		api_error(r, 500, "store_failed", "the list could not be read");
	else if (csv)
		api_reply(r, 200, "text/csv; charset=utf-8", mb,
			  "Content-Disposition: attachment\r\n");
	else
		api_reply(r, 200, "application/json", mb, NULL);
	mem_deref(mb);
}

#define LIST_HANDLER(fn, which) \
static void fn(struct req *r) \
{ \
	struct store_filter f; \
	struct filter_bufs b; \
	if (filter(r, &f, &b)) \
		list_reply(r, which, &f); \
}

LIST_HANDLER(cdr_list, STORE_LIST_CDR)
LIST_HANDLER(qlog_list, STORE_LIST_QLOG)
LIST_HANDLER(callbacks_list, STORE_LIST_CALLBACKS)
LIST_HANDLER(accounts_list, STORE_LIST_ACCOUNTS)
LIST_HANDLER(users_list, STORE_LIST_USERS)
LIST_HANDLER(audit_list, STORE_LIST_AUDIT)
LIST_HANDLER(wrapups_list, STORE_LIST_WRAPUPS)

/* ---------- KPIs ---------- */

static void kpi_get(struct req *r)
{
	struct filter_bufs b;
	struct store_filter f;
	struct kpi_query q;
	struct kpi k;
	int64_t sl = 20, sh = 5;
	char abandons[8] = "count";

	if (!filter(r, &f, &b) || !num_param(r, "sl", 1, 3600, &sl) ||
	    !num_param(r, "short", 0, 3600, &sh))
		return;
	(void)api_param(r, "sl_abandons", abandons, sizeof(abandons));
	if (strcmp(abandons, "count") && strcmp(abandons, "ignore")) {
		api_error(r, 400, "bad_request", "sl_abandons must be count "
			  "or ignore");
		return;
	}
	kpi_query_init(&q);
	q.queue = b.queue;
	q.agent = b.agent;
	q.hotline = b.hotline;
	q.from_ms = f.from_ms;
	q.to_ms = f.to_ms;
	q.sl_s = (uint32_t)sl;
	q.short_s = (uint32_t)sh;
	q.sl_abandons = !strcmp(abandons, "count");
	if (kpi_compute(r->api->st, &q, &k)) {
		api_error(r, 500, "store_failed", "the figures could not be "
			  "computed");
		return;
	}
	api_json(r, 200, "%H", kpi_json, &k);
}

/* ---------- recordings ---------- */

static void recording_get(struct req *r)
{
	char path[512], *end;
	long long id = strtoll(r->seg[0], &end, 10);
	struct mbuf *mb;
	FILE *f;
	long n;

	if (*end || id <= 0) {
		api_error(r, 400, "bad_request", "a record id is a number");
		return;
	}
	if (store_recording(r->api->st, id, path, sizeof(path))) {
		api_error(r, 404, "not_found", "call %lld has no recording",
			  id);
		return;
	}
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    n > 512L << 20 || fseek(f, 0, SEEK_SET)) {
		if (f)
			fclose(f);
		api_error(r, 404, "not_found", "the recording of call %lld "
			  "is gone (retention)", id);
		return;
	}
	mb = mbuf_alloc((size_t)n + 1);
	if (mb && fread(mb->buf, 1, (size_t)n, f) == (size_t)n) {
		mb->end = (size_t)n;
		api_audit(r, "recording.download", "call %lld", id);
		api_reply(r, 200, "audio/wav", mb, NULL);
	}
	else {
		print_err(r);
	}
	fclose(f);
	mem_deref(mb);
}

/* ---------- call-back tasks and wrap-up ---------- */

static void callback_done(struct req *r)
{
	char *end;
	long long id = strtoll(r->seg[0], &end, 10);
	int err;

	if (*end || id <= 0) {
		api_error(r, 400, "bad_request", "a task id is a number");
		return;
	}
	err = store_callback_done(r->api->st, id);
	if (err == ENOENT) {
		api_error(r, 404, "not_found", "no open task %lld", id);
		return;
	}
	if (err) {
		api_error(r, 500, "store_failed", "the task was not updated");
		return;
	}
	api_audit(r, "callback.done", "task %lld", id);
	api_json(r, 200, "{\"id\":%lld,\"status\":\"done\"}", id);
}

struct find_call {
	const char *id;
	bool found;
};

static void find_call(const struct call *c, const char *state, void *arg)
{
	struct find_call *fc = arg;
	(void)state;

	fc->found |= !strcmp(call_id(c), fc->id);
}

/* A call in progress, or one with a record. */
static bool call_known(struct req *r, const char *id)
{
	struct find_call fc = {.id = id};

	calls_foreach(r->api->cs, find_call, &fc);
	return fc.found || store_cdr_known(r->api->st, id);
}

static void wrapup(struct req *r)
{
	struct json *b = api_body(r);
	const char *category, *notes;
	const struct json *ready;
	int err;

	if (!b)
		return;
	category = json_str(json_get(b, "category"));
	notes = json_str(json_get(b, "notes"));
	ready = json_get(b, "ready");
	if (!category || !*category || strlen(category) > 64 ||
	    (notes && strlen(notes) > 4000) ||
	    (ready && json_type(ready) != JSON_BOOL)) {
		api_error(r, 400, "bad_request", "\"category\" (1-64 "
			  "characters) is required; \"notes\" is at most 4000"
			  " and \"ready\" true or false");
		goto out;
	}
	if (!r->who.agent[0]) {
		api_error(r, 403, "forbidden", "only an agent wraps up calls");
		goto out;
	}
	if (!call_known(r, r->seg[0])) {
		api_error(r, 404, "not_found", "no call %s", r->seg[0]);
		goto out;
	}
	err = store_wrapup(r->api->st, clock_wall_ms(), r->seg[0],
			   r->who.agent, category, notes ? notes : "");
	if (err) {
		api_error(r, 500, "store_failed", "the wrap-up was not saved");
		goto out;
	}
	/* Saving the wrap-up may end it: the agent is ready at once. */
	if (ready && json_bool(ready))
		(void)desk_agent_set(r->api->desk, r->who.agent, "ready", NULL);
	api_json(r, 201, "{\"call\":\"%H\",\"agent\":\"%H\","
		 "\"category\":\"%H\"}", store_json_esc, r->seg[0],
		 store_json_esc, r->who.agent, store_json_esc, category);
 out:
	mem_deref(b);
}

/* ---------- SIP accounts ---------- */

static void account_add(struct req *r)
{
	struct json *b = api_body(r);
	struct store_account a;
	const char *user, *secret, *ext, *kind, *display;
	const struct json *outbound;
	int err;

	if (!b)
		return;
	memset(&a, 0, sizeof(a));
	user = json_str(json_get(b, "user"));
	secret = json_str(json_get(b, "secret"));
	ext = json_str(json_get(b, "ext"));
	kind = json_str(json_get(b, "kind"));
	display = json_str(json_get(b, "display"));
	outbound = json_get(b, "outbound");
	if (!user || !*user || strlen(user) >= sizeof(a.user) ||
	    strspn(user, "abcdefghijklmnopqrstuvwxyz0123456789-_.") !=
	    strlen(user) || !secret || strlen(secret) < 8 ||
	    (ext && (strlen(ext) >= sizeof(a.ext) ||
		     strspn(ext, "0123456789") != strlen(ext))) ||
	    (kind && strcmp(kind, "agent") && strcmp(kind, "booth") &&
	     strcmp(kind, "elder-device") && strcmp(kind, "trunk")) ||
	    (display && strlen(display) >= sizeof(a.display)) ||
	    (outbound && json_type(outbound) != JSON_BOOL)) {
		api_error(r, 400, "bad_request", "\"user\" (lower-case "
			  "letters, digits, -_.) and \"secret\" (8 characters"
			  " or more) are required; \"ext\" is digits; "
			  "\"kind\" is agent, booth, elder-device or trunk");
		goto out;
	}
	str_ncpy(a.user, user, sizeof(a.user));
	str_ncpy(a.realm, r->api->cf.realm, sizeof(a.realm));
	str_ncpy(a.ext, ext ? ext : "", sizeof(a.ext));
	str_ncpy(a.kind, kind ? kind : "agent", sizeof(a.kind));
	str_ncpy(a.display, display ? display : "", sizeof(a.display));
	a.outbound = outbound && json_bool(outbound);
	{
		/* HA1 = MD5(user:realm:secret), as the registrar checks. */
		uint8_t digest[16];
		char *in = NULL;
		if (re_sdprintf(&in, "%s:%s:%s", a.user, a.realm, secret)) {
			print_err(r);
			goto out;
		}
		md5((uint8_t *)in, strlen(in), digest);
		mem_deref(in);
		(void)re_snprintf(a.ha1, sizeof(a.ha1), "%w", digest,
				  sizeof(digest));
	}
	err = store_account_add(r->api->st, &a);
	if (err == EEXIST) {
		api_error(r, 409, "conflict", "the user or the extension is "
			  "taken");
		goto out;
	}
	if (err) {
		api_error(r, 500, "store_failed", "the account was not saved");
		goto out;
	}
	api_audit(r, "account.add", "%s ext %s kind %s%s", a.user, a.ext,
		  a.kind, a.outbound ? " outbound" : "");
	api_json(r, 201, "{\"user\":\"%H\",\"ext\":\"%H\",\"kind\":\"%s\","
		 "\"outbound\":%s}", store_json_esc, a.user, store_json_esc,
		 a.ext, a.kind, a.outbound ? "true" : "false");
 out:
	mem_deref(b);
}

static void account_del(struct req *r)
{
	struct store_account a;

	if (store_account_get(r->api->st, r->seg[0], &a)) {
		api_error(r, 404, "not_found", "no account %s", r->seg[0]);
		return;
	}
	if (store_account_del(r->api->st, r->seg[0])) {
		api_error(r, 500, "store_failed", "the account was not "
			  "deleted");
		return;
	}
	api_audit(r, "account.del", "%s", r->seg[0]);
	api_reply(r, 204, "application/json", NULL, NULL);
}

/* ---------- web users ---------- */

static void user_add(struct req *r)
{
	struct json *b = api_body(r);
	struct store_user u;
	const char *name, *password, *role, *agent;
	int err;

	if (!b)
		return;
	memset(&u, 0, sizeof(u));
	name = json_str(json_get(b, "name"));
	password = json_str(json_get(b, "password"));
	role = json_str(json_get(b, "role"));
	agent = json_str(json_get(b, "agent"));
	if (!name || !*name || strlen(name) >= sizeof(u.name) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") !=
	    strlen(name) || !password || strlen(password) < 8 ||
	    strlen(password) > 256 || api_role(role) == ROLE_NONE ||
	    (agent && strlen(agent) >= sizeof(u.agent))) {
		api_error(r, 400, "bad_request", "\"name\" (lower-case "
			  "letters, digits, -_.), \"password\" (8-256 "
			  "characters) and \"role\" (admin, supervisor, "
			  "agent) are required");
		goto out;
	}
	str_ncpy(u.name, name, sizeof(u.name));
	str_ncpy(u.role, role, sizeof(u.role));
	str_ncpy(u.agent, agent ? agent : "", sizeof(u.agent));
	u.created_ms = clock_wall_ms();
	if (api_password_hash(password, u.hash)) {
		print_err(r);
		goto out;
	}
	err = store_user_add(r->api->st, &u);
	if (err == EEXIST) {
		api_error(r, 409, "conflict", "user %s exists", name);
		goto out;
	}
	if (err) {
		api_error(r, 500, "store_failed", "the user was not saved");
		goto out;
	}
	api_audit(r, "user.add", "%s role %s agent %s", u.name, u.role,
		  u.agent);
	api_json(r, 201, "{\"name\":\"%H\",\"role\":\"%s\",\"agent\":\"%H\"}",
		 store_json_esc, u.name, u.role, store_json_esc, u.agent);
 out:
	mem_deref(b);
}

static void user_del(struct req *r)
{
	int err;

	if (!strcmp(r->seg[0], r->who.name)) {
		api_error(r, 409, "conflict", "you cannot delete yourself");
		return;
	}
	err = store_user_del(r->api->st, r->seg[0]);
	if (err == ENOENT) {
		api_error(r, 404, "not_found", "no user %s", r->seg[0]);
		return;
	}
	if (err) {
		api_error(r, 500, "store_failed", "the user was not deleted");
		return;
	}
	api_audit(r, "user.del", "%s", r->seg[0]);
	api_reply(r, 204, "application/json", NULL, NULL);
}

/* ---------- the site ---------- */

static void site_get(struct req *r)
{
	char *body = NULL;

	if (store_site_get(r->api->st, &body)) {
		api_error(r, 404, "not_found", "no site has been imported");
		return;
	}
	api_json(r, 200, "%s", body);
	mem_deref(body);
}

/* Import through the same checks as `laoyou site import`: the body goes
 * to a file so that errors read "site.json:LINE: …". */
static void site_put(struct req *r)
{
	const struct mbuf *mb = r->msg->mb;
	char path[600], err[512] = "";
	size_t plen;
	FILE *f = NULL;
	int e, fd;

	if (!mb || !mbuf_get_left(mb)) {
		api_error(r, 400, "bad_request", "send the site file as the "
			  "body");
		return;
	}
	/* A file of our own, so that concurrent imports and the operator's
	 * files in data_dir are safe. */
	re_snprintf(path, sizeof(path), "%s/.site-upload-XXXXXX",
		    r->api->cf.data_dir);
	fd = mkstemp(path);
	if (fd >= 0)
		f = fdopen(fd, "wb");
	if (!f || fwrite(mbuf_buf(mb), 1, mbuf_get_left(mb), f) !=
	    mbuf_get_left(mb)) {
		if (f)
			fclose(f);
		else if (fd >= 0)
			close(fd);
		if (fd >= 0)
			(void)unlink(path);
		api_error(r, 500, "write_failed", "cannot stage the site");
		return;
	}
	fclose(f);
	e = site_import(path, &r->api->cf, r->api->st, err, sizeof(err));
	(void)unlink(path);
	if (e) {
		/* Errors name the upload as the admin knows it. */
		plen = strlen(path);
		api_error(r, 422, "invalid_site", "%s%s", !strncmp(err, path,
			  plen) ? "site.json" : "", !strncmp(err, path, plen) ?
			  err + plen : err[0] ? err : "the site was refused");
		return;
	}
	api_audit(r, "site.import", "%zu bytes", mbuf_get_left(mb));
	if (r->api->reloadh && r->api->reloadh(r->api->reload_arg)) {
		api_error(r, 409, "busy", "the site is stored but not yet in "
			  "force: callers are in line; it applies when the "
			  "lines are empty or on reload");
		return;
	}
	api_json(r, 200, "{\"status\":\"imported\"}");
}

/* ---------- calls laoyou places for the web ---------- */

/* Click-to-call and supervision ring the user's own phone first, then
 * act when it answers. */
struct op {
	struct le le;
	struct api *api;
	struct call *call;
	char number[64];           /* click-to-call: whom to dial */
	char target[48];           /* supervision: the agent's ext */
	char sup[64];              /* …and the supervisor's account */
	enum msup_mode mode;
};

static void op_destructor(void *arg)
{
	struct op *op = arg;

	list_unlink(&op->le);
	if (op->call)
		call_set_handlers(op->call, &(struct call_handlers){0}, NULL);
	mem_deref(op->call);
}

static void op_answer(struct call *c, uint16_t scode, void *arg)
{
	struct op *op = arg;
	int err = 0;

	if (scode != 200) {
		mem_deref(op);
		return;
	}
	if (op->number[0]) {
		err = call_transfer(c, op->number, 0);
	}
	else {
		struct call *t = desk_supervisable(op->api->desk, op->sup,
						   op->target);
		err = t ? call_supervise(t, c, op->mode) : ENOENT;
	}
	if (err) {
		log_warn("api: %s for %s failed: %m", op->number[0] ?
			 "click-to-call" : "supervision", op->sup, err);
		call_hangup(c, err == EPERM ? 403 : 480, "Not Possible");
	}
}

static void op_close(struct call *c, void *arg)
{
	(void)c;
	mem_deref(arg);
}

static void op_unbridge(struct call *c, void *arg)
{
	(void)arg;
	call_hangup(c, 200, "Ended");
}

/* The SIP account (with its extension) of the user's agent. */
static bool my_phone(struct req *r, struct store_account *acc)
{
	const char *account = desk_agent_account(r->api->desk, r->who.agent);

	return account && !store_account_get(r->api->st, account, acc) &&
		acc->ext[0];
}

static int op_start(struct req *r, struct op *op,
		    const struct store_account *acc)
{
	static const struct call_handlers h = {
		.answerh = op_answer, .closeh = op_close,
		.unbridgeh = op_unbridge,
	};
	int err;

	op->api = r->api;
	str_ncpy(op->sup, acc->user, sizeof(op->sup));
	err = calls_originate(r->api->cs, acc->ext, acc->user, &h, op,
			      &op->call);
	if (err) {
		mem_deref(op);
		api_error(r, err == ENOTCONN ? 409 : 503, "not_possible",
			  err == ENOTCONN ? "your phone is not registered" :
			  "the call cannot be placed now");
		return err;
	}
	list_append(&r->api->ops, &op->le, op);
	return 0;
}

static void click_to_call(struct req *r)
{
	struct json *b = api_body(r);
	struct store_account acc;
	const char *number;
	struct op *op;

	if (!b)
		return;
	number = json_str(json_get(b, "number"));
	if (!number || !*number || strlen(number) >= sizeof(op->number) ||
	    strspn(number, "0123456789*#+") != strlen(number)) {
		api_error(r, 400, "bad_request", "\"number\" is required "
			  "(digits, * # +)");
		goto out;
	}
	if (!my_phone(r, &acc)) {
		api_error(r, 403, "forbidden", "click-to-call needs a user "
			  "linked to an agent with a phone");
		goto out;
	}
	/* Toll fraud: the phone's account must be allowed outside calls
	 * for a number that is not ours; the transfer checks it again. */
	{
		struct store_account callee;
		bool inside = !store_account_by_ext(r->api->st, number,
						    &callee) &&
			strcmp(callee.kind, "trunk");
		if (!inside && !acc.outbound) {
			api_audit(r, "click-to-call.refused", "%s to %s",
				  acc.user, number);
			api_error(r, 403, "forbidden", "%s may not call "
				  "outside numbers", acc.user);
			goto out;
		}
	}
	op = mem_zalloc(sizeof(*op), op_destructor);
	if (!op) {
		print_err(r);
		goto out;
	}
	str_ncpy(op->number, number, sizeof(op->number));
	if (op_start(r, op, &acc))
		goto out;
	api_audit(r, "click-to-call", "%s to %s", acc.user, number);
	api_json(r, 202, "{\"status\":\"ringing your phone\","
		 "\"number\":\"%H\"}", store_json_esc, number);
 out:
	mem_deref(b);
}

static void supervise(struct req *r)
{
	struct json *b = api_body(r);
	struct store_account acc, target;
	const char *agent, *mode, *account;
	struct op *op;
	int m;

	if (!b)
		return;
	agent = json_str(json_get(b, "agent"));
	mode = json_str(json_get(b, "mode"));
	m = !mode ? -1 : !strcmp(mode, "listen") ? MSUP_LISTEN :
		!strcmp(mode, "whisper") ? MSUP_WHISPER :
		!strcmp(mode, "barge") ? MSUP_BARGE : -1;
	if (!agent || m < 0) {
		api_error(r, 400, "bad_request", "\"agent\" and \"mode\" "
			  "(listen, whisper, barge) are required");
		goto out;
	}
	account = desk_agent_account(r->api->desk, agent);
	if (!account || store_account_get(r->api->st, account, &target)) {
		api_error(r, 404, "not_found", "no agent %s", agent);
		goto out;
	}
	if (!my_phone(r, &acc)) {
		api_error(r, 403, "forbidden", "supervision needs a user "
			  "linked to an agent with a phone");
		goto out;
	}
	if (!desk_supervisable(r->api->desk, acc.user, target.ext)) {
		api_error(r, 409, "conflict", "agent %s is not on a call you "
			  "may supervise", agent);
		goto out;
	}
	op = mem_zalloc(sizeof(*op), op_destructor);
	if (!op) {
		print_err(r);
		goto out;
	}
	str_ncpy(op->target, target.ext, sizeof(op->target));
	op->mode = (enum msup_mode)m;
	if (op_start(r, op, &acc))
		goto out;
	api_audit(r, "supervise", "%s %s", mode, agent);
	api_json(r, 202, "{\"status\":\"ringing your phone\","
		 "\"agent\":\"%H\",\"mode\":\"%s\"}", store_json_esc,
		 agent, mode);
 out:
	mem_deref(b);
}

/* ---------- metrics ---------- */

struct metric_ctx {
	struct mbuf *mb;
	uint32_t states[6];
	bool longest;              /* the second family of queue lines */
	int err;
};

/* A label value as the text format wants it: \\, \" and \n escaped. */
static int label_esc(struct re_printf *pf, const char *s)
{
	int err = 0;

	for (; s && *s && !err; s++)
		err = *s == '\\' ? re_hprintf(pf, "\\\\") :
			*s == '"' ? re_hprintf(pf, "\\\"") :
			*s == '\n' ? re_hprintf(pf, "\\n") :
			pf->vph(s, 1, pf->arg);
	return err;
}

/* Prometheus wants each family's lines together: one pass each. */
static void metric_queue(const struct desk_queue_info *qi, void *arg)
{
	struct metric_ctx *mc = arg;

	if (mc->longest)
		mc->err |= mbuf_printf(mc->mb, "laoyou_queue_longest_wait_"
				       "seconds{queue=\"%H\"} %llu\n",
				       label_esc, qi->name, (unsigned long long)
				       (qi->longest_wait_ms / 1000));
	else
		mc->err |= mbuf_printf(mc->mb, "laoyou_queue_waiting{queue="
				       "\"%H\"} %u\n", label_esc, qi->name,
				       qi->waiting);
}

static void metric_agent(const struct desk_agent_info *ai, void *arg)
{
	static const char *names[] = {"logged-out", "ready", "not-ready",
				      "reserved", "on-call", "wrap-up"};
	struct metric_ctx *mc = arg;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(ai->state, names[i]))
			mc->states[i]++;
}

void api_metrics(struct req *r)
{
	static const char *names[] = {"logged_out", "ready", "not_ready",
				      "reserved", "on_call", "wrap_up"};
	struct metric_ctx mc = {.mb = mbuf_alloc(4096)};

	if (pl_strcmp(&r->msg->met, "GET") && pl_strcmp(&r->msg->met, "HEAD")) {
		api_error_hdr(r, 405, "Allow: GET, HEAD\r\n",
			      "method_not_allowed", "/metrics answers GET only");
		goto out;
	}
	if (!mc.mb)
		return print_err(r);
	mc.err |= mbuf_printf(mc.mb,
		"# HELP laoyou_active_calls Calls in progress.\n"
		"# TYPE laoyou_active_calls gauge\n"
		"laoyou_active_calls %u\n"
		"# HELP laoyou_calls_total Calls started since the start.\n"
		"# TYPE laoyou_calls_total counter\n"
		"laoyou_calls_total %llu\n"
		"# HELP laoyou_registrations Registered contacts.\n"
		"# TYPE laoyou_registrations gauge\n"
		"laoyou_registrations %u\n"
		"# HELP laoyou_rtp_ports_in_use RTP port pairs in use.\n"
		"# TYPE laoyou_rtp_ports_in_use gauge\n"
		"laoyou_rtp_ports_in_use %u\n"
		"# HELP laoyou_rtp_packets_total RTP packets relayed.\n"
		"# TYPE laoyou_rtp_packets_total counter\n"
		"laoyou_rtp_packets_total %llu\n"
		"# HELP laoyou_rtp_lost_total RTP packets lost (sequence "
		"gaps).\n"
		"# TYPE laoyou_rtp_lost_total counter\n"
		"laoyou_rtp_lost_total %llu\n"
		"# HELP laoyou_http_requests_total HTTP requests served.\n"
		"# TYPE laoyou_http_requests_total counter\n"
		"laoyou_http_requests_total %llu\n"
		"# HELP laoyou_event_clients WebSocket event clients.\n"
		"# TYPE laoyou_event_clients gauge\n"
		"laoyou_event_clients %u\n"
		"# HELP laoyou_queue_waiting Callers in line.\n"
		"# TYPE laoyou_queue_waiting gauge\n",
		calls_active(r->api->cs),
		(unsigned long long)r->api->calls_total,
		sipd_registrations(r->api->sd), portpool_used(r->api->pp),
		(unsigned long long)r->api->rtp_packets,
		(unsigned long long)r->api->rtp_lost,
		(unsigned long long)r->api->http_requests,
		api_events_clients(r->api));
	desk_queues(r->api->desk, metric_queue, &mc);
	mc.err |= mbuf_printf(mc.mb, "# HELP laoyou_queue_longest_wait_seconds"
			      " The longest wait now.\n"
			      "# TYPE laoyou_queue_longest_wait_seconds "
			      "gauge\n");
	mc.longest = true;
	desk_queues(r->api->desk, metric_queue, &mc);
	desk_agents(r->api->desk, metric_agent, &mc);
	mc.err |= mbuf_printf(mc.mb, "# HELP laoyou_agents Agents by state.\n"
			      "# TYPE laoyou_agents gauge\n");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		mc.err |= mbuf_printf(mc.mb, "laoyou_agents{state=\"%s\"} "
				      "%u\n", names[i], mc.states[i]);
	if (mc.err)
		print_err(r);
	else
		api_reply(r, 200, "text/plain; version=0.0.4", mc.mb, NULL);
 out:
	mem_deref(mc.mb);
}

/* ---------- the table ---------- */

const struct api_route api_routes[] = {
	{"GET", "/api/v1/openapi.json", ROLE_NONE, NULL, api_openapi},
	{"POST", "/api/v1/login", ROLE_NONE, NULL, api_login},
	{"POST", "/api/v1/logout", ROLE_AGENT, "read", api_logout},
	{"GET", "/api/v1/me", ROLE_AGENT, "read", me},
	{"GET", "/api/v1/events", ROLE_AGENT, "read", api_events_accept},
	{"GET", "/api/v1/agents", ROLE_AGENT, "read", agents_list},
	{"PUT", "/api/v1/agents/{}/state", ROLE_AGENT, "control",
	 agent_state},
	{"GET", "/api/v1/queues", ROLE_AGENT, "read", queues_list},
	{"GET", "/api/v1/queues/{}", ROLE_AGENT, "read", queue_get},
	{"GET", "/api/v1/calls", ROLE_SUPERVISOR, "read", calls_list},
	{"POST", "/api/v1/calls/{}/wrapup", ROLE_AGENT, "control", wrapup},
	{"GET", "/api/v1/wrapups", ROLE_SUPERVISOR, "read", wrapups_list},
	{"GET", "/api/v1/cdr", ROLE_SUPERVISOR, "read", cdr_list},
	{"GET", "/api/v1/queue-log", ROLE_SUPERVISOR, "read", qlog_list},
	{"GET", "/api/v1/kpi", ROLE_SUPERVISOR, "read", kpi_get},
	{"GET", "/api/v1/recordings/{}", ROLE_SUPERVISOR, "read",
	 recording_get},
	{"GET", "/api/v1/callbacks", ROLE_AGENT, "read", callbacks_list},
	{"POST", "/api/v1/callbacks/{}/done", ROLE_AGENT, "control",
	 callback_done},
	{"POST", "/api/v1/click-to-call", ROLE_AGENT, "control",
	 click_to_call},
	{"POST", "/api/v1/supervise", ROLE_SUPERVISOR, "control", supervise},
	{"GET", "/api/v1/accounts", ROLE_ADMIN, "admin", accounts_list},
	{"POST", "/api/v1/accounts", ROLE_ADMIN, "admin", account_add},
	{"DELETE", "/api/v1/accounts/{}", ROLE_ADMIN, "admin", account_del},
	{"GET", "/api/v1/users", ROLE_ADMIN, "admin", users_list},
	{"POST", "/api/v1/users", ROLE_ADMIN, "admin", user_add},
	{"DELETE", "/api/v1/users/{}", ROLE_ADMIN, "admin", user_del},
	{"GET", "/api/v1/audit", ROLE_ADMIN, "admin", audit_list},
	{"GET", "/api/v1/site", ROLE_ADMIN, "admin", site_get},
	{"PUT", "/api/v1/site", ROLE_ADMIN, "admin", site_put},
	{NULL, NULL, ROLE_NONE, NULL, NULL},
};
