/* sip: the SIP front of laoyou — transports, message checks, digest
 * authentication with bans, the registrar, OPTIONS.  INVITE dialogs are the
 * call module's; it asks this module who a caller is and where a callee is. */
#ifndef LAOYOU_SIP_H
#define LAOYOU_SIP_H
#include <re.h>
#include "core/conf.h"
#include "store/store.h"

struct sipd;

/** Contact handler: one registered contact of a user. */
typedef void (sipd_contact_h)(const char *uri, const struct sa *src,
			      enum sip_transp tp, void *arg);

/** Start the SIP stack: listeners, checks, registrar (bindings restored). */
int  sipd_alloc(struct sipd **sp, const struct conf *cf, struct store *st);
/** The libre SIP stack, for the call module's sessions. */
struct sip *sipd_stack(const struct sipd *s);
/** Apply the settings that may change while running (SIGHUP). */
void sipd_reconf(struct sipd *s, const struct conf *cf);
/** Identify the sender of msg: an IP trunk or a digest login.  On failure
 * the request has been answered (401/407/403) and EAUTH is returned. */
int  sipd_authenticate(struct sipd *s, const struct sip_msg *msg,
		       struct store_account *acc);
/** Call h for each live contact of user; returns how many. */
uint32_t sipd_contacts(struct sipd *s, const char *user, sipd_contact_h *h,
		       void *arg);
/** Live registered contacts in all. */
uint32_t sipd_registrations(const struct sipd *s);
/** Addresses banned now. */
uint32_t sipd_bans(const struct sipd *s);
/** SIP TCP connections accepted and open now; refused for the per-address
 * cap so far. */
void sipd_tcp_stats(const struct sipd *s, uint32_t *conns, uint64_t *refused);

#endif
