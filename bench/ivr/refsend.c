/*
 * refsend -- the reference sender of the IVR benchmark.
 *
 * It plays the part of laoyou with the least possible work, so that the
 * meter can measure what pacing this machine allows at all: one process,
 * one UDP socket per stream (as laoyou has), and one 20 ms clock for every
 * stream, but the clock is a timerfd with absolute deadlines in ns, and a
 * frame is a fixed 172-byte PCMU packet (silence) sent with one sendto().
 * Every 20 ms it walks all streams once, in the order they were added,
 * like laoyou's media tick.
 *
 * Options: --ctl-fd N, --cpu N (pin), --rt PRIO (SCHED_FIFO).
 *
 * It speaks the meter's helper protocol on a SOCK_SEQPACKET (fd 3), so the
 * meter drives it exactly like the SIP helper:
 *   meter -> refsend  "CALL <id> <port>"   start a stream to 127.0.0.1:port
 *                     "HANGUP <rate>"      stop every stream
 *                     "QUIT"
 *   refsend -> meter  "READY", "UP <id> 127.0.0.1 <srcport>", "HUNG <n>",
 *                     "FAIL <id> 0 <why>"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
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
#include <time.h>
#include <unistd.h>

#define PERIOD_NS 20000000LL
#define PKT_LEN   172

struct stream {
	int fd;
	struct sockaddr_in dst;
	uint32_t ssrc, ts;
	uint16_t seq;
	bool marker;
};

static int ctlfd = 3;
static struct stream *st;
static int nst, cap;

static void ctl(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0 && send(ctlfd, buf, (size_t)n, MSG_NOSIGNAL) < 0)
		exit(1);
}

static uint32_t rnd(void)
{
	static uint64_t x = 0x9e3779b97f4a7c15ULL;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (uint32_t)x;
}

static void add_stream(int id, unsigned port)
{
	if (nst == cap) {
		int nc = cap ? cap * 2 : 1024;
		struct stream *n = realloc(st, (size_t)nc * sizeof *n);
		if (!n) {
			ctl("FAIL %d 0 out of memory", id);
			return;
		}
		st = n;
		cap = nc;
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in la = { .sin_family = AF_INET };
	la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t ll = sizeof la;
	if (fd < 0 || bind(fd, (struct sockaddr *)&la, sizeof la) < 0 ||
	    getsockname(fd, (struct sockaddr *)&la, &ll) < 0) {
		ctl("FAIL %d 0 socket: %s", id, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	struct stream *s = &st[nst++];
	memset(s, 0, sizeof *s);
	s->fd = fd;
	s->dst.sin_family = AF_INET;
	s->dst.sin_port = htons((uint16_t)port);
	s->dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->ssrc = rnd();
	s->ts = rnd();
	s->seq = (uint16_t)rnd();
	s->marker = true;
	ctl("UP %d 127.0.0.1 %u", id, ntohs(la.sin_port));
}

static void walk(void)
{
	uint8_t pkt[PKT_LEN];
	memset(pkt + 12, 0xff, PKT_LEN - 12);
	pkt[0] = 0x80;
	for (int i = 0; i < nst; i++) {
		struct stream *s = &st[i];
		pkt[1] = s->marker ? 0x80 : 0;
		pkt[2] = (uint8_t)(s->seq >> 8);
		pkt[3] = (uint8_t)s->seq;
		for (int k = 0; k < 4; k++) {
			pkt[4 + k] = (uint8_t)(s->ts >> (24 - 8 * k));
			pkt[8 + k] = (uint8_t)(s->ssrc >> (24 - 8 * k));
		}
		(void)sendto(s->fd, pkt, PKT_LEN, 0, (struct sockaddr *)&s->dst, sizeof s->dst);
		s->marker = false;
		s->seq++;
		s->ts += 160;
	}
}

int main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--ctl-fd"))
			ctlfd = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--rt")) {
			struct sched_param sp = { .sched_priority = atoi(argv[i + 1]) };
			if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
				perror("refsend: SCHED_FIFO");
		} else if (!strcmp(argv[i], "--cpu")) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(atoi(argv[i + 1]), &set);
			if (sched_setaffinity(0, sizeof set, &set) < 0)
				perror("refsend: sched_setaffinity");
		}
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ep < 0 || tfd < 0)
		return 1;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct itimerspec its = {
		.it_interval = { .tv_sec = 0, .tv_nsec = PERIOD_NS },
		.it_value = { .tv_sec = now.tv_sec + 1, .tv_nsec = 0 },
	};
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return 1;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 };
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.u32 = 2;
	epoll_ctl(ep, EPOLL_CTL_ADD, ctlfd, &ev);
	ctl("READY");
	for (;;) {
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, -1);
		if (n < 0 && errno != EINTR)
			return 1;
		for (int j = 0; j < n; j++) {
			if (evs[j].data.u32 == 1) {
				uint64_t exp;
				(void)!read(tfd, &exp, sizeof exp);
				walk();
				continue;
			}
			char buf[256];
			ssize_t r;
			while ((r = recv(ctlfd, buf, sizeof buf - 1, MSG_DONTWAIT)) > 0) {
				buf[r] = 0;
				int id;
				unsigned a;
				if (sscanf(buf, "CALL %d %u", &id, &a) == 2) {
					add_stream(id, a);
				} else if (sscanf(buf, "HANGUP %u", &a) == 1) {
					for (int i = 0; i < nst; i++)
						close(st[i].fd);
					ctl("HUNG %d", nst);
					nst = 0;
				} else if (!strcmp(buf, "QUIT")) {
					return 0;
				}
			}
			if (r == 0)
				return 0;
		}
	}
}
