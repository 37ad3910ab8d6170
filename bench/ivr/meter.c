/*
 * meter -- callers and RTP meter for the laoyou IVR benchmark.
 *
 * One process, one epoll loop.  Every caller is one UDP socket on an even
 * loopback port; the SIP side (INVITE to the hotline, ACK, BYE) is done by
 * the helper `sipua` (libre), spawned with a SOCK_SEQPACKET control
 * channel.  Laoyou answers each call into a menu that plays prompts, and
 * sends 20 ms PCMU frames to the caller's port; the meter receives them.
 *
 * For every received packet of every stream:
 *   - the arrival time.  Two clocks are kept:
 *       kernel  the socket's SO_TIMESTAMPNS receive stamp, moved onto
 *               CLOCK_MONOTONIC by a fixed offset.  On loopback the stamp
 *               is taken while laoyou's sendto() runs (netif_rx), so it is
 *               laoyou's pacing, untouched by the meter's own scheduling.
 *       user    CLOCK_MONOTONIC read by the meter right after recvmmsg();
 *               it adds the meter's wake-up and queueing delay.
 *     The verdict uses one of them (--clock, default kernel); both are
 *     reported.
 *   - jitter = |inter-arrival - 20 ms| for every packet of a talkspurt
 *     but its first (the first packet of a playback, marker bit set,
 *     follows a silence of any length).  Histogram: 1 us buckets below
 *     20 ms, 1 ms buckets above.
 *   - late frame: an inter-arrival above 40 ms inside a talkspurt.
 *   - RTP checks: version 2 and PT 0; one SSRC; the sequence number goes
 *     up by exactly 1 from packet to packet (also across playbacks);
 *     inside a talkspurt the timestamp goes up by 160 per sequence step;
 *     at a marker it must move forward; the first packet of a stream and
 *     of each playback has the marker bit (a gap > 100 ms with a
 *     timestamp jump but no marker counts as a missing marker).
 *
 * Stepping: for each count N the meter places N calls at --rate per
 * second, waits until every call is answered and its stream is flowing,
 * settles 1 s, measures --hold seconds, then hangs every call up (BYE,
 * paced) and waits until laoyou's GET /health shows no calls and no RTP
 * ports in use.  CPU (utime+stime from /proc/PID/stat) and RSS
 * (/proc/PID/statm) of laoyou are sampled at the window's edges.  One
 * "RESULT k=v ..." line per step goes to stdout, progress to stderr.
 * Stepping stops at the first failing step.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S   1000000000LL
#define NS_PER_MS  1000000LL
#define PTIME_NS   (20 * NS_PER_MS)
#define LATE_NS    (40 * NS_PER_MS)
#define RTP_HDR    12
#define FRAME      160
#define PKT_LEN    (RTP_HDR + FRAME)
#define SLOTS      20
#define BATCH      8

enum { T_EP = 1, T_TIMER, T_CTL };
enum cstate { C_FREE, C_INVITE, C_UP, C_FAIL, C_CLOSED };
enum phase { PH_INIT, PH_RAMP, PH_SETTLE, PH_WINDOW, PH_HANGUP, PH_DRAIN, PH_DONE };

struct caller {
	int fd;
	uint16_t lport;
	uint8_t state;
	bool connected;
	struct sockaddr_in ly;    /* laoyou's RTP address from its SDP */
	struct sockaddr_in src;   /* source of the first RTP packet */
	/* send side (--send) */
	uint16_t tx_seq;
	uint32_t tx_ts, tx_ssrc;
	/* receive side */
	bool seen;
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	int64_t tk, tu;           /* arrival of the previous packet */
	uint64_t rx_total;
	uint32_t rx_win, late_win;
	uint32_t ovfl;            /* SO_RXQ_OVFL count seen last */
};

/* ---- options ---- */
static const char *sipua_path;
static const char *sip_target = "127.0.0.1:5060";
static const char *hotline = "7000";
static const char *http_target = NULL;
static const char *label = "laoyou";
static bool ref_mode = false;     /* the helper is refsend, and it is measured */
static int ref_cpu = -1;
static int ref_rt = 0;            /* SCHED_FIFO priority for refsend, 0 = none */
static bool stop_on_fail = true;
static pid_t xpid;                /* a process whose CPU is not "other" (--exclude-pid) */
static int uac_port = 5071;
static int steps[64], nsteps;
static double hold_s = 10.0;
static int settle_ms = 1000;
static double rate = 400.0;
static int max_pending = 200;
static double bye_rate = 1000.0;
static pid_t lpid;
static int port_min = 2000, port_max = 19999;
static bool send_mode = false;
static bool use_kernel_clock = true;
static double max_jitter_ms = 2.0;
static double max_seconds = 420.0;
static double noisy_pct = 10.0;
static int retries_left = 2;
static double quiet_wait_s = 8.0;
static int poll_us = 1000;         /* 0: sleep in epoll_wait */

/* ---- state ---- */
static int epfd = -1, tfd = -1, ctlfd = -1;
static pid_t sipua_pid;
static struct caller *cl;
static int ncl, maxcl;
static int id_base;               /* control ids of this step: id_base + index */
static int next_port;
static enum phase phase = PH_INIT;
static int64_t phase_t, ramp_start, run_start;
static int step_idx;
static int n_up, n_failed, n_pending, n_closed, n_flowing;
static bool sipua_ready, hung;
static int fail_prints, close_prints;
static bool any_fail;
static int exit_code;
static int64_t t0;                /* 1 ms tick origin */
static int64_t last_tick = -1;
static int64_t off_ns;            /* CLOCK_REALTIME - CLOCK_MONOTONIC */
static int64_t win_start = INT64_MAX, win_end = INT64_MAX;
static int64_t drain_deadline, last_health;
static int64_t ramp_secs_ns;
static bool step_failed_setup;

/* window counters: packets, jitter and late frames by arrival in the window */
static uint64_t pkts_win, late_k, late_u, send_errs, tx_win, closed_win;
/* RTP correctness: from the first packet of the step until the hang-up */
static bool checking;
static uint64_t lost, seq_err, ts_err, marker_err, ssrc_err, pt_err, strays, playbacks, dups;
static uint64_t meter_drops;      /* packets the meter's sockets dropped (it fell behind) */
static int64_t max_iat_k, max_iat_u;

/* histograms: 1 us buckets below 20 ms, 1 ms buckets to 10 s */
#define HF 20000
#define HB (HF + 9980 + 1)
struct hist {
	uint64_t b[HB];
	uint64_t n;
	int64_t max;
};
static struct hist hj_k, hj_u, h_lag;
/* kernel send stamps modulo 20 ms in 100 us bins: how long laoyou's
 * 20 ms walk over all players takes */
#define PB 200
static uint64_t phase_bins[PB];

