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

struct seqstat {
	bool init;
	uint32_t ssrc;
	uint16_t max_seq;
	uint32_t cycles;
	uint32_t base;
	uint64_t received;
	uint64_t lost_done;        /* from streams (SSRCs) that ended */
};

struct rtpep {
	struct mrelay *mr;
	enum mside side;
	uint16_t port;
	struct udp_sock *rtp, *rtcp;
	struct sa remote;          /* from SDP */
	struct sa latched, latched_rtcp;
	bool has_remote, is_latched, is_latched_rtcp;
	enum mdir dir;             /* as the peer declared it */
	struct seqstat seq;
	uint64_t pkts, bytes, dropped;
};

struct mrelay {
	struct portpool *pp;
	struct rtpep ep[2];
	uint64_t last_rx;
};

static void destructor(void *arg)
{
	struct mrelay *mr = arg;

	for (int i = 0; i < 2; i++) {
		mem_deref(mr->ep[i].rtp);
		mem_deref(mr->ep[i].rtcp);
		if (mr->ep[i].port)
			portpool_release(mr->pp, mr->ep[i].port);
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
static bool admit(struct sa *latched, bool *is_latched, const struct sa *src)
{
	if (!*is_latched) {
		*latched = *src;
		*is_latched = true;
		return true;
	}
	return sa_cmp(latched, src, SA_ALL);
}

static void rtp_handler(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct rtpep *ep = arg;
	struct mrelay *mr = ep->mr;
	struct rtpep *to = &mr->ep[!ep->side];
	size_t n = mbuf_get_left(mb);

	if (!admit(&ep->latched, &ep->is_latched, src)) {
		ep->dropped++;
		return;
	}
	ep->pkts++;
	ep->bytes += n;
	mr->last_rx = clock_mono_ms();
	seq_update(&ep->seq, mbuf_buf(mb), n);

	if (!wants_media(to))
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

	if (!admit(&ep->latched_rtcp, &ep->is_latched_rtcp, src)) {
		ep->dropped++;
		return;
	}
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

	for (int i = 0; i < 2; i++) {
		struct rtpep *ep = &mr->ep[i];
		ep->mr = mr;
		ep->side = (enum mside)i;
		ep->dir = MDIR_SENDRECV;
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
