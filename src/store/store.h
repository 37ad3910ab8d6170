/* store: the embedded SQLite (WAL) database — accounts, registrations and
 * call records.  The single source of truth at run time. */
#ifndef LAOYOU_STORE_H
#define LAOYOU_STORE_H
#include <stdint.h>
#include <stdbool.h>

struct store;

enum { STORE_USER_MAX = 64, STORE_URI_MAX = 256 };

/** A SIP account: a person's phone, a booth handset, a device or a trunk. */
struct store_account {
	char user[STORE_USER_MAX];
	char ha1[33];              /* hex MD5(user:realm:secret) */
	char realm[64];
	char display[128];
	char ext[32];
	char kind[16];             /* agent, booth, elder-device, trunk */
	bool outbound;             /* may call trunks and outside numbers */
	uint32_t max_calls;        /* 0 = the configured default */
	char from_addr[64];        /* trunk: requests from here are this account */
};

/** One registered contact of an account. */
struct store_binding {
	char user[STORE_USER_MAX];
	char contact[STORE_URI_MAX];
	char src[64];              /* where the REGISTER came from */
	char transport[8];
	int64_t expires_at;        /* wall clock, seconds */
	char callid[128];
	uint32_t cseq;
};

/** One call record, final when the call has ended. */
struct store_cdr {
	int64_t id;
	char callid[128];
	char caller[STORE_USER_MAX];
	char callee[STORE_USER_MAX];
	char dialled[64];
	int64_t start_ms, ring_ms, answer_ms, end_ms; /* wall clock; 0 = never */
	uint32_t duration_s, billable_s;
	char disposition[16];      /* answered busy no-answer cancelled failed rejected */
	uint16_t cause;            /* SIP status that ended it */
	char reason[64];
	char hangup_by[16];        /* caller, callee, system */
	char codec[16];
	uint64_t pkts_a2b, bytes_a2b, pkts_b2a, bytes_b2a;
	uint64_t lost_a2b, lost_b2a;
	char hotline[32];          /* the hotline number, for IVR calls */
	char language[8];          /* zh, en */
	char path[256];            /* the IVR path, "node>node:key>…" */
	int survey;                /* 1-5, -1 = not answered */
	char recording[256];       /* WAV path */
	uint32_t recording_ms;
};

typedef int (store_account_h)(const struct store_account *a, void *arg);
typedef int (store_binding_h)(const struct store_binding *b, void *arg);
typedef int (store_cdr_h)(const struct store_cdr *c, void *arg);

/** Open (creating and migrating) the database at path. */
int  store_open(struct store **stp, const char *path);
/** Schema version this build migrates to. */
int  store_schema_version(void);
/** False after a write failed (disk full, I/O error) until one succeeds. */
bool store_healthy(const struct store *st);

/** Insert a new account; EEXIST if the user or extension is taken. */
int  store_account_add(struct store *st, const struct store_account *a);
/** Delete an account and its bindings; ENOENT if absent. */
int  store_account_del(struct store *st, const char *user);
/** Look an account up by user name. */
int  store_account_get(struct store *st, const char *user,
		       struct store_account *a);
/** Look an account up by extension. */
int  store_account_by_ext(struct store *st, const char *ext,
			  struct store_account *a);
/** Look up the trunk account whose from_addr is addr ("ip:port"). */
int  store_account_by_addr(struct store *st, const char *addr,
			   struct store_account *a);
/** Call h for every account, by user name. */
int  store_account_list(struct store *st, store_account_h *h, void *arg);

/** Insert or refresh a binding. */
int  store_binding_put(struct store *st, const struct store_binding *b);
/** Remove one binding (contact NULL: all of the user's). */
int  store_binding_del(struct store *st, const char *user,
		       const char *contact);
/** Call h for every binding that has not expired at now_s. */
int  store_binding_load(struct store *st, int64_t now_s,
			store_binding_h *h, void *arg);

/** A call-back request: a caller who left a number or a message. */
struct store_callback {
	int64_t id;
	int64_t created_ms;
	char callid[128];
	char caller[STORE_USER_MAX];
	char hotline[32];
	char number[32];
	char recording[256];
	char status[16];           /* open, done */
};
typedef int (store_callback_h)(const struct store_callback *cb, void *arg);

/** Store the site document (JSON text) as the one in force. */
int  store_site_put(struct store *st, const char *body);
/** The site document in force; *bodyp is mem_zalloc'd, ENOENT if none. */
int  store_site_get(struct store *st, char **bodyp);

/** Commit a call-back request. */
int  store_callback_add(struct store *st, struct store_callback *cb);
/** Call h for open call-back requests, oldest first. */
int  store_callback_list(struct store *st, store_callback_h *h, void *arg);

/** Surveys of a hotline (all if empty) in [from_ms, to_ms): answers and
 * satisfied answers (1 or 2 of 5). */
int  store_survey_stats(struct store *st, const char *hotline, int64_t from_ms,
			int64_t to_ms, uint64_t *answers, uint64_t *satisfied);

