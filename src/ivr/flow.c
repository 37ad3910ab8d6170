/*
 * The IVR part of a site file: hotlines, flows, schedules and prompt
 * overrides, checked as a whole.  Every fault names its file and line, and
 * a site that fails any check is not used at all.
 *
 *   "hotlines":  [{"number", "name", "flow", "survey", "record", "language"}]
 *   "schedules": {NAME: {"timezone", "always", "hours": {mon..sun},
 *                        "holidays": [date], "workdays": [date]}}
 *   "flows":     {NAME: {"start", "nodes": {NAME: {"type", ...}}}}
 *   "prompts":   {NAME: {"zh": wav, "en": wav}}
 */
#include <string.h>
#include <unistd.h>
#include <stdarg.h>
#include <re.h>
#include "site/json.h"
#include "ivr/schedule.h"
#include "acd/desk.h"
#include "ivr/ivr_int.h"

struct ctx {
	const struct json *root;
	const char *file;
	const char *prompts_dir, *overrides_dir;
	const struct json *prompt_overrides;
	char *err;
	size_t errsz;
	struct ivr_site *site;
};

static const char *type_names[N_TYPES] = {
	"play", "menu", "language", "hours", "queue", "transfer", "voicemail",
	"survey", "hangup",
};

/* Which keys each node type may carry besides "type". */
static const char *type_keys[N_TYPES] = {
	"prompts prompt next barge",
	"prompts prompt options timeout retries fallback barge",
	"prompts prompt next timeout retries fallback barge",
	"schedule open closed",
	"queue priority skill target prompts prompt fallback",
	"target prompts prompt fallback",
	"mode prompts prompt max_seconds next",
	"prompts prompt next timeout",
	"prompts prompt",
};

static int bad(struct ctx *c, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int e;

	va_start(ap, fmt);
	e = json_vfail(c->err, c->errsz, c->file, line, fmt, ap);
	va_end(ap);
	return e;
}

int key_index(char key)
{
	if (key >= '0' && key <= '9')
		return key - '0';
	if (key == '*')
		return 10;
	if (key == '#')
		return 11;
	return -1;
}

static bool word_in(const char *word, const char *list)
{
	size_t n = strlen(word);

	/* strstr finds "" everywhere: the loop below would never end. */
	if (!n)
		return false;
	for (const char *p = list; (p = strstr(p, word)); p += n) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	}
	return false;
}

static bool prompt_file(const char *dir, const char *lang, const char *name)
{
	char path[512];

	if (!dir)
		return false;
	re_snprintf(path, sizeof(path), "%s/%s/%s.wav", dir, lang, name);
	return access(path, R_OK) == 0;
}

static int check_prompt(struct ctx *c, const struct json *j)
{
	static const char *langs[] = {"zh", "en"};
	const char *name = json_str(j);

	if (!name || !*name || strlen(name) >= NODE_NAME_MAX ||
	    strpbrk(name, "/\\. "))
		return bad(c, json_line(j), "a prompt is a name such as "
			   "\"welcome_expo\"");
	for (size_t i = 0; i < ARRAY_SIZE(langs); i++) {
		const struct json *o = json_get(c->prompt_overrides, name);
		if (json_get(o, langs[i]) ||
		    prompt_file(c->overrides_dir, langs[i], name) ||
		    prompt_file(c->prompts_dir, langs[i], name))
			continue;
		return bad(c, json_line(j), "prompt \"%s\" has no %s "
			   "recording", name, langs[i]);
	}
	return 0;
}

static int get_uint(struct ctx *c, const struct json *obj, const char *key,
		    uint32_t def, uint32_t min, uint32_t max, uint32_t *out)
{
	const struct json *j = json_get(obj, key);
	double v;

	*out = def;
	if (!j)
		return 0;
	v = json_num(j);
	/* The range first: converting a double outside uint32_t is
	 * undefined behaviour, not just a wrong value. */
	if (json_type(j) != JSON_NUMBER || v < min || v > max ||
	    v != (double)(uint32_t)v)
		return bad(c, json_line(j), "\"%s\" must be a whole number "
			   "from %u to %u", key, min, max);
	*out = (uint32_t)v;
	return 0;
}

