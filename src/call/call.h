/* call: the B2BUA.  A call is an incoming leg, one or more outgoing legs
 * (a parallel fork; the first answer wins), a media relay between the
 * winner and the caller, a state machine and a record.
 *
 * Applications (IVR, ACD, booths) take calls by claiming dialled numbers:
 * such a call is answered by laoyou itself and driven through this
 * interface — prompts, keys, transfer to an extension, hang-up.  An
 * application holds a reference to the call, never the other way round. */
#ifndef LAOYOU_CALL_H
#define LAOYOU_CALL_H
#include <re.h>
#include "core/conf.h"
#include "store/store.h"
#include "media/media.h"
#include "sip/sip.h"

struct calls;
struct call;
struct call_app;
struct audio;

/** Does an application take calls to this dialled number? */
typedef bool (call_claim_h)(const char *dialled, void *arg);
/** A claimed call, answered by laoyou, is handed to the application. */
typedef void (call_start_h)(struct call *c, void *arg);

/** What an application hears from its call. */
struct call_handlers {
	/** A key from the caller (RFC 4733, SIP INFO or in-band). */
	void (*dtmfh)(struct call *c, char key, void *arg);
	/** A transfer ended: 200 = bridged, else the SIP status it failed with. */
	void (*transferh)(struct call *c, uint16_t scode, void *arg);
	/** The bridged party hung up; the caller is still here. */
	void (*unbridgeh)(struct call *c, void *arg);
	/** The call has ended: drop every reference to it. */
	void (*closeh)(struct call *c, void *arg);
	/** An originated call: 200 = the called party answered, else why not
	 * (the call then ends; closeh follows). */
	void (*answerh)(struct call *c, uint16_t scode, void *arg);
};

/** Take over INVITEs on the SIP stack of sd. */
int  calls_alloc(struct calls **csp, const struct conf *cf, struct sipd *sd,
		 struct store *st, struct portpool *pp);
/** Let an application claim dialled numbers; the first that claims a
 * number takes the call.  mem_deref *appp to withdraw. */
int  calls_app_register(struct call_app **appp, struct calls *cs,
			call_claim_h *claimh, call_start_h *starth,
			void *arg);
/** Call number on behalf of account as_user (whose permissions apply);
 * the called party becomes the call's caller side, driven by h.  The call
 * is referenced in *cp for the application. */
int  calls_originate(struct calls *cs, const char *number, const char *as_user,
		     const struct call_handlers *h, void *arg,
		     struct call **cp);
/** What a routing policy says of a call an account places to a number
 * that is not an application's. */
struct call_policy {
	uint16_t scode;            /* refuse with this status (0 = allow) */
	char reason[64];           /* its reason phrase */
	uint32_t limit_s;          /* hang up this long after the answer */
	uint32_t warn_s;           /* and play warn this long before */
	struct audio *warn;        /* the policy's; the call takes a ref */
};
/** Decide on call c from caller to dialled (the record exists; p is
 * zeroed: allow, no limit). */
typedef void (call_policy_h)(struct call *c, const struct store_account
			     *caller, const char *dialled,
			     struct call_policy *p, void *arg);
/** Does an application claim number? */
bool calls_claimed(const struct calls *cs, const char *number);
/** Hand call c (answered by laoyou) to the application that claims
 * number, as if c had dialled it; ENOENT if none claims it. */
int  calls_app_start(struct call *c, const char *number);
/** Let one module (the booths) rule on outgoing calls; NULL to remove. */
void calls_set_policy(struct calls *cs, call_policy_h *h, void *arg);

/** Apply the settings that may change while running (SIGHUP). */
void calls_reconf(struct calls *cs, const struct conf *cf);
/** Calls in progress (routing, ringing or answered). */
uint32_t calls_active(const struct calls *cs);
typedef void (call_each_h)(const struct call *c, const char *state,
			   void *arg);
/** Call h for every call in progress, with its state's name. */
void calls_foreach(const struct calls *cs, call_each_h *h, void *arg);
/** Refuse new calls with 503 and end every call in progress. */
void calls_shutdown(struct calls *cs);

/** The call's record; final once EVENT_CALL_ENDED is published. */
const struct store_cdr *call_record(const struct call *c);
/** The SIP Call-ID of the caller's leg. */
const char *call_id(const struct call *c);
/** Has the call ended? */
bool call_ended(const struct call *c);

/** Attach an application's handlers. */
void call_set_handlers(struct call *c, const struct call_handlers *h,
		       void *arg);
/** Play audios to the caller in order; doneh when all have played. */
int  call_play(struct call *c, struct audio *const *list, size_t n,
	       mrelay_play_h *doneh, void *arg);
/** Stop what plays to the caller. */
void call_stop_play(struct call *c);
/** Connect the caller to an extension or outside number (toll-fraud rules
 * apply), ringing at most ring_s seconds (0 = the configured time); the
 * result comes to transferh. */
int  call_transfer(struct call *c, const char *number, uint32_t ring_s);
/** Ring number as well, in parallel, for the transfer now ringing (the
 * first to answer is bridged; its user is the record's callee). */
int  call_transfer_add(struct call *c, const char *number);
/** Give up a transfer that is still ringing (transferh is not called). */
void call_transfer_cancel(struct call *c);
/** Let this call's transfers reach outside numbers although its caller
 * may not dial them: for an application that chose the number itself (an
 * elder's family contacts), never for a number the caller typed. */
void call_allow_outside(struct call *c);
/** The caller's account name. */
const char *call_caller(const struct call *c);
/** Record the conversation into path (mixed, or one channel per side). */
int  call_record_start(struct call *c, const char *path, bool stereo);
/** Stop recording; returns the recording's length in ms. */
uint32_t call_record_stop(struct call *c);
/** Let the caller of call sup (a supervisor, answered by an application)
 * listen to, whisper into or barge into the bridged call target; sup is
 * hung up when target ends. */
int  call_supervise(struct call *target, struct call *sup,
		    enum msup_mode mode);
/** End the call limit_s after it is bridged (or now-bridged), playing
 * warn to the caller warn_s before the end; 0 removes the limit. */
int  call_set_limit(struct call *c, uint32_t limit_s, uint32_t warn_s,
		    struct audio *warn);
/** Wall-clock ms the caller was first bridged to a callee (0 = never). */
int64_t call_bridged_ms(const struct call *c);
/** Seconds the bridged conversation has lasted (0 if not bridged). */
uint32_t call_talk_s(const struct call *c);
/** Hang up the call. */
void call_hangup(struct call *c, uint16_t cause, const char *reason);

/** Record fields an application fills in. */
void call_set_hotline(struct call *c, const char *number);
void call_set_language(struct call *c, const char *lang);
/** Append a step ("node" or "node:key") to the path the call took. */
void call_path_add(struct call *c, const char *step);
void call_set_survey(struct call *c, int score);

#endif
