/* store, ride side: taxi rides requested from booths and every step of
 * each (the ride log).  Part of the store module; SQL stays in src/store/. */
#ifndef LAOYOU_STORE_RIDE_H
#define LAOYOU_STORE_RIDE_H
#include <stdint.h>
#include <stdbool.h>

struct store;

enum { STORE_RIDE_REQ_MAX = 4096 };

/** One ride.  state: requested, sent, accepted, arriving, arrived,
 * completed, cancelled, failed. */
struct store_ride {
	char id[33];               /* 32 hex: ours, in the callback URL */
	char booth[32];
	char state[16];
	char reason[24];           /* why it failed or who cancelled */
	char detail[160];          /* what happened, for operations */
	char partner_ref[65];      /* the partner's reference */
	char plate[33];
	char driver[65];
	int32_t eta_s;             /* -1 = not known */
	uint32_t passengers;
	char note[201];
	uint32_t attempts;         /* deliveries tried */
	int64_t created_ms, updated_ms;
	int64_t deadline_ms;       /* wall clock: accepted by then or failed */
	char request[STORE_RIDE_REQ_MAX];  /* the JSON body sent */
};

/** Insert a new ride (r->id is set by the caller). */
int  store_ride_add(struct store *st, const struct store_ride *r);
/** Write a ride's changing fields (state, reason, partner data …). */
int  store_ride_update(struct store *st, const struct store_ride *r);
/** A ride by id; ENOENT if none. */
int  store_ride_get(struct store *st, const char *id, struct store_ride *r);
/** Append one step to a ride's log. */
int  store_ride_log(struct store *st, const char *id, int64_t ts_ms,
		    const char *state, const char *detail);

typedef void (store_ride_h)(const struct store_ride *r, void *arg);
/** Rides newest first, of booth and in state ("" = any), at most limit. */
int  store_ride_list(struct store *st, const char *booth, const char *state,
		     uint32_t limit, store_ride_h *h, void *arg);
/** Rides still waiting for the partner (requested or sent), oldest first. */
int  store_ride_pending(struct store *st, store_ride_h *h, void *arg);
/** The id of booth's ride still waiting for the partner; ENOENT if none. */
int  store_ride_pending_of(struct store *st, const char *booth, char *id,
			   size_t sz);

typedef void (store_ride_log_h)(int64_t ts_ms, const char *state,
				const char *detail, void *arg);
/** A ride's log, oldest first. */
int  store_ride_steps(struct store *st, const char *id, store_ride_log_h *h,
		      void *arg);

#endif