static int get_bool(struct ctx *c, const struct json *obj, const char *key,
		    bool def, bool *out)
{
	const struct json *j = json_get(obj, key);

	*out = def;
	if (!j)
		return 0;
	if (json_type(j) != JSON_BOOL)
		return bad(c, json_line(j), "\"%s\" must be true or false",
			   key);
	*out = json_bool(j);
	return 0;
}

static int get_str(struct ctx *c, const struct json *obj, unsigned line,
		   const char *key, bool required, char *out, size_t sz)
{
	const struct json *j = json_get(obj, key);
	const char *s = json_str(j);

	out[0] = '\0';
	if (!j) {
		if (required)
			return bad(c, line, "missing \"%s\"", key);
		return 0;
	}
	if (!s)
		return bad(c, json_line(j), "\"%s\" must be a string", key);
	if (strlen(s) >= sz || (required && !*s))
		return bad(c, json_line(j), "\"%s\" must be 1 to %zu "
			   "characters", key, sz - 1);
	str_ncpy(out, s, sz);
	return 0;
}

static int node_index(const struct flow *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->nodes[i].name, name))
			return (int)i;
	return -1;
}

/* A reference to another node of the same flow. */
static int get_ref(struct ctx *c, const struct flow *f, const struct json *obj,
		   unsigned line, const char *key, bool required, int *out)
{
	const struct json *j = json_get(obj, key);
	char name[NODE_NAME_MAX];
	int err;

	*out = -1;
	err = get_str(c, obj, line, key, required, name, sizeof(name));
	if (err || !name[0])
		return err;
	*out = node_index(f, name);
	if (*out < 0)
		return bad(c, json_line(j), "\"%s\" names node \"%s\", which "
			   "flow \"%s\" does not have", key, name, f->name);
	return 0;
}

static int get_prompts(struct ctx *c, const struct json *obj, struct node *n,
		       const char *def1, const char *def2)
{
	const struct json *list = json_get(obj, "prompts");
	const struct json *one = json_get(obj, "prompt");
	int err;

	if (list && one)
		return bad(c, json_line(one), "give \"prompt\" or "
			   "\"prompts\", not both");
	if (one) {
		err = check_prompt(c, one);
		if (err)
			return err;
		str_ncpy(n->prompts[0], json_str(one), NODE_NAME_MAX);
		n->nprompts = 1;
		return 0;
	}
	if (list) {
		if (json_type(list) != JSON_ARRAY || !json_count(list) ||
		    json_count(list) > MAX_PROMPTS)
			return bad(c, json_line(list), "\"prompts\" must be a "
				   "list of 1 to %d prompt names",
				   MAX_PROMPTS);
		for (size_t i = 0; i < json_count(list); i++) {
			err = check_prompt(c, json_at(list, i));
			if (err)
				return err;
			str_ncpy(n->prompts[i], json_str(json_at(list, i)),
				 NODE_NAME_MAX);
		}
		n->nprompts = json_count(list);
		return 0;
	}
	if (def1)
		str_ncpy(n->prompts[n->nprompts++], def1, NODE_NAME_MAX);
	if (def2)
		str_ncpy(n->prompts[n->nprompts++], def2, NODE_NAME_MAX);
	return 0;
}

static int schedule_index(const struct ivr_site *s, const char *name)
{
	for (size_t i = 0; i < s->nschedules; i++)
		if (!strcmp(s->schedule_names[i], name))
			return (int)i;
	return -1;
}

