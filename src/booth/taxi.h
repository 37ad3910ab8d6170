/* taxi: one-touch taxi.  A ride request with the booth's location goes to
 * the partner as a signed HTTP POST, retried with backoff; the partner's
 * status callbacks reach the booth's screen; a partner that fails or does
 * not accept in time leaves the ride failed with the hotline offered. */
#ifndef LAOYOU_TAXI_H
#define LAOYOU_TAXI_H
struct taxi;
struct conf;
struct store;
struct booths;

/** Rides over the store and the fleet; resumes rides left in flight. */
int  taxi_alloc(struct taxi **tp, const struct conf *cf, struct store *st,
		struct booths *b);
/** Apply the settings that may change while running (SIGHUP). */
void taxi_reconf(struct taxi *t, const struct conf *cf);

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
struct booth_info;
struct mbuf;

/* The partner protocol (docs/taxi-partner.md). */
enum {
	TAXI_TRIES = 5,            /* deliveries of one request at most */
	TAXI_BACKOFF_MS = 1000,    /* wait after the first failed try */
	TAXI_BACKOFF_MAX_MS = 16000,
	TAXI_ATTEMPT_MS = 10000,   /* one try's answer must come by then */
	TAXI_SKEW_S = 300,         /* a signature's time may be this far off */
};

/** Ask for a ride from booth bi: the ride's JSON goes to mb; EALREADY
 * (with the ride still waiting in mb) if the booth has one waiting,
 * ENOTSUP if no partner is configured, EINVAL for bad note/passengers. */
int  taxi_request(struct taxi *t, const struct booth_info *bi,
		  const char *note, uint32_t passengers, struct mbuf *mb);
/** A ride's JSON into mb; booth, unless "", must be its booth (else
 * ENOENT). */
int  taxi_ride_json(struct taxi *t, const char *id, const char *booth,
		    bool steps, struct mbuf *mb);
/** The booth cancels its ride (the partner is told): ENOENT, or EALREADY
 * if the ride is over; the ride's JSON goes to mb. */
int  taxi_cancel(struct taxi *t, const char *id, const char *booth,
		 struct mbuf *mb);
/** A partner's status callback: sig is the X-Laoyou-Signature header
 * (NULL if absent), body the raw body.  0 with the ride's JSON in mb, or
 * EPERM (bad signature), ETIMEDOUT (stale timestamp), EBADMSG (malformed),
 * ENOENT (unknown ride), EPROTO (illegal transition); *why says more. */
int  taxi_status(struct taxi *t, const char *id, const char *sig,
		 const char *body, size_t len, struct mbuf *mb,
		 const char **why);
/** Rides for operations as {"items":[…]}: of booth and in state ("" =
 * any), newest first, at most limit. */
int  taxi_rides_json(struct taxi *t, const char *booth, const char *state,
		     uint32_t limit, struct mbuf *mb);

/** Hex HMAC-SHA256 with key over "<ts>.<body>" into hex. */
void taxi_sign(const char *key, int64_t ts, const char *body, size_t len,
	       char hex[65]);
/** Check an X-Laoyou-Signature value "t=<ts>,v1=<hex>" over body at now_s:
 * 0, EPERM (missing, malformed or wrong) or ETIMEDOUT (t too far off). */
int  taxi_sig_check(const char *key, const char *hdr, const char *body,
		    size_t len, int64_t now_s);
/** Milliseconds to wait after failed try n (1, 2, …) before the next. */
uint32_t taxi_backoff_ms(uint32_t n);
/** May a ride in state from move to state to (on a partner's word)? */
bool taxi_transition_ok(const char *from, const char *to);
/** Is state final (completed, cancelled, failed)? */
bool taxi_state_final(const char *state);

#endif
