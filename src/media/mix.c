/*
 * Supervision: a third party on a relayed call.  Each source (the caller
 * A, the agent B, the supervisor S) is decoded into a FIFO; on every media
 * tick one 20 ms frame of each is taken and each listener gets the sum of
 * what it may hear, encoded in the payload type it sends itself, as our
 * own RTP stream.  Where a listener may hear just the other side, packets
 * still go raw and untouched.
 *
 *   listen:  S ← A+B                       (A↔B raw)
 *   whisper: S ← A+B, B ← A+S              (B→A raw)
 *   barge:   S ← A+B, B ← A+S, A ← B+S     (nothing raw)
 */
#include <string.h>
#include <re.h>
#include "media/media.h"
#include "media/media_int.h"
#include "media/audio.h"

enum { FRAME = 160, FIFO = 1600 };

struct outstream {
	uint32_t ssrc, ts;
	uint16_t seq;
	bool started;
};

struct mixer {
	struct mtick tick;
	struct mrelay *target, *sup;  /* each relay detaches on its end */
	enum msup_mode mode;
	int16_t fifo[3][FIFO];
	size_t fill[3];
	struct outstream out[3];
};

void mixer_feed(struct mixer *m, int src, uint8_t pt, const uint8_t *payload,
		size_t n)
{
	int16_t pcm[FIFO];

	if (n > FIFO)
		n = FIFO;
	if (m->fill[src] + n > FIFO) {
		size_t drop = m->fill[src] + n - FIFO;
		memmove(m->fifo[src], m->fifo[src] + drop,
			(m->fill[src] - drop) * sizeof(int16_t));
		m->fill[src] -= drop;
	}
	audio_decode(pt, payload, n, pcm);
	memcpy(m->fifo[src] + m->fill[src], pcm, n * sizeof(int16_t));
	m->fill[src] += n;
}

bool mixer_raw_ok(const struct mixer *m, enum mside s)
{
	switch (m->mode) {
	case MSUP_LISTEN:  return true;
	case MSUP_WHISPER: return s == MSIDE_B;   /* B→A only */
	default:           return false;
	}
}

static void take(struct mixer *m, int src, int16_t *out)
{
	size_t n = m->fill[src] < FRAME ? m->fill[src] : FRAME;

	memcpy(out, m->fifo[src], n * sizeof(*out));
	memset(out + n, 0, (FRAME - n) * sizeof(*out));
	memmove(m->fifo[src], m->fifo[src] + n,
		(m->fill[src] - n) * sizeof(*out));
	m->fill[src] -= n;
}

static void send_mix(struct outstream *o, struct rtpep *ep, const int16_t *x,
		     const int16_t *y)
{
	uint8_t buf[12 + FRAME];
	int16_t pcm[FRAME];
	uint8_t pt = ep->last_pt >= 0 ? (uint8_t)ep->last_pt :
		ep->pt >= 0 ? (uint8_t)ep->pt : 0;
	struct mbuf mb;

	for (int i = 0; i < FRAME; i++) {
		int v = x[i] + y[i];
		pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
	}
	if (!o->started) {
		o->ssrc = rand_u32();
		o->seq = rand_u16();
		o->ts = rand_u32();
	}
	buf[0] = 0x80;
	buf[1] = (uint8_t)((o->started ? 0 : 0x80) | pt);
	buf[2] = (uint8_t)(o->seq >> 8);
	buf[3] = (uint8_t)o->seq;
	for (int i = 0; i < 4; i++) {
		buf[4 + i] = (uint8_t)(o->ts >> (24 - 8 * i));
		buf[8 + i] = (uint8_t)(o->ssrc >> (24 - 8 * i));
	}
	audio_encode(pt, pcm, FRAME, buf + 12);
	mb.buf = buf;
	mb.size = mb.end = sizeof(buf);
	mb.pos = 0;
	rtpep_send(ep, &mb);
	o->started = true;
	o->seq++;
	o->ts += FRAME;
}

static void tick_handler(struct mtick *t, void *arg)
{
	struct mixer *m = arg;
	int16_t a[FRAME], b[FRAME], s[FRAME];
	(void)t;

	take(m, MIX_A, a);
	take(m, MIX_B, b);
	take(m, MIX_S, s);
	send_mix(&m->out[MIX_S], &m->sup->ep[MSIDE_A], a, b);
	if (m->mode != MSUP_LISTEN)
		send_mix(&m->out[MIX_B], &m->target->ep[MSIDE_B], a, s);
	if (m->mode == MSUP_BARGE)
		send_mix(&m->out[MIX_A], &m->target->ep[MSIDE_A], b, s);
}

static void destructor(void *arg)
{
	struct mixer *m = arg;

	mtick_leave(&m->tick);
	if (m->target)
		m->target->mix = NULL;
	if (m->sup)
		m->sup->mix_sup = NULL;
}

int mrelay_supervise(struct mrelay *mr, struct mrelay *sup,
		     enum msup_mode mode)
{
	struct mixer *m;

	if (!mr || !sup || mr == sup || sup->mix_sup || sup->mix)
		return EINVAL;
	if (mr->mix) {
		if (mr->mix->sup != sup)
			return EBUSY;          /* one supervisor at a time */
		mr->mix->mode = mode;
		return 0;
	}
	m = mem_zalloc(sizeof(*m), destructor);
	if (!m)
		return ENOMEM;
	m->target = mr;
	m->sup = sup;
	m->mode = mode;
	mr->mix = m;
	sup->mix_sup = m;
	player_stop(&sup->ep[MSIDE_A]);
	mtick_join(&m->tick, tick_handler, m);
	return 0;
}

void mrelay_unsupervise(struct mrelay *mr)
{
	if (mr && mr->mix)
		mem_deref(mr->mix);
	if (mr && mr->mix_sup)
		mem_deref(mr->mix_sup);
}