static int load_node(struct ctx *c, struct flow *f, struct node *n,
		     const struct json *obj)
{
	const struct json *opts;
	char type[16], sched[NODE_NAME_MAX], mode[16];
	unsigned line = json_line(obj);
	int err;

	for (size_t i = 0; i < json_count(obj); i++) {
		const char *k = json_key(obj, i);
		if (strcmp(k, "type") && !word_in(k, type_keys[n->type]))
			return bad(c, json_key_line(obj, i), "node \"%s\" "
				   "(%s) has no setting \"%s\"", n->name,
				   type_names[n->type], k);
	}
	(void)type;

	n->next = n->fallback = n->open = n->closed = -1;
	for (int k = 0; k < KEYS; k++)
		n->options[k] = -1;
	err = get_bool(c, obj, "barge", true, &n->barge);
	if (err)
		return err;

	switch (n->type) {

	case N_PLAY:
		err = get_prompts(c, obj, n, NULL, NULL);
		if (!err && !n->nprompts)
			err = bad(c, line, "a play node needs \"prompts\"");
		if (!err)
			err = get_ref(c, f, obj, line, "next", true, &n->next);
		break;

	case N_MENU:
	case N_LANGUAGE:
		err = get_prompts(c, obj, n, n->type == N_LANGUAGE ?
				  "choose_language" : NULL, NULL);
		if (!err && !n->nprompts)
			err = bad(c, line, "a menu needs a \"prompt\"");
		if (!err)
			err = get_uint(c, obj, "timeout", 5, 1, 60,
				       &n->timeout_s);
		if (!err)
			err = get_uint(c, obj, "retries", 2, 0, 9, &n->retries);
		if (!err)
			err = get_ref(c, f, obj, line, "fallback", false,
				      &n->fallback);
		if (err)
			break;
		if (n->type == N_LANGUAGE) {
			err = get_ref(c, f, obj, line, "next", true, &n->next);
			break;
		}
		opts = json_get(obj, "options");
		if (!opts || json_type(opts) != JSON_OBJECT ||
		    !json_count(opts)) {
			err = bad(c, opts ? json_line(opts) : line, "a menu "
				  "needs \"options\": {\"1\": \"node\", …}");
			break;
		}
		for (size_t i = 0; i < json_count(opts) && !err; i++) {
			const char *k = json_key(opts, i);
			const char *to = json_str(json_at(opts, i));
			unsigned kl = json_key_line(opts, i);
			int ki = strlen(k) == 1 ? key_index(k[0]) : -1;

			if (ki < 0)
				err = bad(c, kl, "menu option \"%s\" is not "
					  "a key (0-9, *, #)", k);
			else if (!to)
				err = bad(c, kl, "menu option \"%s\" must "
					  "name a node", k);
			else if ((n->options[ki] = node_index(f, to)) < 0)
				err = bad(c, kl, "menu option \"%s\" names "
					  "node \"%s\", which flow \"%s\" "
					  "does not have", k, to, f->name);
		}
		break;

	case N_HOURS:
		err = get_str(c, obj, line, "schedule", true, sched,
			      sizeof(sched));
		if (!err && (n->schedule = schedule_index(c->site, sched)) < 0)
			err = bad(c, json_line(json_get(obj, "schedule")),
				  "no schedule \"%s\"", sched);
		if (!err)
			err = get_ref(c, f, obj, line, "open", true, &n->open);
		if (!err)
			err = get_ref(c, f, obj, line, "closed", true,
				      &n->closed);
		break;

	case N_QUEUE:
	case N_TRANSFER:
		if (n->type == N_QUEUE && json_get(obj, "queue")) {
			uint32_t prio = 0;
			err = get_str(c, obj, line, "queue", true, n->queue,
				      sizeof(n->queue));
			if (!err && !desk_queue_known(c->root, n->queue))
				err = bad(c, json_line(json_get(obj, "queue")),
					  "no queue \"%s\"", n->queue);
			if (!err)
				err = get_uint(c, obj, "priority", 0, 0, 100,
					       &prio);
			n->priority = (int)prio;
			/* A need the caller has whatever the language, such as
			 * sign language for a deaf caller's video. */
			if (!err && json_get(obj, "skill"))
				err = get_str(c, obj, line, "skill", true,
					      n->skill, sizeof(n->skill));
			if (!err && json_get(obj, "target"))
				err = bad(c, line, "give \"queue\" or "
					  "\"target\", not both");
		}
		else {
			err = get_str(c, obj, line, "target", true, n->target,
				      sizeof(n->target));
		}
		if (!err)
			err = get_prompts(c, obj, n, "transfer", NULL);
		if (!err)
			err = get_ref(c, f, obj, line, "fallback", false,
				      &n->fallback);
		break;

	case N_VOICEMAIL:
		err = get_str(c, obj, line, "mode", false, mode, sizeof(mode));
		if (err)
			break;
		if (!mode[0] || !strcmp(mode, "message"))
			n->vm = VM_MESSAGE;
		else if (!strcmp(mode, "number"))
			n->vm = VM_NUMBER;
		else {
			err = bad(c, json_line(json_get(obj, "mode")),
				  "\"mode\" is \"message\" or \"number\"");
			break;
		}
		err = get_prompts(c, obj, n, n->vm == VM_MESSAGE ? "voicemail"
				  : "leave_number", n->vm == VM_MESSAGE ?
				  "beep" : NULL);
		if (!err)
			err = get_uint(c, obj, "max_seconds", 60, 3, 600,
				       &n->max_s);
		if (!err)
			err = get_ref(c, f, obj, line, "next", true, &n->next);
		break;

	case N_SURVEY:
		err = get_prompts(c, obj, n, "survey", NULL);
		if (!err)
			err = get_uint(c, obj, "timeout", 8, 1, 60,
				       &n->timeout_s);
		if (!err)
			err = get_ref(c, f, obj, line, "next", false, &n->next);
		break;

	case N_HANGUP:
		err = get_prompts(c, obj, n, NULL, NULL);
		break;

	default:
		break;
	}
	return err;
}

