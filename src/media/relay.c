/*
 * The media relay: two endpoints, four sockets, bytes forwarded unchanged.
 * Each endpoint latches the first source that sends to it and then drops
 * packets from anyone else, so a stranger can neither inject audio nor
 * DTMF.  A packet goes to the other side only if that side's peer asked to
 * receive (sendrecv or recvonly in its SDP): libre negotiates direction but
 * never enforces it.
 *
 * A video stream, when a call has one, is a second pair of endpoints with
 * the same rules; its packets are only ever relayed (no prompts, keys,
 * mixing or recording), renumbering the payload type where the two ends
 * gave one format different numbers.
 */
#include <string.h>
#include <re.h>
#include "core/clock.h"
#include "core/log.h"
#include "media/media.h"
#include "media/media_int.h"
#include "media/dtmfdet.h"

static void ep_release(struct mrelay *mr, struct rtpep *ep)
{
	if (ep->port)
		portpool_release(mr->pp, ep->port, ep->rtp, ep->rtcp);
	else {
		mem_deref(ep->rtp);
		mem_deref(ep->rtcp);
	}
	ep->port = 0;
	ep->rtp = ep->rtcp = NULL;
}

static uint64_t seq_lost(const struct seqstat *s);

static void destructor(void *arg)
{
	struct mrelay *mr = arg;

	mrelay_unsupervise(mr);
	mem_deref(mr->rec);
	if (mr->has_video)
		log_msg(LOG_INFO, mr->label[0] ? mr->label : NULL,
			"media: video A→B %llu pkts (%llu relayed, %llu lost), "
			"B→A %llu pkts (%llu relayed, %llu lost)",
			(unsigned long long)mr->vep[0].pkts,
			(unsigned long long)mr->vep[0].relayed,
			(unsigned long long)seq_lost(&mr->vep[0].seq),
			(unsigned long long)mr->vep[1].pkts,
			(unsigned long long)mr->vep[1].relayed,
			(unsigned long long)seq_lost(&mr->vep[1].seq));
	for (int i = 0; i < 2; i++) {
		player_stop(&mr->ep[i]);
		mem_deref(mr->ep[i].inband);
		ep_release(mr, &mr->ep[i]);
		ep_release(mr, &mr->vep[i]);
	}
	mem_deref(mr->pp);
}

static uint64_t seq_lost(const struct seqstat *s)
{
	uint64_t expected;

	if (!s->init)
		return s->lost_done;
	expected = ((uint64_t)s->cycles + s->max_seq) - s->base + 1;
	return s->lost_done + (expected > s->received ?
			       expected - s->received : 0);
}

/* RFC 3550 A.1, without probation: count sequence gaps per SSRC. */
static void seq_update(struct seqstat *s, const uint8_t *p, size_t n)
{
	uint16_t seq;
	uint32_t ssrc;

	if (n < 12 || (p[0] >> 6) != 2)
		return;
	seq = (uint16_t)(p[2] << 8 | p[3]);
	ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 |
		(uint32_t)p[10] << 8 | p[11];

	if (!s->init || ssrc != s->ssrc) {
		uint64_t carried = seq_lost(s);
		memset(s, 0, sizeof(*s));
		s->lost_done = carried;
		s->init = true;
		s->ssrc = ssrc;
		s->base = seq;
		s->max_seq = seq;
		s->received = 1;
		return;
	}

	uint16_t delta = (uint16_t)(seq - s->max_seq);
	if (delta < 3000) {
		if (seq < s->max_seq)
			s->cycles += 65536;
		s->max_seq = seq;
	}
	s->received++;
}

static bool wants_media(const struct rtpep *ep)
{
	return ep->dir == MDIR_SENDRECV || ep->dir == MDIR_RECVONLY;
}

