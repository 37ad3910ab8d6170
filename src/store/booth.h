/* store, booth side: the fleet, faults, daily usage, charging sessions and
 * free calls.  Part of the store module; SQL stays in src/store/. */
#ifndef LAOYOU_STORE_BOOTH_H
#define LAOYOU_STORE_BOOTH_H
#include <stdint.h>
#include <stdbool.h>

struct store;
struct mbuf;

struct store_booth {
	char id[32], name[96], name_en[96], address[160], district[48];
	char account[64], lang[4];
	double lat, lon;
	uint32_t ports;
	int64_t last_seen_ms;
	bool online;
};

/** Add or change a booth (its token and liveness are kept). */
int  store_booth_put(struct store *st, const struct store_booth *b);
/** Remove a booth; ENOENT if none. */
int  store_booth_del(struct store *st, const char *id);
/** A booth by id; ENOENT if none. */
int  store_booth_get(struct store *st, const char *id, struct store_booth *b);
/** The booth whose handset is SIP account `account`; ENOENT if none. */
int  store_booth_of_account(struct store *st, const char *account,
			    struct store_booth *b);
typedef void (store_booth_h)(const struct store_booth *b, void *arg);
/** Every booth, by id. */
int  store_booth_list(struct store *st, store_booth_h *h, void *arg);
/** Set the hash of a booth's screen token; ENOENT if no such booth. */
int  store_booth_token(struct store *st, const char *id, const char *hash);
/** Set the token's hash only if the booth has none yet. */
int  store_booth_token_first(struct store *st, const char *id,
			     const char *hash);
/** The booth whose token hashes to hash, into id; ENOENT if none. */
int  store_booth_by_token(struct store *st, const char *hash, char *id,
			  size_t sz);
/** Write the liveness of a booth. */
int  store_booth_seen(struct store *st, const char *id, int64_t ts_ms,
		      bool online, const char *lang);
/** Begin (or commit) a batch of liveness writes as one transaction. */
int  store_booth_batch(struct store *st, bool commit);
/** Record a fault a booth reports (clear: close its open faults of kind). */
int  store_booth_fault(struct store *st, const char *id, const char *kind,
		       const char *detail, int64_t ts_ms, bool clear);
/** Count one use of service at booth id on day (YYYY-MM-DD). */
int  store_booth_usage(struct store *st, const char *id, const char *day,
		       const char *service);
/** A charging event on a port: start, stop (with wh) or fault; the
 * session's id goes to *idp.  flag marks an abnormal session. */
int  store_charge(struct store *st, const char *id, uint32_t port,
		  const char *event, double wh, const char *flag,
		  int64_t ts_ms, int64_t *idp);
typedef void (store_port_h)(uint32_t port, const char *state,
			    int64_t since_ms, void *arg);
/** The state of ports 1..n of booth id now: idle, charging or fault. */
int  store_charge_ports(struct store *st, const char *id, uint32_t n,
			store_port_h *h, void *arg);
/** Energy (Wh) and sessions at booth id ("" = all) from from_ms to to_ms. */
int  store_charge_total(struct store *st, const char *id, int64_t from_ms,
			int64_t to_ms, double *wh, uint32_t *sessions);
/** Free calls from booth id and to number on day (for the quotas). */
int  store_freecall_count(struct store *st, const char *id,
			  const char *number, const char *day,
			  uint32_t *by_booth, uint32_t *by_number);
/** Record a free call (secs 0 while it runs; set when it ends). */
int  store_freecall(struct store *st, const char *id, const char *number,
		    const char *day, const char *callid, int64_t ts_ms,
		    uint32_t secs, bool emergency);
/** A free call ended after secs of talk; one never answered (secs 0)
 * is forgotten, so it does not count against the quotas. */
int  store_freecall_end(struct store *st, const char *callid, uint32_t secs);
/** Forget the free calls a crash left unfinished (secs 0, not emergency). */
int  store_freecall_sweep(struct store *st);
/** The fleet as a JSON array into mb: each booth with its open faults,
 * today's usage (day) and charging. */
int  store_booth_json(struct store *st, const char *id, const char *day,
		      int64_t day_start_ms, struct mbuf *mb);

#endif
