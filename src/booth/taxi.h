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

#endif
