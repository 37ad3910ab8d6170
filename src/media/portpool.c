/*
 * RTP port pool.  A bitmap of even ports; allocation walks on from where the
 * last one stopped, so a port just freed is not handed out again at once
 * (late packets of the old call land nowhere).  libre's UDP sockets set
 * SO_REUSEADDR, so binding cannot tell us a port is ours: the bitmap can.
 */
#include <string.h>
#include <re.h>
#include "media/media.h"
#include "media/media_int.h"
#include "core/log.h"

struct portpool {
	struct sa ip;
	uint16_t min;              /* first even port */
	uint32_t n;                /* pairs */
	uint32_t next;
	uint32_t used;
	uint8_t *bits;
};

static void destructor(void *arg)
{
	struct portpool *pp = arg;
	mem_deref(pp->bits);
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

int portpool_bind(struct portpool *pp, uint16_t *portp,
		  struct udp_sock **rtpp, struct udp_sock **rtcpp,
		  udp_recv_h *rtph, udp_recv_h *rtcph, void *arg)
{
	int err = EADDRINUSE;

	for (uint32_t tries = 0; tries < pp->n; tries++) {
		uint32_t i = pp->next;
		struct sa la = pp->ip;
		struct udp_sock *a = NULL, *b = NULL;
		uint16_t port;

		pp->next = (pp->next + 1) % pp->n;
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
	return err;
}

void portpool_release(struct portpool *pp, uint16_t port)
{
	uint32_t i;

	if (!pp || port < pp->min)
		return;
	i = (uint32_t)(port - pp->min) / 2;
	if (i >= pp->n || !bit(pp, i))
		return;
	set_bit(pp, i, false);
	pp->used--;
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
