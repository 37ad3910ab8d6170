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
	struct list dials;         /* struct dial: handsets rung for screens */
};

/* freecall.c: the handsets' free 3-minute calls. */
/** Rule on the booths' calls (the call layer's policy) for fleet b. */
int  freecall_alloc(struct freecall **fcp, struct booths *b,
		    const struct conf *cf, struct calls *cs,
		    struct store *st);
/** Apply the settings that may change while running (SIGHUP). */
void freecall_reconf(struct freecall *fc, const struct conf *cf);
struct booth_info;
struct call_policy;
/** May booth bi call number freely?  Fills p (scode 0 = yes, with the
 * limit); with callid the call is recorded and counted. */
int  freecall_check(struct freecall *fc, const struct booth_info *bi,
		    const char *number, const char *callid,
		    struct call_policy *p);
/** 110, 119, 120 or 122? */
bool freecall_is_emergency(const char *number);
/** A Shanghai landline (8 digits, or 021 and 8) or a mobile? */
bool freecall_is_local(const char *number);

#endif