/* Nodes that move on without waiting for the caller. */
static bool passes_through(const struct node *n)
{
	return n->type == N_PLAY || n->type == N_HOURS ||
		n->type == N_QUEUE || n->type == N_TRANSFER;
}

/* A loop made only of nodes that never wait for a key would spin for
 * ever: find one by depth-first search over the pass-through edges. */
static int find_spin(struct ctx *c, const struct flow *f)
{
	enum { WHITE, GREY, BLACK };
	uint8_t *mark = mem_zalloc(f->n, NULL);
	int *stack = mem_zalloc(f->n * 4 * sizeof(int), NULL);
	int err = 0;

	if (!mark || !stack) {
		err = ENOMEM;
		goto out;
	}
	for (size_t root = 0; root < f->n && !err; root++) {
		size_t sp = 0;
		if (mark[root] != WHITE || !passes_through(&f->nodes[root]))
			continue;
		/* Iterative DFS: push (node, edge) pairs. */
		stack[sp++] = (int)root;
		stack[sp++] = 0;
		mark[root] = GREY;
		while (sp && !err) {
			int u = stack[sp - 2], e = stack[sp - 1]++;
			const struct node *n = &f->nodes[u];
			int to[3] = {-1, -1, -1};

			if (n->type == N_PLAY)
				to[0] = n->next;
			else if (n->type == N_HOURS) {
				to[0] = n->open;
				to[1] = n->closed;
			}
			else
				to[0] = n->fallback;
			if (e >= 3) {
				mark[u] = BLACK;
				sp -= 2;
				continue;
			}
			int v = to[e];
			if (v < 0 || !passes_through(&f->nodes[v]))
				continue;
			if (mark[v] == GREY)
				err = bad(c, f->nodes[v].line, "flow \"%s\": "
					  "nodes \"%s\" and \"%s\" loop without"
					  " ever waiting for a key", f->name,
					  n->name, f->nodes[v].name);
			else if (mark[v] == WHITE && sp + 2 <= f->n * 4) {
				mark[v] = GREY;
				stack[sp++] = v;
				stack[sp++] = 0;
			}
		}
	}
 out:
	mem_deref(mark);
	mem_deref(stack);
	return err;
}

