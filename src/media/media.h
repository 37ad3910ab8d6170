/* media: anchored RTP.  A relay owns two endpoints (side A faces the
 * caller, side B the callee), relays RTP and RTCP between them unchanged,
 * latches each peer's source and counts packets, bytes and loss; a call
 * with video has a second pair of endpoints for it.  Also the SDP
 * parse/build the B2BUA needs and the RTP port pool. */
#ifndef LAOYOU_MEDIA_H
#define LAOYOU_MEDIA_H
#include <stdint.h>
#include <stdbool.h>
#include <re.h>

/* ---- SDP ---- */

enum mdir { MDIR_INACTIVE = 0, MDIR_SENDONLY = 1, MDIR_RECVONLY = 2,
	    MDIR_SENDRECV = 3 };

enum { MSDP_MAX_CODECS = 8, MSDP_MAX_MLINES = 8 };

struct msdp_codec {
	uint8_t pt;
	char name[16];           /* PCMU, PCMA */
};

enum { MSDP_MAX_FB = 8 };

/* A video format, passed through as the peer described it. */
struct msdp_vcodec {
	uint8_t pt;
	char name[16];           /* VP8, H264 … as in a=rtpmap */
	uint32_t rate;           /* clock rate */
	char fmtp[160];          /* its a=fmtp parameters, "" = none */
};

/* The video stream (the first m=video over RTP/AVP or RTP/AVPF): laoyou
 * relays its packets unchanged, so it keeps what the ends need to agree
 * on — formats, their parameters and the RTCP feedback they use. */
struct msdp_video {
	struct sa addr;          /* connection address + port */
	enum mdir dir;
	bool avpf;               /* RTP/AVPF rather than RTP/AVP */
	struct msdp_vcodec codecs[MSDP_MAX_CODECS];
	uint8_t ncodecs;         /* 0: not (or no longer) taken */
	char fb[MSDP_MAX_FB][48]; /* a=rtcp-fb values, "96 nack pli" */
	uint8_t nfb;
	char framerate[12];      /* a=framerate, "" = none */
};

/* What the B2BUA keeps of one SDP: the audio stream, the video stream,
 * and the other m-lines only so that an answer can reject them in place. */
struct msdp {
	struct sa addr;          /* audio: connection address + port */
	enum mdir dir;
	struct msdp_codec codecs[MSDP_MAX_CODECS];
	uint8_t ncodecs;
	int te_pt;               /* telephone-event payload type, -1 = none */
	uint32_t ptime;
	int audio_idx;           /* index of the audio m-line, -1 = none */
	int video_idx;           /* index of the video m-line, -1 = none */
	struct msdp_video video;
	uint8_t nmlines;
	char mline[MSDP_MAX_MLINES][48]; /* "media proto fmt" of each m-line */
};

/** Parse an SDP body; keeps PCMU/PCMA (by number or rtpmap),
 * telephone-event and the first video stream's formats. */
int  msdp_parse(struct msdp *s, const struct pl *body);
/** Encode s with our address and port (port 0 in addr rejects audio; no
 * video codecs or port 0 in video.addr rejects video). */
int  msdp_encode(struct mbuf **mbp, const struct msdp *s, uint64_t sess_id,
		 uint32_t version);
/** Codecs of answer that offer also carries, in answer's order, into out. */
void msdp_intersect(struct msdp *out, const struct msdp *offer,
		    const struct msdp *answer);
/** Does s carry a video stream with at least one format? */
bool msdp_has_video(const struct msdp *s);
/** The video formats to write towards one side: those of to (with to's
 * payload numbers) that other has too, matched by encoding name and clock
 * rate, with other's parameters and feedback (other is who receives what
 * to sends).  out->ncodecs is 0 when they share none. */
void msdp_video_pick(struct msdp_video *out, const struct msdp_video *to,
		     const struct msdp_video *other);
/** Payload numbers that differ between two ends for the same format:
 * a packet from `from` with in[i] must reach `to` as out[i].  Returns how
 * many pairs (at most max). */
size_t msdp_video_ptmap(const struct msdp_video *from,
			const struct msdp_video *to, uint8_t *in, uint8_t *out,
			size_t max);
/** The direction an answerer takes for an offered direction. */
enum mdir msdp_dir_reverse(enum mdir d);
/** Name of a direction as an SDP attribute. */
const char *msdp_dir_name(enum mdir d);

/* ---- RTP port pool ---- */

struct portpool;

/** A pool of even RTP ports (RTCP = port + 1) in [min, max] on ip. */
int  portpool_alloc(struct portpool **ppp, const struct sa *ip,
		    uint16_t min, uint16_t max);
/** Ports pairs in use now. */
uint32_t portpool_used(const struct portpool *pp);
/** Port pairs the pool has in all. */
uint32_t portpool_size(const struct portpool *pp);

/* ---- relay ---- */

struct mrelay;
enum mside { MSIDE_A = 0, MSIDE_B = 1 };

