/*
 * pump -- RTP load generator and meter for the laoyou media benchmark.
 *
 * One process, one epoll loop, one shared 1 ms CLOCK_MONOTONIC tick
 * (timerfd, absolute deadlines).  Every stream sends one 172-byte PCMU
 * packet (12-byte RTP header + 160-byte payload) every 20 ms; streams are
 * spread over the 20 one-millisecond slots of the 20 ms period, so a
 * stream in slot s sends at start + s ms + k * 20 ms.
 *
 * A "call" is two endpoints (two UDP sockets): A (caller leg) and B
 * (callee leg).  Every endpoint is also one stream: it sends to the relay
 * address assigned to its leg and receives the other leg's packets.  The
 * payload carries a magic, the sender's stream id, a stream sequence
 * number and the CLOCK_MONOTONIC send time in ns, so the receiver can
 * count loss per stream and one-way latency (same host, same clock) no
 * matter on which socket a packet arrives.
 *
 * Modes:
 *   direct     the two endpoints of a call send to each other (generator
 *              alone; baseline latency).
 *   rtpengine  calls are set up through rtpengine's ng control protocol
 *              (bencode over UDP, offer/answer) and streams are relayed.
 *   laoyou     calls are set up through the SIP helper `sipua` (libre),
 *              spawned as a child with a SOCK_SEQPACKET control channel.
 *
 * Stepping: for each step count N the pump ramps up to N calls (adding
 * calls at --rate per second), lets them settle, then measures for --hold
 * seconds: packets sent in the window, packets received whose send time
 * lies in the window, a latency histogram, and CPU time / RSS of the
 * measured process (--pid, from /proc/PID/stat and /proc/PID/statm).
 * One "RESULT k=v ..." line per step goes to stdout; progress to stderr.
 * Stepping stops at the first failing step.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
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
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAGIC      0x4c59424dU /* "LYBM" */
#define RTP_HDR    12
#define PAYLOAD    160
#define PKT_LEN    (RTP_HDR + PAYLOAD)
#define SLOTS      20
#define TICK_NS    1000000LL
#define NS_PER_S   1000000000LL

enum { T_EP = 1, T_TIMER, T_NG, T_CTL };
enum mode { M_DIRECT, M_RTPENGINE, M_LAOYOU };
enum cstate { C_IDLE, C_OFFER, C_ANSWER, C_WAIT, C_UP, C_FAIL };
enum phase { PH_INIT, PH_RAMP, PH_SETTLE, PH_WINDOW, PH_GRACE, PH_DONE };

struct ep {
	int fd;
	uint16_t lport;
	bool active;
	int32_t peer;          /* stream id expected here, -1 unknown */
	int32_t call;
	struct sockaddr_in dst;
	/* sender side */
	uint32_t seq;
	uint16_t rtpseq;
	uint32_t rtpts;
	uint32_t ssrc;
	uint32_t sent_win;
	/* receiver-side state of the stream this endpoint SENDS */
	uint32_t recv_win;
	uint32_t hi_seq;
	uint64_t mask;
	bool seen;
	bool connected;
};

struct call {
	int a, b;              /* endpoint indices (b = -1 until known) */
	uint8_t state;
	uint8_t tries;
	int64_t next_try;      /* ns, retransmission deadline (ng) */
	int64_t started;
	struct sockaddr_in ra; /* where A sends */
	struct sockaddr_in rb; /* where B sends */
};

/* ---- options ---- */
static enum mode mode = M_DIRECT;
static const char *label = NULL;
static int steps[64];
static int nsteps = 0;
static double hold_s = 10.0;
static int settle_ms = 1000;
static int grace_ms = 500;
static double rate = 200.0;
static int max_pending = 200;
static pid_t mpid = 0;        /* measured process, 0 = self */
static struct sockaddr_in ng_addr;
static const char *sipua_path = NULL;
static const char *sip_target = "127.0.0.1:5060";
static int uac_port = 5071, uas_port = 5072;
static const char *sip_user = "mb", *sip_secret = "pw", *sip_ext = "3000";
static const char *sip_aor = NULL;
static int port_min = 10000, port_max = 19999;
static double max_loss_pct = 0.1;
static double max_added_ms = 20.0;
static double max_seconds = 300.0;
static double ramp_extra_s = 15.0;
static int base_n[64];
static double base_p99[64];
static int nbase = 0;
static bool verbose = false;
static bool busy_poll = false;
static bool no_connect = false;

/* ---- state ---- */
static int epfd = -1, tfd = -1, ngfd = -1, ctlfd = -1;
static pid_t sipua_pid = 0;
static struct ep *eps;
static int nep = 0, maxep = 0;
static struct call *calls;
static int ncalls = 0, maxcalls = 0;
static int32_t *ep_by_port;          /* local port -> ep index */
static int64_t t0;                   /* tick origin */
static int64_t last_tick = -1;
static int64_t win_start = INT64_MAX, win_end = INT64_MAX;
static enum phase phase = PH_INIT;
static int64_t phase_t = 0;
static int step_idx = 0;
static int64_t ramp_start = 0;
static int ramp_from = 0;
static int calls_up = 0, calls_failed = 0, calls_pending = 0;
static int b_up = 0;                 /* laoyou: callee legs answered */
static int closed_total = 0;
static int64_t last_ping = 0;
static bool ready = false;
static int64_t run_start;
static int exit_code = 0;
static bool any_fail = false;
static int fail_prints = 0;

/* window counters */
static uint64_t misrouted, dups, reorders, strays, send_errs, recv_before;
static uint64_t asym_src;            /* packets from a source other than dst */
static uint64_t late_sends;          /* sent > 2 ms after its deadline */
static int64_t max_late;
static uint64_t closed_win;

/* latency histogram: 1 us buckets < 1 ms, 10 us < 100 ms, 1 ms < 10 s */
#define H1 1000
#define H2 (H1 + 9900)
#define H3 (H2 + 9900)
#define HB (H3 + 1)
static uint64_t hist[HB];
static uint64_t hist_n;
static int64_t lat_min, lat_max;