static int load_flow(struct ctx *c, struct flow *f, const char *name,
		     const struct json *obj)
{
	const struct json *nodes;
	char start[NODE_NAME_MAX];
	int err;

	str_ncpy(f->name, name, sizeof(f->name));
	if (json_type(obj) != JSON_OBJECT)
		return bad(c, json_line(obj), "flow \"%s\" must be an object",
			   name);
	for (size_t i = 0; i < json_count(obj); i++)
		if (!word_in(json_key(obj, i), "start nodes"))
			return bad(c, json_key_line(obj, i), "flow \"%s\" has "
				   "no setting \"%s\"", name,
				   json_key(obj, i));
	nodes = json_get(obj, "nodes");
	if (!nodes || json_type(nodes) != JSON_OBJECT || !json_count(nodes))
		return bad(c, nodes ? json_line(nodes) : json_line(obj),
			   "flow \"%s\" needs \"nodes\": {…}", name);

	f->n = json_count(nodes);
	f->nodes = mem_zalloc(f->n * sizeof(*f->nodes), NULL);
	if (!f->nodes)
		return ENOMEM;

	/* Names and types first, so nodes may refer forward. */
	for (size_t i = 0; i < f->n; i++) {
		struct node *n = &f->nodes[i];
		const struct json *o = json_at(nodes, i);
		const char *t = json_str(json_get(o, "type"));
		const char *nm = json_key(nodes, i);

		n->line = json_line(o);
		if (strlen(nm) >= NODE_NAME_MAX || !*nm)
			return bad(c, json_key_line(nodes, i), "node names are"
				   " 1 to %d characters", NODE_NAME_MAX - 1);
		str_ncpy(n->name, nm, NODE_NAME_MAX);
		if (json_type(o) != JSON_OBJECT)
			return bad(c, n->line, "node \"%s\" must be an "
				   "object", nm);
		if (!t)
			return bad(c, n->line, "node \"%s\" needs a \"type\"",
				   nm);
		n->type = N_TYPES;
		for (int k = 0; k < N_TYPES; k++)
			if (!strcmp(t, type_names[k]))
				n->type = (enum node_type)k;
		if (n->type == N_TYPES)
			return bad(c, json_line(json_get(o, "type")),
				   "unknown node type \"%s\" (play, menu, "
				   "language, hours, queue, transfer, "
				   "voicemail, survey, hangup)", t);
	}
	for (size_t i = 0; i < f->n; i++) {
		err = load_node(c, f, &f->nodes[i], json_at(nodes, i));
		if (err)
			return err;
	}

	err = get_str(c, obj, json_line(obj), "start", true, start,
		      sizeof(start));
	if (err)
		return err;
	f->start = node_index(f, start);
	if (f->start < 0)
		return bad(c, json_line(json_get(obj, "start")), "\"start\" "
			   "names node \"%s\", which flow \"%s\" does not "
			   "have", start, name);
	return find_spin(c, f);
}

static const char *wdays[7] = {"sun", "mon", "tue", "wed", "thu", "fri",
			       "sat"};

static int load_schedule(struct ctx *c, size_t idx, const char *name,
			 const struct json *obj)
{
	struct ivr_site *s = c->site;
	const struct json *hours, *list;
	char tz[64];
	bool always;
	int err;

	str_ncpy(s->schedule_names[idx], name, NODE_NAME_MAX);
	if (json_type(obj) != JSON_OBJECT)
		return bad(c, json_line(obj), "schedule \"%s\" must be an "
			   "object", name);
	for (size_t i = 0; i < json_count(obj); i++)
		if (!word_in(json_key(obj, i),
			     "timezone always hours holidays workdays"))
			return bad(c, json_key_line(obj, i), "schedule \"%s\" "
				   "has no setting \"%s\"", name,
				   json_key(obj, i));
	err = get_str(c, obj, json_line(obj), "timezone", false, tz,
		      sizeof(tz));
	if (err)
		return err;
	if (schedule_alloc(&s->schedules[idx], tz[0] ? tz : "Asia/Shanghai"))
		return bad(c, json_line(json_get(obj, "timezone")),
			   "unknown time zone \"%s\"", tz);
	err = get_bool(c, obj, "always", false, &always);
	if (err)
		return err;
	if (always)
		schedule_set_always(s->schedules[idx]);

	hours = json_get(obj, "hours");
	if (hours && json_type(hours) != JSON_OBJECT)
		return bad(c, json_line(hours), "\"hours\" must be an object "
			   "of weekdays");
	for (size_t i = 0; i < json_count(hours); i++) {
		const char *day = json_key(hours, i);
		const char *ranges = json_str(json_at(hours, i));
		int wd = -1;

		for (int d = 0; d < 7; d++)
			if (!strcmp(day, wdays[d]))
				wd = d;
		if (wd < 0)
			return bad(c, json_key_line(hours, i), "\"%s\" is not "
				   "a weekday (mon … sun)", day);
		if (!ranges || (*ranges &&
				schedule_add_hours(s->schedules[idx], wd,
						   ranges)))
			return bad(c, json_line(json_at(hours, i)),
				   "hours for %s must be like \"09:00-12:00, "
				   "13:30-17:30\" (or \"\" for closed)", day);
	}

	for (int pass = 0; pass < 2; pass++) {
		const char *key = pass ? "workdays" : "holidays";
		list = json_get(obj, key);
		if (list && json_type(list) != JSON_ARRAY)
			return bad(c, json_line(list), "\"%s\" must be a list"
				   " of dates", key);
		for (size_t i = 0; i < json_count(list); i++) {
			const char *d = json_str(json_at(list, i));
			int e = d ? (pass ? schedule_add_workday(
					     s->schedules[idx], d) :
				     schedule_add_holiday(s->schedules[idx],
							  d)) : EINVAL;
			if (e)
				return bad(c, json_line(json_at(list, i)),
					   e == EEXIST ? "%s is both a holiday"
					   " and a workday" : "\"%s\" is not a "
					   "date (YYYY-MM-DD)", d ? d : "?");
		}
	}
	return 0;
}

