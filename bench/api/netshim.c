/*
 * bench/api: an LD_PRELOAD shim with two jobs, each switched on by the
 * environment of the process it is loaded into.
 *
 * CONNECT_PACE_US=N (for wrk): space the process's TCP connects N µs
 * apart, across all its threads.  wrk opens all its connections at once;
 * laoyou's HTTP socket listens with libre's backlog of 5, so most of a
 * burst of 50 overflows the accept queue.  Those connections wait for the
 * kernel's SYN-ACK retransmission (1 s, then 3 s), and wrk's
 * coordinated-omission correction turns each such stall into hundreds of
 * synthetic slow samples.  Spaced connects measure the steady state;
 * apibench.py runs wrk both ways and reports both.
 *
 * SHIM_NODELAY=1 (for laoyou, a diagnosis: LAOYOU_NODELAY=1): set
 * TCP_NODELAY on every accepted socket, which laoyou (libre) does not, to
 * show what Nagle's algorithm costs the WebSocket events and the replies.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct timespec next;

static long long ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	const char *env = getenv("CONNECT_PACE_US");
	long long pace = env ? atoll(env) * 1000LL : 0;
	struct timespec now, at;

	if (!real)
		real = (int (*)(int, const struct sockaddr *, socklen_t))
			dlsym(RTLD_NEXT, "connect");
	if (pace > 0) {
		pthread_mutex_lock(&mu);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ns(&next) < ns(&now))
			next = now;
		at = next;
		next.tv_nsec += pace % 1000000000LL;
		next.tv_sec += pace / 1000000000LL + next.tv_nsec / 1000000000LL;
		next.tv_nsec %= 1000000000LL;
		pthread_mutex_unlock(&mu);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
	}
	return real(fd, sa, len);
}

static int nodelay(int fd)
{
	static int on = -1;
	int one = 1;

	if (on < 0) {
		const char *env = getenv("SHIM_NODELAY");
		on = env && *env == '1';
	}
	if (on && fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int accept(int s, struct sockaddr *a, socklen_t *l)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);

	if (!real)
		real = (int (*)(int, struct sockaddr *, socklen_t *))
			dlsym(RTLD_NEXT, "accept");
	return nodelay(real(s, a, l));
}

int accept4(int s, struct sockaddr *a, socklen_t *l, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);

	if (!real)
		real = (int (*)(int, struct sockaddr *, socklen_t *, int))
			dlsym(RTLD_NEXT, "accept4");
	return nodelay(real(s, a, l, flags));
}