/* CPU and memory */
static long clk_tck, page_kib;
static uint64_t xcpu0, xcpu1;
static uint64_t lcpu0, lcpu1, mcpu0, mcpu1, scpu0, scpu1, sys0, sys1, steal0, steal1, nv0, nv1;
static int64_t cpu_t0, cpu_t1;
static long rss_base, rss1, mrss1;
static int h_calls0 = -1, h_ports0 = -1, h_calls1 = -1, h_ports1 = -1;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "meter: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (sipua_pid > 0)
		kill(sipua_pid, SIGTERM);
	exit(2);
}

static inline int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void logf_(const char *fmt, ...)
{
	va_list ap;
	double t = (double)(now_ns() - run_start) / 1e9;
	va_start(ap, fmt);
	fprintf(stderr, "[%7.2f] meter: ", t);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC, from the tightest of a few brackets */
static void sample_offset(void)
{
	int64_t best_w = INT64_MAX;
	for (int i = 0; i < 5; i++) {
		struct timespec a, r, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &b);
		int64_t ma = (int64_t)a.tv_sec * NS_PER_S + a.tv_nsec;
		int64_t mb = (int64_t)b.tv_sec * NS_PER_S + b.tv_nsec;
		int64_t rr = (int64_t)r.tv_sec * NS_PER_S + r.tv_nsec;
		if (mb - ma < best_w) {
			best_w = mb - ma;
			off_ns = rr - (ma + mb) / 2;
		}
	}
}

/* ---- histograms ---- */
static inline void hist_add(struct hist *h, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	int64_t us = ns / 1000;
	int b = us < HF ? (int)us : us < HF + 9980 * 1000LL ? HF + (int)((us - HF) / 1000) : HB - 1;
	h->b[b]++;
	h->n++;
	if (ns > h->max)
		h->max = ns;
}

static double hist_edge_ms(const struct hist *h, int b)
{
	if (b < HF)
		return (b + 1) / 1000.0;
	if (b < HB - 1)
		return (HF + (double)(b - HF + 1) * 1000) / 1000.0;
	return (double)h->max / 1e6;
}

static double hist_pct(const struct hist *h, double p)
{
	if (!h->n)
		return -1;
	uint64_t want = (uint64_t)((double)h->n * p);
	if (want >= h->n)
		want = h->n - 1;
	uint64_t c = 0;
	for (int b = 0; b < HB; b++) {
		c += h->b[b];
		if (c > want)
			return hist_edge_ms(h, b);
	}
	return (double)h->max / 1e6;
}

/* Shortest circular arc of the 20 ms period holding 99.9 % of the sends:
 * the time laoyou needs to serve every player once per period.  *startp
 * gets the arc's first bin. */
static double burst_arc(int *startp)
{
	uint64_t tot = 0;
	for (int i = 0; i < PB; i++)
		tot += phase_bins[i];
	if (!tot)
		return -1;
	uint64_t need = tot - tot / 1000;
	int best = PB, bstart = 0;
	for (int s = 0; s < PB; s++) {
		uint64_t c = 0;
		for (int len = 1; len <= PB && len < best; len++) {
			c += phase_bins[(s + len - 1) % PB];
			if (c >= need) {
				best = len;
				bstart = s;
				break;
			}
		}
	}
	if (startp)
		*startp = bstart;
	return best * 0.1;
}

static double burst_ms(void) { return burst_arc(NULL); }

/* Laoyou's ticks, seen from the callers.  One second into the window the
 * quiet part of the 20 ms period is known (the complement of the burst
 * arc); from then on every kernel send stamp is put in its period, cut in
 * the middle of that quiet part, and each period's first and last send
 * are kept.  First-to-first differences give the tick's own jitter (when
 * the 20 ms timer fires), last minus first the time one walk over all
 * players takes. */
#define NPER 1024
static int64_t gap_phase = -1;     /* ns into the 20 ms period */
static int64_t per_no[NPER], per_min[NPER], per_max[NPER];
static uint32_t per_n[NPER];
static struct hist h_tick, h_walk;

static void ticks_reset(void)
{
	gap_phase = -1;
	for (int i = 0; i < NPER; i++)
		per_no[i] = -1;
	memset(&h_tick, 0, sizeof h_tick);
	memset(&h_walk, 0, sizeof h_walk);
}

static void ticks_add(int64_t tk)
{
	if (gap_phase < 0) {
		if (tk - win_start < NS_PER_S)
			return;
		int st = 0;
		double len = burst_arc(&st);
		if (len < 0 || len > 19.0)
			return; /* no quiet part: cannot cut periods */
		int gap_bins = PB - (int)(len * 10 + 0.5);
		gap_phase = (int64_t)((st + (int)(len * 10 + 0.5) + gap_bins / 2) % PB) * 100000;
	}
	int64_t p = (tk - gap_phase) / PTIME_NS;
	int i = (int)(p % NPER);
	if (per_no[i] != p) {
		per_no[i] = p;
		per_min[i] = per_max[i] = tk;
		per_n[i] = 0;
	}
	if (tk < per_min[i])
		per_min[i] = tk;
	if (tk > per_max[i])
		per_max[i] = tk;
	per_n[i]++;
}

/* from the periods seen: tick jitter and walk length histograms */
static void ticks_summary(void)
{
	int64_t lo = INT64_MAX, hi = -1;
	uint32_t nmax = 0;
	for (int i = 0; i < NPER; i++)
		if (per_no[i] >= 0) {
			if (per_no[i] < lo)
				lo = per_no[i];
			if (per_no[i] > hi)
				hi = per_no[i];
			if (per_n[i] > nmax)
				nmax = per_n[i];
		}
	if (hi < 0)
		return;
	/* periods at the edges, or cut short, are not whole walks */
	for (int64_t p = lo + 1; p < hi; p++) {
		int i = (int)(p % NPER), j = (int)((p + 1) % NPER);
		if (per_no[i] != p || per_n[i] < nmax / 2)
			continue;
		hist_add(&h_walk, per_max[i] - per_min[i]);
		if (per_no[j] == p + 1 && per_n[j] >= nmax / 2 && p + 1 < hi) {
			int64_t d = per_min[j] - per_min[i] - PTIME_NS;
			hist_add(&h_tick, d < 0 ? -d : d);
		}
	}
}

/* ---- /proc ---- */
static bool read_cpu(pid_t pid, uint64_t *ticks)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, pid ? "/proc/%d/stat" : "/proc/self/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return false;
	unsigned long long ut = 0, st = 0;
	/* from field 3 (state) on: state ppid pgrp session tty tpgid flags
	 * minflt cminflt majflt cmajflt utime stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return false;
	*ticks = ut + st;
	return true;
}

static uint64_t steal_ticks;

static uint64_t read_sys_busy(void)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	unsigned long long u = 0, n = 0, sy = 0, id = 0, io = 0, irq = 0, sirq = 0, st = 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &u, &n, &sy, &id, &io, &irq,
		   &sirq, &st) < 4)
		u = n = sy = irq = sirq = st = 0;
	fclose(f);
	steal_ticks = st;
	return u + n + sy + irq + sirq + st;
}

/* involuntary context switches of every thread of pid: how often laoyou
 * was pushed off its CPU while it still had work */
