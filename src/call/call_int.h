/* call: private to the folder. */
#ifndef LAOYOU_CALL_INT_H
#define LAOYOU_CALL_INT_H
#include "call/call.h"

/*
 * States: ROUTING (forks out, caller not yet accepted) → RINGING (caller's
 * session accepted with 18x) → ANSWERED → ENDED.  A call an application
 * claimed is ANSWERED by laoyou at once ("local"); its outgoing legs are
 * transfers.  Every path to ENDED goes through call_end().
 */
enum call_state { ST_ROUTING, ST_RINGING, ST_ANSWERED, ST_ENDED };

struct leg {
	struct le le;
	struct call *call;
	struct sipsess *sess;
	struct msdp answer;        /* callee's SDP, once it has sent one */
	char user[STORE_USER_MAX]; /* the account it rings */
	struct sa src;             /* where its REGISTER came from, if known */
};

struct call {
	struct le le;              /* calls->all */
	struct le he;              /* calls->by_callid */
	struct calls *cs;
	enum call_state state;
	bool local;                /* answered by laoyou for an application */
	const struct sip_msg *inv; /* caller's INVITE, until accepted */
	struct sipsess *a;         /* caller's leg */
	struct list forks;         /* struct leg, until one answers */
	struct leg *b;             /* the leg that answered */
	struct mrelay *mr;
	struct list sups;          /* supervisors' calls on this one */
	struct le le_sup;          /* in the supervised call's sups */
	struct msdp offer_a;       /* caller's last offer */
	struct msdp sdp_b;         /* callee's last SDP */
	uint64_t sess_id;
	uint32_t ver_a, ver_b;     /* our SDP versions towards A and B */
	uint16_t fail_code;
	char fail_reason[64];
	uint64_t answered_mono;
	struct tmr tmr_ring;
	struct tmr tmr_rtp;
	struct tmr tmr_limit;      /* a policy's time limit */
	uint32_t limit_s, warn_s;
	struct audio *warn;
	uint64_t bridged_mono;     /* 0 = not bridged to a callee yet */
	int64_t bridged_wall;      /* first bridged, wall ms (0 = never) */
	char callid[128];
	struct store_account caller;
	bool counted;              /* in the caller's concurrency count */
	struct call_handlers app;
	void *app_arg;
	struct store_cdr rec;
};

struct calls {
	struct conf cf;
	struct sipd *sd;
	struct sip *sip;
	struct store *st;
	struct portpool *pp;
	struct sipsess_sock *sock;
	struct sip_lsnr *lsnr;
	struct list all;
	uint32_t n_calls;
	struct hash *by_callid;
	struct hash *per_account;
	bool closing;
	struct list apps;
	call_policy_h *policyh;
	void *policy_arg;
};

struct call_app {
	struct le le;
	call_claim_h *claimh;
	call_start_h *starth;
	void *arg;
};

/* call.c */
struct call *call_alloc_for(struct calls *cs, const struct sip_msg *msg,
			    const struct store_account *caller,
			    const char *dialled, const struct msdp *offer);
void call_end(struct call *c, const char *disposition, uint16_t cause,
	      const char *reason, const char *hangup_by);
void call_answered(struct call *c);
/** The caller now talks to a callee: starts a policy's time limit. */
void call_bridged(struct call *c);
int  call_count_add(struct calls *cs, const char *user);
uint32_t call_count(struct calls *cs, const char *user);

/* leg.c */
int  leg_body_sdp(const struct sip_msg *msg, struct msdp *s);
int  leg_sdp_for(struct call *c, enum mside side, const struct msdp *tmpl,
		 enum mdir dir, struct mbuf **mbp);
/** Point the relay's video towards side at s's video stream if taken (we
 * accepted it), else send that side none. */
void leg_video_remote(struct call *c, enum mside side, const struct msdp *s,
		      bool taken);
int  leg_accept_caller(struct call *c, uint16_t code, const char *reason,
		       struct mbuf *desc);
void leg_reply_caller(struct call *c, uint16_t code, const char *reason);
/** Call the caller side of an originated call at uri. */
int  leg_originate(struct call *c, const char *uri, const struct sa *src,
		   enum sip_transp tp, struct mbuf *offer);
/** Fork to one contact; false if the leg could not start. */
bool leg_fork(struct call *c, const char *uri, const struct sa *src,
	      enum sip_transp tp, struct mbuf *offer, uint32_t hops,
	      const char *user);

/* route.c */
int  route_listen(struct calls *cs);
struct call *route_find(struct calls *cs, const struct pl *callid);
/** Is this dialled string an outside (trunk) number? */
bool route_is_outside(const char *s);
/** Is s an emergency number (110, 119, 120, 122)? */
bool route_is_emergency(const char *s);

#endif
