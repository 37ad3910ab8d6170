/*
 * tmr: a binary min-heap that replaces libre's timer list at link time.
 *
 * libre 1.1.0 keeps timers in a sorted linked list and scans it on every
 * tmr_start; each SIP transaction leaves a timer of up to 32 s, so at a few
 * hundred calls/s the scan dominated the CPU (see docs/design.md).  These
 * nine functions have libre's names and signatures; with libre linked
 * statically, libre's own SIP transactions, sessions and re_main use them.
 * The Makefile fails the link if libre's tmr.o is pulled in anyway.
 *
 * One event loop per process, so the heap is global and the list argument
 * that re_main passes is ignored.  A timer's heap slot + 1 is kept in
 * le.data (0 = not in the heap); th != NULL means running, as libre's inline
 * tmr_isrunning expects.  Equal deadlines fire first in, first out.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>

struct slot {
	uint64_t jfs;
	uint64_t seq;
	struct tmr *tmr;
};

static struct slot *heap;
static size_t heap_n, heap_cap;
static uint64_t seq_next;

static inline bool before(const struct slot *a, const struct slot *b)
{
	return a->jfs < b->jfs || (a->jfs == b->jfs && a->seq < b->seq);
}

static inline void place(size_t i, struct slot s)
{
	heap[i] = s;
	s.tmr->le.data = (void *)(uintptr_t)(i + 1);
}

static void sift_up(size_t i)
{
	struct slot s = heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(&s, &heap[p]))
			break;
		place(i, heap[p]);
		i = p;
	}
	place(i, s);
}

static void sift_down(size_t i)
{
	struct slot s = heap[i];
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		const struct slot *best = &s;
		if (l < heap_n && before(&heap[l], best)) {
			m = l;
			best = &heap[l];
		}
		if (l + 1 < heap_n && before(&heap[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		place(i, heap[m]);
		i = m;
	}
	place(i, s);
}

static void heap_remove(struct tmr *tmr)
{
	size_t i = (size_t)(uintptr_t)tmr->le.data;
	if (!i)
		return;
	--i;
	tmr->le.data = NULL;
	--heap_n;
	if (i == heap_n)
		return;
	place(i, heap[heap_n]);
	if (i > 0 && before(&heap[i], &heap[(i - 1) / 2]))
		sift_up(i);
	else
		sift_down(i);
}

uint64_t tmr_jiffies(void)
{
	/* Monotonic, unlike libre's gettimeofday(): a clock step must not
	 * fire or stall every timer at once. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void tmr_poll(struct list *tmrl)
{
	const uint64_t now = tmr_jiffies();
	(void)tmrl;

	while (heap_n && heap[0].jfs <= now) {
		struct tmr *tmr = heap[0].tmr;
		tmr_h *th = tmr->th;
		void *arg = tmr->arg;

		heap_remove(tmr);
		tmr->th = NULL;
		if (th)
			th(arg);
	}
}

uint64_t tmr_next_timeout(struct list *tmrl)
{
	const uint64_t now = tmr_jiffies();
	(void)tmrl;

	if (!heap_n)
		return 0;
	return heap[0].jfs <= now ? 1 : heap[0].jfs - now;
}

int tmr_status(struct re_printf *pf, void *unused)
{
	(void)unused;
	return re_hprintf(pf, "Timers: %zu in heap\n", heap_n);
}

void tmr_debug(void)
{
	if (heap_n)
		(void)re_fprintf(stderr, "%H", tmr_status, NULL);
}

void tmr_init(struct tmr *tmr)
{
	if (tmr)
		memset(tmr, 0, sizeof(*tmr));
}

void tmr_start(struct tmr *tmr, uint64_t delay, tmr_h *th, void *arg)
{
	struct slot s;

	if (!tmr)
		return;

	heap_remove(tmr);
	tmr->th = th;
	tmr->arg = arg;
	if (!th)
		return;

	if (heap_n == heap_cap) {
		size_t cap = heap_cap ? heap_cap * 2 : 1024;
		struct slot *h = realloc(heap, cap * sizeof(*h));
		if (!h) {
			/* Nowhere to keep it: report it as not running. */
			tmr->th = NULL;
			return;
		}
		heap = h;
		heap_cap = cap;
	}

	tmr->jfs = tmr_jiffies() + delay;
	s.jfs = tmr->jfs;
	s.seq = seq_next++;
	s.tmr = tmr;
	heap[heap_n] = s;
	tmr->le.data = (void *)(uintptr_t)(heap_n + 1);
	++heap_n;
	sift_up(heap_n - 1);
}

void tmr_cancel(struct tmr *tmr)
{
	tmr_start(tmr, 0, NULL, NULL);
}

uint64_t tmr_get_expire(const struct tmr *tmr)
{
	uint64_t now;

	if (!tmr || !tmr->th)
		return 0;
	now = tmr_jiffies();
	return tmr->jfs > now ? tmr->jfs - now : 0;
}