/* measured process */
static long clk_tck;
static long page_kib;
static uint64_t cpu0, self_cpu0;
static int64_t cpu_t0;
static long rss_base_kib;
static long self_rss_base_kib;
static uint64_t cpu1, self_cpu1;
static int64_t cpu_t1;
static long rss1_kib, self_rss1_kib;
static uint64_t sys0, sys1;          /* machine busy ticks, /proc/stat */
static int retries_left = 2;         /* re-measurements of noisy failed steps */
static double noisy_pct = 15.0;      /* other processes' CPU that taints a step */

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "pump: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (sipua_pid > 0)
		kill(sipua_pid, SIGTERM);
	exit(2);
}

static void logf_(const char *fmt, ...)
{
	va_list ap;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double t = (double)((ts.tv_sec * NS_PER_S + ts.tv_nsec) - run_start) / 1e9;
	va_start(ap, fmt);
	fprintf(stderr, "[%7.2f] pump(%s): ", t, label);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static inline int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static inline void hist_add(int64_t ns)
{
	int64_t us = ns / 1000;
	int b;
	if (us < 0)
		us = 0;
	if (us < H1)
		b = (int)us;
	else if (us < 100000)
		b = H1 + (int)((us - 1000) / 10);
	else if (us < 10000000)
		b = H2 + (int)((us - 100000) / 1000);
	else
		b = H3;
	hist[b]++;
	hist_n++;
	if (ns < lat_min)
		lat_min = ns;
	if (ns > lat_max)
		lat_max = ns;
}

/* upper edge of bucket b in ms */
static double hist_edge_ms(int b)
{
	if (b < H1)
		return (b + 1) / 1000.0;
	if (b < H2)
		return (1000 + (double)(b - H1 + 1) * 10) / 1000.0;
	if (b < H3)
		return (100000 + (double)(b - H2 + 1) * 1000) / 1000.0;
	return (double)lat_max / 1e6;
}

static double hist_pct(double p)
{
	if (!hist_n)
		return -1;
	uint64_t want = (uint64_t)((double)hist_n * p);
	if (want >= hist_n)
		want = hist_n - 1;
	uint64_t c = 0;
	for (int b = 0; b < HB; b++) {
		c += hist[b];
		if (c > want)
			return hist_edge_ms(b);
	}
	return (double)lat_max / 1e6;
}

/* ---- /proc sampling ---- */
static bool read_cpu(pid_t pid, uint64_t *ticks)
{
	char path[64], buf[1024];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	else
		snprintf(path, sizeof path, "/proc/self/stat");
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
	p += 2; /* field 3: state */
	unsigned long long ut = 0, st = 0;
	/* fields 3..15: state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime */
	if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ut, &st) != 2)
		return false;
	*ticks = ut + st;
	return true;
}

/* busy ticks of the whole machine: user nice system irq softirq steal */
static uint64_t read_sys_busy(void)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	unsigned long long u = 0, n = 0, sy = 0, id = 0, io = 0, irq = 0, sirq = 0, st = 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &u, &n, &sy, &id,
		   &io, &irq, &sirq, &st) < 4)
		u = n = sy = irq = sirq = st = 0;
	fclose(f);
	return u + n + sy + irq + sirq + st;
}

static long read_rss_kib(pid_t pid)
{
	char path[64];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
	else
		snprintf(path, sizeof path, "/proc/self/statm");
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long size = 0, res = 0;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * page_kib;
}

/* ---- endpoints ---- */
static int next_port;

static int ep_new(void)
{
	if (nep >= maxep)
		die("too many endpoints");
	for (;;) {
		if (next_port > port_max)
			die("out of local ports in %d-%d", port_min, port_max);
		int port = next_port;
		next_port += 2; /* even ports; port+1 left for RTCP */
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket: %s (raise RLIMIT_NOFILE?)", strerror(errno));
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons((uint16_t)port) };
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			close(fd);
			if (errno == EADDRINUSE)
				continue;
			die("bind %d: %s", port, strerror(errno));
		}
		int i = nep++;
		struct ep *e = &eps[i];
		memset(e, 0, sizeof *e);
		e->fd = fd;
		e->lport = (uint16_t)port;
		e->peer = -1;
		e->call = -1;
		e->ssrc = 0x10000000U ^ (uint32_t)i * 2654435761U;
		ep_by_port[port] = i;
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = ((uint64_t)T_EP << 32) | (uint32_t)i };
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			die("epoll_ctl: %s", strerror(errno));
		return i;
	}
}

static void ep_start(int i, const struct sockaddr_in *dst)
{
	struct ep *e = &eps[i];
	e->dst = *dst;
	e->active = true;
}

static inline void send_one(struct ep *e, int64_t deadline)
{
	uint8_t pkt[PKT_LEN];
	uint32_t sid = (uint32_t)(e - eps);
	pkt[0] = 0x80;
	pkt[1] = 0; /* PT 0 = PCMU */
	uint16_t rs = htons(e->rtpseq);
	uint32_t rt = htonl(e->rtpts), ss = htonl(e->ssrc);
	memcpy(pkt + 2, &rs, 2);
	memcpy(pkt + 4, &rt, 4);
	memcpy(pkt + 8, &ss, 4);
	uint32_t magic = MAGIC, seq = e->seq;
	memcpy(pkt + RTP_HDR + 0, &magic, 4);
	memcpy(pkt + RTP_HDR + 4, &sid, 4);
	memcpy(pkt + RTP_HDR + 8, &seq, 4);
	memset(pkt + RTP_HDR + 20, 0xff, PAYLOAD - 20); /* PCMU silence */
	int64_t now = now_ns();
	memcpy(pkt + RTP_HDR + 12, &now, 8);
	ssize_t r = e->connected ? send(e->fd, pkt, PKT_LEN, 0) :
		    sendto(e->fd, pkt, PKT_LEN, 0, (struct sockaddr *)&e->dst, sizeof e->dst);
	if (now >= win_start && now < win_end) {
		e->sent_win++;
		if (r != PKT_LEN)
			send_errs++;
		int64_t late = now - deadline;
		if (late > 2000000)
			late_sends++;
		if (late > max_late)
			max_late = late;
	}
	e->seq++;
	e->rtpseq++;
	e->rtpts += PAYLOAD;
}

