/* booth: private to the folder. */
#ifndef LAOYOU_BOOTH_INT_H
#define LAOYOU_BOOTH_INT_H
#include <re.h>
#include "core/conf.h"

struct freecall;

struct booths {
	struct conf cf;
	struct store *st;
	struct calls *cs;
	struct hash *live;         /* struct live by booth id */
	struct tmr tmr_sweep;
	uint64_t last_flush;
	bool flush;
	struct freecall *fc;
};

/* freecall.c: the handsets' free 3-minute calls. */
int  freecall_alloc(struct freecall **fcp, struct booths *b,
		    const struct conf *cf, struct calls *cs,
		    struct store *st);
void freecall_reconf(struct freecall *fc, const struct conf *cf);

#endif
