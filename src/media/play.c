/*
 * Prompt playback: 20 ms G.711 frames with our own SSRC, sequence and
 * timestamps (random start, marker bit on each new playback), sent from
 * the endpoint's socket to its latched peer.
 */
#include <string.h>
#include <re.h>
#include "core/clock.h"
#include "media/media.h"
#include "media/media_int.h"
#include "media/audio.h"

enum { FRAME = 160, RTP_HDR = 12 };

static void items_free(struct player *p)
{
	for (size_t i = 0; i < p->n; i++)
		mem_deref(p->items[i]);
	p->items = mem_deref(p->items);
	p->n = p->idx = p->pos = 0;
}

void player_stop(struct rtpep *ep)
{
	mtick_leave(&ep->play.tick);
	items_free(&ep->play);
}

void rtpep_send(struct rtpep *ep, struct mbuf *mb)
{
	if (ep->is_latched)
		(void)udp_send(ep->rtp, &ep->latched, mb);
	else if (ep->has_remote)
		(void)udp_send(ep->rtp, &ep->remote, mb);
}

/* Fill one frame from the queue; false when everything has been played. */
static bool next_frame(struct player *p, int16_t *pcm)
{
	size_t got = 0;

	while (got < FRAME && p->idx < p->n) {
		const struct audio *a = p->items[p->idx];
		size_t left = audio_samples(a) - p->pos;
		size_t take = left < FRAME - got ? left : FRAME - got;

		memcpy(pcm + got, audio_pcm(a) + p->pos, take * sizeof(*pcm));
		got += take;
		p->pos += take;
		if (p->pos >= audio_samples(a)) {
			p->idx++;
			p->pos = 0;
		}
	}
	if (!got)
		return false;
	memset(pcm + got, 0, (FRAME - got) * sizeof(*pcm));
	return true;
}

static void tick_handler(struct mtick *t, void *arg)
{
	struct rtpep *ep = arg;
	struct player *p = &ep->play;
	uint8_t buf[RTP_HDR + FRAME];
	int16_t pcm[FRAME];
	struct mbuf mb;
	(void)t;

	if (!next_frame(p, pcm)) {
		mrelay_play_h *h = p->doneh;
		void *harg = p->arg;

		player_stop(ep);
		if (h)
			h(harg);   /* may start the next playback */
		return;
	}

	if (ep->dir == MDIR_RECVONLY || ep->dir == MDIR_SENDRECV) {
		uint8_t pt = ep->pt >= 0 ? (uint8_t)ep->pt : 0;

		buf[0] = 0x80;
		buf[1] = (uint8_t)((p->marker ? 0x80 : 0) | pt);
		buf[2] = (uint8_t)(p->seq >> 8);
		buf[3] = (uint8_t)p->seq;
		for (int i = 0; i < 4; i++) {
			buf[4 + i] = (uint8_t)(p->ts >> (24 - 8 * i));
			buf[8 + i] = (uint8_t)(p->ssrc >> (24 - 8 * i));
		}
		audio_encode(pt, pcm, FRAME, buf + RTP_HDR);
		mb.buf = buf;
		mb.size = mb.end = sizeof(buf);
		mb.pos = 0;
		rtpep_send(ep, &mb);
		p->marker = false;
	}
	/* A held peer hears nothing, but the prompt's time still passes. */
	p->seq++;
	p->ts += FRAME;
	p->last_us = clock_mono_us();
}

int mrelay_play(struct mrelay *mr, enum mside s, struct audio *const *list,
		size_t n, mrelay_play_h *doneh, void *arg)
{
	struct rtpep *ep = &mr->ep[s];
	struct player *p = &ep->play;
	struct audio **items;

	if (!n)
		return EINVAL;
	items = mem_zalloc(n * sizeof(*items), NULL);
	if (!items)
		return ENOMEM;
	for (size_t i = 0; i < n; i++)
		items[i] = mem_ref(list[i]);

	player_stop(ep);
	p->items = items;
	p->n = n;
	p->doneh = doneh;
	p->arg = arg;
	p->marker = true;
	if (!p->ssrc) {
		p->ssrc = rand_u32();
		p->seq = rand_u16();
		p->ts = rand_u32();
	}
	else {
		/* Silence between prompts still moves the media clock. */
		p->ts += (uint32_t)((clock_mono_us() - p->last_us) / 125);
	}
	p->last_us = clock_mono_us();
	mtick_join(&p->tick, tick_handler, ep);
	return 0;
}

void mrelay_stop(struct mrelay *mr, enum mside s)
{
	player_stop(&mr->ep[s]);
}

bool mrelay_playing(const struct mrelay *mr, enum mside s)
{
	return mr->ep[s].play.tick.le.list != NULL;
}
