/* booth: the "Hello 老友" digital phone booths — the fleet (screens,
 * heartbeats, faults, charging ports) and the handset's free calls.  The
 * services (taxi, watch, elder help) build on it through this header; what
 * a booth's screen or the operations page should learn goes up as
 * EVENT_BOOTH news, which the API forwards. */
#ifndef LAOYOU_BOOTH_H
#define LAOYOU_BOOTH_H
#include <stdint.h>
#include <stdbool.h>

struct booths;
struct conf;
struct calls;
struct store;
struct json;

/** A booth as the services see it. */
struct booth_info {
	char id[32];
	char name[96];
	char name_en[96];
	char address[160];
	char district[48];
	char account[64];          /* the handset's SIP account */
	char lang[4];              /* the screen's language now: zh or en */
	double lat, lon;           /* WGS-84 degrees */
	uint32_t ports;            /* charging ports */
	bool online;
	uint64_t last_seen_ms;     /* wall clock */
};

/** EVENT_BOOTH news: kind is online, offline, fault, charging, taxi,
 * watch, call …; json is a JSON object's text; to_screen asks the API to
 * pass it to the booth's own screen as well as to operations. */
struct booth_news {
	const char *booth, *kind, *json;
	bool to_screen;
};

/** The fleet over calls and the store; takes the booths' free calls. */
int  booths_alloc(struct booths **bp, const struct conf *cf,
		  struct calls *cs, struct store *st);
/** Apply the settings that may change while running (SIGHUP). */
void booths_reconf(struct booths *b, const struct conf *cf);
/** A booth by id (ENOENT if none). */
int  booths_get(struct booths *b, const char *id, struct booth_info *bi);
/** The booth whose handset is SIP account `account` (ENOENT if none). */
int  booths_of_account(struct booths *b, const char *account,
		       struct booth_info *bi);
/** Publish EVENT_BOOTH news about booth id; fmt prints a JSON object. */
void booths_notify(struct booths *b, const char *id, const char *kind,
		   bool to_screen, const char *fmt, ...);
/** The screen of booth id was heard from (heartbeat or request); lang is
 * its language now ("" = unchanged). */
void booths_seen(struct booths *b, const char *id, const char *lang);
/** Stop tracking booth id (it was deleted). */
void booths_forget(struct booths *b, const char *id);
/** Write the fleet's liveness to the store now (before a listing). */
void booths_flush(struct booths *b);
/** Count one use of a service at booth id today (taxi, watch …). */
void booths_count(struct booths *b, const char *id, const char *service);
/** Load the "booths" of a site (check only if b is NULL); errors read
 * "file:line: what is wrong". */
int  booths_site_load(struct booths *b, const struct json *root,
		      const char *file, char *err, size_t errsz);

struct store_booth;
/** Today's date (local time) as YYYY-MM-DD and the day's first ms. */
void booths_day(int64_t wall_ms, char day[11], int64_t *start_ms);

/** A booth object of a site file or API body into sb (and its token, if
 * token is set); id names it when the object has no "id" (NULL: needed);
 * "file:line: what is wrong" into err. */
int  booths_parse(const struct json *o, const char *file, const char *id,
		  struct store_booth *sb, char *token, size_t tsz, char *err,
		  size_t errsz);
/** Start tracking the liveness of a booth just added. */
int  booths_seen_load(struct booths *b, const struct store_booth *sb);

/** The screen's dial pad (number) or service button (service "elder" or
 * "sign"): ring booth id's handset and, once picked up, connect it.  On
 * refusal *scode is the HTTP status and why says why; the call's id goes
 * to callid. */
int  booths_dial(struct booths *b, const char *id, const char *number,
		 const char *service, uint16_t *scode, char *why, size_t sz,
		 char *callid, size_t csz);
struct audio;
/** Load prompt name in lang (an imported recording first, else the
 * rendered one). */
int  booths_prompt(const struct conf *cf, const char *lang, const char *name,
		   struct audio **ap);
/** The store the fleet keeps its booths in. */
struct store *booths_store(struct booths *b);
/** Hex BLAKE2b-256 of a screen token: only hashes are kept. */
void booths_token_hash(const char *token, char out[65]);

#endif