static uint64_t read_nvcsw(pid_t pid)
{
	char path[96], line[256];
	uint64_t sum = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		char sp[128];
		snprintf(sp, sizeof sp, "/proc/%d/task/%.16s/status", (int)pid, de->d_name);
		FILE *f = fopen(sp, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof line, f)) {
			unsigned long long v;
			if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
				sum += v;
		}
		fclose(f);
	}
	closedir(d);
	return sum;
}

static long read_rss_kib(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, pid ? "/proc/%d/statm" : "/proc/self/statm", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long size = 0, res = 0;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * page_kib;
}

/* ---- laoyou's GET /health (blocking, short) ---- */
static bool json_int(const char *s, const char *key, int *out)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(s, pat);
	if (!p)
		return false;
	*out = atoi(p + strlen(pat));
	return true;
}

static bool health(int *calls, int *ports)
{
	static struct sockaddr_in sa;
	if (!http_target) {
		*calls = *ports = 0;
		return true;
	}
	if (!sa.sin_port) {
		char ip[64];
		int port;
		if (sscanf(http_target, "%63[^:]:%d", ip, &port) != 2)
			die("bad --http %s", http_target);
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
			die("bad --http %s", http_target);
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	char buf[2048];
	size_t got = 0;
	bool ok = false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
		static const char req[] = "GET /health HTTP/1.0\r\nHost: laoyou\r\n\r\n";
		if (write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1)) {
			ssize_t n;
			while (got < sizeof buf - 1 &&
			       (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
				got += (size_t)n;
			buf[got] = 0;
			ok = json_int(buf, "active_calls", calls) &&
			     json_int(buf, "rtp_ports_in_use", ports);
		}
	}
	close(fd);
	return ok;
}

/* ---- callers ---- */
static void caller_open(int i)
{
	struct caller *c = &cl[i];
	memset(c, 0, sizeof *c);
	c->fd = -1;
	for (;;) {
		if (next_port > port_max)
			next_port = port_min;
		int port = next_port;
		next_port += 2; /* even ports; port+1 left for RTCP */
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			close(fd);
			if (errno == EADDRINUSE)
				continue;
			die("bind %d: %s", port, strerror(errno));
		}
		int on = 1;
		if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0)
			die("SO_TIMESTAMPNS: %s", strerror(errno));
		/* drops at this socket (the meter fell behind) come with every
		 * packet, so they are not mistaken for laoyou's losses */
		if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) < 0)
			die("SO_RXQ_OVFL: %s", strerror(errno));
		/* room for seconds of backlog if the meter is descheduled */
		int rb = 1 << 20;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof rb) < 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = ((uint64_t)T_EP << 32) | (uint32_t)i };
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			die("epoll_ctl: %s", strerror(errno));
		c->fd = fd;
		c->lport = (uint16_t)port;
		c->tx_ssrc = 0x20000000U ^ (uint32_t)(i + 1) * 2654435761U;
		c->tx_seq = (uint16_t)(i * 7919);
		c->tx_ts = (uint32_t)i * 104729U;
		return;
	}
}

static void callers_close(void)
{
	for (int i = 0; i < ncl; i++)
		if (cl[i].fd >= 0) {
			close(cl[i].fd);
			cl[i].fd = -1;
		}
	ncl = 0;
}

/* A silent PCMU frame from caller c (--send). */
static void send_one(struct caller *c)
{
	uint8_t pkt[PKT_LEN];
	pkt[0] = 0x80;
	pkt[1] = c->tx_seq == 0 && c->tx_ts == 0 ? 0x80 : 0; /* PT 0 */
	pkt[2] = (uint8_t)(c->tx_seq >> 8);
	pkt[3] = (uint8_t)c->tx_seq;
	for (int i = 0; i < 4; i++) {
		pkt[4 + i] = (uint8_t)(c->tx_ts >> (24 - 8 * i));
		pkt[8 + i] = (uint8_t)(c->tx_ssrc >> (24 - 8 * i));
	}
	memset(pkt + RTP_HDR, 0xff, FRAME);
	ssize_t r = send(c->fd, pkt, PKT_LEN, 0);
	int64_t now = now_ns();
	if (now >= win_start && now < win_end) {
		tx_win++;
		if (r != PKT_LEN)
			send_errs++;
	}
	c->tx_seq++;
	c->tx_ts += FRAME;
}

static inline bool in_window(int64_t t) { return t >= win_start && t < win_end; }

static inline bool same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

static void rx_packet(struct caller *c, const uint8_t *p, size_t n, int64_t tk, int64_t tu,
		      uint32_t drops)
{
	bool win = in_window(tk);
	bool chk = checking;
	if (n < RTP_HDR || (p[0] >> 6) != 2) {
		if (chk)
			strays++;
		return;
	}
	bool marker = p[1] & 0x80;
	uint8_t pt = p[1] & 0x7f;
	uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
	uint32_t ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	uint32_t ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	bool was_seen = c->seen;

	if (c->rx_total++ == 0)
		n_flowing++;
	if (chk && pt != 0)
		pt_err++;
	if (win) {
		pkts_win++;
		c->rx_win++;
		/* kernel send stamp (loopback: laoyou's sendto) modulo 20 ms */
		phase_bins[(tk % PTIME_NS) / 100000]++;
		ticks_add(tk);
	}
	if (!was_seen || ssrc != c->ssrc) {
		if (chk) {
			if (was_seen)
				ssrc_err++;
			if (!marker)
				marker_err++;    /* first packet of a stream: marker */
			else
				playbacks++;
		}
		c->seen = true;
		c->ssrc = ssrc;
		c->seq = seq;
		c->ts = ts;
		c->tk = tk;
		c->tu = tu;
		return;
	}
	uint16_t d = (uint16_t)(seq - c->seq);
	if (d == 0 || d >= 0x8000) {
		/* duplicate or from the past: count, keep the newest state */
		if (chk) {
			seq_err++;
			dups += d == 0;
		}
		return;
	}
	int64_t iat_k = tk - c->tk, iat_u = tu - c->tu;
	int32_t dts = (int32_t)(ts - c->ts);
	if (chk && d != 1) {
		if (drops && drops >= d - 1u) {
			/* the gap is the meter's own socket overflowing */
			meter_drops += d - 1u;
		} else {
			seq_err++;
			lost += d - 1u;
		}
	}
	if (win && in_window(tu))
		hist_add(&h_lag, tu - tk);
	if (marker) {
		/* a new playback: any silence before it is fine, but its
		 * timestamp must move on */
		if (chk) {
			playbacks++;
			if (dts < (int32_t)(FRAME * d))
				ts_err++;
		}
	} else if (iat_k > 100 * NS_PER_MS && dts != (int32_t)(FRAME * d)) {
		/* a silence and a timestamp jump without a marker: the first
		 * packet of a playback that lacks its marker bit */
		if (chk)
			marker_err++;
	} else {
		if (chk && dts != (int32_t)(FRAME * d))
			ts_err++;
		if (win && d == 1) {
			int64_t jk = iat_k - PTIME_NS, ju = iat_u - PTIME_NS;
			hist_add(&hj_k, jk < 0 ? -jk : jk);
			hist_add(&hj_u, ju < 0 ? -ju : ju);
			if (iat_k > max_iat_k)
				max_iat_k = iat_k;
			if (iat_u > max_iat_u)
				max_iat_u = iat_u;
		}
		/* a lost packet is counted by the sequence check; a late
		 * frame is a gap of more than 40 ms per frame step */
		if (win && iat_k > LATE_NS * d) {
			late_k++;
			if (use_kernel_clock)
				c->late_win++;
		}
		if (win && iat_u > LATE_NS * d) {
			late_u++;
			if (!use_kernel_clock)
				c->late_win++;
		}
	}
	c->seq = seq;
	c->ts = ts;
	c->tk = tk;
	c->tu = tu;
}

