/*
 * api, elder help: the profiles (admins keep them, supervisors read them),
 * the help calls with their escalation steps, and the screen pop an agent
 * sees for a caller — the booth and where it stands, or the elder's
 * profile.  Health notes are personal data: each look is audited.
 */
#include <string.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <re.h>
#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"
#include "store/elder.h"
#include "call/call.h"
#include "acd/desk.h"
#include "site/json.h"
#include "booth/booth.h"
#include "booth/elder.h"
#include "api/api.h"
#include "api/api_int.h"

enum { CALLS_LIMIT_MAX = 500 };

static int contacts_json(struct mbuf *mb, const struct store_elder *pe)
{
	int err = mbuf_write_str(mb, "[");

	for (uint32_t i = 0; !err && i < pe->ncontacts; i++) {
		const struct store_elder_contact *c = &pe->contacts[i];
		err = mbuf_printf(mb, "%s{\"name\":\"%H\",\"relation\":\"%H\","
				  "\"number\":\"%H\"}", i ? "," : "",
				  store_json_esc, c->name, store_json_esc,
				  c->relation, store_json_esc, c->number);
	}
	return err ? err : mbuf_write_str(mb, "]");
}

static int profile_json(struct mbuf *mb, const struct store_elder *pe)
{
	int err = mbuf_printf(mb, "{\"account\":\"%H\",\"kind\":\"%s\","
			      "\"name\":\"%H\",\"address\":\"%H\","
			      "\"district\":\"%H\",\"conditions\":\"%H\","
			      "\"lang\":\"%s\",\"updated_ms\":%lld,"
			      "\"contacts\":", store_json_esc, pe->account,
			      pe->kind, store_json_esc, pe->name,
			      store_json_esc, pe->address, store_json_esc,
			      pe->district, store_json_esc, pe->conditions,
			      pe->lang, (long long)pe->updated_ms);
	if (!err)
		err = contacts_json(mb, pe);
	return err ? err : mbuf_write_str(mb, "}");
}

static void reply_mb(struct req *r, uint16_t code, struct mbuf *mb, int err)
{
	if (err)
		api_error(r, 500, "internal", "cannot build the reply");
	else
		api_reply(r, code, "application/json", mb, NULL);
}

/* ---------- profiles ---------- */

struct list_ctx {
	struct mbuf *mb;
	uint32_t n;
	int err;
};

static void list_one(const struct store_elder *pe, void *arg)
{
	struct list_ctx *lc = arg;

	if (lc->err)
		return;
	if (lc->n++)
		lc->err = mbuf_write_str(lc->mb, ",");
	if (!lc->err)
		lc->err = profile_json(lc->mb, pe);
}

static void elders_list(struct req *r)
{
	struct list_ctx lc = {mbuf_alloc(4096), 0, 0};
	int err;

	if (!lc.mb) {
		api_error(r, 500, "internal", "out of memory");
		return;
	}
	err = mbuf_write_str(lc.mb, "{\"items\":[");
	if (!err)
		err = store_elder_list(r->api->st, list_one, &lc);
	if (!err)
		err = lc.err;
	if (!err)
		err = mbuf_printf(lc.mb, "],\"total\":%u}", lc.n);
	if (err) {
		api_error(r, 500, "store", "cannot list the profiles");
	}
	else {
		api_audit(r, "elder.list", "%u profiles", lc.n);
		api_reply(r, 200, "application/json", lc.mb, NULL);
	}
	mem_deref(lc.mb);
}

static void elder_get(struct req *r)
{
	struct store_elder *pe = mem_zalloc(sizeof(*pe), NULL);
	struct mbuf *mb = mbuf_alloc(2048);
	int err;

	if (!pe || !mb) {
		api_error(r, 500, "internal", "out of memory");
		goto out;
	}
	err = store_elder_get(r->api->st, r->seg[0], pe);
	if (err == ENOENT) {
		api_error(r, 404, "not_found", "no profile for %s", r->seg[0]);
		goto out;
	}
	if (err) {
		api_error(r, 500, "store", "cannot read the profile");
		goto out;
	}
	api_audit(r, "elder.view", "%s", r->seg[0]);
	reply_mb(r, 200, mb, profile_json(mb, pe));
 out:
	mem_deref(mb);
	mem_deref(pe);
}