static void rx_packet(struct ep *r, const uint8_t *buf, size_t n, int64_t now)
{
	uint32_t magic, sid, seq;
	int64_t ts;
	if (n < RTP_HDR + 20) {
		strays++;
		return;
	}
	memcpy(&magic, buf + RTP_HDR, 4);
	memcpy(&sid, buf + RTP_HDR + 4, 4);
	memcpy(&seq, buf + RTP_HDR + 8, 4);
	memcpy(&ts, buf + RTP_HDR + 12, 8);
	if (magic != MAGIC || sid >= (uint32_t)nep) {
		strays++;
		return;
	}
	struct ep *s = &eps[sid];
	if (r->peer >= 0 && (uint32_t)r->peer != sid)
		misrouted++;
	/* duplicate / reorder detection over a 64-packet window */
	if (!s->seen) {
		s->seen = true;
		s->hi_seq = seq;
		s->mask = 1;
	} else if (seq > s->hi_seq) {
		uint32_t d = seq - s->hi_seq;
		s->mask = d >= 64 ? 1 : (s->mask << d) | 1;
		s->hi_seq = seq;
	} else {
		uint32_t d = s->hi_seq - seq;
		if (d < 64) {
			if (s->mask & (1ULL << d)) {
				dups++;
				return;
			}
			s->mask |= 1ULL << d;
		}
		reorders++;
	}
	if (ts >= win_start && ts < win_end) {
		s->recv_win++;
		hist_add(now - ts);
	} else if (ts < win_start && now >= win_start) {
		recv_before++;
	}
}

/* One recv per readiness event (level-triggered epoll comes back if more
 * is queued).  Until an endpoint has heard its relay answer from the very
 * address it sends to, it uses recvfrom/sendto; after that the socket is
 * connect()ed, which makes send and receive markedly cheaper.  Packets
 * from any other source are counted (asym_src) and never lead to connect. */
static void ep_rx(int i)
{
	uint8_t buf[2048];
	struct ep *r = &eps[i];
	ssize_t n;
	if (r->connected) {
		n = recv(r->fd, buf, sizeof buf, MSG_DONTWAIT);
	} else {
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		n = recvfrom(r->fd, buf, sizeof buf, MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (n >= 0 && r->active) {
			if (from.sin_addr.s_addr == r->dst.sin_addr.s_addr &&
			    from.sin_port == r->dst.sin_port) {
				if (!no_connect &&
				    connect(r->fd, (struct sockaddr *)&r->dst, sizeof r->dst) == 0)
					r->connected = true;
			} else {
				asym_src++;
			}
		}
	}
	if (n < 0)
		return;
	rx_packet(r, buf, (size_t)n, now_ns());
}

/* ---- SDP helpers ---- */
static int sdp_addr(const char *sdp, size_t len, struct sockaddr_in *out)
{
	char tmp[4096];
	if (len >= sizeof tmp)
		len = sizeof tmp - 1;
	memcpy(tmp, sdp, len);
	tmp[len] = 0;
	char ip[64] = "";
	int port = -1;
	/* session-level or media-level c=; the last one before/after m= wins
	 * for our single-stream SDP either way */
	for (char *p = tmp; p && *p;) {
		char *nl = strpbrk(p, "\r\n");
		if (nl)
			*nl = 0;
		if (!strncmp(p, "c=IN IP4 ", 9))
			sscanf(p + 9, "%63[0-9.]", ip);
		else if (!strncmp(p, "m=audio ", 8) && port < 0)
			port = atoi(p + 8);
		if (!nl)
			break;
		p = nl + 1;
		while (*p == '\r' || *p == '\n')
			p++;
	}
	if (!ip[0] || port <= 0 || port > 65535)
		return -1;
	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &out->sin_addr) != 1)
		return -1;
	return 0;
}

static int make_sdp(char *buf, size_t sz, uint16_t port, int id)
{
	return snprintf(buf, sz,
			"v=0\r\n"
			"o=bench %d 1 IN IP4 127.0.0.1\r\n"
			"s=bench\r\n"
			"c=IN IP4 127.0.0.1\r\n"
			"t=0 0\r\n"
			"m=audio %u RTP/AVP 0\r\n"
			"a=rtpmap:0 PCMU/8000\r\n"
			"a=ptime:20\r\n"
			"a=sendrecv\r\n",
			id + 1, port);
}

/* ---- rtpengine ng (bencode over UDP) ---- */
struct bbuf { char *p; size_t n, cap; };

