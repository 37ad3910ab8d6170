/* sip: private to the folder. */
#ifndef LAOYOU_SIP_INT_H
#define LAOYOU_SIP_INT_H
#include "sip/sip.h"

struct auth;
struct registrar;
struct tcpguard;

struct sipd {
	struct sip *sip;
	struct sip_lsnr *lsnr;
	struct store *st;
	struct auth *auth;
	struct registrar *reg;
	struct limit *limit;
	struct tcpguard *tcp;      /* caps and idle timeout of SIP over TCP */
	struct conf cf;
	bool udp_tuned;            /* the SIP UDP socket's buffers are raised */
	struct udp_helper *uh;     /* on that socket: see udp_recv_helper */
	struct udp_sock *probe;
	struct tmr tmr_probe;
};

/* limit.c */
enum limit_class { LIMIT_REGISTER, LIMIT_INVITE, LIMIT_OPTIONS,
		   LIMIT_CLASSES };
struct limit;
/** Per-address request rate limits from cf's flood_* settings. */
int  limit_alloc(struct limit **lp, const struct conf *cf);
/** Take new rates. */
void limit_reconf(struct limit *l, const struct conf *cf);
/** May src send one more request of class c now? */
bool limit_allow(struct limit *l, const struct sa *src, enum limit_class c);
/** Requests refused so far. */
uint64_t limit_refused(const struct limit *l);

/* tcpguard.c */
/** Guard the SIP TCP listener at laddr (cf's tcp_* settings). */
int  tcpguard_alloc(struct tcpguard **gp, struct sipd *sd,
		    const struct sa *laddr);
/** Take new settings. */
void tcpguard_reconf(struct tcpguard *g, const struct conf *cf);
/** A request came over TCP: true if it must be dropped (its connection
 * is over the cap or being closed). */
bool tcpguard_msg(struct tcpguard *g, const struct sip_msg *msg);
/** Connections tracked now. */
uint32_t tcpguard_count(const struct tcpguard *g);
/** Connections refused for the cap so far. */
uint64_t tcpguard_refused(const struct tcpguard *g);

/* check.c */
/** Sanity checks on a request: 0, or a status to answer (0xffff: drop). */
uint16_t sipcheck_request(const struct sip_msg *msg, uint32_t max_size,
			  const char **reason, char *hdrs, size_t hdrsz);

/* auth.c */
int  auth_alloc(struct auth **ap, const struct conf *cf);
void auth_reconf(struct auth *a, const struct conf *cf);
/** True if src is banned now. */
bool auth_banned(struct auth *a, const struct sa *src);
uint32_t auth_bans(const struct auth *a);
int  auth_request(struct auth *a, struct sip *sip, struct store *st,
		  const struct sip_msg *msg, struct store_account *acc);

/* registrar.c */
int  registrar_alloc(struct registrar **rp, struct sipd *sd);
void registrar_handle(struct registrar *r, const struct sip_msg *msg);
uint32_t registrar_contacts(struct registrar *r, const char *user,
			    sipd_contact_h *h, void *arg);
uint32_t registrar_count(const struct registrar *r);
/** Does a live binding come from the TCP connection with peer src? */
bool registrar_tcp_bound(const struct registrar *r, const struct sa *src);

#endif
