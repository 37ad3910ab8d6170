/*
 * HTTP API (src/api/): the input is what a client writes on a connection
 * to the API's port.  The server is put together as src/server/server.c
 * does it — store, SIP, calls, IVR, desk, the booth services, the API —
 * over a temporary SQLite database seeded with the demo site, SIP
 * accounts, a user of each role, a live session per user and an API
 * token per scope, all with known secrets (the seeds in fuzz/corpus/http
 * use them).  Each input goes over a new loopback TCP connection to the
 * API's listener and the event loop runs until the server has read all
 * of it and answered (or closed), so libre's HTTP decoder, api.c's
 * routing, authentication, role, scope and CSRF checks, the JSON reader
 * (src/site/json.c) and the route handlers all run as in the server.
 *
 * Between inputs the database goes back to its seeded state (SQLite's
 * backup API, from a copy taken after seeding, whenever rows changed)
 * and the sign-in failure counts are cleared, so that an input means the
 * same every time.  The seeded users' password hashes are Argon2id at
 * libsodium's minimum cost, so that a right password costs microseconds
 * here rather than 30 ms.
 *
 * What the replies must show: every one starts with an HTTP/1.1 status
 * line and, when it says, a Content-Length that the bytes bear out; a
 * JSON body parses with our own reader (so it is UTF-8, too), and an
 * error's (4xx/5xx) is an object with "error" and "message" strings; no
 * 500 comes back (nothing here fails for want of memory or disk).
 */
#include "fuzz.h"
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <ftw.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sqlite3.h>
#include "core/conf.h"
#include "core/clock.h"
#include "store/store.h"
#include "store/store_int.h"
#include "media/media.h"
#include "sip/sip.h"
#include "call/call.h"
#include "cdr/cdr.h"
#include "ivr/ivr.h"
#include "acd/desk.h"
#include "booth/booth.h"
#include "booth/watch.h"
#include "booth/elder.h"
#include "booth/taxi.h"
#include "sms/sms.h"
#include "site/json.h"
#include "site/site.h"
#include "api/api.h"
#include "api/api_int.h"

#ifndef FUZZ_PROMPTS
#define FUZZ_PROMPTS "build-fuzz/prompts"
#endif
#ifndef FUZZ_ROOT
#define FUZZ_ROOT "."
#endif

#define DIR_PREFIX "laoyou-fuzz-http-"

enum {
	REPLY_MAX = 8 << 20,       /* a page or the site, with room */
	WAIT_MS = 5000,            /* a reply that takes longer is a hang */
};

static struct {
	char dir[96];
	struct conf cf;
	struct store *st;
	struct portpool *pp;
	struct sipd *sd;
	struct calls *cs;
	struct cdr_writer *cw;
	struct ivr *ivr;
	struct desk *desk;
	struct sms *sms;
	struct booths *booths;
	struct watch *watch;
	struct elder *elder;
	struct taxi *taxi;
	struct api *api;
	sqlite3 *seeded;           /* the database as seeded */
	int changes;               /* the store's row changes when it was */
	struct sa http;
} w;

/* One client connection per input. */
static struct {
	int fd;
	int sfd;                   /* the server's end, once found */
	const uint8_t *data;
	size_t size, sent;
	struct mbuf *reply;
	struct tmr tmr;
	uint64_t deadline;
	unsigned quiet;            /* turns with nothing more to read */
	bool timed_out;
} cli;

/* FUZZ_HTTP_SHOW=1: print each reply (for writing seeds). */
static bool show;

static void die(const char *what, int err)
{
	re_fprintf(stderr, "fuzz-http: %s: %m\n", what, err);
	abort();
}

/* The server's booths_apply: the site's booths join the fleet. */
static int booths_apply(void)
{
	struct json *root = NULL;
	char *body = NULL, err[400] = "";
	int e = store_site_get(w.st, &body);

	if (!e && body[0])
		e = json_parse(&root, body, strlen(body), err, sizeof(err));
	if (!e && root)
		e = booths_site_load(w.booths, root, "site", err,
				     sizeof(err));
	mem_deref(root);
	mem_deref(body);
	return e == ENOENT ? 0 : e;
}

/* The server's site_reload, for PUT /api/v1/site. */
static int site_reload(void *arg)
{
	int e = ivr_reload(w.ivr);
	(void)arg;

	return e ? e : booths_apply();
}

