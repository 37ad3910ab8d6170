/*
 * RTP port pool.  A bitmap of even ports; allocation walks on from where the
 * last one stopped, so a port just freed is not handed out again at once
 * (late packets of the old call land nowhere).
 *
 * Opening and closing four sockets a call cost a fifth of a short call's
 * CPU (bench/cps/PROFILE.md), so released pairs stay bound, up to SPARES,
 * and are reused oldest first once they have rested QUARANTINE ms — long
 * enough for the old call's last packets to have arrived and been dropped.
 */
#include <string.h>
#include <re.h>
#include "media/media.h"
#include "media/media_int.h"
#include "core/log.h"
#include "core/clock.h"

enum { SPARES = 4096, QUARANTINE = 2000 };

struct spare {
	struct le le;
	uint16_t port;
	struct udp_sock *rtp, *rtcp;
	uint64_t since;
};

struct portpool {
	struct list spares;        /* oldest first */
	uint32_t nspares;
	struct sa ip;
	uint16_t min;              /* first even port */
	uint32_t n;                /* pairs */
	uint32_t next;
	uint32_t used;
	uint8_t *bits;
};

static void spare_destructor(void *arg)
{
	struct spare *sp = arg;

	list_unlink(&sp->le);
	mem_deref(sp->rtp);
	mem_deref(sp->rtcp);
}

static void destructor(void *arg)
{
	struct portpool *pp = arg;

	list_flush(&pp->spares);
	mem_deref(pp->bits);
}

/* A spare socket hears nothing but the old call's stragglers. */
static void drop_handler(const struct sa *src, struct mbuf *mb, void *arg)
{
	(void)src;
	(void)mb;
	(void)arg;
}

int portpool_alloc(struct portpool **ppp, const struct sa *ip, uint16_t min,
		   uint16_t max)
{
	struct portpool *pp;

	if (!ppp || !ip)
		return EINVAL;
	min += min & 1;
	if ((uint32_t)min + 1 > max)
		return EINVAL;

	pp = mem_zalloc(sizeof(*pp), destructor);
	if (!pp)
		return ENOMEM;
	pp->ip = *ip;
	pp->min = min;
	pp->n = ((uint32_t)max - min + 1) / 2;
	pp->bits = mem_zalloc((pp->n + 7) / 8, NULL);
	if (!pp->bits) {
		mem_deref(pp);
		return ENOMEM;
	}
	*ppp = pp;
	return 0;
}

static bool bit(const struct portpool *pp, uint32_t i)
{
	return pp->bits[i / 8] & (1u << (i % 8));
}

static void set_bit(struct portpool *pp, uint32_t i, bool on)
{
	if (on)
		pp->bits[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		pp->bits[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static int reuse(struct portpool *pp, struct spare *sp, uint16_t *portp,
		 struct udp_sock **rtpp, struct udp_sock **rtcpp,
		 udp_recv_h *rtph, udp_recv_h *rtcph, void *arg)
{
	udp_handler_set(sp->rtp, rtph, arg);
	udp_handler_set(sp->rtcp, rtcph, arg);
	*portp = sp->port;
	*rtpp = sp->rtp;
	*rtcpp = sp->rtcp;
	sp->rtp = sp->rtcp = NULL;
	pp->nspares--;
	pp->used++;
	mem_deref(sp);
	return 0;
}

int portpool_bind(struct portpool *pp, uint16_t *portp,
		  struct udp_sock **rtpp, struct udp_sock **rtcpp,
		  udp_recv_h *rtph, udp_recv_h *rtcph, void *arg)
{
	int err = EADDRINUSE;
	struct spare *sp = list_ledata(pp->spares.head);

	if (sp && clock_mono_ms() - sp->since >= QUARANTINE)
		return reuse(pp, sp, portp, rtpp, rtcpp, rtph, rtcph, arg);

	for (uint32_t tries = 0; tries < pp->n; tries++) {
		uint32_t i = pp->next;
		struct sa la = pp->ip;
		struct udp_sock *a = NULL, *b = NULL;
		uint16_t port;

		pp->next = (pp->next + 1) % pp->n;
		/* In use, or resting as a spare. */
		if (bit(pp, i))
			continue;

		port = (uint16_t)(pp->min + 2 * i);
		sa_set_port(&la, port);
		err = udp_listen(&a, &la, rtph, arg);
		if (err) {
			log_debug("rtp: cannot bind %J: %m", &la, err);
			continue;
		}
		sa_set_port(&la, port + 1);
		err = udp_listen(&b, &la, rtcph, arg);
		if (err) {
			mem_deref(a);
			continue;
		}
		/* Smaller receive buffers than libre's 8 KB default: RTP
		 * over UDP fits in an Ethernet frame. */
		udp_rxsz_set(a, 2048);
		udp_rxsz_set(b, 2048);
		set_bit(pp, i, true);
		pp->used++;
		*portp = port;
		*rtpp = a;
		*rtcpp = b;
		return 0;
	}
	/* No free port left: a resting pair is better than none. */
	if (sp)
		return reuse(pp, sp, portp, rtpp, rtcpp, rtph, rtcph, arg);
	return err;
}

void portpool_release(struct portpool *pp, uint16_t port,
		      struct udp_sock *rtp, struct udp_sock *rtcp)
{
	struct spare *sp;
	uint32_t i;

	if (!pp || port < pp->min) {
		mem_deref(rtp);
		mem_deref(rtcp);
		return;
	}
	i = (uint32_t)(port - pp->min) / 2;
	if (i >= pp->n || !bit(pp, i)) {
		mem_deref(rtp);
		mem_deref(rtcp);
		return;
	}
	pp->used--;
	sp = pp->nspares < SPARES && rtp && rtcp ?
		mem_zalloc(sizeof(*sp), spare_destructor) : NULL;
	if (!sp) {
		set_bit(pp, i, false);
		mem_deref(rtp);
		mem_deref(rtcp);
		return;
	}
	/* The port stays marked taken while it rests as a spare. */
	udp_handler_set(rtp, drop_handler, NULL);
	udp_handler_set(rtcp, drop_handler, NULL);
	sp->port = port;
	sp->rtp = rtp;
	sp->rtcp = rtcp;
	sp->since = clock_mono_ms();
	list_append(&pp->spares, &sp->le, sp);
	pp->nspares++;
}

uint32_t portpool_used(const struct portpool *pp)
{
	return pp ? pp->used : 0;
}

uint32_t portpool_size(const struct portpool *pp)
{
	return pp ? pp->n : 0;
}

const struct sa *portpool_ip(const struct portpool *pp)
{
	return &pp->ip;
}