static void bput(struct bbuf *b, const char *s, size_t n)
{
	if (b->n + n > b->cap)
		die("ng message too large");
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void bstr(struct bbuf *b, const char *s, size_t n)
{
	char hdr[24];
	int h = snprintf(hdr, sizeof hdr, "%zu:", n);
	bput(b, hdr, (size_t)h);
	bput(b, s, n);
}

static void bkv(struct bbuf *b, const char *k, const char *v, size_t vn)
{
	bstr(b, k, strlen(k));
	bstr(b, v, vn);
}

static void ng_send(int ci)
{
	struct call *c = &calls[ci];
	char msg[2048], sdp[512], cid[32], ft[32], tt[32], cookie[40];
	struct bbuf b = { msg, 0, sizeof msg };
	bool offer = c->state == C_OFFER;
	int sl = make_sdp(sdp, sizeof sdp, eps[offer ? c->a : c->b].lport, ci);
	int cl = snprintf(cookie, sizeof cookie, "%x.%c.%d ", (unsigned)ci,
			  offer ? 'o' : 'a', getpid());
	snprintf(cid, sizeof cid, "bench-%d-%d", getpid(), ci);
	snprintf(ft, sizeof ft, "ft%d", ci);
	snprintf(tt, sizeof tt, "tt%d", ci);
	bput(&b, cookie, (size_t)cl);
	bput(&b, "d", 1);
	bkv(&b, "command", offer ? "offer" : "answer", offer ? 5 : 6);
	bkv(&b, "call-id", cid, strlen(cid));
	bkv(&b, "from-tag", ft, strlen(ft));
	if (!offer)
		bkv(&b, "to-tag", tt, strlen(tt));
	bkv(&b, "sdp", sdp, (size_t)sl);
	bkv(&b, "ICE", "remove", 6);
	bput(&b, "e", 1);
	if (send(ngfd, msg, b.n, 0) < 0 && verbose)
		logf_("ng send: %s", strerror(errno));
	c->next_try = now_ns() + NS_PER_S;
	c->tries++;
}

static void ng_ping(void)
{
	static const char m[] = "ping.0 d7:command4:pinge";
	(void)!send(ngfd, m, sizeof m - 1, 0);
}

/* minimal bencode walker: returns pointer past the element or NULL */
static const char *bskip(const char *p, const char *end, int depth)
{
	if (p >= end || depth > 16)
		return NULL;
	if (*p == 'i') {
		const char *e = memchr(p, 'e', (size_t)(end - p));
		return e ? e + 1 : NULL;
	}
	if (*p == 'l' || *p == 'd') {
		p++;
		while (p < end && *p != 'e') {
			p = bskip(p, end, depth + 1);
			if (!p)
				return NULL;
		}
		return p < end ? p + 1 : NULL;
	}
	if (*p >= '0' && *p <= '9') {
		size_t n = 0;
		while (p < end && *p >= '0' && *p <= '9')
			n = n * 10 + (size_t)(*p++ - '0');
		if (p >= end || *p != ':' || (size_t)(end - p - 1) < n)
			return NULL;
		return p + 1 + n;
	}
	return NULL;
}

/* find string value of key in top-level dict */
static bool bget(const char *p, const char *end, const char *key,
		 const char **val, size_t *vlen)
{
	if (p >= end || *p != 'd')
		return false;
	p++;
	size_t kl = strlen(key);
	while (p < end && *p != 'e') {
		/* key */
		const char *ks = p;
		size_t n = 0;
		while (p < end && *p >= '0' && *p <= '9')
			n = n * 10 + (size_t)(*p++ - '0');
		if (p >= end || *p != ':' || (size_t)(end - p - 1) < n)
			return false;
		(void)ks;
		const char *k = p + 1;
		p = k + n;
		bool match = n == kl && !memcmp(k, key, n);
		if (match && p < end && *p >= '0' && *p <= '9') {
			size_t m = 0;
			const char *q = p;
			while (q < end && *q >= '0' && *q <= '9')
				m = m * 10 + (size_t)(*q++ - '0');
			if (q >= end || *q != ':' || (size_t)(end - q - 1) < m)
				return false;
			*val = q + 1;
			*vlen = m;
			return true;
		}
		p = bskip(p, end, 1);
		if (!p)
			return false;
	}
	return false;
}

static void call_fail(int ci, const char *why, size_t wl)
{
	struct call *c = &calls[ci];
	if (c->state == C_UP || c->state == C_FAIL)
		return;
	c->state = C_FAIL;
	calls_failed++;
	calls_pending--;
	if (fail_prints++ < 10)
		logf_("call %d setup failed: %.*s", ci, (int)wl, why);
}

static void call_up(int ci)
{
	struct call *c = &calls[ci];
	c->state = C_UP;
	calls_up++;
	calls_pending--;
	ep_start(c->a, &c->ra);
	if (mode != M_LAOYOU) /* laoyou: B starts when its INVITE is answered */
		ep_start(c->b, &c->rb);
}

static void ng_rx(void)
{
	char buf[8192];
	for (;;) {
		ssize_t n = recv(ngfd, buf, sizeof buf - 1, MSG_DONTWAIT);
		if (n < 0)
			return;
		buf[n] = 0;
		char *sp = memchr(buf, ' ', (size_t)n);
		if (!sp)
			continue;
		const char *d = sp + 1, *end = buf + n;
		if (!strncmp(buf, "ping.", 5)) {
			const char *v;
			size_t vl;
			if (bget(d, end, "result", &v, &vl) && vl == 4 &&
			    !memcmp(v, "pong", 4))
				ready = true;
			continue;
		}
		unsigned ci;
		char kind;
		if (sscanf(buf, "%x.%c.", &ci, &kind) != 2 || ci >= (unsigned)ncalls)
			continue;
		struct call *c = &calls[ci];
		if ((kind == 'o' && c->state != C_OFFER) ||
		    (kind == 'a' && c->state != C_ANSWER))
			continue; /* duplicate response */
		const char *res, *sdp;
		size_t rl, sl;
		if (!bget(d, end, "result", &res, &rl)) {
			call_fail((int)ci, "bad ng response", 15);
			continue;
		}
		if (rl != 2 || memcmp(res, "ok", 2)) {
			const char *er = "?";
			size_t el = 1;
			bget(d, end, "error-reason", &er, &el);
			call_fail((int)ci, er, el);
			continue;
		}
		if (!bget(d, end, "sdp", &sdp, &sl)) {
			call_fail((int)ci, "no sdp in ng response", 21);
			continue;
		}
		struct sockaddr_in sa;
		if (sdp_addr(sdp, sl, &sa) < 0) {
			call_fail((int)ci, "unparsable sdp in ng response", 29);
			continue;
		}
		if (kind == 'o') {
			c->rb = sa; /* callee sends to the port in the offer */
			c->state = C_ANSWER;
			c->tries = 0;
			ng_send((int)ci);
		} else {
			c->ra = sa; /* caller sends to the port in the answer */
			call_up((int)ci);
		}
	}
}

static void ng_timers(int64_t now)
{
	for (int i = ramp_from; i < ncalls; i++) {
		struct call *c = &calls[i];
		if ((c->state == C_OFFER || c->state == C_ANSWER) &&
		    now >= c->next_try) {
			if (c->tries >= 3)
				call_fail(i, "ng timeout", 10);
			else
				ng_send(i);
		}
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
	char a_uac[16], a_uas[16], a_fd[16];
	snprintf(a_uac, sizeof a_uac, "%d", uac_port);
	snprintf(a_uas, sizeof a_uas, "%d", uas_port);
	snprintf(a_fd, sizeof a_fd, "%d", 3);
	pid_t p = fork();
	if (p < 0)
		die("fork: %s", strerror(errno));
	if (p == 0) {
		close(sv[0]);
		if (sv[1] != 3) {
			dup2(sv[1], 3);
			close(sv[1]);
		}
		const char *argv[32];
		int n = 0;
		argv[n++] = sipua_path;
		argv[n++] = "--ctl-fd"; argv[n++] = a_fd;
		argv[n++] = "--proxy"; argv[n++] = sip_target;
		argv[n++] = "--uac-port"; argv[n++] = a_uac;
		argv[n++] = "--uas-port"; argv[n++] = a_uas;
		argv[n++] = "--user"; argv[n++] = sip_user;
		argv[n++] = "--secret"; argv[n++] = sip_secret;
		argv[n++] = "--ext"; argv[n++] = sip_ext;
		if (sip_aor) {
			argv[n++] = "--aor";
			argv[n++] = sip_aor;
		}
		argv[n] = NULL;
		execv(sipua_path, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", sipua_path, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	ctlfd = sv[0];
	fcntl(ctlfd, F_SETFL, O_NONBLOCK);
	fcntl(ctlfd, F_SETFD, FD_CLOEXEC);
	sipua_pid = p;
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = (uint64_t)T_CTL << 32 };
	epoll_ctl(epfd, EPOLL_CTL_ADD, ctlfd, &ev);
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
		int id, port, code;
		char ip[64], rest[256];
		if (!strcmp(buf, "READY")) {
			ready = true;
			logf_("sipua registered");
		} else if (!strncmp(buf, "REGFAIL", 7)) {
			die("sipua: registration failed: %s", buf + 7);
		} else if (sscanf(buf, "A %d %63s %d", &id, ip, &port) == 3) {
			if (id < 0 || id >= ncalls)
				continue;
			struct call *c = &calls[id];
			if (c->state != C_WAIT)
				continue;
			memset(&c->ra, 0, sizeof c->ra);
			c->ra.sin_family = AF_INET;
			c->ra.sin_port = htons((uint16_t)port);
			if (inet_pton(AF_INET, ip, &c->ra.sin_addr) != 1) {
				call_fail(id, "bad relay ip", 12);
				continue;
			}
			call_up(id);
		} else if (sscanf(buf, "B %d %63s %d", &id, ip, &port) == 3) {
			/* id = our local port that was put into the answer */
			if (id <= 0 || id > 65535 || ep_by_port[id] < 0)
				continue;
			struct sockaddr_in sa = { .sin_family = AF_INET,
						  .sin_port = htons((uint16_t)port) };
			if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
				continue;
			ep_start(ep_by_port[id], &sa);
			b_up++;
		} else if (sscanf(buf, "FAIL %d %d %255[^\n]", &id, &code, rest) >= 2) {
			if (id >= 0 && id < ncalls)
				call_fail(id, buf, (size_t)n);
		} else if (sscanf(buf, "CLOSED %d", &id) == 1) {
			closed_total++;
			if (phase == PH_WINDOW || phase == PH_GRACE)
				closed_win++;
			if (closed_total <= 10)
				logf_("sipua: %s", buf);
		} else {
			logf_("sipua: %s", buf);
		}
	}
}

/* ---- stepping ---- */
static int cur_target(void) { return steps[step_idx]; }

static void start_call(void)
{
	int ci = ncalls++;
	struct call *c = &calls[ci];
	memset(c, 0, sizeof *c);
	c->started = now_ns();
	c->a = ep_new();
	eps[c->a].call = ci;
	c->b = ep_new();
	eps[c->b].call = ci;
	calls_pending++;
	switch (mode) {
	case M_DIRECT: {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons(eps[c->b].lport);
		c->ra = sa;
		sa.sin_port = htons(eps[c->a].lport);
		c->rb = sa;
		eps[c->a].peer = c->b;
		eps[c->b].peer = c->a;
		call_up(ci);
		break;
	}
	case M_RTPENGINE:
		eps[c->a].peer = c->b;
		eps[c->b].peer = c->a;
		c->state = C_OFFER;
		ng_send(ci);
		break;
	case M_LAOYOU:
		/* B's port goes into the callee pool; which incoming INVITE it
		 * answers is not known, so streams are matched by stream id */
		c->state = C_WAIT;
		ctl_send("CALL %d %u %u", ci, eps[c->a].lport, eps[c->b].lport);
		break;
	}
}

static bool ramp_done(void)
{
	if (ncalls < cur_target())
		return false;
	if (calls_pending > 0)
		return false;
	if (mode == M_LAOYOU && b_up < calls_up)
		return false;
	return true;
}

static double base_for(int n)
{
	for (int i = 0; i < nbase; i++)
		if (base_n[i] == n)
			return base_p99[i];
	return -1;
}

static void reset_window(void)
{
	for (int i = 0; i < nep; i++) {
		eps[i].sent_win = 0;
		eps[i].recv_win = 0;
	}
	memset(hist, 0, sizeof hist);
	hist_n = 0;
	lat_min = INT64_MAX;
	lat_max = 0;
	misrouted = dups = reorders = strays = send_errs = recv_before = asym_src = 0;
	late_sends = 0;
	max_late = 0;
	closed_win = 0;
}

static bool report_step(void)
{
	int target = cur_target();
	uint64_t sent = 0, recv = 0;
	int lossy = 0, dead = 0, active = 0, conn = 0;
	for (int i = 0; i < nep; i++) {
		struct ep *e = &eps[i];
		if (!e->active)
			continue;
		active++;
		conn += e->connected;
		sent += e->sent_win;
		recv += e->recv_win;
		if (e->recv_win < e->sent_win)
			lossy++;
		if (e->sent_win && !e->recv_win)
			dead++;
	}
	int held = calls_up;
	if (mode == M_LAOYOU && b_up < held)
		held = b_up;
	double loss = sent ? 100.0 * (double)(sent - (recv > sent ? sent : recv)) / (double)sent : 100.0;
	double p50 = hist_pct(0.50), p99 = hist_pct(0.99), p999 = hist_pct(0.999);
	double wall = (double)(cpu_t1 - cpu_t0) / 1e9;
	double cpu = 100.0 * (double)(cpu1 - cpu0) / (double)clk_tck / wall;
	double scpu = 100.0 * (double)(self_cpu1 - self_cpu0) / (double)clk_tck / wall;
	double per100 = held ? cpu / ((double)held / 100.0) : -1;
	/* CPU of everything else on the machine (other processes, softirq
	 * not charged to a process); high values mean a noisy step */
	double other_ticks = (double)(sys1 - sys0) - (double)(cpu1 - cpu0) -
			     (mpid ? (double)(self_cpu1 - self_cpu0) : 0);
	double other = 100.0 * other_ticks / (double)clk_tck / wall;
	if (other < 0)
		other = 0;
	/* a generator that could not send on time was itself descheduled, so
	 * its receive timestamps are late too: the step is not trustworthy */
	bool stalled = max_late > 20 * 1000000LL;
	bool noisy = other > noisy_pct || stalled;
	double kib_call = held ? (double)(rss1_kib - rss_base_kib) / held : -1;
	double base = mode == M_DIRECT ? 0 : base_for(target);
	double added = !hist_n ? -1 : base >= 0 ? p99 - base : p99;
	bool ok = held >= target && loss < max_loss_pct && hist_n > 0 &&
		  added < max_added_ms;
	if (mode == M_DIRECT && p99 >= max_added_ms)
		ok = false;
	bool retry = !ok && noisy && retries_left > 0;
	const char *why = ok ? "ok" :
			  held < target ? "calls-not-held" :
			  loss >= max_loss_pct ? "loss" :
			  hist_n == 0 ? "no-packets" : "latency";
	printf("RESULT target=%s step=%d calls=%d held=%d setup_failed=%d "
	       "sent=%" PRIu64 " recv=%" PRIu64 " loss_pct=%.4f "
	       "lat_min_ms=%.3f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f "
	       "base_p99_ms=%.3f added_p99_ms=%.3f "
	       "cpu_pct=%.2f cpu_per100=%.2f rss_base_kib=%ld rss_kib=%ld kib_per_call=%.2f "
	       "gen_cpu_pct=%.2f gen_rss_kib=%ld late_sends=%" PRIu64 " max_late_ms=%.2f "
	       "lossy_streams=%d dead_streams=%d streams=%d connected=%d misrouted=%" PRIu64
	       " dups=%" PRIu64 " reorders=%" PRIu64 " strays=%" PRIu64 " asym_src=%" PRIu64
	       " send_errs=%" PRIu64 " closed=%" PRIu64 " hold_s=%.2f other_cpu_pct=%.1f"
	       " noisy=%d gen_stalled=%d retried=%d pass=%d why=%s\n",
	       label, step_idx, target, held, calls_failed, sent, recv, loss,
	       hist_n ? (double)lat_min / 1e6 : -1.0, p50, p99, p999,
	       hist_n ? (double)lat_max / 1e6 : -1.0, base, added,
	       cpu, per100, rss_base_kib, rss1_kib, kib_call,
	       scpu, self_rss1_kib, late_sends, (double)max_late / 1e6,
	       lossy, dead, active, conn, misrouted, dups, reorders, strays, asym_src,
	       send_errs, closed_win, wall, other, noisy ? 1 : 0, stalled ? 1 : 0, retry ? 1 : 0,
	       ok ? 1 : 0, why);
	fflush(stdout);
	logf_("step %d calls=%d held=%d loss=%.4f%% p50=%.3fms p99=%.3fms "
	      "added=%.3fms cpu=%.1f%% (%.2f%%/100) rss+%.1fKiB/call gen=%.1f%% "
	      "other=%.1f%% gen-late-max=%.1fms -> %s%s",
	      step_idx, target, held, loss, p50, p99, added, cpu, per100,
	      kib_call, scpu, other, (double)max_late / 1e6, why,
	      retry ? " (machine busy or generator stalled: measuring this step again)" : "");
	if (retry) {
		retries_left--;
		return false;
	}
	if (!ok)
		any_fail = true;
	return true;
}

static void set_phase(enum phase p, int64_t now)
{
	phase = p;
	phase_t = now;
}

static void sample_begin(int64_t now)
{
	if (!read_cpu(mpid, &cpu0))
		die("cannot read /proc/%d/stat (measured process gone?)", (int)mpid);
	read_cpu(0, &self_cpu0);
	sys0 = read_sys_busy();
	cpu_t0 = now;
}

static void sample_end(int64_t now)
{
	if (!read_cpu(mpid, &cpu1))
		die("cannot read /proc/%d/stat (measured process gone?)", (int)mpid);
	read_cpu(0, &self_cpu1);
	sys1 = read_sys_busy();
	cpu_t1 = now;
	rss1_kib = read_rss_kib(mpid);
	self_rss1_kib = read_rss_kib(0);
}

static void step_machine(int64_t now)
{
	switch (phase) {
	case PH_INIT:
		if (mode == M_RTPENGINE && !ready && now - last_ping > 200000000) {
			ng_ping();
			last_ping = now;
		}
		if (mode == M_DIRECT)
			ready = true;
		if (ready) {
			rss_base_kib = read_rss_kib(mpid);
			self_rss_base_kib = read_rss_kib(0);
			logf_("ready; measured pid %d rss %ld KiB", (int)(mpid ? mpid : getpid()),
			      rss_base_kib);
			ramp_start = now;
			ramp_from = 0;
			set_phase(PH_RAMP, now);
		} else if (now - phase_t > 15 * NS_PER_S) {
			die("target not ready after 15 s");
		}
		break;
	case PH_RAMP: {
		int target = cur_target();
		double el = (double)(now - ramp_start) / 1e9;
		int allowed = ramp_from + (int)(el * rate) + 1;
		if (allowed > target)
			allowed = target;
		while (ncalls < allowed && calls_pending < max_pending)
			start_call();
		if (mode == M_RTPENGINE)
			ng_timers(now);
		double budget = (double)(target - ramp_from) / rate + ramp_extra_s;
		if (ramp_done()) {
			logf_("ramp to %d done in %.2f s (up %d, failed %d)", target, el,
			      calls_up, calls_failed);
			set_phase(PH_SETTLE, now);
		} else if (el > budget) {
			logf_("ramp to %d timed out after %.1f s: started %d up %d "
			      "failed %d pending %d callee-legs %d", target, el, ncalls,
			      calls_up, calls_failed, calls_pending, b_up);
			set_phase(PH_SETTLE, now);
		}
		break;
	}
	case PH_SETTLE:
		if (now - phase_t >= (int64_t)settle_ms * 1000000) {
			reset_window();
			win_start = now;
			win_end = now + (int64_t)(hold_s * 1e9);
			sample_begin(now);
			set_phase(PH_WINDOW, now);
		}
		break;
	case PH_WINDOW:
		if (now >= win_end) {
			sample_end(now);
			set_phase(PH_GRACE, now);
		}
		break;
	case PH_GRACE:
		if (now - phase_t >= (int64_t)grace_ms * 1000000) {
			bool advance = report_step();
			win_start = win_end = INT64_MAX;
			if (!advance) {
				/* same calls, measure again after a longer settle so
				 * queues built up meanwhile can drain */
				set_phase(PH_SETTLE, now + 2 * NS_PER_S);
				break;
			}
			step_idx++;
			if (any_fail || step_idx >= nsteps) {
				set_phase(PH_DONE, now);
			} else {
				ramp_start = now;
				ramp_from = ncalls;
				set_phase(PH_RAMP, now);
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
	int64_t k_now = (now - t0) / TICK_NS;
	for (int64_t k = last_tick + 1; k <= k_now; k++) {
		int slot = (int)(k % SLOTS);
		int64_t deadline = t0 + k * TICK_NS;
		for (int i = slot; i < nep; i += SLOTS) {
			struct ep *e = &eps[i];
			if (e->active)
				send_one(e, deadline);
		}
	}
	last_tick = k_now;
	step_machine(now_ns());
}

/* ---- main ---- */
static void usage(void)
{
	fprintf(stderr,
		"usage: pump --mode direct|rtpengine|laoyou [options]\n"
		"  --label NAME          name in RESULT lines (default: mode)\n"
		"  --steps N,N,...       call counts (default 100,200,400,800,1200,1600,2000)\n"
		"  --hold S              measuring window per step (10)\n"
		"  --settle-ms MS        pause after ramp before measuring (1000)\n"
		"  --grace-ms MS         wait for in-flight packets after window (500)\n"
		"  --rate R              new calls per second while ramping (200)\n"
		"  --max-pending N       calls in setup at once (200)\n"
		"  --pid PID             process whose CPU/RSS is measured (default self)\n"
		"  --ng IP:PORT          rtpengine ng control address\n"
		"  --sipua PATH          SIP helper (laoyou mode)\n"
		"  --sip IP:PORT         laoyou SIP UDP address\n"
		"  --uac-port P --uas-port P   local SIP ports (5071, 5072)\n"
		"  --user U --secret S --ext E --aor URI   registration of the callee\n"
		"  --ports MIN-MAX       local RTP ports of the pump (10000-19999)\n"
		"  --base N:MS,...       direct-mode p99 per call count (for added latency)\n"
		"  --max-loss PCT        pass threshold (0.1)\n"
		"  --max-added-ms MS     pass threshold for added p99 (20)\n"
		"  --max-seconds S       hard bound on the whole run (300)\n"
		"  --no-connect          never connect() endpoint sockets\n"
		"  --busy-poll           never sleep in epoll_wait (steadier timing on VMs)\n"
		"  -v                    verbose\n");
	exit(2);
}

static void parse_addr(const char *s, struct sockaddr_in *sa)
{
	char ip[64];
	int port;
	if (sscanf(s, "%63[^:]:%d", ip, &port) != 2)
		die("bad address %s", s);
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
		die("bad address %s", s);
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

static void parse_base(const char *s)
{
	nbase = 0;
	for (const char *p = s; *p && nbase < 64;) {
		int n;
		double v;
		if (sscanf(p, "%d:%lf", &n, &v) == 2) {
			base_n[nbase] = n;
			base_p99[nbase] = v;
			nbase++;
		}
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
}

int main(int argc, char **argv)
{
	run_start = now_ns();
	parse_steps("100,200,400,800,1200,1600,2000");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() do { if (!v) usage(); i++; } while (0)
		if (!strcmp(a, "--mode")) {
			NEEDV();
			if (!strcmp(v, "direct")) mode = M_DIRECT;
			else if (!strcmp(v, "rtpengine")) mode = M_RTPENGINE;
			else if (!strcmp(v, "laoyou")) mode = M_LAOYOU;
			else usage();
		} else if (!strcmp(a, "--label")) { NEEDV(); label = v; }
		else if (!strcmp(a, "--steps")) { NEEDV(); parse_steps(v); }
		else if (!strcmp(a, "--hold")) { NEEDV(); hold_s = atof(v); }
		else if (!strcmp(a, "--settle-ms")) { NEEDV(); settle_ms = atoi(v); }
		else if (!strcmp(a, "--grace-ms")) { NEEDV(); grace_ms = atoi(v); }
		else if (!strcmp(a, "--rate")) { NEEDV(); rate = atof(v); }
		else if (!strcmp(a, "--max-pending")) { NEEDV(); max_pending = atoi(v); }
		else if (!strcmp(a, "--pid")) { NEEDV(); mpid = (pid_t)atoi(v); }
		else if (!strcmp(a, "--ng")) { NEEDV(); parse_addr(v, &ng_addr); }
		else if (!strcmp(a, "--sipua")) { NEEDV(); sipua_path = v; }
		else if (!strcmp(a, "--sip")) { NEEDV(); sip_target = v; }
		else if (!strcmp(a, "--uac-port")) { NEEDV(); uac_port = atoi(v); }
		else if (!strcmp(a, "--uas-port")) { NEEDV(); uas_port = atoi(v); }
		else if (!strcmp(a, "--user")) { NEEDV(); sip_user = v; }
		else if (!strcmp(a, "--secret")) { NEEDV(); sip_secret = v; }
		else if (!strcmp(a, "--ext")) { NEEDV(); sip_ext = v; }
		else if (!strcmp(a, "--aor")) { NEEDV(); sip_aor = v; }
		else if (!strcmp(a, "--ports")) {
			NEEDV();
			if (sscanf(v, "%d-%d", &port_min, &port_max) != 2) usage();
		}
		else if (!strcmp(a, "--base")) { NEEDV(); parse_base(v); }
		else if (!strcmp(a, "--max-loss")) { NEEDV(); max_loss_pct = atof(v); }
		else if (!strcmp(a, "--max-added-ms")) { NEEDV(); max_added_ms = atof(v); }
		else if (!strcmp(a, "--max-seconds")) { NEEDV(); max_seconds = atof(v); }
		else if (!strcmp(a, "-v")) verbose = true;
		else if (!strcmp(a, "--busy-poll")) busy_poll = true;
		else if (!strcmp(a, "--no-connect")) no_connect = true;
		else usage();
#undef NEEDV
	}
	if (!label)
		label = mode == M_DIRECT ? "direct" : mode == M_RTPENGINE ? "rtpengine" : "laoyou";
	if (!nsteps)
		usage();
	if (mode == M_RTPENGINE && !ng_addr.sin_port)
		die("--ng required");
	if (mode == M_LAOYOU && !sipua_path)
		die("--sipua required");
	if (port_min & 1)
		port_min++;
	next_port = port_min;
	clk_tck = sysconf(_SC_CLK_TCK);
	page_kib = sysconf(_SC_PAGESIZE) / 1024;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	int maxn = 0;
	for (int i = 0; i < nsteps; i++)
		if (steps[i] > maxn)
			maxn = steps[i];
	maxcalls = maxn;
	maxep = 2 * maxn;
	if ((port_max - port_min + 2) / 2 < maxep)
		die("port range %d-%d too small for %d endpoints", port_min, port_max, maxep);

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t want = (rlim_t)maxep + 256;
		if (rl.rlim_cur < want) {
			rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
			if (rl.rlim_cur < want) {
				rl.rlim_max = want;
				rl.rlim_cur = want;
			}
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				die("cannot raise RLIMIT_NOFILE to %lu: %s", (unsigned long)want,
				    strerror(errno));
		}
	}

	eps = calloc((size_t)maxep, sizeof *eps);
	calls = calloc((size_t)maxcalls, sizeof *calls);
	ep_by_port = malloc(65536 * sizeof *ep_by_port);
	if (!eps || !calls || !ep_by_port)
		die("out of memory");
	for (int i = 0; i < 65536; i++)
		ep_by_port[i] = -1;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));

	if (mode == M_RTPENGINE) {
		ngfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (ngfd < 0 || connect(ngfd, (struct sockaddr *)&ng_addr, sizeof ng_addr) < 0)
			die("ng socket: %s", strerror(errno));
		int sz = 4 << 20;
		setsockopt(ngfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = (uint64_t)T_NG << 32 };
		epoll_ctl(epfd, EPOLL_CTL_ADD, ngfd, &ev);
	}
	if (mode == M_LAOYOU)
		spawn_sipua();

	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd < 0)
		die("timerfd_create: %s", strerror(errno));
	t0 = now_ns() + 5 * TICK_NS;
	t0 -= t0 % TICK_NS;
	struct itimerspec its = {
		.it_value = { .tv_sec = t0 / NS_PER_S, .tv_nsec = t0 % NS_PER_S },
		.it_interval = { .tv_sec = 0, .tv_nsec = TICK_NS },
	};
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		die("timerfd_settime: %s", strerror(errno));
	last_tick = -1;
	struct epoll_event tev = { .events = EPOLLIN, .data.u64 = (uint64_t)T_TIMER << 32 };
	epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);
	phase_t = now_ns();

	logf_("mode %s, steps %d..%d, hold %.1f s, rate %.0f calls/s, measuring pid %d",
	      label, steps[0], steps[nsteps - 1], hold_s, rate, (int)(mpid ? mpid : getpid()));

	enum { MAXEV = 1024 };
	static struct epoll_event evs[MAXEV];
	int64_t hard_end = run_start + (int64_t)(max_seconds * 1e9);
	while (phase != PH_DONE) {
		int n = epoll_wait(epfd, evs, MAXEV, busy_poll ? 0 : 50);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		/* the tick first, so sends keep to their deadlines */
		for (int j = 0; j < n; j++)
			if ((uint32_t)(evs[j].data.u64 >> 32) == T_TIMER) {
				run_ticks();
				evs[j].data.u64 = 0;
			}
		for (int j = 0; j < n; j++) {
			uint32_t tag = (uint32_t)(evs[j].data.u64 >> 32);
			uint32_t idx = (uint32_t)evs[j].data.u64;
			switch (tag) {
			case T_EP: ep_rx((int)idx); break;
			case T_TIMER: run_ticks(); break;
			case T_NG: ng_rx(); break;
			case T_CTL: ctl_rx(); break;
			}
		}
		if (now_ns() > hard_end) {
			logf_("hard time limit (%.0f s) reached; stopping", max_seconds);
			exit_code = 3;
			break;
		}
	}

	if (mode == M_LAOYOU && sipua_pid > 0) {
		ctl_send("QUIT");
		/* wait up to 3 s for sipua to hang up */
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
	logf_("done: %d calls set up, %d failed, %d closed by peer", calls_up,
	      calls_failed, closed_total);
	return exit_code;
}