static void elder_put(struct req *r)
{
	struct store_elder *pe = mem_zalloc(sizeof(*pe), NULL), old;
	struct store_account acc;
	struct mbuf *mb = mbuf_alloc(2048);
	char err[400], file[160];
	struct json *j = NULL;
	bool existed;

	if (!pe || !mb) {
		api_error(r, 500, "internal", "out of memory");
		goto out;
	}
	j = api_body(r);
	if (!j)
		goto out;
	re_snprintf(file, sizeof(file), "/api/v1/elders/%s", r->seg[0]);
	if (elder_parse(j, file, r->seg[0], pe, err, sizeof(err))) {
		api_error(r, 400, "bad_request", "%s", err);
		goto out;
	}
	/* A profile belongs to an account that can press the button. */
	if (store_account_get(r->api->st, pe->account, &acc)) {
		api_error(r, 400, "bad_request", "no SIP account %s: add the "
			  "account first", pe->account);
		goto out;
	}
	if (strcmp(acc.kind, !strcmp(pe->kind, "booth") ? "booth" :
		   "elder-device")) {
		api_error(r, 400, "bad_request", "the account %s is of kind "
			  "%s: a profile of kind %s needs an account of kind "
			  "%s", pe->account, acc.kind, pe->kind,
			  !strcmp(pe->kind, "booth") ? "booth" :
			  "elder-device");
		goto out;
	}
	existed = !store_elder_get(r->api->st, pe->account, &old);
	if (store_elder_put(r->api->st, pe)) {
		api_error(r, 500, "store", "the store refused the profile");
		goto out;
	}
	api_audit(r, existed ? "elder.update" : "elder.create", "%s",
		  pe->account);
	reply_mb(r, existed ? 200 : 201, mb, profile_json(mb, pe));
 out:
	mem_deref(j);
	mem_deref(mb);
	mem_deref(pe);
}

static void elder_del(struct req *r)
{
	int err = store_elder_del(r->api->st, r->seg[0]);

	if (err == ENOENT) {
		api_error(r, 404, "not_found", "no profile for %s", r->seg[0]);
		return;
	}
	if (err) {
		api_error(r, 500, "store", "cannot delete the profile");
		return;
	}
	api_audit(r, "elder.delete", "%s", r->seg[0]);
	api_json(r, 200, "{\"deleted\":\"%H\"}", store_json_esc, r->seg[0]);
}

/* ---------- help calls ---------- */

static void elder_calls(struct req *r)
{
	char call[128] = "", caller[64] = "", lim[16];
	struct mbuf *mb = mbuf_alloc(4096);
	uint32_t limit = 50, n = 0;
	int err;

	if (!mb) {
		api_error(r, 500, "internal", "out of memory");
		return;
	}
	if (api_param(r, "limit", lim, sizeof(lim))) {
		char *end;
		long v = strtol(lim, &end, 10);
		if (*end || v < 1 || v > CALLS_LIMIT_MAX) {
			api_error(r, 400, "bad_request", "limit is 1 to %u",
				  CALLS_LIMIT_MAX);
			goto out;
		}
		limit = (uint32_t)v;
	}
	(void)api_param(r, "call", call, sizeof(call));
	(void)api_param(r, "caller", caller, sizeof(caller));
	err = mbuf_write_str(mb, "{\"items\":[");
	if (!err)
		err = store_elder_calls_json(r->api->st, call, caller, limit,
					     mb, &n);
	if (!err)
		err = mbuf_printf(mb, "],\"count\":%u}", n);
	if (err)
		api_error(r, 500, "store", "cannot list the help calls");
	else
		api_reply(r, 200, "application/json", mb, NULL);
 out:
	mem_deref(mb);
}

/* ---------- the screen pop ---------- */

struct my_call {
	const char *me, *caller;
	bool found;
};

static void my_call_h(const struct call *c, const char *state, void *arg)
{
	struct my_call *mc = arg;
	const struct store_cdr *rec = call_record(c);

	(void)state;
	if ((!strcmp(rec->caller, mc->caller) && !strcmp(rec->callee, mc->me))
	    || (!strcmp(rec->caller, mc->me) &&
		!strcmp(rec->callee, mc->caller)))
		mc->found = true;
}

/* Is the signed-in agent's phone on a call with account caller?  A call
 * still ringing an agent has its caller as the queue saw it. */
