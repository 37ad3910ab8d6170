/*
 * The media relay: two endpoints, four sockets, bytes forwarded unchanged.
 * Each endpoint latches the first source that sends to it and then drops
 * packets from anyone else, so a stranger can neither inject audio nor
 * DTMF.  A packet goes to the other side only if that side's peer asked to
 * receive (sendrecv or recvonly in its SDP): libre negotiates direction but
 * never enforces it.
 */
#include <string.h>
#include <re.h>
#include "core/clock.h"
#include "media/media.h"
#include "media/media_int.h"
#include "media/dtmfdet.h"

static void destructor(void *arg)
{
	struct mrelay *mr = arg;

	mrelay_unsupervise(mr);
	mem_deref(mr->rec);
	for (int i = 0; i < 2; i++) {
		player_stop(&mr->ep[i]);
		mem_deref(mr->ep[i].inband);
		if (mr->ep[i].port)
			portpool_release(mr->pp, mr->ep[i].port,
					 mr->ep[i].rtp, mr->ep[i].rtcp);
		else {
			mem_deref(mr->ep[i].rtp);
			mem_deref(mr->ep[i].rtcp);
		}
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

static void rtp_handler(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct rtpep *ep = arg;
	struct mrelay *mr = ep->mr;
	struct rtpep *to = &mr->ep[!ep->side];
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
	if (to->is_latched)
		(void)udp_send(to->rtp, &to->latched, mb);
	else if (to->has_remote)
		(void)udp_send(to->rtp, &to->remote, mb);
}

static void rtcp_handler(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct rtpep *ep = arg;
	struct rtpep *to = &ep->mr->ep[!ep->side];

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

	for (int i = 0; i < 2; i++) {
		struct rtpep *ep = &mr->ep[i];
		ep->mr = mr;
		ep->side = (enum mside)i;
		ep->dir = MDIR_SENDRECV;
		ep->pt = -1;
		ep->last_pt = -1;
		ep->te_pt = -1;
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

void mrelay_set_remote(struct mrelay *mr, enum mside s, const struct sa *rtp,
		       enum mdir dir)
{
	struct rtpep *ep = &mr->ep[s];

	/* A new address (re-INVITE) means the peer moved: latch again. */
	if (!ep->has_remote || !sa_cmp(&ep->remote, rtp, SA_ALL)) {
		ep->is_latched = false;
		ep->is_latched_rtcp = false;
	}
	ep->remote = *rtp;
	ep->has_remote = sa_isset(rtp, SA_ALL);
	ep->dir = dir;
}

void mrelay_set_peer_ip(struct mrelay *mr, enum mside s, const struct sa *sig)
{
	mr->ep[s].sig = *sig;
	mr->ep[s].has_sig = sa_isset(sig, SA_ADDR);
}

void mrelay_stats(const struct mrelay *mr, struct mrelay_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < 2; i++) {
		st->pkts[i] = mr->ep[i].pkts;
		st->bytes[i] = mr->ep[i].bytes;
		st->lost[i] = seq_lost(&mr->ep[i].seq);
		st->dropped[i] = mr->ep[i].dropped;
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
