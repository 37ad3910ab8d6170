/*
 * The media tick: one 20 ms clock for every stream laoyou generates.
 *
 * One timer per stream re-armed with tmr_start(20) drifts and bunches
 * (docs/design.md); instead every player joins this one tick, which keeps
 * absolute deadlines on the monotonic clock.  The deadline is a timerfd
 * (microseconds) rather than a libre timer, whose millisecond resolution
 * made each tick 0-1 ms late (bench/ivr).  A late tick serves the missed
 * slots so RTP timestamps stay true to time, but at most a few: past that
 * it skips, so that an overloaded tick cannot starve SIP.
 */
#include <unistd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <re.h>
#include "core/clock.h"
#include "core/log.h"
#include "media/media.h"
#include "media/media_int.h"

enum { PERIOD_US = 20000, MAX_CATCHUP = 3 };

static struct list members;
static int tfd = -1;
static uint64_t deadline;    /* monotonic µs of the next slot */
static struct le *cursor;    /* next member during a tick */
static uint32_t load;        /* walk CPU time, % of a period, smoothed */

static void fire(int flags, void *arg);

static void arm(void)
{
	struct itimerspec its = {{0, 0}, {0, 0}};

	its.it_value.tv_sec = (time_t)(deadline / 1000000u);
	its.it_value.tv_nsec = (long)(deadline % 1000000u) * 1000;
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL))
		log_warn("media tick: timerfd: %m", errno);
}

static void stop(void)
{
	if (tfd < 0)
		return;
	fd_close(tfd);
	(void)close(tfd);
	tfd = -1;
	load = 0;
}

static uint64_t thread_cpu_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void fire(int flags, void *arg)
{
	uint64_t expirations, now, t0;
	int slots = 0;
	(void)flags;
	(void)arg;

	(void)!read(tfd, &expirations, sizeof(expirations));
	now = clock_mono_us();
	t0 = thread_cpu_us();
	while (deadline <= now && members.head) {
		if (++slots > MAX_CATCHUP) {
			deadline = now + PERIOD_US;
			break;
		}
		/* A handler may leave (itself or the next one) mid-walk. */
		for (struct le *le = members.head; le; le = cursor) {
			struct mtick *t = le->data;
			cursor = le->next;
			t->h(t, t->arg);
		}
		cursor = NULL;
		deadline += PERIOD_US;
		now = clock_mono_us();
	}
	/* The share of each period the players' work took, on the CPU: time
	 * the thread spent descheduled, and the periods a late wake-up
	 * catches up on, are not load. */
	if (slots)
		load = (load * 7 + (uint32_t)((thread_cpu_us() - t0) * 100 /
					      ((uint64_t)slots * PERIOD_US))) / 8;
	if (members.head)
		arm();
	else
		stop();
}

void mtick_join(struct mtick *t, void (*h)(struct mtick *t, void *arg),
		void *arg)
{
	if (t->le.list)
		return;
	t->h = h;
	t->arg = arg;
	list_append(&members, &t->le, t);
	if (tfd >= 0)
		return;
	/* The first member starts the clock at once. */
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd < 0 || fd_listen(tfd, FD_READ, fire, NULL)) {
		log_error("media tick: cannot start: %m", errno);
		if (tfd >= 0)
			(void)close(tfd);
		tfd = -1;
		list_unlink(&t->le);
		return;
	}
	deadline = clock_mono_us();
	arm();
}

void mtick_leave(struct mtick *t)
{
	if (!t->le.list)
		return;
	if (cursor == &t->le)
		cursor = t->le.next;
	list_unlink(&t->le);
	/* The timerfd stays armed until its next fire finds no member:
	 * closing it here could be inside that very fire. */
}

uint32_t media_load_pct(void)
{
	return load;
}