static int load_hotline(struct ctx *c, struct hotline *h,
			const struct json *obj)
{
	char flow[NODE_NAME_MAX], rec[16];
	unsigned line = json_line(obj);
	int err;

	if (json_type(obj) != JSON_OBJECT)
		return bad(c, line, "a hotline must be an object");
	for (size_t i = 0; i < json_count(obj); i++)
		if (!word_in(json_key(obj, i),
			     "number name flow survey record language"))
			return bad(c, json_key_line(obj, i), "a hotline has no"
				   " setting \"%s\"", json_key(obj, i));
	err = get_str(c, obj, line, "number", true, h->number,
		      sizeof(h->number));
	if (!err)
		err = get_str(c, obj, line, "name", false, h->name,
			      sizeof(h->name));
	if (!err)
		err = get_str(c, obj, line, "flow", true, flow, sizeof(flow));
	if (!err)
		err = get_bool(c, obj, "survey", false, &h->survey);
	if (!err)
		err = get_str(c, obj, line, "record", false, rec, sizeof(rec));
	if (!err)
		err = get_str(c, obj, line, "language", false, h->lang,
			      sizeof(h->lang));
	if (err)
		return err;
	for (const char *p = h->number; *p; p++)
		if (*p < '0' || *p > '9')
			return bad(c, json_line(json_get(obj, "number")),
				   "a hotline number is digits only");
	h->flow = -1;
	for (size_t i = 0; i < c->site->nflows; i++)
		if (!strcmp(c->site->flows[i].name, flow))
			h->flow = (int)i;
	if (h->flow < 0)
		return bad(c, json_line(json_get(obj, "flow")), "no flow "
			   "\"%s\"", flow);
	if (!rec[0] || !strcmp(rec, "none"))
		h->record = REC_NONE;
	else if (!strcmp(rec, "mixed"))
		h->record = REC_MIXED;
	else if (!strcmp(rec, "stereo"))
		h->record = REC_STEREO;
	else
		return bad(c, json_line(json_get(obj, "record")), "\"record\""
			   " is \"none\", \"mixed\" or \"stereo\"");
	if (!h->lang[0])
		str_ncpy(h->lang, "zh", sizeof(h->lang));
	else if (strcmp(h->lang, "zh") && strcmp(h->lang, "en"))
		return bad(c, json_line(json_get(obj, "language")),
			   "\"language\" is \"zh\" or \"en\"");
	return 0;
}

static void site_destructor(void *arg)
{
	struct ivr_site *s = arg;

	for (size_t i = 0; i < s->nflows; i++)
		mem_deref(s->flows[i].nodes);
	mem_deref(s->flows);
	mem_deref(s->hotlines);
	for (size_t i = 0; i < s->nschedules; i++)
		mem_deref(s->schedules[i]);
	mem_deref(s->schedules);
	mem_deref(s->schedule_names);
}