static void seed_account(const char *user, const char *ext, const char *kind,
			 bool outbound)
{
	struct store_account a;
	uint8_t digest[16];
	char in[200];
	int err;

	memset(&a, 0, sizeof(a));
	str_ncpy(a.user, user, sizeof(a.user));
	str_ncpy(a.realm, w.cf.realm, sizeof(a.realm));
	str_ncpy(a.ext, ext, sizeof(a.ext));
	str_ncpy(a.kind, kind, sizeof(a.kind));
	a.outbound = outbound;
	re_snprintf(in, sizeof(in), "%s:%s:fuzz-secret", user, a.realm);
	md5((uint8_t *)in, strlen(in), digest);
	re_snprintf(a.ha1, sizeof(a.ha1), "%w", digest, sizeof(digest));
	err = store_account_add(w.st, &a);
	if (err)
		die("account", err);
}

/* A user of role with agent, a live session and its CSRF token:
 * "laoyou_session=fuzz-session-NAME", "X-CSRF-Token: fuzz-csrf-NAME". */
static void seed_user(const char *name, const char *role, const char *agent)
{
	static const char pw[] = "fuzz-password";
	struct store_user u;
	char secret[64], csrf[64], hash[65];
	int err;

	memset(&u, 0, sizeof(u));
	str_ncpy(u.name, name, sizeof(u.name));
	str_ncpy(u.role, role, sizeof(u.role));
	str_ncpy(u.agent, agent, sizeof(u.agent));
	u.created_ms = clock_wall_ms();
	if (crypto_pwhash_str(u.hash, pw, strlen(pw),
			      crypto_pwhash_OPSLIMIT_MIN,
			      crypto_pwhash_MEMLIMIT_MIN))
		die("password hash", ENOMEM);
	err = store_user_add(w.st, &u);
	if (err)
		die("user", err);
	re_snprintf(secret, sizeof(secret), "fuzz-session-%s", name);
	re_snprintf(csrf, sizeof(csrf), "fuzz-csrf-%s", name);
	api_hash(secret, hash);
	/* A year: the session outlives any run. */
	err = store_session_add(w.st, hash, name, csrf,
				clock_wall_ms() + 365LL * 86400 * 1000);
	if (err)
		die("session", err);
}

/* "Authorization: Bearer fuzz-token-SCOPE". */
static void seed_token(const char *scope)
{
	char secret[64], name[64], hash[65];
	int err;

	re_snprintf(secret, sizeof(secret), "fuzz-token-%s", scope);
	re_snprintf(name, sizeof(name), "fuzz-%s", scope);
	api_hash(secret, hash);
	err = store_token_add(w.st, name, hash, scope, clock_wall_ms());
	if (err)
		die("token", err);
}

static void seed(void)
{
	char path[600], err[512] = "";
	int e;

	/* FUZZ_HTTP_SITE: another site to seed with. */
	if (getenv("FUZZ_HTTP_SITE"))
		str_ncpy(path, getenv("FUZZ_HTTP_SITE"), sizeof(path));
	else
		re_snprintf(path, sizeof(path), "%s/sites/demo.json",
			    FUZZ_ROOT);
	e = site_import(path, &w.cf, w.st, err, sizeof(err));
	if (e) {
		re_fprintf(stderr, "fuzz-http: demo site: %s\n", err);
		abort();
	}
	seed_account("alice", "1001", "agent", true);
	seed_account("bob", "1002", "agent", false);
	seed_account("carol", "1003", "agent", false);
	seed_account("booth-tianai", "2001", "booth", false);
	seed_account("booth-duolun", "2002", "booth", false);
	seed_account("booth-bund", "2003", "booth", false);
	seed_account("trunk", "", "trunk", false);
	seed_user("admin", "admin", "");
	seed_user("sup", "supervisor", "carol");
	seed_user("agent", "agent", "alice");
	seed_token("read");
	seed_token("control");
	seed_token("admin");
}

static void copy_db(sqlite3 *to, sqlite3 *from)
{
	sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
	int rc;

	if (!b)
		die(sqlite3_errmsg(to), EIO);
	rc = sqlite3_backup_step(b, -1);
	if (sqlite3_backup_finish(b) != SQLITE_OK || rc != SQLITE_DONE)
		die(sqlite3_errmsg(to), EIO);
}