static void ep_rx(int i)
{
	struct caller *c = &cl[i];
	static uint8_t bufs[BATCH][2048];
	static char ctrl[BATCH][CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(4) + 64];
	static struct sockaddr_in from[BATCH];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	for (int k = 0; k < BATCH; k++) {
		iov[k].iov_base = bufs[k];
		iov[k].iov_len = sizeof bufs[k];
		memset(&mm[k].msg_hdr, 0, sizeof mm[k].msg_hdr);
		mm[k].msg_hdr.msg_iov = &iov[k];
		mm[k].msg_hdr.msg_iovlen = 1;
		mm[k].msg_hdr.msg_name = &from[k];
		mm[k].msg_hdr.msg_namelen = sizeof from[k];
		mm[k].msg_hdr.msg_control = ctrl[k];
		mm[k].msg_hdr.msg_controllen = sizeof ctrl[k];
	}
	int n = recvmmsg(c->fd, mm, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	int64_t tu = now_ns();
	for (int k = 0; k < n; k++) {
		int64_t tk = -1;
		uint32_t ovfl = c->ovfl;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mm[k].msg_hdr); cm;
		     cm = CMSG_NXTHDR(&mm[k].msg_hdr, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;
				memcpy(&ts, CMSG_DATA(cm), sizeof ts);
				tk = (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec - off_ns;
			} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
				memcpy(&ovfl, CMSG_DATA(cm), sizeof ovfl);
			}
		}
		if (tk < 0)
			tk = tu; /* no stamp: fall back to the user clock */
		if (c->state == C_FREE || c->state == C_FAIL)
			continue;
		/* Laoyou may start playing before the meter has heard of the
		 * 200 OK: the first source is kept, and compared with the SDP
		 * address once it is known.  Only that source counts. */
		if (!c->src.sin_port) {
			c->src = from[k];
			if (c->state == C_UP && !same_addr(&c->src, &c->ly) && checking)
				strays++;
		}
		if (!same_addr(&from[k], &c->src) ||
		    (c->state != C_INVITE && !same_addr(&from[k], &c->ly))) {
			if (checking)
				strays++;
			continue;
		}
		rx_packet(c, bufs[k], mm[k].msg_len, tk, tu, ovfl - c->ovfl);
		c->ovfl = ovfl;
	}
}

/* ---- sipua control channel ---- */
static void ctl_send(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (send(ctlfd, buf, (size_t)n, MSG_NOSIGNAL) < 0)
		die("control send: %s", strerror(errno));
}

static void spawn_sipua(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		die("socketpair: %s", strerror(errno));
	int bufsz = 4 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
	char a_uac[16];
	snprintf(a_uac, sizeof a_uac, "%d", uac_port);
	pid_t p = fork();
	if (p < 0)
		die("fork: %s", strerror(errno));
	if (p == 0) {
		close(sv[0]);
		if (sv[1] != 3) {
			dup2(sv[1], 3);
			close(sv[1]);
		}
		const char *argv[] = { sipua_path, "--ctl-fd", "3", "--proxy", sip_target,
				       "--uac-port", a_uac, "--hotline", hotline, NULL };
		char a_cpu[16];
		snprintf(a_cpu, sizeof a_cpu, "%d", ref_cpu);
		char a_rt[16];
		snprintf(a_rt, sizeof a_rt, "%d", ref_rt);
		const char *rargv[8];
		int k = 0;
		rargv[k++] = sipua_path;
		rargv[k++] = "--ctl-fd";
		rargv[k++] = "3";
		if (ref_cpu >= 0) {
			rargv[k++] = "--cpu";
			rargv[k++] = a_cpu;
		}
		if (ref_rt > 0) {
			rargv[k++] = "--rt";
			rargv[k++] = a_rt;
		}
		rargv[k] = NULL;
		execv(sipua_path, (char *const *)(ref_mode ? rargv : argv));
		fprintf(stderr, "exec %s: %s\n", sipua_path, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	ctlfd = sv[0];
	fcntl(ctlfd, F_SETFL, O_NONBLOCK);
	fcntl(ctlfd, F_SETFD, FD_CLOEXEC);
	sipua_pid = p;
	if (ref_mode)
		lpid = p;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)T_CTL << 32 };
	epoll_ctl(epfd, EPOLL_CTL_ADD, ctlfd, &ev);
}

static struct caller *by_id(int id)
{
	int i = id - id_base;
	return i >= 0 && i < ncl ? &cl[i] : NULL;
}

static void ctl_rx(void)
{
	char buf[512];
	for (;;) {
		ssize_t n = recv(ctlfd, buf, sizeof buf - 1, MSG_DONTWAIT);
		if (n == 0) {
			if (phase != PH_DONE)
				die("sipua exited unexpectedly");
			return;
		}
		if (n < 0)
			return;
		buf[n] = 0;
		int id, port;
		unsigned hn;
		char ip[64];
		struct caller *c;
		if (!strcmp(buf, "READY")) {
			sipua_ready = true;
		} else if (sscanf(buf, "UP %d %63s %d", &id, ip, &port) == 3) {
			if (!(c = by_id(id)) || c->state != C_INVITE)
				continue;
			memset(&c->ly, 0, sizeof c->ly);
			c->ly.sin_family = AF_INET;
			c->ly.sin_port = htons((uint16_t)port);
			if (inet_pton(AF_INET, ip, &c->ly.sin_addr) != 1) {
				c->state = C_FAIL;
				n_failed++;
				n_pending--;
				continue;
			}
			c->state = C_UP;
			n_up++;
			n_pending--;
			if (send_mode && connect(c->fd, (struct sockaddr *)&c->ly, sizeof c->ly) == 0)
				c->connected = true;
		} else if (sscanf(buf, "FAIL %d", &id) == 1) {
			if (!(c = by_id(id)) || c->state != C_INVITE)
				continue;
			c->state = C_FAIL;
			n_failed++;
			n_pending--;
			if (fail_prints++ < 10)
				logf_("sipua: %s", buf);
		} else if (sscanf(buf, "CLOSED %d", &id) == 1) {
			if (!(c = by_id(id)) || c->state != C_UP)
				continue;
			if (phase == PH_HANGUP || phase == PH_DRAIN)
				continue;
			c->state = C_CLOSED;
			n_closed++;
			if (phase == PH_WINDOW)
				closed_win++;
			if (close_prints++ < 10)
				logf_("laoyou ended a call: sipua: %s", buf);
		} else if (sscanf(buf, "HUNG %u", &hn) == 1) {
			hung = true;
		} else {
			logf_("sipua: %s", buf);
		}
	}
}