/** One event in a queue's life. */
struct store_qevent {
	int64_t ts_ms;
	char callid[128];
	char queue[48];
	char agent[48];
	char event[24];            /* ENTER CONNECT ABANDON RINGNOANSWER … */
	uint32_t wait_ms;          /* time in line so far */
	uint32_t talk_ms;          /* COMPLETE*: the conversation */
	uint32_t position;
	char hotline[32];
};

/** Queue figures for a period, computed from the queue log. */
struct store_kpi {
	uint64_t offered, answered, abandoned, short_abandoned, timeouts;
	uint64_t answered_in_sl;   /* answered within the service level */
	uint64_t wait_ms_sum, talk_ms_sum, completed, longest_wait_ms;
	uint64_t busy_ms, staffed_ms;  /* occupancy = busy / staffed */
};

/** Append to the queue log (committed before it returns). */
int  store_qlog(struct store *st, const struct store_qevent *ev);
/** Figures in [from_ms, to_ms) of a queue, an agent and a hotline (each
 * all if empty).  For an agent, "offered" counts the calls rung to it.
 * Occupancy is an agent's (all agents' if none), its last state holding
 * until now_ms; now_ms < 0 skips it (it reads the agent log). */
int  store_kpi(struct store *st, const char *queue, const char *agent,
	       const char *hotline, int64_t from_ms, int64_t to_ms,
	       int64_t now_ms, uint32_t sl_s, uint32_t short_s,
	       struct store_kpi *k);
/** Append an agent's new state (and not-ready reason) to its log. */
int  store_agent_log(struct store *st, int64_t ts_ms, const char *agent,
		     const char *state, const char *reason);

/** Commit a final call record; returns once it is durable. */
int  store_cdr_insert(struct store *st, struct store_cdr *c);
/** Call h for the newest limit records, newest first. */
int  store_cdr_list(struct store *st, uint32_t limit, store_cdr_h *h,
		    void *arg);

/* ---------- web: users, sessions, tokens, audit, lists ---------- */

/** A web user: role admin, supervisor or agent (linked to an ACD agent). */
struct store_user {
	char name[64];
	char hash[128];            /* Argon2id, libsodium's string form */
	char role[16];
	char agent[48];
	int64_t created_ms;
};

/** Add a user; EEXIST if the name is taken. */
int  store_user_add(struct store *st, const struct store_user *u);
/** A user by name; ENOENT if none. */
int  store_user_get(struct store *st, const char *name, struct store_user *u);
/** Set a user's password hash and end its sessions. */
int  store_user_passwd(struct store *st, const char *name, const char *hash);
/** Delete a user and its sessions. */
int  store_user_del(struct store *st, const char *name);

/** Add a session (hash of its secret) for user until expires_ms. */
int  store_session_add(struct store *st, const char *hash, const char *user,
		       const char *csrf, int64_t expires_ms);
/** The user and CSRF token of a live session; ENOENT if none. */
int  store_session_get(struct store *st, const char *hash, int64_t now_ms,
		       char *user, size_t usz, char *csrf, size_t csz);
/** End a session. */
int  store_session_del(struct store *st, const char *hash);

/** Add an API token (hash of its secret) with comma-separated scopes. */
int  store_token_add(struct store *st, const char *name, const char *hash,
		     const char *scopes, int64_t now_ms);
/** The name and scopes of a live token; ENOENT if none or revoked. */
int  store_token_get(struct store *st, const char *hash, char *name,
		     size_t nsz, char *scopes, size_t ssz);
/** Revoke a token by name; ENOENT if no live token has it. */
int  store_token_revoke(struct store *st, const char *name);

/** Record who changed what. */
int  store_audit(struct store *st, int64_t ts_ms, const char *who,
		 const char *action, const char *detail);

/** An agent's wrap-up of a call: a category and notes. */
int  store_wrapup(struct store *st, int64_t ts_ms, const char *callid,
		  const char *agent, const char *category, const char *notes);
/** Is there a call record with this Call-ID? */
bool store_cdr_known(struct store *st, const char *callid);
/** Mark an open call-back task done; ENOENT if none is open. */
int  store_callback_done(struct store *st, int64_t id);
/** The recording file of a call record; ENOENT if none. */
int  store_recording(struct store *st, int64_t cdr_id, char *path,
		     size_t sz);

enum store_list {
	STORE_LIST_CDR, STORE_LIST_QLOG, STORE_LIST_CALLBACKS,
	STORE_LIST_ACCOUNTS, STORE_LIST_USERS, STORE_LIST_TOKENS,
	STORE_LIST_AUDIT, STORE_LIST_WRAPUPS, STORE_LIST_MAX
};

/** What a list is filtered by (empty strings match all; the wrap-up
 * list's caller is the call's id). */
struct store_filter {
	int64_t from_ms, to_ms;
	const char *hotline, *queue, *agent, *caller;
	int64_t limit, offset;
};

struct mbuf;
struct re_printf;
/** Append one page of a list to mb as JSON objects separated by commas
 * (csv: a header line and CSV lines); *total is the count over f. */
int  store_list(struct store *st, enum store_list which,
		const struct store_filter *f, bool csv, struct mbuf *mb,
		uint64_t *total);
/** %H printers: a string escaped for JSON and for a quoted CSV field. */
int  store_json_esc(struct re_printf *pf, const char *s);
int  store_csv_esc(struct re_printf *pf, const char *s);

#endif
