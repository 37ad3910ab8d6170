/* store, notify side: the SMS outbox with its delivery reports, and the
 * neighbourhood watch (volunteers, alerts, their log).  Part of the store
 * module; SQL stays in src/store/. */
#ifndef LAOYOU_STORE_NOTIFY_H
#define LAOYOU_STORE_NOTIFY_H
#include <stdint.h>
#include <stdbool.h>

struct store;
struct mbuf;

enum { STORE_SMS_TEXT_MAX = 1000 };

/** One message of the outbox. */
struct store_sms {
	int64_t id;
	char to[32];
	char text[STORE_SMS_TEXT_MAX + 1];
	char ref[160];
	char state[12];            /* queued sent accepted delivered failed */
	char key[40];              /* the secret its delivery reports carry */
	uint32_t attempts;         /* sends that failed */
	int64_t next_ms;           /* wall clock of the next try */
	int64_t created_ms;
};

/** Commit a new message to the outbox as queued, due at now_ms. */
int  store_sms_add(struct store *st, const char *to, const char *text,
		   const char *ref, const char *key, int64_t now_ms,
		   int64_t *idp);
/** The queued message due first at or before now_ms (ENOENT if none). */
int  store_sms_due(struct store *st, int64_t now_ms, struct store_sms *m);
/** When the next queued message is due (ENOENT if none is queued). */
int  store_sms_next(struct store *st, int64_t *next_ms);
/** The gateway took message id (code: its HTTP status, answer: its
 * reply); a report that came first is not undone. */
int  store_sms_sent(struct store *st, int64_t id, int64_t now_ms,
		    uint16_t code, const char *answer);
/** A try failed (code 0: no answer); retry at next_ms if still queued. */
int  store_sms_retry(struct store *st, int64_t id, uint32_t attempts,
		     int64_t next_ms, uint16_t code, const char *error);
/** The gateway answers again: messages held back because it was down or
 * failing (no answer or 5xx) are due now. */
int  store_sms_kick(struct store *st, int64_t now_ms);
/** Message id; ENOENT if none. */
int  store_sms_get(struct store *st, int64_t id, struct store_sms *m);
/** Record delivery report status for message id and move it to state
 * (stamping that state's time). */
int  store_sms_report(struct store *st, int64_t id, int status,
		      const char *answer, const char *state, int64_t now_ms);
/** Messages as {"items":[…]}, newest first; ref ("" = any; ending in ':'
 * = that prefix) and state ("" = any) filter, limit caps. */
int  store_sms_json(struct store *st, const char *ref, const char *state,
		    uint32_t limit, struct mbuf *mb);
/** Messages queued now (for logs and tests). */
int  store_sms_queued(struct store *st, uint32_t *n);

/** A watch volunteer or a district's community office. */
struct store_volunteer {
	char id[32];
	char name[96];
	char phone[32];
	char district[48];
	char kind[12];             /* volunteer, office */
	char escalation[32];       /* an office's escalation contact */
	char token[65];            /* the secret of their page's link */
	int64_t created_ms;
};

/** Add or change a volunteer; an empty token keeps the current one. */
int  store_volunteer_put(struct store *st, const struct store_volunteer *v,
			 const char *token_hash, int64_t now_ms);
/** Remove a volunteer; ENOENT if none. */
int  store_volunteer_del(struct store *st, const char *id);
/** A volunteer by id; ENOENT if none. */
int  store_volunteer_get(struct store *st, const char *id,
			 struct store_volunteer *v);
/** The volunteer whose token hashes to hash; ENOENT if none. */
int  store_volunteer_by_token(struct store *st, const char *hash,
			      struct store_volunteer *v);
typedef void (store_volunteer_h)(const struct store_volunteer *v, void *arg);
/** Volunteers of district ("" = all), by id. */
int  store_volunteer_list(struct store *st, const char *district,
			  store_volunteer_h *h, void *arg);

/** One watch alert. */
struct store_watch {
	int64_t id;
	char booth[32], booth_name[96], address[160], district[48];
	double lat, lon;
	char category[16];
	char note[512];
	char state[12];            /* open accepted escalated closed */
	char accepted_by[32];      /* volunteer id */
	char accepted_name[96];
	int64_t created_ms, escalated_ms, accepted_ms, closed_ms;
	uint32_t notified;         /* people alerted by SMS */
	char audio[640];           /* the spoken note's WAV file, if any */
};

/** Store a new open alert; its id goes to *idp. */
int  store_watch_add(struct store *st, const struct store_watch *w,
		     int64_t *idp);
/** Alert id; ENOENT if none. */
int  store_watch_get(struct store *st, int64_t id, struct store_watch *w);
/** How many were alerted for alert id. */
int  store_watch_notified(struct store *st, int64_t id, uint32_t n);
/** Volunteer v takes alert id if it is still open or escalated: one
 * UPDATE, so of two at once exactly one wins; EALREADY for the other. */
int  store_watch_accept(struct store *st, int64_t id,
			const struct store_volunteer *v, int64_t now_ms);
/** The volunteer who accepted alert id closes it; EPERM if another
 * holds it, EALREADY if it is not accepted (any more). */
int  store_watch_close(struct store *st, int64_t id, const char *by,
		       const char *resolution, int64_t now_ms);
/** The spoken note of alert id is the WAV file at path, ms long. */
int  store_watch_audio(struct store *st, int64_t id, const char *path,
		       uint32_t ms);
/** Alert id escalates if still open; EALREADY if not. */
int  store_watch_escalate(struct store *st, int64_t id, int64_t now_ms);
/** Up to n open alerts created at or before before_ms into ids. */
int  store_watch_overdue(struct store *st, int64_t before_ms, int64_t *ids,
			 uint32_t n, uint32_t *count);
/** Creation time of the oldest open alert (ENOENT if none). */
int  store_watch_oldest_open(struct store *st, int64_t *created_ms);
/** An alert of booth still open or escalated, of category, created at or
 * after since_ms (ENOENT if none); and the booth's alerts since then. */
int  store_watch_recent(struct store *st, const char *booth,
			const char *category, int64_t since_ms,
			int64_t *open_id, uint32_t *count);
/** Append to alert id's log. */
int  store_watch_log(struct store *st, int64_t id, int64_t ts_ms,
		     const char *what, const char *who, const char *detail);

/** Which alerts store_watch_json lists. */
struct store_watch_filter {
	int64_t id;                /* one alert, 0 = any */
	const char *booth;         /* "" or NULL = any */
	const char *district;
	const char *state;         /* "" = any; "live" = open or escalated */
	const char *mine;          /* with district: also those this
				    * volunteer accepted, in any state */
	bool log;                  /* include each alert's log */
	uint32_t limit;
};
/** Alerts as JSON objects separated by commas (no brackets), newest
 * first; *n counts them. */
int  store_watch_json(struct store *st, const struct store_watch_filter *f,
		      struct mbuf *mb, uint32_t *n);

#endif
