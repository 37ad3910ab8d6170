/* laoyou: the one binary.  Subcommands: run, check, version, account, cdr,
 * site, survey, callbacks, kpi, user, token, poi. */
#define _GNU_SOURCE  /* strptime, timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "store/store.h"
#include "kpi/kpi.h"
#include "api/api.h"
#include "core/clock.h"
#include "cdr/cdr.h"
#include "server/server.h"
#include "site/site.h"
#include "store/poi.h"
#include <time.h>
#include <math.h>

static void usage(FILE *f)
{
	fprintf(f,
"usage: laoyou run -c FILE          start the server\n"
"       laoyou check -c FILE        validate the config file and exit\n"
"       laoyou version\n"
"       laoyou account add USER --secret S --ext EXT [--name NAME]\n"
"                  [--kind agent|booth|elder-device|trunk] [--outbound]\n"
"                  [--max-calls N] [--from-addr IP:PORT] -c FILE\n"
"       laoyou account list -c FILE\n"
"       laoyou account del USER -c FILE\n"
"       laoyou cdr [-n COUNT] [--csv] -c FILE\n"
"       laoyou site check|import SITEFILE -c FILE\n"
"       laoyou site export -c FILE\n"
"       laoyou survey [--hotline NUMBER] [--from DATE] [--to DATE] -c FILE\n"
"       laoyou callbacks -c FILE\n"
"       laoyou kpi [--queue Q] [--agent A] [--hotline N] [--from DATE]\n"
"                  [--to DATE] [--sl SECONDS]\n"
"                  [--short SECONDS] [--sl-abandons count|ignore] -c FILE\n"
"       laoyou user add NAME --role admin|supervisor|agent [--agent ID]\n"
"                       [--password P] -c FILE   (else: password on stdin)\n"
"       laoyou user passwd|del NAME -c FILE\n"
"       laoyou user list -c FILE\n"
"       laoyou token add NAME --scopes read[,control][,admin] -c FILE\n"
"       laoyou token revoke NAME -c FILE\n"
"       laoyou token list -c FILE\n"
"       laoyou poi import|check POIFILE [--replace] -c FILE\n"
"                  (POIFILE: .csv, .geojson or .json; docs/life-circle.md)\n"
"       laoyou poi nearby LAT LON [--category C] [--minutes M] [-n COUNT]\n"
"                  -c FILE\n"
"       laoyou poi categories\n"
"  -c FILE may be replaced by --db PATH for the account, cdr, user,\n"
"  token and poi commands.\n");
}

enum { OPT_SECRET = 256, OPT_EXT, OPT_NAME, OPT_KIND, OPT_OUTBOUND,
       OPT_MAXCALLS, OPT_FROM, OPT_DB, OPT_CSV, OPT_HOTLINE, OPT_SINCE,
       OPT_UNTIL, OPT_QUEUE, OPT_SL, OPT_SHORT, OPT_AGENT, OPT_SLAB,
       OPT_ROLE, OPT_PASSWORD, OPT_SCOPES, OPT_REPLACE, OPT_CATEGORY,
       OPT_MINUTES };

