/*
 * Call recording.  Each side's received audio is decoded into a small
 * FIFO; on every media tick one 20 ms frame per side is taken (silence if
 * none came) and written mixed, or as one channel per side.  Aligning on
 * the tick rather than on RTP timestamps keeps the two sides in step even
 * when their clocks and SSRCs differ.  The WAV header's sizes are patched
 * when the recording stops.
 */
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "media/media.h"
#include "media/media_int.h"
#include "media/audio.h"

enum { FRAME = 160, FIFO = 1600 };

struct recorder {
	struct mtick tick;
	FILE *f;
	char *path;
	bool stereo;
	int16_t fifo[2][FIFO];
	size_t fill[2];
	uint64_t frames;
	bool failed;
};

static void put_le(uint8_t *p, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void header(uint8_t h[44], unsigned channels, uint32_t data_bytes)
{
	memcpy(h, "RIFF", 4);
	put_le(h + 4, 36 + data_bytes, 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le(h + 16, 16, 4);
	put_le(h + 20, 1, 2);                       /* PCM */
	put_le(h + 22, channels, 2);
	put_le(h + 24, 8000, 4);
	put_le(h + 28, 8000 * 2 * channels, 4);
	put_le(h + 32, 2 * channels, 2);
	put_le(h + 34, 16, 2);
	memcpy(h + 36, "data", 4);
	put_le(h + 40, data_bytes, 4);
}

static void take(struct recorder *r, int s, int16_t *out)
{
	size_t n = r->fill[s] < FRAME ? r->fill[s] : FRAME;

	memcpy(out, r->fifo[s], n * sizeof(*out));
	memset(out + n, 0, (FRAME - n) * sizeof(*out));
	memmove(r->fifo[s], r->fifo[s] + n, (r->fill[s] - n) * sizeof(*out));
	r->fill[s] -= n;
}

static void tick_handler(struct mtick *t, void *arg)
{
	struct recorder *r = arg;
	int16_t a[FRAME], b[FRAME], out[2 * FRAME];
	size_t n;
	(void)t;

	take(r, 0, a);
	take(r, 1, b);
	if (r->stereo) {
		for (int i = 0; i < FRAME; i++) {
			out[2 * i] = a[i];
			out[2 * i + 1] = b[i];
		}
		n = 2 * FRAME;
	}
	else {
		for (int i = 0; i < FRAME; i++) {
			int v = a[i] + b[i];
			out[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ?
					   -32768 : v);
		}
		n = FRAME;
	}
	if (!r->failed && fwrite(out, sizeof(*out), n, r->f) != n) {
		log_warn("record: %s: write failed", r->path);
		r->failed = true;
	}
	r->frames++;
}

void recorder_feed(struct recorder *r, enum mside s, uint8_t pt,
		   const uint8_t *payload, size_t n)
{
	int16_t pcm[FIFO];

	if (!r || (pt != 0 && pt != 8))
		return;
	if (n > FIFO)
		n = FIFO;
	/* A side that runs ahead of the tick loses its oldest audio. */
	if (r->fill[s] + n > FIFO) {
		size_t drop = r->fill[s] + n - FIFO;
		memmove(r->fifo[s], r->fifo[s] + drop,
			(r->fill[s] - drop) * sizeof(int16_t));
		r->fill[s] -= drop;
	}
	audio_decode(pt, payload, n, pcm);
	memcpy(r->fifo[s] + r->fill[s], pcm, n * sizeof(int16_t));
	r->fill[s] += n;
}

static void destructor(void *arg)
{
	struct recorder *r = arg;

	mtick_leave(&r->tick);
	if (r->f)
		fclose(r->f);
	mem_deref(r->path);
}

int mrelay_record_start(struct mrelay *mr, const char *path, bool stereo)
{
	struct recorder *r;
	uint8_t h[44];
	int err = 0;

	if (mr->rec)
		return EALREADY;
	r = mem_zalloc(sizeof(*r), destructor);
	if (!r)
		return ENOMEM;
	r->stereo = stereo;
	err = str_dup(&r->path, path);
	if (err)
		goto out;
	r->f = fopen(path, "wb");
	if (!r->f) {
		err = errno;
		log_warn("record: cannot create %s: %m", path, err);
		goto out;
	}
	header(h, stereo ? 2 : 1, 0);
	if (fwrite(h, 1, sizeof(h), r->f) != sizeof(h))
		err = EIO;

 out:
	if (err) {
		mem_deref(r);
		return err;
	}
	mr->rec = r;
	mtick_join(&r->tick, tick_handler, r);
	return 0;
}

uint32_t mrelay_record_stop(struct mrelay *mr)
{
	struct recorder *r = mr->rec;
	uint32_t ms, bytes;
	uint8_t h[44];

	if (!r)
		return 0;
	mtick_leave(&r->tick);
	bytes = (uint32_t)(r->frames * FRAME * 2 * (r->stereo ? 2 : 1));
	header(h, r->stereo ? 2 : 1, bytes);
	if (fseek(r->f, 0, SEEK_SET) || fwrite(h, 1, sizeof(h), r->f) !=
	    sizeof(h) || fflush(r->f))
		log_warn("record: %s: cannot finish the file", r->path);
	ms = (uint32_t)(r->frames * 20);
	mr->rec = mem_deref(r);
	return ms;
}
