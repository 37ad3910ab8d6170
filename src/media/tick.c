/*
 * The media tick: one 20 ms clock for every stream laoyou generates.
 *
 * One timer per stream re-armed with tmr_start(20) drifts and bunches
 * (docs/design.md); instead every player joins this one tick, which keeps
 * absolute deadlines on the monotonic clock.  A tick that fires late still
 * serves each missed 20 ms slot, so RTP timestamps stay true to time; a
 * stall of more than 200 ms is skipped rather than burst out.
 */
#include <re.h>
#include "core/clock.h"
#include "media/media.h"
#include "media/media_int.h"

enum { PERIOD_US = 20000, MAX_CATCHUP = 10 };

static struct list members;
static struct tmr tmr;
static uint64_t deadline;    /* monotonic µs of the next slot */
static struct le *cursor;    /* next member during a tick */

static void fire(void *arg);

static void arm(void)
{
	uint64_t now = clock_mono_us();
	uint64_t wait = deadline > now ? (deadline - now + 999) / 1000 : 0;
	tmr_start(&tmr, wait, fire, NULL);
}

static void fire(void *arg)
{
	uint64_t now = clock_mono_us();
	int slots = 0;
	(void)arg;

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
	}
	if (members.head)
		arm();
}

void mtick_join(struct mtick *t, void (*h)(struct mtick *t, void *arg),
		void *arg)
{
	if (t->le.list)
		return;
	t->h = h;
	t->arg = arg;
	if (!members.head) {
		/* The first member starts the clock at its next slot. */
		deadline = clock_mono_us();
		list_append(&members, &t->le, t);
		arm();
		return;
	}
	list_append(&members, &t->le, t);
}

void mtick_leave(struct mtick *t)
{
	if (!t->le.list)
		return;
	if (cursor == &t->le)
		cursor = t->le.next;
	list_unlink(&t->le);
	if (!members.head)
		tmr_cancel(&tmr);
}