static bool on_my_call(struct req *r, const char *caller)
{
	const char *me = desk_agent_account(r->api->desk, r->who.agent);
	struct my_call mc = {me, caller, false};

	if (!me)
		return false;
	calls_foreach(r->api->cs, my_call_h, &mc);
	return mc.found;
}

static void caller_get(struct req *r)
{
	struct store_elder *pe = mem_zalloc(sizeof(*pe), NULL);
	struct mbuf *mb = mbuf_alloc(2048);
	struct store_account acc;
	struct booth_info bi;
	char lat[24], lon[24];
	bool profile;
	int err;

	if (!pe || !mb) {
		api_error(r, 500, "internal", "out of memory");
		goto out;
	}
	if (store_account_get(r->api->st, r->seg[0], &acc)) {
		api_error(r, 404, "not_found", "no account %s", r->seg[0]);
		goto out;
	}
	/* An agent sees only the caller it is talking to or being rung
	 * for: a profile holds an elder's health. */
	if (r->who.role == ROLE_AGENT && !r->who.token &&
	    !on_my_call(r, acc.user)) {
		api_error(r, 403, "forbidden", "%s is not on a call of yours",
			  acc.user);
		goto out;
	}
	profile = !store_elder_get(r->api->st, acc.user, pe);
	if (r->api->svc.booths &&
	    !booths_of_account(r->api->svc.booths, acc.user, &bi)) {
		/* libre's %f truncates; libc rounds. */
		snprintf(lat, sizeof(lat), "%.6f", bi.lat);
		snprintf(lon, sizeof(lon), "%.6f", bi.lon);
		/* The contacts a help call from it would escalate to. */
		if (!profile)
			memset(pe, 0, sizeof(*pe));
		(void)elder_booth_contacts(r->api->st, bi.district, pe);
		err = mbuf_printf(mb, "{\"account\":\"%H\",\"ext\":\"%H\","
				  "\"kind\":\"booth\",\"booth\":{\"id\":"
				  "\"%H\",\"name\":\"%H\",\"name_en\":\"%H\","
				  "\"address\":\"%H\",\"district\":\"%H\","
				  "\"lat\":%s,\"lon\":%s,\"online\":%s,"
				  "\"lang\":\"%s\"},\"contacts\":",
				  store_json_esc, acc.user, store_json_esc,
				  acc.ext, store_json_esc, bi.id,
				  store_json_esc, bi.name, store_json_esc,
				  bi.name_en, store_json_esc, bi.address,
				  store_json_esc, bi.district, lat, lon,
				  bi.online ? "true" : "false", bi.lang);
		if (!err)
			err = contacts_json(mb, pe);
		if (!err)
			err = mbuf_write_str(mb, "}");
	}
	else if (!strcmp(acc.kind, "elder-device")) {
		err = mbuf_printf(mb, "{\"account\":\"%H\",\"ext\":\"%H\","
				  "\"kind\":\"elder\",\"profile\":",
				  store_json_esc, acc.user, store_json_esc,
				  acc.ext);
		if (!err)
			err = profile ? profile_json(mb, pe) :
				mbuf_write_str(mb, "null");
		if (!err)
			err = mbuf_write_str(mb, "}");
	}
	else {
		api_error(r, 404, "not_found", "%s is neither a booth nor an "
			  "elder's device", acc.user);
		goto out;
	}
	if (profile)
		api_audit(r, "caller.view", "%s", acc.user);
	reply_mb(r, 200, mb, err);
 out:
	mem_deref(mb);
	mem_deref(pe);
}

const struct api_route elder_routes[] = {
	{"GET", "/api/v1/elders", ROLE_SUPERVISOR, "read", elders_list},
	{"GET", "/api/v1/elders/{}", ROLE_SUPERVISOR, "read", elder_get},
	{"PUT", "/api/v1/elders/{}", ROLE_ADMIN, "admin", elder_put},
	{"DELETE", "/api/v1/elders/{}", ROLE_ADMIN, "admin", elder_del},
	{"GET", "/api/v1/elder-calls", ROLE_SUPERVISOR, "read", elder_calls},
	{"GET", "/api/v1/callers/{}", ROLE_AGENT, "read", caller_get},
	{NULL, NULL, ROLE_NONE, NULL, NULL},
};
