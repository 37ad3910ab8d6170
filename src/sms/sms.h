/* sms: text messages through Kannel's HTTP send-sms interface.  Every
 * message is committed to an outbox before it is sent, retried with
 * backoff while the gateway is down, and its delivery report recorded. */
#ifndef LAOYOU_SMS_H
#define LAOYOU_SMS_H
#include <stdint.h>
#include <stdbool.h>

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

struct mbuf;
struct re_printf;

/** Is `to` a number a message can go to (+ and 3-20 digits)? */
bool sms_number_ok(const char *to);
/** Is text (NUL-terminated) valid UTF-8 with no control characters but
 * newline and tab? */
bool sms_text_ok(const char *text);
/** Is key the secret of message id's delivery reports?  0, ENOENT, EPERM. */
int  sms_dlr_auth(struct sms *s, int64_t id, const char *key);
/** %H printer: s percent-encoded for a URL query value (all bytes but
 * A-Z a-z 0-9 - . _ ~). */
int  sms_url_esc(struct re_printf *pf, const char *s);
/** Append to mb the gateway URL that sends text to `to`: base (Kannel's
 * sendsms URL with its credentials), from ("" = the gateway's default),
 * and the delivery-report URL dlr_base?id=ID&k=KEY&status=%d&answer=%A. */
int  sms_url_build(struct mbuf *mb, const char *base, const char *from,
		   const char *to, const char *text, const char *dlr_base,
		   int64_t id, const char *key);
/** Seconds to wait after the failed-th failed try: retry_s doubling per
 * failure, at most an hour (or retry_s, if that is longer). */
uint32_t sms_backoff_s(uint32_t retry_s, uint32_t failed);
/** The state a message in state cur reaches on a Kannel delivery report:
 * 1 delivered, 2 not delivered to the phone, 4 buffered at the SMSC, 8
 * delivered to the SMSC, 16 rejected by it.  States only move forward:
 * queued, sent, accepted, then delivered or failed (final). */
const char *sms_state_after(const char *cur, int status);

#endif