/* ---- stepping ---- */
static int cur_target(void) { return steps[step_idx]; }

static void start_call(void)
{
	int i = ncl++;
	caller_open(i);
	cl[i].state = C_INVITE;
	n_pending++;
	ctl_send("CALL %d %u", id_base + i, cl[i].lport);
}

static void reset_window(void)
{
	for (int i = 0; i < ncl; i++) {
		cl[i].rx_win = 0;
		cl[i].late_win = 0;
	}
	memset(&hj_k, 0, sizeof hj_k);
	memset(&hj_u, 0, sizeof hj_u);
	memset(&h_lag, 0, sizeof h_lag);
	memset(phase_bins, 0, sizeof phase_bins);
	ticks_reset();
	pkts_win = late_k = late_u = send_errs = tx_win = closed_win = 0;
	max_iat_k = max_iat_u = 0;
}

static void sample_begin(int64_t now)
{
	if (!read_cpu(lpid, &lcpu0))
		die("cannot read /proc/%d/stat (laoyou gone?)", (int)lpid);
	read_cpu(0, &mcpu0);
	scpu0 = 0;
	read_cpu(sipua_pid, &scpu0);
	xcpu0 = 0;
	if (xpid)
		read_cpu(xpid, &xcpu0);
	sys0 = read_sys_busy();
	steal0 = steal_ticks;
	nv0 = read_nvcsw(lpid);
	cpu_t0 = now;
}

static void sample_end(int64_t now)
{
	if (!read_cpu(lpid, &lcpu1))
		die("cannot read /proc/%d/stat (laoyou gone?)", (int)lpid);
	read_cpu(0, &mcpu1);
	scpu1 = scpu0;
	read_cpu(sipua_pid, &scpu1);
	xcpu1 = xcpu0;
	if (xpid)
		read_cpu(xpid, &xcpu1);
	sys1 = read_sys_busy();
	steal1 = steal_ticks;
	nv1 = read_nvcsw(lpid);
	cpu_t1 = now;
	rss1 = read_rss_kib(lpid);
	mrss1 = read_rss_kib(0);
}

/* true: go on (next step or done); false: measure the same calls again */
static bool report_step(void)
{
	int target = cur_target();
	int held = 0, dead = 0, late_streams = 0;
	for (int i = 0; i < ncl; i++) {
		struct caller *c = &cl[i];
		if (c->state != C_UP)
			continue;
		held++;
		if (!c->rx_win)
			dead++;
		if (c->late_win)
			late_streams++;
	}
	const struct hist *hj = use_kernel_clock ? &hj_k : &hj_u;
	double p50 = hist_pct(hj, 0.50), p99 = hist_pct(hj, 0.99), p999 = hist_pct(hj, 0.999);
	double u50 = hist_pct(&hj_u, 0.50), u99 = hist_pct(&hj_u, 0.99);
	double k50 = hist_pct(&hj_k, 0.50), k99 = hist_pct(&hj_k, 0.99);
	double lag99 = hist_pct(&h_lag, 0.99);
	ticks_summary();
	double tick50 = hist_pct(&h_tick, 0.50), tick99 = hist_pct(&h_tick, 0.99);
	double walk50 = hist_pct(&h_walk, 0.50), walk99 = hist_pct(&h_walk, 0.99);
	uint64_t late = use_kernel_clock ? late_k : late_u;
	double wall = (double)(cpu_t1 - cpu_t0) / 1e9;
	double lcpu = 100.0 * (double)(lcpu1 - lcpu0) / (double)clk_tck / wall;
	double mcpu = 100.0 * (double)(mcpu1 - mcpu0) / (double)clk_tck / wall;
	double scpu = 100.0 * (double)(scpu1 - scpu0) / (double)clk_tck / wall;
	double other = 100.0 * ((double)(sys1 - sys0) - (double)(lcpu1 - lcpu0) -
				(double)(mcpu1 - mcpu0) -
				(lpid == sipua_pid ? 0.0 : (double)(scpu1 - scpu0)) -
				(double)(xcpu1 - xcpu0)) /
		       (double)clk_tck / wall;
	if (lpid == sipua_pid)
		scpu = 0;
	if (other < 0)
		other = 0;
	double steal = 100.0 * (double)(steal1 - steal0) / (double)clk_tck / wall;
	double preempt = (double)(nv1 - nv0) / wall;
	double per100 = held ? lcpu / ((double)held / 100.0) : -1;
	double kib = held ? (double)(rss1 - rss_base) / held : -1;
	uint64_t errors = seq_err + ts_err + marker_err + ssrc_err + pt_err;
	bool ok = !step_failed_setup && held >= target && closed_win == 0 && dead == 0 &&
		  hj->n > 0 && p99 < max_jitter_ms && late == 0 && errors == 0;
	const char *why = ok ? "ok" :
			  step_failed_setup || n_up < target ? "setup" :
			  held < target || closed_win ? "calls-dropped" :
			  hj->n == 0 ? "no-packets" :
			  dead ? "silent-streams" :
			  p99 >= max_jitter_ms ? "jitter" :
			  late ? "late" : "rtp-errors";
	bool noisy = other > noisy_pct;
	bool retry = !ok && noisy && retries_left > 0 && !step_failed_setup && held >= target;
	printf("RESULT target=%s step=%d callers=%d up=%d held=%d setup_failed=%d closed=%" PRIu64
	       " ramp_s=%.2f mode=%s clock=%s pkts=%" PRIu64 " lost=%" PRIu64 " meter_drops=%" PRIu64
	       " jit_p50_ms=%.3f jit_p99_ms=%.3f jit_p999_ms=%.3f jit_max_ms=%.3f"
	       " kjit_p50_ms=%.3f kjit_p99_ms=%.3f ujit_p50_ms=%.3f ujit_p99_ms=%.3f"
	       " max_iat_k_ms=%.3f max_iat_u_ms=%.3f late=%" PRIu64 " late_k=%" PRIu64
	       " late_u=%" PRIu64 " late_streams=%d seq_err=%" PRIu64 " dups=%" PRIu64
	       " ts_err=%" PRIu64 " marker_err=%" PRIu64 " ssrc_err=%" PRIu64 " pt_err=%" PRIu64
	       " strays=%" PRIu64 " playbacks=%" PRIu64 " silent_streams=%d lag_p99_ms=%.3f"
	       " burst_ms=%.1f tick_jit_p50_ms=%.3f tick_jit_p99_ms=%.3f tick_jit_max_ms=%.3f"
	       " walk_p50_ms=%.3f walk_p99_ms=%.3f walk_max_ms=%.3f tx=%" PRIu64 " send_errs=%" PRIu64
	       " cpu_pct=%.2f cpu_per100=%.2f rss_base_kib=%ld rss_kib=%ld kib_per_caller=%.2f"
	       " meter_cpu_pct=%.1f meter_rss_kib=%ld sipua_cpu_pct=%.1f other_cpu_pct=%.1f"
	       " steal_pct=%.1f preempt_per_s=%.0f"
	       " health_calls=%d health_ports=%d health_calls_end=%d health_ports_end=%d"
	       " hold_s=%.2f noisy=%d retried=%d pass=%d why=%s\n",
	       label, step_idx, target, n_up, held, n_failed, closed_win,
	       (double)ramp_secs_ns / 1e9, send_mode ? "send" : "silent",
	       use_kernel_clock ? "kernel" : "user", pkts_win, lost, meter_drops,
	       p50, p99, p999, (double)hj->max / 1e6, k50, k99, u50, u99,
	       (double)max_iat_k / 1e6, (double)max_iat_u / 1e6, late, late_k, late_u,
	       late_streams, seq_err, dups, ts_err, marker_err, ssrc_err, pt_err, strays,
	       playbacks, dead, lag99, burst_ms(), tick50, tick99,
	       (double)h_tick.max / 1e6, walk50, walk99, (double)h_walk.max / 1e6, tx_win, send_errs,
	       lcpu, per100, rss_base, rss1, kib, mcpu, mrss1, scpu, other, steal, preempt,
	       h_calls0, h_ports0, h_calls1, h_ports1, wall, noisy ? 1 : 0, retry ? 1 : 0,
	       ok ? 1 : 0, why);
	fflush(stdout);
	logf_("%s step %d: %d callers, held %d; jitter p50 %.3f p99 %.3f ms (kernel %.3f/%.3f, "
	      "user %.3f/%.3f); late %" PRIu64 "; rtp errors %" PRIu64 " (lost %" PRIu64
	      "); tick jitter p99 %.3f ms, walk p50/p99 %.1f/%.1f ms; %s %.1f%% (%.2f%%/100), "
	      "+%.1f KiB/caller; meter %.1f%%, other %.1f%% -> %s%s",
	      label, step_idx, target, held, p50, p99, k50, k99, u50, u99, late, errors, lost,
	      tick99, walk50, walk99, label, lcpu, per100, kib, mcpu, other, why,
	      retry ? " (machine busy: measuring this step again)" : "");
	if (retry) {
		retries_left--;
		return false;
	}
	if (!ok && stop_on_fail)
		any_fail = true;
	return true;
}