struct opts {
	const char *conf, *db, *secret, *ext, *name, *kind, *from;
	const char *hotline, *since, *until, *queue, *agent, *sl_abandons;
	const char *role, *password, *scopes, *category;
	long sl, short_s, minutes;
	bool outbound, csv, replace;
	long max_calls, count;
};

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"secret", required_argument, NULL, OPT_SECRET},
		{"ext", required_argument, NULL, OPT_EXT},
		{"name", required_argument, NULL, OPT_NAME},
		{"kind", required_argument, NULL, OPT_KIND},
		{"outbound", no_argument, NULL, OPT_OUTBOUND},
		{"max-calls", required_argument, NULL, OPT_MAXCALLS},
		{"from-addr", required_argument, NULL, OPT_FROM},
		{"db", required_argument, NULL, OPT_DB},
		{"csv", no_argument, NULL, OPT_CSV},
		{"hotline", required_argument, NULL, OPT_HOTLINE},
		{"from", required_argument, NULL, OPT_SINCE},
		{"to", required_argument, NULL, OPT_UNTIL},
		{"queue", required_argument, NULL, OPT_QUEUE},
		{"sl", required_argument, NULL, OPT_SL},
		{"short", required_argument, NULL, OPT_SHORT},
		{"agent", required_argument, NULL, OPT_AGENT},
		{"sl-abandons", required_argument, NULL, OPT_SLAB},
		{"role", required_argument, NULL, OPT_ROLE},
		{"password", required_argument, NULL, OPT_PASSWORD},
		{"scopes", required_argument, NULL, OPT_SCOPES},
		{"replace", no_argument, NULL, OPT_REPLACE},
		{"category", required_argument, NULL, OPT_CATEGORY},
		{"minutes", required_argument, NULL, OPT_MINUTES},
		{"config", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->count = 20;
	o->sl = 20;
	o->short_s = 5;
	o->minutes = STORE_POI_MINUTES;
	o->kind = "agent";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:n:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': o->conf = optarg; break;
		case 'n': o->count = atol(optarg); break;
		case OPT_SECRET: o->secret = optarg; break;
		case OPT_EXT: o->ext = optarg; break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_KIND: o->kind = optarg; break;
		case OPT_OUTBOUND: o->outbound = true; break;
		case OPT_MAXCALLS: o->max_calls = atol(optarg); break;
		case OPT_FROM: o->from = optarg; break;
		case OPT_DB: o->db = optarg; break;
		case OPT_CSV: o->csv = true; break;
		case OPT_HOTLINE: o->hotline = optarg; break;
		case OPT_SINCE: o->since = optarg; break;
		case OPT_UNTIL: o->until = optarg; break;
		case OPT_QUEUE: o->queue = optarg; break;
		case OPT_SL: o->sl = atol(optarg); break;
		case OPT_SHORT: o->short_s = atol(optarg); break;
		case OPT_SLAB: o->sl_abandons = optarg; break;
		case OPT_ROLE: o->role = optarg; break;
		case OPT_PASSWORD: o->password = optarg; break;
		case OPT_SCOPES: o->scopes = optarg; break;
		case OPT_AGENT: o->agent = optarg; break;
		case OPT_REPLACE: o->replace = true; break;
		case OPT_CATEGORY: o->category = optarg; break;
		case OPT_MINUTES: o->minutes = atol(optarg); break;
		default: return EINVAL;
		}
	}
	return 0;
}

/* The config (for db and realm), or the defaults with --db. */
static int load_conf(struct conf *cf, const struct opts *o)
{
	char err[512];

	conf_defaults(cf);
	if (o->conf && conf_load(cf, o->conf, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (o->db)
		str_ncpy(cf->db, o->db, sizeof(cf->db));
	if (!o->conf && !o->db) {
		fprintf(stderr, "laoyou: give -c FILE or --db PATH\n");
		return 2;
	}
	log_set_level(LOG_WARN);
	conf_dirs(cf);
	return 0;
}

static int open_store(struct store **stp, const struct opts *o,
		      struct conf *cf)
{
	int rc = load_conf(cf, o);

	if (rc)
		return rc;
	if (store_open(stp, cf->db)) {
		fprintf(stderr, "laoyou: cannot open database %s\n", cf->db);
		return 1;
	}
	return 0;
}

static int print_account(const struct store_account *a, void *arg)
{
	(void)arg;
	printf("%-16s %-8s %-12s %-8s %-3s %5u %-21s %s\n", a->user, a->ext,
	       a->kind, a->outbound ? "yes" : "no", "", a->max_calls,
	       a->from_addr[0] ? a->from_addr : "-", a->display);
	return 0;
}

static bool valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n >= max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("-_.+", *s)))
			return false;
	return true;
}

