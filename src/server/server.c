#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "core/clock.h"
#include <stdlib.h>
#include <malloc.h>
#include "store/store.h"
#include "media/media.h"
#include "sip/sip.h"
#include "call/call.h"
#include "cdr/cdr.h"
#include "api/api.h"
#include "ivr/ivr.h"
#include "acd/desk.h"
#include <sys/stat.h>
#include "booth/booth.h"
#include "booth/watch.h"
#include "booth/elder.h"
#include "booth/taxi.h"
#include "sms/sms.h"
#include "site/json.h"
#include "server/server.h"

/* Each leg holds two RTP sockets; leave room for thousands of calls. */
enum { MAX_FDS = 65536 };

struct server {
	const char *path;
	struct conf cf;
	struct store *st;
	struct portpool *pp;
	struct sipd *sd;
	struct calls *cs;
	struct cdr_writer *cw;
	struct api *api;
	struct ivr *ivr;
	struct desk *desk;
	struct booths *booths;
	struct sms *sms;
	struct watch *watch;
	struct elder *elder;
	struct taxi *taxi;
	struct tmr tmr_drain;
	struct tmr tmr_trim;
	bool draining;
};

static struct server *the_server;
static int hup_pipe[2] = {-1, -1};

/* libre's re_main installs SIGINT/SIGTERM only; SIGHUP reaches the loop
 * through a self-pipe so that reload runs as an ordinary event. */
static void hup_signal(int sig)
{
	char c = (char)sig;
	(void)!write(hup_pipe[1], &c, 1);
}

static void reload(struct server *s);

/* The booths, volunteers and elder profiles of the site in the store
 * (the IVR and the desk load their parts themselves). */
static int site_apply(struct server *s)
{
	struct json *root = NULL;
	char *body = NULL, err[400] = "";
	int e = store_site_get(s->st, &body);

	if (!e && body[0])
		e = json_parse(&root, body, strlen(body), err, sizeof(err));
	if (!e && root)
		e = booths_site_load(s->booths, root, "site", err,
				     sizeof(err));
	if (!e && root && s->watch)
		e = watch_site_load(s->watch, root, "site", err, sizeof(err));
	if (!e && root && s->elder)
		e = elder_site_load(s->elder, root, "site", err, sizeof(err));
	if (e && e != ENOENT)
		log_error("site: the booths, volunteers and elder profiles were "
			  "not applied: %s", err);
	mem_deref(root);
	mem_deref(body);
	return e == ENOENT ? 0 : e;
}

static void hup_readable(int flags, void *arg)
{
	char buf[16];
	(void)flags;
	while (read(hup_pipe[0], buf, sizeof(buf)) > 0)
		;
	reload(arg);
}

/* glibc keeps the pages of freed chunks: receive buffers freed out of
 * order (a transaction keeps its request for 32 s) leave free pages amid
 * live ones, and the resident size creeps up for tens of minutes before
 * it settles.  Handing whole free pages back now and then keeps it at
 * what the load needs (bench/soak). */
enum { TRIM_MS = 30000 };

static void trim(void *arg)
{
	struct server *s = arg;
	uint64_t t0 = clock_mono_us();

	(void)malloc_trim(0);
	log_debug("memory: trimmed the heap in %llu us",
		  (unsigned long long)(clock_mono_us() - t0));
	tmr_start(&s->tmr_trim, TRIM_MS, trim, s);
}

static void drain_done(void *arg)
{
	(void)arg;
	re_cancel();
}

static void reload(struct server *s)
{
	struct conf cf;
	char err[512];

	conf_defaults(&cf);
	if (conf_load(&cf, s->path, err, sizeof(err))) {
		log_error("reload refused, keeping the running config: %s",
			  err);
		return;
	}
	/* Directories need a restart: keep the running ones. */
	str_ncpy(cf.data_dir, s->cf.data_dir, sizeof(cf.data_dir));
	str_ncpy(cf.prompts_dir, s->cf.prompts_dir, sizeof(cf.prompts_dir));
	str_ncpy(cf.web_dir, s->cf.web_dir, sizeof(cf.web_dir));
	/* Said before the new log level applies, so it is always seen. */
	log_info("reloaded %s: log_level, realm, timeouts, limits, "
		 "registration expiries, bans and the imported site "
		 "(listen addresses, rtp_ports, db and directories need a "
		 "restart)", s->path);
	log_set_level(cf.log_level);
	sipd_reconf(s->sd, &cf);
	calls_reconf(s->cs, &cf);
	if (ivr_reload(s->ivr))
		log_error("reload: the IVR keeps its previous site");
	ivr_set_retention(s->ivr, cf.retention_days);
	(void)site_apply(s);
	booths_reconf(s->booths, &cf);
	sms_reconf(s->sms, &cf);
	watch_reconf(s->watch, &cf);
	elder_reconf(s->elder, &cf);
	taxi_reconf(s->taxi, &cf);
	api_reconf(s->api, &cf);
	s->cf = cf;
}

/* A site imported through the API takes effect at once. */
static int site_reload(void *arg)
{
	struct server *s = arg;

	int e = ivr_reload(s->ivr);

	return e ? e : site_apply(s);
}