static void set_phase(enum phase p, int64_t now)
{
	phase = p;
	phase_t = now;
}

static void begin_step(int64_t now)
{
	id_base += 1000000;
	ncl = 0;
	n_up = n_failed = n_pending = n_closed = n_flowing = 0;
	step_failed_setup = false;
	fail_prints = close_prints = 0;
	lost = seq_err = ts_err = marker_err = ssrc_err = pt_err = strays = playbacks = dups = 0;
	meter_drops = 0;
	checking = true;
	ramp_start = now;
	set_phase(PH_RAMP, now);
	logf_("%s step %d: ramping to %d callers at %.0f calls/s", label, step_idx, cur_target(),
	      rate);
}

/* CPU ticks of the processes the measurement knows about */
static uint64_t own_ticks(void)
{
	uint64_t t, sum = 0;
	if (read_cpu(lpid, &t))
		sum += t;
	if (read_cpu(0, &t))
		sum += t;
	if (sipua_pid != lpid && read_cpu(sipua_pid, &t))
		sum += t;
	if (xpid && read_cpu(xpid, &t))
		sum += t;
	return sum;
}

/* Before a window: wait (up to quiet_wait_s) for half a second in which
 * the rest of the machine used less than noisy_pct of a core, so that a
 * burst of other work does not land in the measurement. */
static int64_t q_start = -1, q_t;
static uint64_t q_sys, q_own;

static bool machine_quiet(int64_t now)
{
	if (q_start < 0) {
		q_start = q_t = now;
		q_sys = read_sys_busy();
		q_own = own_ticks();
		return false;
	}
	if (now - q_t < 500 * NS_PER_MS)
		return false;
	uint64_t sys = read_sys_busy(), own = own_ticks();
	double other = 100.0 * ((double)(sys - q_sys) - (double)(own - q_own)) /
		       (double)clk_tck / ((double)(now - q_t) / 1e9);
	q_t = now;
	q_sys = sys;
	q_own = own;
	bool quiet = other < noisy_pct;
	if (!quiet && now - q_start < (int64_t)(quiet_wait_s * 1e9))
		return false;
	double waited = (double)(now - q_start) / 1e9;
	if (!quiet)
		logf_("the machine stayed busy (other %.0f%%) for %.1f s; measuring anyway", other,
		      waited);
	else if (waited > 0.6)
		logf_("waited %.1f s for other work on the machine to calm down", waited);
	q_start = -1;
	return true;
}

