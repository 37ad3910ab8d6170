/* conf: the server's config file, `key = value` lines.  Errors come back
 * as `file:line: what is wrong`. */
#ifndef LAOYOU_CONF_H
#define LAOYOU_CONF_H
#include <stdint.h>
#include <stdbool.h>
#include <re.h>
#include "core/log.h"

struct conf {
	struct sa sip_udp;          /* unset port = listener off */
	struct sa sip_tcp;
	struct sa http;
	struct sa rtp_ip;
	uint16_t rtp_min, rtp_max;
	char db[512];
	enum log_level log_level;
	char realm[64];
	uint32_t rtp_timeout_s;     /* no RTP for this long ends the call */
	uint32_t ring_timeout_s;    /* unanswered forks give up (408) */
	uint32_t max_calls;         /* global concurrent calls */
	uint32_t max_calls_account; /* default per-account limit */
	uint32_t nonce_ttl_s;
	uint32_t auth_fail_limit;   /* failures from one address before a ban */
	uint32_t auth_fail_window_s;
	uint32_t auth_ban_s;
	uint32_t reg_min_expires, reg_max_expires, reg_default_expires;
	uint32_t max_msg_size;      /* bytes; larger SIP messages are refused */
	uint32_t flood_rate[3];     /* REGISTER, INVITE, OPTIONS per second per
				     * address (0 = no limit) */
	bool flood_drop;            /* over the limit: drop, not 503 */
	char trunk_uri[256];        /* outside numbers go here, if set */
	char prompts_dir[512];      /* built-in prompts; "" = next to the binary */
	char web_dir[512];          /* the web pages; "" = ../web from the binary */
	char data_dir[512];         /* recordings, prompt overrides; "" = db's dir */
	uint32_t retention_days;    /* recordings older than this are deleted */
	uint32_t tcp_max_per_addr;  /* SIP TCP connections from one address */
	uint32_t tcp_idle_s;        /* a TCP connection silent this long ends */
	/* booths (src/booth/) */
	uint32_t booth_offline_s;   /* a screen silent this long is offline */
	uint32_t freecall_limit_s;  /* a free call's length */
	uint32_t freecall_warn_s;   /* spoken warning this long before the end */
	uint32_t freecall_booth_day;   /* free calls per booth per day */
	uint32_t freecall_number_day;  /* free calls to one number per day */
	uint32_t elder_answer_s;    /* no agent by then: call the family */
	uint32_t watch_escalate_s;  /* an alert nobody accepted escalates */
	uint32_t taxi_accept_s;     /* the partner must accept by then */
	uint32_t sms_retry_s;       /* first retry after a failed send */
	char elder_number[32];      /* the one-touch number an elder dials */
	char elder_queue[48];       /* the ACD queue that answers it */
	char sign_number[32];       /* the sign-language video line */
	char sms_url[256];          /* Kannel's send-sms URL (with user, pass) */
	char sms_from[32];
	char public_url[256];       /* how outsiders reach our HTTP side */
	char taxi_url[256];         /* the taxi partner's ride endpoint */
	char taxi_secret[128];      /* HMAC key shared with the partner */
	char taxi_hotline[32];      /* the fallback: a call to this number */
};

/** Fill in the directories left empty: prompts next to the binary, data
 * beside the database. */
void conf_dirs(struct conf *cf);

/** How outsiders reach our HTTP side, without a trailing '/':
 * public_url, else our own listener (127.0.0.1 for a wildcard address). */
void conf_public_url(const struct conf *cf, char *buf, size_t sz);

/** Fill cf with the built-in defaults. */
void conf_defaults(struct conf *cf);
/** Load path over the defaults; on error write `file:line: why` to err. */
int  conf_load(struct conf *cf, const char *path, char *err, size_t errsz);
/** Parse one `key = value` line's value into cf; err gets the reason. */
int  conf_set(struct conf *cf, const char *key, const char *val,
	      char *err, size_t errsz);

#endif