static int rm_one(const char *p, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	w.api = mem_deref(w.api);
	w.taxi = mem_deref(w.taxi);
	w.elder = mem_deref(w.elder);
	w.watch = mem_deref(w.watch);
	w.booths = mem_deref(w.booths);
	w.sms = mem_deref(w.sms);
	w.ivr = mem_deref(w.ivr);
	w.desk = mem_deref(w.desk);
	w.cs = mem_deref(w.cs);
	w.cw = mem_deref(w.cw);
	w.sd = mem_deref(w.sd);
	w.pp = mem_deref(w.pp);
	w.st = mem_deref(w.st);
	if (w.seeded)
		sqlite3_close(w.seeded);
	w.seeded = NULL;
	if (w.dir[0])
		(void)nftw(w.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	libre_close();
}

/* A run that crashed could not remove its directory: remove those whose
 * process is gone (the name carries the pid; two runs at a time are
 * usual). */
static void sweep_dirs(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *e;
	char path[300];
	long pid;

	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, DIR_PREFIX, strlen(DIR_PREFIX)))
			continue;
		pid = strtol(e->d_name + strlen(DIR_PREFIX), NULL, 10);
		if (pid <= 0 || !kill((pid_t)pid, 0) || errno != ESRCH)
			continue;
		re_snprintf(path, sizeof(path), "%s/%s", parent, e->d_name);
		(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	if (d)
		closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char overrides[700], recordings[700];
	int e;

	(void)argc; (void)argv;
	fuzz_quiet();
	show = getenv("FUZZ_HTTP_SHOW") != NULL;
	/* tmpfs when there is one: the database is rewritten per input. */
	sweep_dirs("/dev/shm");
	sweep_dirs("/tmp");
	re_snprintf(w.dir, sizeof(w.dir), "/dev/shm/%s%d-XXXXXX", DIR_PREFIX,
		    (int)getpid());
	if (!mkdtemp(w.dir)) {
		re_snprintf(w.dir, sizeof(w.dir), "/tmp/%s%d-XXXXXX",
			    DIR_PREFIX, (int)getpid());
		if (!mkdtemp(w.dir))
			die("mkdtemp", errno);
	}
	e = libre_init();
	if (e)
		die("libre_init", e);
	if (sodium_init() < 0)
		die("sodium_init", EIO);

	conf_defaults(&w.cf);
	sa_set_str(&w.cf.sip_udp, "127.0.0.1", 0);
	sa_init(&w.cf.sip_tcp, AF_UNSPEC);
	sa_set_str(&w.cf.http, "127.0.0.1", 0);
	sa_set_str(&w.cf.rtp_ip, "127.0.0.1", 0);
	w.cf.rtp_min = 41000;
	w.cf.rtp_max = 41999;
	re_snprintf(w.cf.db, sizeof(w.cf.db), "%s/laoyou.db", w.dir);
	str_ncpy(w.cf.prompts_dir, FUZZ_PROMPTS, sizeof(w.cf.prompts_dir));
	/* FUZZ_HTTP_WEB: pages from elsewhere (a snapshot, say). */
	if (getenv("FUZZ_HTTP_WEB"))
		str_ncpy(w.cf.web_dir, getenv("FUZZ_HTTP_WEB"),
			 sizeof(w.cf.web_dir));
	else
		re_snprintf(w.cf.web_dir, sizeof(w.cf.web_dir), "%s/web",
			    FUZZ_ROOT);
	str_ncpy(w.cf.data_dir, w.dir, sizeof(w.cf.data_dir));
	/* The partners are configured, at a port where nobody listens:
	 * their requests fail at once, as a partner that is down. */
	str_ncpy(w.cf.taxi_url, "http://127.0.0.1:9/rides",
		 sizeof(w.cf.taxi_url));
	str_ncpy(w.cf.taxi_secret, "fuzz-taxi-secret",
		 sizeof(w.cf.taxi_secret));
	str_ncpy(w.cf.sms_url, "http://127.0.0.1:9/cgi-bin/sendsms?"
		 "username=u&password=p", sizeof(w.cf.sms_url));
	str_ncpy(w.cf.public_url, "http://127.0.0.1:8080",
		 sizeof(w.cf.public_url));
	re_snprintf(overrides, sizeof(overrides), "%s/prompts", w.dir);
	re_snprintf(recordings, sizeof(recordings), "%s/recordings", w.dir);
	(void)mkdir(recordings, 0755);

	e = store_open(&w.st, w.cf.db);
	if (e)
		die("store_open", e);
	seed();
	e = portpool_alloc(&w.pp, &w.cf.rtp_ip, w.cf.rtp_min, w.cf.rtp_max);
	if (!e)
		e = sipd_alloc(&w.sd, &w.cf, w.st);
	if (!e)
		e = calls_alloc(&w.cs, &w.cf, w.sd, w.st, w.pp);
	if (!e)
		e = cdr_writer_alloc(&w.cw, w.st);
	if (!e)
		e = ivr_alloc(&w.ivr, w.cs, w.st, w.cf.prompts_dir, overrides,
			      recordings);
	if (!e)
		e = desk_alloc(&w.desk, w.cs, w.sd, w.st);
	if (!e) {
		ivr_set_desk(w.ivr, w.desk);
		e = sms_alloc(&w.sms, &w.cf, w.st);
	}
	if (!e)
		e = booths_alloc(&w.booths, &w.cf, w.cs, w.st);
	if (!e)
		e = booths_apply();
	if (!e)
		e = watch_alloc(&w.watch, &w.cf, w.st, w.booths, w.sms);
	if (!e)
		e = elder_alloc(&w.elder, &w.cf, w.cs, w.desk, w.st, w.booths,
				w.sms);
	if (!e)
		e = taxi_alloc(&w.taxi, &w.cf, w.st, w.booths);
	if (!e)
		e = api_alloc(&w.api, &w.cf, w.cs, w.sd, w.pp, w.st, w.desk,
			      site_reload, NULL);
	if (e)
		die("server", e);
	{
		struct api_services svc = {w.booths, w.sms, w.watch, w.elder,
					   w.taxi};
		api_set_services(w.api, &svc);
	}
	e = tcp_sock_local_get(http_sock_tcp(w.api->sock), &w.http);
	if (e)
		die("http port", e);

	if (sqlite3_open(":memory:", &w.seeded) != SQLITE_OK)
		die("sqlite3_open", ENOMEM);
	copy_db(w.seeded, store_db(w.st));
	w.changes = sqlite3_total_changes(store_db(w.st));
	atexit(cleanup);
	return 0;
}