static int cmd_account(int argc, char **argv)
{
	struct store_account a;
	struct store *st = NULL;
	struct conf cf;
	struct opts o;
	const char *sub, *user = NULL;
	int rc = 0, err;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	sub = argv[1];
	if (parse_opts(&o, argc - 1, argv + 1)) {
		usage(stderr);
		return 2;
	}
	if (optind < argc - 1)
		user = argv[1 + optind];
	rc = open_store(&st, &o, &cf);
	if (rc)
		return rc;

	if (!strcmp(sub, "list")) {
		printf("%-16s %-8s %-12s %-8s %-3s %5s %-21s %s\n", "user",
		       "ext", "kind", "outbound", "", "max", "from-addr",
		       "name");
		rc = store_account_list(st, print_account, NULL) ? 1 : 0;
	}
	else if (!strcmp(sub, "del")) {
		if (!user) {
			fprintf(stderr, "laoyou: account del USER\n");
			rc = 2;
		}
		else if ((err = store_account_del(st, user))) {
			fprintf(stderr, "laoyou: %s: %s\n", user, err == ENOENT
				? "no such account" : "cannot delete");
			rc = 1;
		}
	}
	else if (!strcmp(sub, "add")) {
		static const char *kinds[] = {"agent", "booth",
					      "elder-device", "trunk"};
		bool kind_ok = false;
		for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
			kind_ok |= !strcmp(o.kind, kinds[i]);

		if (!user || !valid_name(user, sizeof(a.user)) || !o.ext ||
		    !valid_name(o.ext, sizeof(a.ext)) ||
		    (!o.secret && !o.from) || !kind_ok ||
		    o.max_calls < 0 || (o.name && strlen(o.name) >=
					sizeof(a.display))) {
			fprintf(stderr, "laoyou: account add needs USER "
				"(letters, digits, - _ . +), --ext, --secret "
				"(or --from-addr for a trunk) and a --kind of "
				"agent, booth, elder-device or trunk\n");
			rc = 2;
			goto out;
		}
		memset(&a, 0, sizeof(a));
		str_ncpy(a.user, user, sizeof(a.user));
		str_ncpy(a.ext, o.ext, sizeof(a.ext));
		str_ncpy(a.kind, o.kind, sizeof(a.kind));
		str_ncpy(a.realm, cf.realm, sizeof(a.realm));
		if (o.name)
			str_ncpy(a.display, o.name, sizeof(a.display));
		a.outbound = o.outbound;
		a.max_calls = (uint32_t)o.max_calls;
		if (o.from) {
			struct sa sa;
			if (sa_decode(&sa, o.from, strlen(o.from))) {
				fprintf(stderr, "laoyou: --from-addr must be "
					"IP:PORT\n");
				rc = 2;
				goto out;
			}
			re_snprintf(a.from_addr, sizeof(a.from_addr), "%J",
				    &sa);
		}
		{
			/* Only the digest's HA1 is kept, never the secret. */
			uint8_t ha1[16];
			const char *sec = o.secret ? o.secret : "";
			md5_printf(ha1, "%s:%s:%s", a.user, a.realm, sec);
			if (!o.secret)
				rand_bytes(ha1, sizeof(ha1));
			re_snprintf(a.ha1, sizeof(a.ha1), "%w", ha1,
				    sizeof(ha1));
		}
		err = store_account_add(st, &a);
		if (err) {
			fprintf(stderr, "laoyou: %s: %s\n", user,
				err == EEXIST ? "user or extension already "
				"taken" : "cannot store the account");
			rc = 1;
		}
	}
	else {
		usage(stderr);
		rc = 2;
	}
 out:
	mem_deref(st);
	return rc;
}

static int cmd_cdr(int argc, char **argv)
{
	struct store *st = NULL;
	struct conf cf;
	struct opts o;
	int rc;

	if (parse_opts(&o, argc, argv)) {
		usage(stderr);
		return 2;
	}
	if (o.count <= 0 || o.count > 10000000) {
		fprintf(stderr, "laoyou: -n takes 1 to 10000000\n");
		return 2;
	}
	rc = open_store(&st, &o, &cf);
	if (rc)
		return rc;
	rc = cdr_print(st, stdout, (uint32_t)o.count, o.csv) ? 1 : 0;
	mem_deref(st);
	return rc;
}

/* "YYYY-MM-DD" (UTC midnight) or "YYYY-MM-DDTHH:MM:SS" → epoch ms. */
static int parse_when(const char *s, int64_t *ms)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || *end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (!end || *end)
		return EINVAL;
	*ms = (int64_t)timegm(&tm) * 1000;
	return 0;
}