/* Admit a packet from src to ep: latch on the first one. */
static bool admit(const struct rtpep *ep, struct sa *latched,
		  bool *is_latched, const struct sa *src)
{
	/* Video from a side that has taken none is nobody's. */
	if (ep->video && !ep->has_remote)
		return false;
	if (!*is_latched) {
		/* The first packet decides who the peer is: it must come
		 * from an address the peer told us about. */
		if ((ep->has_remote || ep->has_sig) &&
		    !(ep->has_remote && sa_cmp(src, &ep->remote, SA_ADDR)) &&
		    !(ep->has_sig && sa_cmp(src, &ep->sig, SA_ADDR)))
			return false;
		*latched = *src;
		*is_latched = true;
		return true;
	}
	return sa_cmp(latched, src, SA_ALL);
}

static const char dtmf_keys[] = "0123456789*#ABCD";

static void inband_key(char key, void *arg)
{
	struct rtpep *ep = arg;
	if (ep->mr->dtmfh)
		ep->mr->dtmfh(ep->side, key, ep->mr->dtmf_arg);
}

/* Keys and recording: what an application hears from side ep. */
static void ep_local(struct rtpep *ep, const uint8_t *p, size_t n)
{
	struct mrelay *mr = ep->mr;
	size_t hdr = 12 + 4 * (size_t)(p[0] & 0x0f);
	uint8_t pt = p[1] & 0x7f;
	uint32_t ts;

	if (p[0] & 0x10) {                    /* header extension */
		if (n < hdr + 4)
			return;
		hdr += 4 + 4 * (size_t)(p[hdr + 2] << 8 | p[hdr + 3]);
	}
	if (n < hdr)
		return;
	if (p[0] & 0x20 && n > hdr)           /* padding */
		n -= p[n - 1] < n - hdr ? p[n - 1] : 0;

	if (ep->te_pt >= 0 && pt == ep->te_pt) {
		/* RFC 4733: one key per event, and an event is its RTP
		 * timestamp; the repeated end packets share it. */
		if (n < hdr + 4 || p[hdr] >= 16)
			return;
		ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
			(uint32_t)p[6] << 8 | p[7];
		/* ... unless the same timestamp comes back after a pause:
		 * a sender that replays one capture per key (sipp) reuses
		 * it for a second press of the same key. */
		uint64_t now = clock_mono_ms();
		bool same = ep->te_seen && ts == ep->te_last_ts &&
			now - ep->te_last_ms < 300;
		ep->te_last_ms = now;
		if (same)
			return;
		ep->te_seen = true;
		ep->te_last_ts = ts;
		if (mr->dtmfh)
			mr->dtmfh(ep->side, dtmf_keys[p[hdr]], mr->dtmf_arg);
		return;
	}
	if (pt != 0 && pt != 8)
		return;
	ep->last_pt = pt;
	if (mr->rec)
		recorder_feed(mr->rec, ep->side, pt, p + hdr, n - hdr);
	if (mr->mix)
		mixer_feed(mr->mix, ep->side == MSIDE_A ? MIX_A : MIX_B, pt,
			   p + hdr, n - hdr);
	if (mr->mix_sup && ep->side == MSIDE_A)
		mixer_feed(mr->mix_sup, MIX_S, pt, p + hdr, n - hdr);
	if (ep->te_pt < 0 && !mr->bridged && mr->dtmfh) {
		if (!ep->inband && dtmfdet_alloc(&ep->inband, inband_key, ep))
			return;
		dtmfdet_g711(ep->inband, pt, p + hdr, n - hdr);
	}
}

/* Send a relayed packet to ep's peer: its latched source, else its SDP. */
static bool forward(struct rtpep *to, struct mbuf *mb)
{
	if (to->is_latched)
		return !udp_send(to->rtp, &to->latched, mb);
	if (to->has_remote)
		return !udp_send(to->rtp, &to->remote, mb);
	return false;
}

static void video_relay(struct rtpep *ep, struct rtpep *to, struct mbuf *mb)
{
	uint8_t *p = mbuf_buf(mb);

	if (!ep->mr->bridged || !wants_media(to))
		return;
	for (uint8_t i = 0; i < ep->nmap; i++) {
		if ((p[1] & 0x7f) == ep->map_in[i]) {
			p[1] = (uint8_t)((p[1] & 0x80) | ep->map_out[i]);
			break;
		}
	}
	if (forward(to, mb))
		ep->relayed++;
}