static void signal_handler(int sig)
{
	struct server *s = the_server;

	if (s->draining) {
		re_cancel();
		return;
	}
	s->draining = true;
	log_info("signal %d: refusing new calls, ending %u call(s)", sig,
		 calls_active(s->cs));
	calls_shutdown(s->cs);
	/* Give the BYEs a moment to be answered; records are already
	 * committed by the time calls_shutdown returns. */
	tmr_start(&s->tmr_drain, calls_active(s->cs) ? 2000 : 300, drain_done,
		  s);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rl.rlim_cur = rl.rlim_max < MAX_FDS ? rl.rlim_max : MAX_FDS;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	(void)fd_setsize((int)rl.rlim_cur);
}

int server_run(const char *path)
{
	struct server s;
	char err[512];
	int e;

	memset(&s, 0, sizeof(s));
	s.path = path;
	conf_defaults(&s.cf);
	if (conf_load(&s.cf, path, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	log_set_level(s.cf.log_level);
	conf_dirs(&s.cf);
	/* Tests run the clock at a chosen date (hours, holidays). */
	if (getenv("LAOYOU_FAKE_TIME")) {
		int64_t want = strtoll(getenv("LAOYOU_FAKE_TIME"), NULL, 10);
		clock_set_wall_offset(want - clock_wall_s());
		log_warn("clock: running at a test time (%lld)",
			 (long long)want);
	}

	e = libre_init();
	if (e) {
		log_error("libre init: %m", e);
		return 1;
	}
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);

	e = store_open(&s.st, s.cf.db);
	if (!e)
		e = portpool_alloc(&s.pp, &s.cf.rtp_ip, s.cf.rtp_min,
				   s.cf.rtp_max);
	if (!e)
		e = sipd_alloc(&s.sd, &s.cf, s.st);
	if (!e)
		e = calls_alloc(&s.cs, &s.cf, s.sd, s.st, s.pp);
	if (!e)
		e = cdr_writer_alloc(&s.cw, s.st);
	if (!e) {
		char overrides[600], recordings[600];
		re_snprintf(overrides, sizeof(overrides), "%s/prompts",
			    s.cf.data_dir);
		re_snprintf(recordings, sizeof(recordings), "%s/recordings",
			    s.cf.data_dir);
		(void)mkdir(s.cf.data_dir, 0755);
		(void)mkdir(recordings, 0755);
		e = ivr_alloc(&s.ivr, s.cs, s.st, s.cf.prompts_dir, overrides,
			      recordings);
		if (!e)
			ivr_set_retention(s.ivr, s.cf.retention_days);
		if (!e)
			e = desk_alloc(&s.desk, s.cs, s.sd, s.st);
		if (!e)
			ivr_set_desk(s.ivr, s.desk);
	}
	if (!e)
		e = sms_alloc(&s.sms, &s.cf, s.st);
	if (!e)
		e = booths_alloc(&s.booths, &s.cf, s.cs, s.st);
	if (!e)
		e = watch_alloc(&s.watch, &s.cf, s.st, s.booths, s.sms);
	if (!e)
		e = elder_alloc(&s.elder, &s.cf, s.cs, s.desk, s.st, s.booths,
				s.sms);
	if (!e)
		e = site_apply(&s);
	if (!e)
		e = taxi_alloc(&s.taxi, &s.cf, s.st, s.booths);
	if (!e && sa_isset(&s.cf.http, SA_ADDR))
		e = api_alloc(&s.api, &s.cf, s.cs, s.sd, s.pp, s.st, s.desk,
			      site_reload, &s);
	if (!e && s.api) {
		struct api_services svc = {s.booths, s.sms, s.watch, s.elder,
					   s.taxi};
		api_set_services(s.api, &svc);
	}
	if (e) {
		log_error("startup failed: %m", e);
		goto out;
	}

	log_info("laoyou %s up: sip udp %J tcp %J, http %J, rtp %j:%u-%u, "
		 "db %s", LAOYOU_VERSION, &s.cf.sip_udp, &s.cf.sip_tcp,
		 &s.cf.http, &s.cf.rtp_ip, s.cf.rtp_min, s.cf.rtp_max,
		 s.cf.db);

	the_server = &s;
	tmr_start(&s.tmr_trim, TRIM_MS, trim, &s);
	if (!pipe(hup_pipe)) {
		fcntl(hup_pipe[0], F_SETFL, O_NONBLOCK);
		fcntl(hup_pipe[1], F_SETFL, O_NONBLOCK);
		(void)fd_listen(hup_pipe[0], FD_READ, hup_readable, &s);
		signal(SIGHUP, hup_signal);
	}
	e = re_main(signal_handler);
	signal(SIGHUP, SIG_DFL);
	if (hup_pipe[0] >= 0) {
		fd_close(hup_pipe[0]);
		close(hup_pipe[0]);
		close(hup_pipe[1]);
		hup_pipe[0] = hup_pipe[1] = -1;
	}
	the_server = NULL;
	log_info("stopped");

 out:
	tmr_cancel(&s.tmr_drain);
	tmr_cancel(&s.tmr_trim);
	mem_deref(s.api);
	mem_deref(s.taxi);
	mem_deref(s.elder);
	mem_deref(s.watch);
	mem_deref(s.booths);
	mem_deref(s.sms);
	mem_deref(s.ivr);
	mem_deref(s.desk);
	mem_deref(s.cs);
	mem_deref(s.cw);
	mem_deref(s.sd);
	mem_deref(s.pp);
	mem_deref(s.st);
	libre_close();
	return e ? 1 : 0;
}
