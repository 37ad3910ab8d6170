/*
 * In-band DTMF detection on top of spandsp's dtmf_rx.  spandsp already
 * does the hard parts: Goertzel filters on 102-sample blocks, twist and
 * relative-peak checks against talk-off, and a digit is declared only after
 * two consecutive blocks agree (about 25 ms), once per press, riding over a
 * single bad block in the middle of a tone.  What this wrapper adds is the
 * G.711 decoding and a guard for the handler freeing the detector, which a
 * B2BUA does when a key ends the call.
 */
#include <limits.h>
#include <re.h>
#include <spandsp.h>
#include "media/dtmfdet.h"

enum {
	PT_PCMU = 0,
	PT_PCMA = 8,
	CHUNK   = 160,  /* decode buffer: one 20 ms frame per dtmf_rx call */
};

struct dtmfdet {
	dtmf_rx_state_t *rx;  /* malloc'd by spandsp */
	dtmfdet_h *h;
	void *arg;
};

static void destructor(void *arg)
{
	struct dtmfdet *d = arg;

	if (d->rx)
		dtmf_rx_free(d->rx);
}

/* While feeding we hold a reference of our own, so a count of one means
 * the owner let go from inside the handler: stop reporting to it. */
static bool orphaned(const struct dtmfdet *d)
{
	return mem_nrefs(d) <= 1;
}

static void digits_handler(void *arg, const char *digits, int len)
{
	struct dtmfdet *d = arg;

	for (int i = 0; i < len && !orphaned(d); i++)
		d->h(digits[i], d->arg);
}

static void feed(struct dtmfdet *d, const int16_t *pcm, size_t n)
{
	while (n && !orphaned(d)) {
		int k = n > INT_MAX ? INT_MAX : (int)n;

		(void)dtmf_rx(d->rx, pcm, k);
		pcm += k;
		n -= (size_t)k;
	}
}

int dtmfdet_alloc(struct dtmfdet **dp, dtmfdet_h *h, void *arg)
{
	struct dtmfdet *d;
	int err = 0;

	if (!dp || !h)
		return EINVAL;

	d = mem_zalloc(sizeof(*d), destructor);
	if (!d)
		return ENOMEM;
	d->h = h;
	d->arg = arg;

	d->rx = dtmf_rx_init(NULL, digits_handler, d);
	if (!d->rx) {
		err = ENOMEM;
		goto out;
	}

 out:
	if (err)
		mem_deref(d);
	else
		*dp = d;
	return err;
}

void dtmfdet_pcm(struct dtmfdet *d, const int16_t *pcm, size_t n)
{
	if (!d || !pcm)
		return;

	mem_ref(d);
	feed(d, pcm, n);
	mem_deref(d);
}

void dtmfdet_g711(struct dtmfdet *d, uint8_t pt, const uint8_t *payload,
		  size_t n)
{
	int16_t buf[CHUNK];

	if (!d || !payload || (pt != PT_PCMU && pt != PT_PCMA))
		return;

	mem_ref(d);
	while (n && !orphaned(d)) {
		size_t k = n < CHUNK ? n : CHUNK;

		for (size_t i = 0; i < k; i++)
			buf[i] = pt == PT_PCMU ? ulaw_to_linear(payload[i])
					       : alaw_to_linear(payload[i]);
		feed(d, buf, k);
		payload += k;
		n -= k;
	}
	mem_deref(d);
}
