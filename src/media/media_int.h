/* media: private to the folder. */
#ifndef LAOYOU_MEDIA_INT_H
#define LAOYOU_MEDIA_INT_H

/** Bind an RTP/RTCP socket pair on a free even port of the pool. */
int  portpool_bind(struct portpool *pp, uint16_t *portp,
		   struct udp_sock **rtpp, struct udp_sock **rtcpp,
		   udp_recv_h *rtph, udp_recv_h *rtcph, void *arg);
/** Give a port pair back, with its sockets (kept for reuse, or closed). */
void portpool_release(struct portpool *pp, uint16_t port,
		      struct udp_sock *rtp, struct udp_sock *rtcp);
/** The pool's IP address. */
const struct sa *portpool_ip(const struct portpool *pp);

struct audio;
struct dtmfdet;
struct recorder;

/* tick.c */
struct mtick {
	struct le le;
	void (*h)(struct mtick *t, void *arg);
	void *arg;
};
/** Call t->h every 20 ms, paced to absolute deadlines, until mtick_leave. */
void mtick_join(struct mtick *t, void (*h)(struct mtick *t, void *arg),
		void *arg);
/** Stop calling t (safe from inside its own handler). */
void mtick_leave(struct mtick *t);


struct seqstat {
	bool init;
	uint32_t ssrc;
	uint16_t max_seq;
	uint32_t cycles;
	uint32_t base;
	uint64_t received;
	uint64_t lost_done;        /* from streams (SSRCs) that ended */
};

/* What an endpoint plays towards its peer (prompts), paced by the one
 * shared media tick. */
struct player {
	struct mtick tick;         /* joined while playing */
	struct audio **items;      /* mem_ref'd */
	size_t n, idx, pos;        /* item and sample position */
	uint32_t ssrc, ts;
	uint16_t seq;
	bool marker;
	uint64_t last_us;          /* when the last frame went out */
	mrelay_play_h *doneh;
	void *arg;
};

struct rtpep {
	struct mrelay *mr;
	enum mside side;
	uint16_t port;
	struct udp_sock *rtp, *rtcp;
	struct sa remote;          /* from SDP */
	struct sa sig;             /* where the peer signals from */
	bool has_sig;
	struct sa latched, latched_rtcp;
	bool has_remote, is_latched, is_latched_rtcp;
	enum mdir dir;             /* as the peer declared it */
	struct seqstat seq;
	uint64_t pkts, bytes, dropped;
	int pt;                    /* audio payload type in use, -1 = unknown */
	int last_pt;               /* audio payload type last received */
	int te_pt;                 /* telephone-event payload type, -1 = none */
	uint32_t te_last_ts;       /* RTP timestamp of the last event seen */
	uint64_t te_last_ms;       /* when a packet of it last came */
	bool te_seen;
	struct dtmfdet *inband;    /* for peers without telephone-event */
	struct player play;
	bool video;                /* an endpoint of the video stream */
	uint64_t relayed;          /* packets sent on to the other side */
	uint8_t map_in[8], map_out[8]; /* payload types renumbered on */
	uint8_t nmap;
};

struct mixer;

struct mrelay {
	struct portpool *pp;
	struct rtpep ep[2];
	struct rtpep vep[2];       /* video, if has_video */
	bool has_video;
	char label[128];           /* for log lines: the Call-ID */
	uint64_t last_rx;
	bool bridged;
	mrelay_dtmf_h *dtmfh;
	void *dtmf_arg;
	struct recorder *rec;
	struct mixer *mix;         /* a supervisor listens to this call */
	struct mixer *mix_sup;     /* this call's side A is that supervisor */
};

/* mix.c */
enum { MIX_A = 0, MIX_B = 1, MIX_S = 2 };
/** Audio from a source into the mixer. */
void mixer_feed(struct mixer *m, int src, uint8_t pt, const uint8_t *payload,
		size_t n);
/** May packets from side s of the supervised call go raw to the other? */
bool mixer_raw_ok(const struct mixer *m, enum mside s);

/* play.c */
/** Stop ep's player without calling its done handler. */
void player_stop(struct rtpep *ep);
/** Send RTP from ep's socket to its peer. */
void rtpep_send(struct rtpep *ep, struct mbuf *mb);

/* record.c */
/** Hand a received audio payload of side s to the relay's recorder. */
void recorder_feed(struct recorder *r, enum mside s, uint8_t pt,
		   const uint8_t *payload, size_t n);

#endif