static int cmd_site(int argc, char **argv)
{
	struct store *st = NULL;
	struct conf cf;
	struct opts o;
	char err[800];
	const char *sub = argc > 1 ? argv[1] : "", *file = NULL;
	int rc;

	if (parse_opts(&o, argc - 1, argv + 1)) {
		usage(stderr);
		return 2;
	}
	if (optind < argc - 1)
		file = argv[1 + optind];
	if (strcmp(sub, "export") && !file) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(sub, "check")) {
		rc = load_conf(&cf, &o);
		if (rc)
			return rc;
		if (site_check(file, &cf, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
		printf("%s: ok\n", file);
		return 0;
	}
	if (strcmp(sub, "import") && strcmp(sub, "export")) {
		usage(stderr);
		return 2;
	}
	rc = open_store(&st, &o, &cf);
	if (rc)
		return rc;
	if (!strcmp(sub, "import")) {
		if (site_import(file, &cf, st, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			rc = 2;
		}
		else {
			printf("%s: imported (send the server SIGHUP to use "
			       "it now)\n", file);
		}
	}
	else if (site_export(st, stdout)) {
		fprintf(stderr, "laoyou: no site has been imported\n");
		rc = 1;
	}
	mem_deref(st);
	return rc;
}

static int cmd_survey(int argc, char **argv)
{
	struct store *st = NULL;
	struct conf cf;
	struct opts o;
	int64_t from = 0, to = INT64_MAX;
	uint64_t answers = 0, satisfied = 0;
	int rc;

	if (parse_opts(&o, argc, argv) ||
	    (o.since && parse_when(o.since, &from)) ||
	    (o.until && parse_when(o.until, &to))) {
		fprintf(stderr, "laoyou: survey [--hotline N] [--from "
			"YYYY-MM-DD[THH:MM:SS]] [--to …] -c FILE\n");
		return 2;
	}
	rc = open_store(&st, &o, &cf);
	if (rc)
		return rc;
	if (store_survey_stats(st, o.hotline ? o.hotline : "", from, to,
			       &answers, &satisfied))
		rc = 1;
	else
		printf("hotline %s: %llu answers, %llu satisfied, "
		       "satisfaction %.2f%%\n", o.hotline ? o.hotline : "(all)",
		       (unsigned long long)answers,
		       (unsigned long long)satisfied,
		       answers ? 100.0 * (double)satisfied / (double)answers :
		       0.0);
	mem_deref(st);
	return rc;
}

static int print_callback(const struct store_callback *cb, void *arg)
{
	(void)arg;
	printf("%-5lld %-8s %-10s %-16s %s %s\n", (long long)cb->id,
	       cb->hotline, cb->caller, cb->number[0] ? cb->number : "-",
	       cb->recording[0] ? cb->recording : "-", cb->callid);
	return 0;
}

static int cmd_callbacks(int argc, char **argv)
{
	struct store *st = NULL;
	struct conf cf;
	struct opts o;
	int rc;

	if (parse_opts(&o, argc, argv)) {
		usage(stderr);
		return 2;
	}
	rc = open_store(&st, &o, &cf);
	if (rc)
		return rc;
	printf("%-5s %-8s %-10s %-16s %s\n", "id", "hotline", "caller",
	       "number", "recording call-id");
	rc = store_callback_list(st, print_callback, NULL) ? 1 : 0;
	mem_deref(st);
	return rc;
}

static int print_list(struct store *st, enum store_list which)
{
	struct store_filter f = {.to_ms = INT64_MAX, .limit = 100000};
	struct mbuf *mb = mbuf_alloc(4096);
	uint64_t total;
	int err;

	if (!mb)
		return 1;
	err = store_list(st, which, &f, true, mb, &total);
	if (!err)
		fwrite(mb->buf, 1, mb->end, stdout);
	mem_deref(mb);
	return err ? 1 : 0;
}

/* A password from --password or, safer, the first line of stdin. */
static const char *password_of(const struct opts *o, char *buf, size_t sz)
{
	if (o->password)
		return o->password;
	if (!fgets(buf, (int)sz, stdin))
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf;
}

/* `laoyou CMD SUB [NAME] …`: the options, the sub-command, the NAME that
 * all but "list" need, and the store. */
static int sub_open(int argc, char **argv, const char *cmd, size_t namesz,
		    struct opts *o, const char **sub, const char **name,
		    struct store **st, struct conf *cf)
{
	if (argc < 2 || parse_opts(o, argc - 1, argv + 1)) {
		usage(stderr);
		return 2;
	}
	*sub = argv[1];
	*name = optind < argc - 1 ? argv[1 + optind] : NULL;
	if (strcmp(*sub, "list") && (!*name || !valid_name(*name, namesz))) {
		fprintf(stderr, "laoyou: %s %s NAME (letters, digits, - _ . +)"
			"\n", cmd, *sub);
		return 2;
	}
	return open_store(st, o, cf);
}

static int cmd_user(int argc, char **argv)
{
	struct store *st = NULL;
	struct store_user u;
	struct conf cf;
	struct opts o;
	const char *sub, *name = NULL, *pw;
	char buf[300];
	int rc, err = 0;

	rc = sub_open(argc, argv, "user", sizeof(u.name), &o, &sub, &name,
		      &st, &cf);
	if (rc)
		return rc;
	if (!strcmp(sub, "list")) {
		rc = print_list(st, STORE_LIST_USERS);
	}
	else if (!strcmp(sub, "del")) {
		err = store_user_del(st, name);
	}
	else if (!strcmp(sub, "add") || !strcmp(sub, "passwd")) {
		bool add = !strcmp(sub, "add");
		if (add && (!o.role || !strcmp(o.role, "") ||
			    (strcmp(o.role, "admin") &&
			     strcmp(o.role, "supervisor") &&
			     strcmp(o.role, "agent")))) {
			fprintf(stderr, "laoyou: user add NAME --role admin|"
				"supervisor|agent [--agent ID] [--password P"
				" | password on stdin]\n");
			rc = 2;
			goto out;
		}
		pw = password_of(&o, buf, sizeof(buf));
		if (!pw || strlen(pw) < 8 || strlen(pw) > 256) {
			fprintf(stderr, "laoyou: a password of 8 to 256 "
				"characters is needed\n");
			rc = 2;
			goto out;
		}
		memset(&u, 0, sizeof(u));
		str_ncpy(u.name, name, sizeof(u.name));
		str_ncpy(u.role, add ? o.role : "", sizeof(u.role));
		str_ncpy(u.agent, o.agent ? o.agent : "", sizeof(u.agent));
		u.created_ms = clock_wall_ms();
		err = api_password_hash(pw, u.hash);
		if (!err)
			err = add ? store_user_add(st, &u) :
				store_user_passwd(st, name, u.hash);
		if (!err && add)
			(void)store_audit(st, u.created_ms, "cli", "user.add",
					  name);
	}
	else {
		usage(stderr);
		rc = 2;
	}
	if (err) {
		fprintf(stderr, "laoyou: user %s: %s\n", name,
			err == ENOENT ? "no such user" : err == EEXIST ?
			"exists already" : "not saved");
		rc = 1;
	}
 out:
	mem_deref(st);
	return rc;
}

static int cmd_token(int argc, char **argv)
{
	struct store *st = NULL;
	struct conf cf;
	struct opts o;
	const char *sub, *name = NULL;
	char secret[65];
	int rc, err = 0;

	rc = sub_open(argc, argv, "token", 64, &o, &sub, &name, &st, &cf);
	if (rc)
		return rc;
	if (!strcmp(sub, "list")) {
		rc = print_list(st, STORE_LIST_TOKENS);
	}
	else if (!strcmp(sub, "add")) {
		err = api_token_create(st, name, o.scopes ? o.scopes : "read",
				       secret);
		if (err == EINVAL) {
			fprintf(stderr, "laoyou: token add NAME --scopes "
				"read,control,admin (any of them)\n");
			rc = 2;
			goto out;
		}
		if (!err)
			printf("%s\n", secret);
	}
	else if (!strcmp(sub, "revoke")) {
		err = store_token_revoke(st, name);
	}
	else {
		usage(stderr);
		rc = 2;
	}
	if (err) {
		fprintf(stderr, "laoyou: token %s: %s\n", name,
			err == ENOENT ? "no such live token" : "not saved");
		rc = 1;
	}
 out:
	mem_deref(st);
	return rc;
}

static int cmd_kpi(int argc, char **argv)
{
	struct store *st = NULL;
	struct kpi_query q;
	struct kpi k;
	struct conf cf;
	struct opts o;
	int rc;

	kpi_query_init(&q);
	if (parse_opts(&o, argc, argv) ||
	    (o.since && parse_when(o.since, &q.from_ms)) ||
	    (o.until && parse_when(o.until, &q.to_ms)) || o.sl < 1 ||
	    o.sl > 3600 || o.short_s < 0 || o.short_s > 3600 ||
	    (o.sl_abandons && strcmp(o.sl_abandons, "count") &&
	     strcmp(o.sl_abandons, "ignore"))) {
		fprintf(stderr, "laoyou: kpi [--queue Q] [--agent A] "
			"[--hotline N] [--from YYYY-MM-DD[THH:MM:SS]] [--to …] "
			"[--sl 1-3600] [--short 0-3600] [--sl-abandons "
			"count|ignore] -c FILE\n");
		return 2;
	}
	rc = open_store(&st, &o, &cf);
	if (rc)
		return rc;
	q.queue = o.queue;
	q.agent = o.agent;
	q.hotline = o.hotline;
	q.sl_s = (uint32_t)o.sl;
	q.short_s = (uint32_t)o.short_s;
	q.sl_abandons = !o.sl_abandons || !strcmp(o.sl_abandons, "count");
	if (kpi_compute(st, &q, &k)) {
		mem_deref(st);
		return 1;
	}
	printf("queue              %s\n", o.queue ? o.queue : "(all)");
	if (o.agent)
		printf("agent              %s (offered = rung to it)\n",
		       o.agent);
	if (o.hotline)
		printf("hotline            %s\n", o.hotline);
	printf("offered            %llu\n", (unsigned long long)k.offered);
	printf("answered           %llu\n", (unsigned long long)k.answered);
	printf("abandoned          %llu (short, not counted: %llu)\n",
	       (unsigned long long)k.abandoned,
	       (unsigned long long)k.short_abandoned);
	printf("timed out          %llu\n", (unsigned long long)k.timeouts);
	printf("connect rate       %.2f%%\n", k.connect_rate);
	printf("service level      %.2f%% answered within %lds%s\n",
	       k.service_level, o.sl, q.sl_abandons ? "" :
	       " (abandons not counted)");
	printf("ASA                %.1fs\n", k.asa_s);
	printf("AHT                %.1fs\n", k.aht_s);
	printf("longest wait       %.1fs\n", k.longest_wait_s);
	printf("occupancy          %.2f%% (%s)\n", k.occupancy,
	       o.agent ? o.agent : "all agents");
	mem_deref(st);
	return 0;
}

/* The whole of a file into *bufp (malloc'd); errno on failure. */
static int read_file(const char *path, char **bufp, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0, n;
	int err = 0;

	if (!f)
		return errno;
	do {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			nb = realloc(buf, cap);
			if (!nb) {
				err = ENOMEM;
				break;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (!err && ferror(f))
		err = EIO;
	fclose(f);
	if (err)
		free(buf);
	else {
		*bufp = buf;
		*lenp = len;
	}
	return err;
}

/* CSV or GeoJSON: by the file's extension, else by its first character. */
static enum store_poi_format poi_format(const char *path, const char *buf,
					size_t len)
{
	const char *dot = strrchr(path, '.');
	size_t i = 0;

	if (dot && !strcasecmp(dot, ".csv"))
		return STORE_POI_CSV;
	if (dot && (!strcasecmp(dot, ".geojson") || !strcasecmp(dot, ".json")))
		return STORE_POI_GEOJSON;
	while (i < len && strchr(" \t\r\n", buf[i]))
		i++;
	return i < len && buf[i] == '{' ? STORE_POI_GEOJSON : STORE_POI_CSV;
}

static void print_hit(const struct store_poi_hit *h, void *arg)
{
	(void)arg;
	printf("%6.0fm %6um %4u  %-16s %-24s %s%s%s%s\n", h->distance_m,
	       h->walk_m, h->minutes, h->poi.category, h->poi.id,
	       h->poi.name, h->poi.name_en[0] ? " (" : "", h->poi.name_en,
	       h->poi.name_en[0] ? ")" : "");
}

static bool coord_arg(const char *s, double lim, double *v)
{
	char *end;

	*v = strtod(s, &end);
	return *s && !*end && isfinite(*v) && fabs(*v) <= lim;
}

static int cmd_poi(int argc, char **argv)
{
	const struct store_poi_category *c;
	struct store *st = NULL;
	struct conf cf;
	struct opts o;
	const char *sub = argc > 1 ? argv[1] : "", *file = NULL;
	char err[600], *buf = NULL;
	size_t len = 0, n;
	uint32_t count = 0;
	int rc, e;

	if (!strcmp(sub, "categories")) {
		c = store_poi_categories(&n);
		for (size_t i = 0; i < n; i++)
			printf("%-18s %s / %s\n", c[i].key, c[i].zh, c[i].en);
		return 0;
	}
	if (parse_opts(&o, argc - 1, argv + 1)) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(sub, "nearby")) {
		struct store_poi_query q = {.category = o.category};
		uint32_t total = 0;

		if (argc - 1 - optind != 2 ||
		    !coord_arg(argv[1 + optind], 90, &q.lat) ||
		    !coord_arg(argv[2 + optind], 180, &q.lon) ||
		    (o.category && !store_poi_category(o.category)) ||
		    o.minutes < 1 || o.minutes > STORE_POI_MINUTES_MAX ||
		    o.count < 1 || o.count > STORE_POI_LIMIT_MAX) {
			fprintf(stderr, "laoyou: poi nearby LAT LON (degrees) "
				"[--category C (see laoyou poi categories)] "
				"[--minutes 1-%d] [-n 1-%d] -c FILE\n",
				STORE_POI_MINUTES_MAX, STORE_POI_LIMIT_MAX);
			return 2;
		}
		q.minutes = (uint32_t)o.minutes;
		q.limit = (uint32_t)o.count;
		rc = open_store(&st, &o, &cf);
		if (rc)
			return rc;
		printf("%7s %7s %4s  %-16s %-24s %s\n", "dist", "walk", "min",
		       "category", "id", "name");
		if (store_poi_nearby(st, &q, print_hit, NULL, &total))
			rc = 1;
		else
			printf("%u within a %ld-minute walk of %.6f, %.6f\n",
			       total, o.minutes, q.lat, q.lon);
		mem_deref(st);
		return rc;
	}
	if (strcmp(sub, "import") && strcmp(sub, "check")) {
		usage(stderr);
		return 2;
	}
	if (argc - 1 - optind != 1) {
		fprintf(stderr, "laoyou: poi %s POIFILE [--replace] -c FILE\n",
			sub);
		return 2;
	}
	file = argv[1 + optind];
	e = read_file(file, &buf, &len);
	if (e) {
		fprintf(stderr, "%s: cannot read: %s\n", file, strerror(e));
		return 2;
	}
	rc = open_store(&st, &o, &cf);
	if (rc)
		goto out;
	e = store_poi_import(st, file, buf, len, poi_format(file, buf, len),
			     (o.replace ? STORE_POI_REPLACE : 0) |
			     (!strcmp(sub, "check") ? STORE_POI_CHECK : 0),
			     &count, err, sizeof(err));
	if (e) {
		fprintf(stderr, "%s\n", err[0] ? err : "laoyou: the store "
			"failed: nothing imported");
		rc = e == EINVAL ? 2 : 1;
	}
	else if (!strcmp(sub, "check")) {
		printf("%s: ok, %u POIs\n", file, count);
	}
	else {
		uint32_t total = 0;
		(void)store_poi_list(st, "", 0, 0, NULL, NULL, &total);
		printf("%s: %u POIs imported%s, %u in the store\n", file,
		       count, o.replace ? " (replacing all)" : "", total);
		(void)store_audit(st, clock_wall_ms(), "cli", "poi.import",
				  file);
	}
 out:
	mem_deref(st);
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "version")) {
		printf("laoyou %s (libre %s, schema %d)\n", LAOYOU_VERSION,
		       sys_libre_version_get(), store_schema_version());
		return 0;
	}
	if (!strcmp(cmd, "run") || !strcmp(cmd, "check")) {
		if (parse_opts(&o, argc - 1, argv + 1) || !o.conf) {
			usage(stderr);
			return 2;
		}
		if (!strcmp(cmd, "check")) {
			struct conf cf;
			char err[512];
			conf_defaults(&cf);
			if (conf_load(&cf, o.conf, err, sizeof(err))) {
				fprintf(stderr, "%s\n", err);
				return 2;
			}
			printf("%s: ok\n", o.conf);
			return 0;
		}
		return server_run(o.conf);
	}
	if (!strcmp(cmd, "account"))
		return cmd_account(argc - 1, argv + 1);
	if (!strcmp(cmd, "cdr"))
		return cmd_cdr(argc - 1, argv + 1);
	if (!strcmp(cmd, "site"))
		return cmd_site(argc - 1, argv + 1);
	if (!strcmp(cmd, "survey"))
		return cmd_survey(argc - 1, argv + 1);
	if (!strcmp(cmd, "callbacks"))
		return cmd_callbacks(argc - 1, argv + 1);
	if (!strcmp(cmd, "kpi"))
		return cmd_kpi(argc - 1, argv + 1);
	if (!strcmp(cmd, "user"))
		return cmd_user(argc - 1, argv + 1);
	if (!strcmp(cmd, "token"))
		return cmd_token(argc - 1, argv + 1);
	if (!strcmp(cmd, "poi"))
		return cmd_poi(argc - 1, argv + 1);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