int ivr_site_load(struct ivr_site **sp, const struct json *root,
		  const char *file, const char *prompts_dir,
		  const char *overrides_dir, char *err, size_t errsz)
{
	const struct json *flows, *hotlines, *scheds, *prompts;
	struct ivr_site *s;
	struct ctx c = {root, file, prompts_dir, overrides_dir, NULL, err,
			errsz, NULL};
	int e = 0;

	s = mem_zalloc(sizeof(*s), site_destructor);
	if (!s)
		return ENOMEM;
	c.site = s;

	flows = json_get(root, "flows");
	hotlines = json_get(root, "hotlines");
	scheds = json_get(root, "schedules");
	prompts = json_get(root, "prompts");
	c.prompt_overrides = prompts;

	if (prompts && json_type(prompts) != JSON_OBJECT) {
		e = bad(&c, json_line(prompts), "\"prompts\" must be an "
			"object of {\"zh\": wav, \"en\": wav}");
		goto out;
	}
	for (size_t i = 0; i < json_count(prompts) && !e; i++) {
		const struct json *o = json_at(prompts, i);
		for (size_t k = 0; k < json_count(o) && !e; k++)
			if (!word_in(json_key(o, k), "zh en") ||
			    !json_str(json_at(o, k)))
				e = bad(&c, json_key_line(o, k), "prompt "
					"\"%s\": give \"zh\" and/or \"en\" WAV "
					"file names", json_key(prompts, i));
	}
	if (e)
		goto out;

	if (scheds && json_type(scheds) != JSON_OBJECT) {
		e = bad(&c, json_line(scheds), "\"schedules\" must be an "
			"object");
		goto out;
	}
	s->nschedules = json_count(scheds);
	s->schedules = mem_zalloc((s->nschedules + 1) * sizeof(void *), NULL);
	s->schedule_names = mem_zalloc((s->nschedules + 1) * NODE_NAME_MAX, NULL);
	if (!s->schedules || !s->schedule_names) {
		e = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->nschedules && !e; i++)
		e = load_schedule(&c, i, json_key(scheds, i),
				  json_at(scheds, i));
	if (e)
		goto out;

	if (!flows || json_type(flows) != JSON_OBJECT) {
		e = bad(&c, flows ? json_line(flows) : json_line(root),
			"the site needs \"flows\": {…}");
		goto out;
	}
	s->nflows = json_count(flows);
	s->flows = mem_zalloc((s->nflows + 1) * sizeof(*s->flows), NULL);
	if (!s->flows) {
		e = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->nflows && !e; i++)
		e = load_flow(&c, &s->flows[i], json_key(flows, i),
			      json_at(flows, i));
	if (e)
		goto out;

	if (!hotlines || json_type(hotlines) != JSON_ARRAY) {
		e = bad(&c, hotlines ? json_line(hotlines) : json_line(root),
			"the site needs \"hotlines\": […]");
		goto out;
	}
	s->nhotlines = json_count(hotlines);
	s->hotlines = mem_zalloc((s->nhotlines + 1) * sizeof(*s->hotlines),
				 NULL);
	if (!s->hotlines) {
		e = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->nhotlines && !e; i++) {
		e = load_hotline(&c, &s->hotlines[i], json_at(hotlines, i));
		for (size_t k = 0; k < i && !e; k++)
			if (!strcmp(s->hotlines[k].number,
				    s->hotlines[i].number))
				e = bad(&c, json_line(json_at(hotlines, i)),
					"hotline %s is listed twice",
					s->hotlines[i].number);
	}

 out:
	if (e)
		mem_deref(s);
	else
		*sp = s;
	return e;
}

size_t ivr_site_hotlines(const struct ivr_site *s)
{
	return s ? s->nhotlines : 0;
}

const struct hotline *site_hotline(const struct ivr_site *s,
				   const char *number)
{
	for (size_t i = 0; s && i < s->nhotlines; i++)
		if (!strcmp(s->hotlines[i].number, number))
			return &s->hotlines[i];
	return NULL;
}