static void step_machine(int64_t now)
{
	switch (phase) {
	case PH_INIT:
		if (sipua_ready) {
			rss_base = read_rss_kib(lpid);
			int hc = -1, hp = -1;
			health(&hc, &hp);
			logf_("sipua ready; laoyou pid %d rss %ld KiB, health: %d calls, %d ports",
			      (int)lpid, rss_base, hc, hp);
			begin_step(now);
		} else if (now - phase_t > 10 * NS_PER_S) {
			die("sipua not ready after 10 s");
		}
		break;
	case PH_RAMP: {
		int target = cur_target();
		double el = (double)(now - ramp_start) / 1e9;
		int allowed = (int)(el * rate) + 1;
		if (allowed > target)
			allowed = target;
		while (ncl < allowed && n_pending < max_pending)
			start_call();
		double budget = (double)target / rate + 15.0;
		bool resolved = ncl == target && n_pending == 0;
		if (resolved && n_failed) {
			logf_("step %d: %d of %d calls failed to set up", step_idx, n_failed, target);
			step_failed_setup = true;
		}
		if (resolved && (n_flowing >= n_up || n_failed)) {
			ramp_secs_ns = now - ramp_start;
			logf_("ramp to %d done in %.2f s (up %d, failed %d, streams flowing %d)",
			      target, el, n_up, n_failed, n_flowing);
			set_phase(PH_SETTLE, now);
		} else if (el > budget) {
			ramp_secs_ns = now - ramp_start;
			logf_("ramp to %d timed out after %.1f s: started %d, up %d, failed %d, "
			      "pending %d, streams flowing %d", target, el, ncl, n_up, n_failed,
			      n_pending, n_flowing);
			step_failed_setup = true;
			set_phase(PH_SETTLE, now);
		}
		break;
	}
	case PH_SETTLE:
		if (now - phase_t >= (int64_t)settle_ms * NS_PER_MS && machine_quiet(now)) {
			health(&h_calls0, &h_ports0);
			reset_window();
			sample_offset();
			now = now_ns();
			win_start = now;
			win_end = now + (int64_t)(hold_s * 1e9);
			sample_begin(now);
			set_phase(PH_WINDOW, now);
		}
		break;
	case PH_WINDOW:
		if (now >= win_end) {
			sample_end(now);
			/* packets are judged by arrival time; a short grace lets
			 * the last ones in before the counts are read */
			set_phase(PH_HANGUP, now);
			phase_t = now + 200 * NS_PER_MS;
		}
		break;
	case PH_HANGUP:
		if (now < phase_t)
			break;
		if (!hung && win_end != INT64_MAX) {
			health(&h_calls1, &h_ports1);
			bool advance = report_step();
			if (!advance) {
				win_start = win_end = INT64_MAX;
				set_phase(PH_SETTLE, now + 2 * NS_PER_S);
				break;
			}
			win_start = win_end = INT64_MAX;
			hung = false;
			checking = false;
			ctl_send("HANGUP %d", (int)bye_rate);
			logf_("hanging up %d calls (BYE at %.0f/s)", n_up - n_closed, bye_rate);
			phase_t = now;
			break;
		}
		if (hung) {
			hung = false;
			drain_deadline = now + 20 * NS_PER_S;
			last_health = 0;
			set_phase(PH_DRAIN, now);
		} else if (now - phase_t > 30 * NS_PER_S) {
			die("sipua did not finish hanging up in 30 s");
		}
		break;
	case PH_DRAIN:
		if (now - last_health >= 200 * NS_PER_MS) {
			int hc = -1, hp = -1;
			last_health = now;
			bool ok = health(&hc, &hp);
			if (ok && hc == 0 && hp == 0) {
				logf_("%s released every call and port %.2f s after the last BYE", label,
				      (double)(now - phase_t) / 1e9);
				callers_close();
				step_idx++;
				if (any_fail || step_idx >= nsteps)
					set_phase(PH_DONE, now);
				else
					begin_step(now_ns());
			} else if (now > drain_deadline) {
				logf_("LAOYOU: %d calls and %d RTP ports still in use 20 s after every "
				      "call was hung up (health %s); stopping", hc, hp,
				      ok ? "answered" : "did not answer");
				printf("DRAIN step=%d calls_left=%d ports_left=%d\n", step_idx, hc, hp);
				callers_close();
				exit_code = 4;
				set_phase(PH_DONE, now);
			}
		}
		break;
	case PH_DONE:
		break;
	}
}

static void run_ticks(void)
{
	uint64_t exp;
	(void)!read(tfd, &exp, sizeof exp);
	int64_t now = now_ns();
	int64_t k_now = (now - t0) / NS_PER_MS;
	if (send_mode && phase >= PH_RAMP && phase <= PH_HANGUP) {
		int64_t first = last_tick + 1;
		if (k_now - first > SLOTS)
			first = k_now - SLOTS; /* after a stall: no bursts */
		for (int64_t k = first; k <= k_now; k++) {
			int slot = (int)(k % SLOTS);
			for (int i = slot; i < ncl; i += SLOTS)
				if (cl[i].state == C_UP && cl[i].connected)
					send_one(&cl[i]);
		}
	}
	last_tick = k_now;
	step_machine(now_ns());
}

/* ---- main ---- */
static void usage(void)
{
	fprintf(stderr,
		"usage: meter --sipua PATH --pid LAOYOU_PID [options]\n"
		"       meter --ref --sipua REFSEND_PATH [options]\n"
		"  --ref                the helper is refsend (reference sender), measured\n"
		"                       in laoyou's place\n"
		"  --ref-cpu N          pin refsend to CPU N\n"
		"  --ref-rt PRIO        run refsend under SCHED_FIFO PRIO\n"
		"  --label NAME         target name in RESULT lines (laoyou)\n"
		"  --no-stop            go on after a failing step\n"
		"  --busy-pct P         other work above P%% of a core makes the machine busy (10)\n"
		"  --quiet-wait S       before a window, wait up to S s for a quiet machine (8)\n"
		"  --retries N          re-measurements of failed steps on a busy machine (2)\n"
		"  --exclude-pid PID    leave PID's CPU out of other%% (the WARM spinner)\n"
		"  --sip IP:PORT        laoyou SIP UDP address (127.0.0.1:5060)\n"
		"  --http IP:PORT       laoyou HTTP address, for GET /health (none: not polled)\n"
		"  --hotline NUMBER     number dialled (7000)\n"
		"  --uac-port P         local SIP port, laoyou's trunk address (5071)\n"
		"  --steps N,N,...      caller counts (250,500,1000,2000,3000,4000,5000)\n"
		"  --hold S             measuring window per step (10)\n"
		"  --settle-ms MS       pause after the ramp (1000)\n"
		"  --rate R             new calls per second (400)\n"
		"  --max-pending N      calls in setup at once (200)\n"
		"  --bye-rate R         BYEs per second at the end of a step (1000)\n"
		"  --ports MIN-MAX      callers' local RTP ports (2000-19999)\n"
		"  --send               callers send a silent PCMU frame every 20 ms\n"
		"  --clock kernel|user  arrival clock for the verdict (kernel)\n"
		"  --poll-us US         read sockets every US microseconds instead of sleeping\n"
		"                       in epoll_wait (1000; 0 = epoll_wait, needed for a\n"
		"                       meaningful user clock)\n"
		"  --max-jitter-ms MS   pass threshold for p99 jitter (2)\n"
		"  --max-seconds S      hard bound on the whole run (420)\n");
	exit(2);
}