static void rtp_handler(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct rtpep *ep = arg;
	struct mrelay *mr = ep->mr;
	struct rtpep *to = ep->video ? &mr->vep[!ep->side] : &mr->ep[!ep->side];
	size_t n = mbuf_get_left(mb);
	const uint8_t *p = mbuf_buf(mb);

	if (!admit(ep, &ep->latched, &ep->is_latched, src)) {
		ep->dropped++;
		return;
	}
	if (n < 12 || (p[0] >> 6) != 2)
		return;
	ep->pkts++;
	ep->bytes += n;
	mr->last_rx = clock_mono_ms();
	seq_update(&ep->seq, p, n);

	if (ep->video) {
		video_relay(ep, to, mb);
		return;
	}
	if (mr->dtmfh || mr->rec || mr->mix || mr->mix_sup) {
		/* A key may end the call and free the relay under us. */
		bool gone;
		mem_ref(mr);
		ep_local(ep, p, n);
		gone = mem_nrefs(mr) == 1;
		mem_deref(mr);
		if (gone)
			return;
	}

	/* A prompt playing to a bridged side (a time-limit warning) is
	 * heard instead of the other side, not mixed into it. */
	if (!mr->bridged || !wants_media(to) || mrelay_playing(mr, to->side) ||
	    (mr->mix && !mixer_raw_ok(mr->mix, ep->side)))
		return;
	if (forward(to, mb))
		ep->relayed++;
}

static void rtcp_handler(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct rtpep *ep = arg;
	struct rtpep *to = ep->video ? &ep->mr->vep[!ep->side] :
		&ep->mr->ep[!ep->side];

	if (!admit(ep, &ep->latched_rtcp, &ep->is_latched_rtcp, src)) {
		ep->dropped++;
		return;
	}
	if (!ep->mr->bridged)
		return;
	if (to->is_latched_rtcp) {
		(void)udp_send(to->rtcp, &to->latched_rtcp, mb);
	}
	else if (to->has_remote) {
		struct sa dst = to->remote;
		sa_set_port(&dst, sa_port(&dst) + 1);
		(void)udp_send(to->rtcp, &dst, mb);
	}
}

int mrelay_alloc(struct mrelay **mrp, struct portpool *pp)
{
	struct mrelay *mr;
	int err = 0;

	if (!mrp || !pp)
		return EINVAL;

	mr = mem_zalloc(sizeof(*mr), destructor);
	if (!mr)
		return ENOMEM;
	mr->pp = mem_ref(pp);
	mr->bridged = true;

	for (int i = 0; i < 4; i++) {
		struct rtpep *ep = i < 2 ? &mr->ep[i] : &mr->vep[i - 2];
		ep->mr = mr;
		ep->side = (enum mside)(i % 2);
		ep->video = i >= 2;
		ep->dir = MDIR_SENDRECV;
		ep->pt = -1;
		ep->last_pt = -1;
		ep->te_pt = -1;
	}
	for (int i = 0; i < 2; i++) {
		struct rtpep *ep = &mr->ep[i];
		err = portpool_bind(pp, &ep->port, &ep->rtp, &ep->rtcp,
				    rtp_handler, rtcp_handler, ep);
		if (err)
			break;
	}

	if (err)
		mem_deref(mr);
	else
		*mrp = mr;
	return err;
}

void mrelay_laddr(const struct mrelay *mr, enum mside s, struct sa *sa)
{
	*sa = *portpool_ip(mr->pp);
	sa_set_port(sa, mr->ep[s].port);
}

static void ep_set_remote(struct rtpep *ep, const struct sa *rtp,
			  enum mdir dir)
{
	/* A new address (re-INVITE) means the peer moved: latch again. */
	if (!ep->has_remote || !sa_cmp(&ep->remote, rtp, SA_ALL)) {
		ep->is_latched = false;
		ep->is_latched_rtcp = false;
	}
	ep->remote = *rtp;
	ep->has_remote = sa_isset(rtp, SA_ALL);
	ep->dir = dir;
}

void mrelay_set_remote(struct mrelay *mr, enum mside s, const struct sa *rtp,
		       enum mdir dir)
{
	ep_set_remote(&mr->ep[s], rtp, dir);
}