static void cli_flushed(void *arg)
{
	(void)arg;
	re_cancel();
}

/* The server's end of our connection: the socket whose peer we are. */
static int server_fd(void)
{
	struct sa me, peer;

	sa_init(&me, AF_UNSPEC);
	if (getsockname(cli.fd, &me.u.sa, &me.len))
		return -1;
	/* accept() hands out the lowest free number: look after ours. */
	for (int i = 0; i < 1024; i++) {
		int fd = (cli.fd + 1 + i) % 1024;

		sa_init(&peer, AF_UNSPEC);
		if (fd != cli.fd && !getpeername(fd, &peer.u.sa, &peer.len) &&
		    sa_cmp(&peer, &me, SA_ALL))
			return fd;
	}
	return -1;
}

/* Everything the server has sent so far; false once it has closed. */
static bool cli_read(void)
{
	uint8_t buf[16384];
	ssize_t n;

	while ((n = recv(cli.fd, buf, sizeof(buf), 0)) > 0) {
		if (cli.reply->end + (size_t)n <= REPLY_MAX)
			(void)mbuf_write_mem(cli.reply, buf, (size_t)n);
	}
	return n < 0 && (errno == EAGAIN || errno == EINTR);
}

/* Called on every turn of the loop: the socket is always writable.  The
 * server is done with the input when it has closed, or when it has read
 * all of it (libre handles what it reads at once, pipelined requests
 * too) and two turns have brought no more of its replies (a long one
 * goes out as we read it). */
static void cli_handler(int flags, void *arg)
{
	size_t had = cli.reply->end;
	int unread = 1;
	ssize_t n;
	(void)arg;

	if ((flags & FD_WRITE) && cli.sent < cli.size) {
		n = send(cli.fd, cli.data + cli.sent, cli.size - cli.sent,
			 MSG_NOSIGNAL);
		if (n > 0)
			cli.sent += (size_t)n;
	}
	if (!cli_read()) {
		re_cancel();
		return;
	}
	if (clock_mono_ms() > cli.deadline) {
		cli.timed_out = true;
		re_cancel();
		return;
	}
	if (cli.sent < cli.size)
		return;
	if (cli.sfd < 0)
		cli.sfd = server_fd();
	if (cli.sfd >= 0 && ioctl(cli.sfd, FIONREAD, &unread))
		unread = 0;
	cli.quiet = !unread && cli.reply->end == had ? cli.quiet + 1 : 0;
	if (cli.quiet >= 2)
		re_cancel();
}

/* Content-Length of a reply's header section, or -1. */
static long content_length(const char *h, size_t n)
{
	for (size_t i = 0; i + 16 < n; i++) {
		if ((i == 0 || h[i - 1] == '\n') &&
		    !strncasecmp(h + i, "Content-Length:", 15))
			return strtol(h + i + 15, NULL, 10);
	}
	return -1;
}

static bool header_has(const char *h, size_t n, const char *line)
{
	size_t l = strlen(line);

	for (size_t i = 0; i + l <= n; i++)
		if ((i == 0 || h[i - 1] == '\n') &&
		    !strncasecmp(h + i, line, l))
			return true;
	return false;
}