static void parse_steps(const char *s)
{
	nsteps = 0;
	for (const char *p = s; *p && nsteps < 64;) {
		steps[nsteps++] = atoi(p);
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
}

int main(int argc, char **argv)
{
	run_start = now_ns();
	parse_steps("250,500,1000,2000,3000,4000,5000");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() do { if (!v) usage(); i++; } while (0)
		if (!strcmp(a, "--sipua")) { NEEDV(); sipua_path = v; }
		else if (!strcmp(a, "--pid")) { NEEDV(); lpid = (pid_t)atoi(v); }
		else if (!strcmp(a, "--sip")) { NEEDV(); sip_target = v; }
		else if (!strcmp(a, "--http")) { NEEDV(); http_target = v; }
		else if (!strcmp(a, "--hotline")) { NEEDV(); hotline = v; }
		else if (!strcmp(a, "--uac-port")) { NEEDV(); uac_port = atoi(v); }
		else if (!strcmp(a, "--steps")) { NEEDV(); parse_steps(v); }
		else if (!strcmp(a, "--hold")) { NEEDV(); hold_s = atof(v); }
		else if (!strcmp(a, "--settle-ms")) { NEEDV(); settle_ms = atoi(v); }
		else if (!strcmp(a, "--rate")) { NEEDV(); rate = atof(v); }
		else if (!strcmp(a, "--max-pending")) { NEEDV(); max_pending = atoi(v); }
		else if (!strcmp(a, "--bye-rate")) { NEEDV(); bye_rate = atof(v); }
		else if (!strcmp(a, "--ports")) {
			NEEDV();
			if (sscanf(v, "%d-%d", &port_min, &port_max) != 2) usage();
		}
		else if (!strcmp(a, "--send")) send_mode = true;
		else if (!strcmp(a, "--ref")) ref_mode = true;
		else if (!strcmp(a, "--ref-cpu")) { NEEDV(); ref_cpu = atoi(v); }
		else if (!strcmp(a, "--ref-rt")) { NEEDV(); ref_rt = atoi(v); }
		else if (!strcmp(a, "--label")) { NEEDV(); label = v; }
		else if (!strcmp(a, "--no-stop")) stop_on_fail = false;
		else if (!strcmp(a, "--quiet-wait")) { NEEDV(); quiet_wait_s = atof(v); }
		else if (!strcmp(a, "--busy-pct")) { NEEDV(); noisy_pct = atof(v); }
		else if (!strcmp(a, "--retries")) { NEEDV(); retries_left = atoi(v); }
		else if (!strcmp(a, "--exclude-pid")) { NEEDV(); xpid = (pid_t)atoi(v); }
		else if (!strcmp(a, "--clock")) {
			NEEDV();
			if (!strcmp(v, "kernel")) use_kernel_clock = true;
			else if (!strcmp(v, "user")) use_kernel_clock = false;
			else usage();
		}
		else if (!strcmp(a, "--poll-us")) { NEEDV(); poll_us = atoi(v); }
		else if (!strcmp(a, "--max-jitter-ms")) { NEEDV(); max_jitter_ms = atof(v); }
		else if (!strcmp(a, "--max-seconds")) { NEEDV(); max_seconds = atof(v); }
		else usage();
#undef NEEDV
	}
	if (!use_kernel_clock)
		poll_us = 0;
	if (!sipua_path || (!ref_mode && lpid <= 0) || !nsteps || rate <= 0 || bye_rate <= 0)
		usage();
	if (port_min & 1)
		port_min++;
	next_port = port_min;
	clk_tck = sysconf(_SC_CLK_TCK);
	page_kib = sysconf(_SC_PAGESIZE) / 1024;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (int i = 0; i < nsteps; i++)
		if (steps[i] > maxcl)
			maxcl = steps[i];
	if ((port_max - port_min + 2) / 2 < maxcl)
		die("port range %d-%d too small for %d callers", port_min, port_max, maxcl);

	struct rlimit rl;
	rlim_t want = (rlim_t)maxcl + 256;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
			rl.rlim_max = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			die("cannot raise RLIMIT_NOFILE to %lu: %s", (unsigned long)want,
			    strerror(errno));
	}

	cl = calloc((size_t)maxcl, sizeof *cl);
	if (!cl)
		die("out of memory");
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	spawn_sipua();

	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd < 0)
		die("timerfd_create: %s", strerror(errno));
	t0 = now_ns() + 5 * NS_PER_MS;
	t0 -= t0 % NS_PER_MS;
	struct itimerspec its = {
		.it_value = { .tv_sec = t0 / NS_PER_S, .tv_nsec = t0 % NS_PER_S },
		.it_interval = { .tv_sec = 0, .tv_nsec = NS_PER_MS },
	};
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		die("timerfd_settime: %s", strerror(errno));
	struct epoll_event tev = { .events = EPOLLIN, .data.u64 = (uint64_t)T_TIMER << 32 };
	epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);
	sample_offset();
	phase_t = now_ns();

	logf_("steps %d..%d, hold %.1f s, %.0f calls/s, callers %s, verdict clock %s, "
	      "laoyou pid %d", steps[0], steps[nsteps - 1], hold_s, rate,
	      send_mode ? "send silence" : "silent", use_kernel_clock ? "kernel" : "user",
	      (int)lpid);

	enum { MAXEV = 4096 };
	static struct epoll_event evs[MAXEV];
	int64_t hard_end = run_start + (int64_t)(max_seconds * 1e9);
	while (phase != PH_DONE) {
		/* With poll_us, the meter never sleeps in epoll_wait: it naps to
		 * the next poll_us boundary and then takes whatever is ready.
		 * Laoyou's sendto() then never has to wake the meter up (no
		 * cross-CPU wake-up charged to laoyou), and the kernel arrival
		 * stamps do not depend on when the meter reads. */
		int n = epoll_wait(epfd, evs, MAXEV, poll_us ? 0 : 50);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (int j = 0; j < n; j++) {
			uint32_t tag = (uint32_t)(evs[j].data.u64 >> 32);
			uint32_t idx = (uint32_t)evs[j].data.u64;
			switch (tag) {
			case T_EP:
				if ((int)idx < ncl && cl[idx].fd >= 0)
					ep_rx((int)idx);
				break;
			case T_TIMER: run_ticks(); break;
			case T_CTL: ctl_rx(); break;
			}
		}
		if (poll_us && n < MAXEV) {
			int64_t now = now_ns(), p = (int64_t)poll_us * 1000;
			int64_t next = (now / p + 1) * p;
			struct timespec ts = { .tv_sec = next / NS_PER_S, .tv_nsec = next % NS_PER_S };
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		if (now_ns() > hard_end) {
			logf_("hard time limit (%.0f s) reached; stopping", max_seconds);
			exit_code = 3;
			break;
		}
	}

	if (sipua_pid > 0) {
		ctl_send("QUIT");
		int64_t until = now_ns() + 3 * NS_PER_S;
		int st;
		while (now_ns() < until) {
			if (waitpid(sipua_pid, &st, WNOHANG) == sipua_pid) {
				sipua_pid = 0;
				break;
			}
			usleep(20000);
		}
		if (sipua_pid > 0) {
			kill(sipua_pid, SIGKILL);
			waitpid(sipua_pid, &st, 0);
		}
	}
	callers_close();
	logf_("done");
	return exit_code;
}