void mrelay_set_peer_ip(struct mrelay *mr, enum mside s, const struct sa *sig)
{
	/* One peer, one signalling address: it vouches for both streams. */
	mr->ep[s].sig = mr->vep[s].sig = *sig;
	mr->ep[s].has_sig = mr->vep[s].has_sig = sa_isset(sig, SA_ADDR);
}

void mrelay_set_label(struct mrelay *mr, const char *label)
{
	str_ncpy(mr->label, label ? label : "", sizeof(mr->label));
}

int mrelay_video_alloc(struct mrelay *mr)
{
	int err = 0;

	if (!mr)
		return EINVAL;
	if (mr->has_video)
		return 0;
	for (int i = 0; i < 2 && !err; i++) {
		struct rtpep *ep = &mr->vep[i];
		err = portpool_bind(mr->pp, &ep->port, &ep->rtp, &ep->rtcp,
				    rtp_handler, rtcp_handler, ep);
	}
	if (err) {
		ep_release(mr, &mr->vep[0]);
		ep_release(mr, &mr->vep[1]);
		return err;
	}
	mr->has_video = true;
	return 0;
}

bool mrelay_has_video(const struct mrelay *mr)
{
	return mr && mr->has_video;
}

void mrelay_video_laddr(const struct mrelay *mr, enum mside s, struct sa *sa)
{
	*sa = *portpool_ip(mr->pp);
	sa_set_port(sa, mr->has_video ? mr->vep[s].port : 0);
}

void mrelay_video_set_remote(struct mrelay *mr, enum mside s,
			     const struct sa *rtp, enum mdir dir)
{
	struct sa none;

	/* A side that takes no video is sent none and heard from not. */
	if (!rtp || !sa_isset(rtp, SA_ALL)) {
		sa_init(&none, AF_UNSPEC);
		rtp = &none;
		dir = MDIR_INACTIVE;
	}
	ep_set_remote(&mr->vep[s], rtp, dir);
}

void mrelay_video_ptmap(struct mrelay *mr, enum mside s, const uint8_t *in,
			const uint8_t *out, size_t n)
{
	struct rtpep *ep = &mr->vep[s];

	if (n > sizeof(ep->map_in))
		n = sizeof(ep->map_in);
	for (size_t i = 0; i < n; i++) {
		ep->map_in[i] = in[i] & 0x7f;
		ep->map_out[i] = out[i] & 0x7f;
	}
	ep->nmap = (uint8_t)n;
}

void mrelay_stats(const struct mrelay *mr, struct mrelay_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < 2; i++) {
		st->pkts[i] = mr->ep[i].pkts;
		st->bytes[i] = mr->ep[i].bytes;
		st->lost[i] = seq_lost(&mr->ep[i].seq);
		st->dropped[i] = mr->ep[i].dropped;
		st->vpkts[i] = mr->vep[i].pkts;
		st->vbytes[i] = mr->vep[i].bytes;
		st->vlost[i] = seq_lost(&mr->vep[i].seq);
		st->vdropped[i] = mr->vep[i].dropped;
		st->vrelayed[i] = mr->vep[i].relayed;
	}
}

uint64_t mrelay_last_rx(const struct mrelay *mr)
{
	return mr->last_rx;
}

void mrelay_set_codec(struct mrelay *mr, enum mside s, uint8_t pt, int te_pt)
{
	mr->ep[s].pt = pt;
	mr->ep[s].te_pt = te_pt;
}

void mrelay_set_dtmf_handler(struct mrelay *mr, mrelay_dtmf_h *h, void *arg)
{
	mr->dtmfh = h;
	mr->dtmf_arg = arg;
}

void mrelay_bridge(struct mrelay *mr, bool on)
{
	mr->bridged = on;
	if (on) {
		player_stop(&mr->ep[0]);
		player_stop(&mr->ep[1]);
	}
}

void mrelay_dtmf_inject(struct mrelay *mr, enum mside s, char key)
{
	/* strchr also finds the terminator: '\0' is no key. */
	if (mr->dtmfh && key && strchr(dtmf_keys, key))
		mr->dtmfh(s, key, mr->dtmf_arg);
}