/* Each reply in turn (pipelined requests get several).  After a HEAD
 * anywhere in the input only the first is checked: its reply's
 * Content-Length announces a body that is not sent. */
static void check_replies(const struct mbuf *mb, bool head)
{
	const char *p = (const char *)mb->buf;
	size_t left = mb->end;

	while (left) {
		const char *end = NULL;
		size_t hlen;
		long clen;
		unsigned code;

		FUZZ_CHECK(left >= 12 && !memcmp(p, "HTTP/1.1 ", 9));
		code = (unsigned)(p[9] - '0') * 100 + (unsigned)(p[10] - '0') *
			10 + (unsigned)(p[11] - '0');
		FUZZ_CHECK(code >= 100 && code <= 599);
		for (size_t i = 0; i + 4 <= left; i++)
			if (!memcmp(p + i, "\r\n\r\n", 4)) {
				end = p + i + 4;
				break;
			}
		if (!end)
			return;    /* cut short: the server closed first */
		hlen = (size_t)(end - p);
		clen = content_length(p, hlen);
		if (clen < 0 || head)
			return;    /* libre's own replies; HEAD has no body */
		FUZZ_CHECK((size_t)clen <= left - hlen);
		if (code == 500 && header_has(p, hlen, "Content-Type: "
					      "application/json")) {
			re_fprintf(stderr, "500 from the API: %b\n", end,
				   (size_t)clen);
			abort();
		}
		if (clen && header_has(p, hlen, "Content-Type: "
				       "application/json")) {
			struct json *j = NULL;
			char err[128];

			if (json_parse(&j, end, (size_t)clen, err,
				       sizeof(err))) {
				re_fprintf(stderr, "%u with JSON that does not"
					   " parse (%s): %b\n", code, err,
					   end, (size_t)clen);
				abort();
			}
			FUZZ_CHECK(code < 400 || (json_type(j) == JSON_OBJECT
				   && json_str(json_get(j, "error")) &&
				   json_str(json_get(j, "message"))));
			mem_deref(j);
		}
		p = end + clen;
		left -= hlen + (size_t)clen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int e;

	/* Most inputs change nothing: copy back only after a change. */
	if (sqlite3_total_changes(store_db(w.st)) != w.changes) {
		copy_db(store_db(w.st), w.seeded);
		w.changes = sqlite3_total_changes(store_db(w.st));
	}
	memset(w.api->fails, 0, sizeof(w.api->fails));

	memset(&cli, 0, sizeof(cli));
	cli.data = data;
	cli.size = size;
	cli.reply = mbuf_alloc(4096);
	cli.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cli.sfd = -1;
	cli.deadline = clock_mono_ms() + WAIT_MS;
	if (!cli.reply || cli.fd < 0)
		die("client", ENOMEM);
	/* libFuzzer's alarm may interrupt the connect; it goes on anyway. */
	if (connect(cli.fd, &w.http.u.sa, w.http.len)) {
		struct pollfd pf = {.fd = cli.fd, .events = POLLOUT};

		if (errno != EINTR)
			die("connect", errno);
		while (poll(&pf, 1, WAIT_MS) < 0 && errno == EINTR)
			;
	}
	e = net_sockopt_blocking_set(cli.fd, false);
	if (e)
		die("non-blocking", e);
	e = fd_listen(cli.fd, FD_READ | FD_WRITE, cli_handler, NULL);
	if (e)
		die("fd_listen", e);
	(void)re_main(NULL);
	fd_close(cli.fd);
	/* A reset, not a FIN: whoever sends the first FIN keeps the port in
	 * TIME_WAIT for a minute, and at hundreds of inputs a second that
	 * would take every ephemeral port of the machine. */
	(void)setsockopt(cli.fd, SOL_SOCKET, SO_LINGER,
			 &(struct linger){.l_onoff = 1, .l_linger = 0},
			 sizeof(struct linger));
	(void)close(cli.fd);
	/* What the server frees after closing runs on the next turn of the
	 * loop: let it, so that each input leaves nothing behind that is not
	 * meant to stay. */
	tmr_start(&cli.tmr, 0, cli_flushed, NULL);
	(void)re_main(NULL);
	if (cli.timed_out) {
		re_fprintf(stderr, "the server did not take the input within "
			   "%u ms\n", WAIT_MS);
		abort();
	}
	if (show)
		re_fprintf(stderr, "---- reply:\n%b\n", cli.reply->buf,
			   cli.reply->end);
	check_replies(cli.reply, memmem(data, size, "HEAD", 4) != NULL);
	cli.reply = mem_deref(cli.reply);
	return 0;
}
