/* sms: text messages through Kannel's HTTP send-sms interface.  Every
 * message is committed to an outbox before it is sent, retried with
 * backoff while the gateway is down, and its delivery report recorded. */
#ifndef LAOYOU_SMS_H
#define LAOYOU_SMS_H
#include <stdint.h>

struct sms;
struct conf;
struct store;

/** The outbox over the store; sends what an earlier run left queued. */
int  sms_alloc(struct sms **sp, const struct conf *cf, struct store *st);
/** Apply the settings that may change while running (SIGHUP). */
void sms_reconf(struct sms *s, const struct conf *cf);
/** Queue text to number `to`; ref says what it is about ("elder:CALLID",
 * "watch:ID").  The id of the message goes to *idp if idp is set. */
int  sms_send(struct sms *s, const char *to, const char *text,
	      const char *ref, int64_t *idp);
/** A delivery report from the gateway for message id (Kannel's %d). */
int  sms_dlr(struct sms *s, int64_t id, int status, const char *answer);

#endif
