/* call: the B2BUA.  A call is an incoming leg, one or more outgoing legs
 * (a parallel fork; the first answer wins), a media relay between the
 * winner and the caller, a state machine and a record. */
#ifndef LAOYOU_CALL_H
#define LAOYOU_CALL_H
#include <re.h>
#include "core/conf.h"
#include "store/store.h"
#include "media/media.h"
#include "sip/sip.h"

struct calls;
struct call;

/** Take over INVITEs on the SIP stack of sd. */
int  calls_alloc(struct calls **csp, const struct conf *cf, struct sipd *sd,
		 struct store *st, struct portpool *pp);
/** Apply the settings that may change while running (SIGHUP). */
void calls_reconf(struct calls *cs, const struct conf *cf);
/** Calls in progress (routing, ringing or answered). */
uint32_t calls_active(const struct calls *cs);
/** Refuse new calls with 503 and end every call in progress. */
void calls_shutdown(struct calls *cs);

/** The call's record; final once EVENT_CALL_ENDED is published. */
const struct store_cdr *call_record(const struct call *c);

#endif