struct mrelay_stats {
	uint64_t pkts[2], bytes[2];  /* received from side A / side B */
	uint64_t lost[2];            /* sequence gaps seen from each side */
	uint64_t dropped[2];         /* from a stranger, not the latched peer */
	/* The video stream, the same way, and what went on to the other
	 * side (a caller's video waits unrelayed until an agent takes it). */
	uint64_t vpkts[2], vbytes[2], vlost[2], vdropped[2], vrelayed[2];
};

/** Bind two endpoints (four sockets) from the pool. */
int  mrelay_alloc(struct mrelay **mrp, struct portpool *pp);
/** Our address (IP and RTP port) facing side s. */
void mrelay_laddr(const struct mrelay *mr, enum mside s, struct sa *sa);
/** Tell the relay where side s's peer wants media and in which direction. */
void mrelay_set_remote(struct mrelay *mr, enum mside s, const struct sa *rtp,
		       enum mdir dir);
/** The address side s signals from.  Until its first packet arrives,
 * media (audio and video) is taken only from this address or the SDP's,
 * so that a stranger cannot be latched in the peer's place. */
void mrelay_set_peer_ip(struct mrelay *mr, enum mside s, const struct sa *sig);
/** Counters so far. */
void mrelay_stats(const struct mrelay *mr, struct mrelay_stats *st);
/** Name the relay in its log lines (the call's Call-ID). */
void mrelay_set_label(struct mrelay *mr, const char *label);

/* The video stream: a second pair of endpoints from the same pool,
 * relayed like audio (latching, stranger rules, direction, bridging) but
 * never played to, mixed or recorded. */

/** Bind the video endpoints (once; again is a no-op). */
int  mrelay_video_alloc(struct mrelay *mr);
/** Does the relay have video endpoints? */
bool mrelay_has_video(const struct mrelay *mr);
/** Our video address facing side s (port 0 without video endpoints). */
void mrelay_video_laddr(const struct mrelay *mr, enum mside s, struct sa *sa);
/** Where side s's peer wants video and in which direction (an unset
 * address: side s takes no video). */
void mrelay_video_set_remote(struct mrelay *mr, enum mside s,
			     const struct sa *rtp, enum mdir dir);
/** Rewrite the payload type of video from side s: in[i] leaves as out[i]
 * (the two ends numbered one format differently); n = 0 clears. */
void mrelay_video_ptmap(struct mrelay *mr, enum mside s, const uint8_t *in,
			const uint8_t *out, size_t n);
/** Monotonic ms of the last packet from either side (0 = none yet). */
uint64_t mrelay_last_rx(const struct mrelay *mr);

/* ---- playing, DTMF, bridging, recording ---- */

/** How busy the media tick is: its walk over all streams, in % of its
 * 20 ms period (smoothed).  New prompt-playing calls wait below 80. */
uint32_t media_load_pct(void);

struct audio;

/** Playback of a list ended (not called when stopped). */
typedef void (mrelay_play_h)(void *arg);
/** A DTMF key from side s: RFC 4733, SIP INFO or in-band, once per press. */
typedef void (mrelay_dtmf_h)(enum mside s, char key, void *arg);

/** The payload types side s uses: audio pt (0/8) and telephone-event
 * (-1 = none, then keys are detected in-band). */
void mrelay_set_codec(struct mrelay *mr, enum mside s, uint8_t pt, int te_pt);
/** Where DTMF keys go. */
void mrelay_set_dtmf_handler(struct mrelay *mr, mrelay_dtmf_h *h, void *arg);
/** Relay A<->B (true) or keep each side to itself (prompts, IVR). */
void mrelay_bridge(struct mrelay *mr, bool on);
/** Play n audios in order towards side s, replacing what plays now. */
int  mrelay_play(struct mrelay *mr, enum mside s, struct audio *const *list,
		 size_t n, mrelay_play_h *doneh, void *arg);
/** Stop playing towards side s (the done handler is not called). */
void mrelay_stop(struct mrelay *mr, enum mside s);
/** Is something playing towards side s? */
bool mrelay_playing(const struct mrelay *mr, enum mside s);
/** Record both sides to a WAV file (mixed, or one channel per side). */
int  mrelay_record_start(struct mrelay *mr, const char *path, bool stereo);
/** Finish the recording; returns its duration in ms (0 if none). */
uint32_t mrelay_record_stop(struct mrelay *mr);
/** Supervision: listen (hear both), whisper (the agent, side B, hears the
 * supervisor too), barge (all three hear each other). */
enum msup_mode { MSUP_LISTEN, MSUP_WHISPER, MSUP_BARGE };
/** Join sup's side A (a supervisor's phone) to the call relayed by mr. */
int  mrelay_supervise(struct mrelay *mr, struct mrelay *sup,
		      enum msup_mode mode);
/** End supervision that involves mr, from either end. */
void mrelay_unsupervise(struct mrelay *mr);
/** Inject a key as if side s had sent it (SIP INFO dtmf-relay). */
void mrelay_dtmf_inject(struct mrelay *mr, enum mside s, char key);

#endif
