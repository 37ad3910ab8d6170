/* store, elder side: the profiles behind one-touch elder help (an elder's
 * home device, or a booth's own escalation contacts), each call's
 * escalation and its steps.  Part of the store module; SQL stays in
 * src/store/. */
#ifndef LAOYOU_STORE_ELDER_H
#define LAOYOU_STORE_ELDER_H
#include <stdint.h>
#include <stdbool.h>

struct store;
struct mbuf;

enum { ELDER_CONTACTS_MAX = 5 };

/** A family contact (or, for a booth, whom to call instead). */
struct store_elder_contact {
	char name[64];
	char relation[32];
	char number[32];
};

/** A profile: for an elder-device account (kind "elder"), or a booth's
 * handset account (kind "booth": name and address come from the booth). */
struct store_elder {
	char account[64];
	char kind[8];              /* elder, booth */
	char name[64];
	char address[160];
	char district[48];
	char conditions[512];      /* health notes for the agent */
	char lang[4];              /* the prompts' language: zh, en */
	struct store_elder_contact contacts[ELDER_CONTACTS_MAX];
	uint32_t ncontacts;
	int64_t updated_ms;
};

/** Add or replace a profile with its contacts (one transaction). */
int  store_elder_put(struct store *st, const struct store_elder *e);
/** A profile by account; ENOENT if none. */
int  store_elder_get(struct store *st, const char *account,
		     struct store_elder *e);
/** Remove a profile; ENOENT if none. */
int  store_elder_del(struct store *st, const char *account);
typedef void (store_elder_h)(const struct store_elder *e, void *arg);
/** Every profile, by account. */
int  store_elder_list(struct store *st, store_elder_h *h, void *arg);

/** One help call: who called, how it ended, who answered. */
struct store_elder_call {
	char callid[128];
	char caller[64];
	char kind[8];              /* elder, booth, other */
	char booth[32];
	int64_t start_ms, end_ms;
	char outcome[16];          /* agent, family, nobody, hung-up, "" */
	char answered_by[64];      /* the agent, or the contact's name */
	char number[32];           /* the number that answered */
};

/** Open the record of a help call. */
int  store_elder_call_add(struct store *st, const struct store_elder_call *c);
/** Close it: outcome, who answered and at which number. */
int  store_elder_call_end(struct store *st, const char *callid,
			  const char *outcome, const char *answered_by,
			  const char *number, int64_t end_ms);
/** One step of a help call's escalation, committed before it returns. */
int  store_elder_step(struct store *st, const char *callid, int64_t ts_ms,
		      const char *step, uint32_t contact, const char *name,
		      const char *number, const char *detail);

/** Help calls as JSON objects separated by commas into mb, newest first,
 * each with its steps; callid or caller ("" = all) filter. */
int  store_elder_calls_json(struct store *st, const char *callid,
			    const char *caller, uint32_t limit,
			    struct mbuf *mb, uint32_t *n);

#endif
