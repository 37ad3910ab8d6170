#include <math.h>
#include <re.h>
#include <spandsp.h>
#include "media/dtmfdet.h"
#include "unit.h"

enum { RATE = 8000, FRAME = 160, MAX_SAMPLES = 5 * RATE, PT_LINEAR = 255 };

static int16_t audio[MAX_SAMPLES];

struct keys {
	char got[64];
	size_t n;
	struct dtmfdet *d;  /* set when the handler should free the detector */
};

static void on_key(char key, void *arg)
{
	struct keys *k = arg;

	if (k->n < sizeof(k->got) - 1)
		k->got[k->n++] = key;
	k->d = mem_deref(k->d);
}

/* lead samples of silence, then keys as spandsp would dial them, then 100 ms
 * of silence so the last key has ended. */
static size_t gen_keys(const char *keys, int on_ms, int off_ms, int lead)
{
	dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
	size_t n = (size_t)lead;
	int got;

	memset(audio, 0, sizeof(audio));
	dtmf_tx_set_timing(tx, on_ms, off_ms);
	dtmf_tx_put(tx, keys, -1);
	while ((got = dtmf_tx(tx, audio + n, (int)(MAX_SAMPLES - n))) > 0)
		n += (size_t)got;
	dtmf_tx_free(tx);
	return n + RATE / 10;
}

/* Feed audio[0..n) the way RTP brings it: 20 ms frames, G.711 encoded
 * unless pt is PT_LINEAR. */
static void feed(struct dtmfdet *d, uint8_t pt, size_t n)
{
	uint8_t frame[FRAME];

	for (size_t off = 0; off < n; off += FRAME) {
		size_t k = n - off < FRAME ? n - off : FRAME;

		if (pt == PT_LINEAR) {
			dtmfdet_pcm(d, audio + off, k);
			continue;
		}
		for (size_t i = 0; i < k; i++)
			frame[i] = pt == 0 ? linear_to_ulaw(audio[off + i])
					   : linear_to_alaw(audio[off + i]);
		dtmfdet_g711(d, pt, frame, k);
	}
}

/* What a fresh detector reports for audio[0..n) fed as pt. */
static const char *detect(uint8_t pt, size_t n)
{
	static struct keys k;
	struct dtmfdet *d = NULL;

	memset(&k, 0, sizeof(k));
	CHECK_EQ(dtmfdet_alloc(&d, on_key, &k), 0);
	feed(d, pt, n);
	mem_deref(d);
	return k.got;
}

static void all_keys_through_pcmu_and_pcma(void)
{
	const char *all = "123A456B789C*0#D";
	size_t n = gen_keys(all, 80, 80, 800);

	CHECK_STR(detect(0, n), all);
	CHECK_STR(detect(8, n), all);
}

static void sequence_with_50ms_gaps_in_order(void)
{
	size_t n = gen_keys("1234#", 50, 50, 800);

	CHECK_STR(detect(PT_LINEAR, n), "1234#");
	CHECK_STR(detect(0, n), "1234#");
}

static void held_key_reported_once(void)
{
	size_t n = gen_keys("5", 1000, 0, 800);

	CHECK_STR(detect(0, n), "5");
	CHECK_STR(detect(8, n), "5");
}

static void short_bursts_not_reported(void)
{
	/* Whatever the phase of the burst against frames and spandsp's
	 * 102-sample blocks, 20 ms is below the minimum duration. */
	for (int lead = 0; lead < FRAME; lead += 13) {
		size_t n = gen_keys("19*#", 20, 100, lead);

		CHECK_STR(detect(0, n), "");
		CHECK_STR(detect(PT_LINEAR, n), "");
	}
}

static void tone_1khz_is_not_a_key(void)
{
	size_t n = 2 * RATE;

	for (size_t i = 0; i < n; i++)
		audio[i] = (int16_t)(12000 * sin(2 * M_PI * 1000 * i / RATE));
	CHECK_STR(detect(0, n), "");
	CHECK_STR(detect(8, n), "");
}

static void two_row_tones_are_not_a_key(void)
{
	size_t n = RATE;

	/* 697 + 770 Hz: two DTMF frequencies, but not a row/column pair. */
	for (size_t i = 0; i < n; i++)
		audio[i] = (int16_t)(6000 * sin(2 * M_PI * 697 * i / RATE) +
				     6000 * sin(2 * M_PI * 770 * i / RATE));
	CHECK_STR(detect(0, n), "");
}

static void noise_is_not_a_key(void)
{
	static const int amp[] = {500, 4000, 16000};
	uint32_t x = 12345;
	size_t n = 3 * RATE;

	for (size_t a = 0; a < ARRAY_SIZE(amp); a++) {
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;  /* deterministic LCG */
			audio[i] = (int16_t)((int)((x >> 16) & 0x7fff) *
					     amp[a] / 0x4000 - amp[a]);
		}
		CHECK_STR(detect(0, n), "");
		CHECK_STR(detect(PT_LINEAR, n), "");
	}
}

static void silence_is_not_a_key(void)
{
	memset(audio, 0, sizeof(audio));
	CHECK_STR(detect(PT_LINEAR, 2 * RATE), "");
	CHECK_STR(detect(0, 2 * RATE), "");
	CHECK_STR(detect(8, 2 * RATE), "");
}

static void other_payload_types_ignored(void)
{
	size_t n = gen_keys("7", 200, 0, 0);

	CHECK_STR(detect(18, n), "");   /* G.729 */
	CHECK_STR(detect(101, n), "");  /* telephone-event */
}

static void handler_may_free_the_detector(void)
{
	struct keys k;
	struct dtmfdet *d = NULL;
	size_t n = gen_keys("12", 80, 80, 0);
	uint8_t *pcmu = mem_alloc(n, NULL);

	memset(&k, 0, sizeof(k));
	CHECK_EQ(dtmfdet_alloc(&d, on_key, &k), 0);
	k.d = d;
	/* One long payload, so the detector is inside its loop when freed;
	 * the second key must not reach the handler. */
	for (size_t i = 0; i < n; i++)
		pcmu[i] = linear_to_ulaw(audio[i]);
	dtmfdet_g711(d, 0, pcmu, n);
	CHECK_STR(k.got, "1");
	CHECK(k.d == NULL);
	mem_deref(pcmu);
}

static void alloc_checks_arguments(void)
{
	struct dtmfdet *d = NULL;
	struct keys k;

	CHECK_EQ(dtmfdet_alloc(NULL, on_key, &k), EINVAL);
	CHECK_EQ(dtmfdet_alloc(&d, NULL, &k), EINVAL);
	CHECK(d == NULL);
	dtmfdet_pcm(NULL, audio, 10);
	dtmfdet_g711(NULL, 0, (const uint8_t *)"x", 1);
}

const struct unit_case dtmfdet_cases[] = {
	{"all_keys_through_pcmu_and_pcma", all_keys_through_pcmu_and_pcma},
	{"sequence_with_50ms_gaps_in_order", sequence_with_50ms_gaps_in_order},
	{"held_key_reported_once", held_key_reported_once},
	{"short_bursts_not_reported", short_bursts_not_reported},
	{"tone_1khz_is_not_a_key", tone_1khz_is_not_a_key},
	{"two_row_tones_are_not_a_key", two_row_tones_are_not_a_key},
	{"noise_is_not_a_key", noise_is_not_a_key},
	{"silence_is_not_a_key", silence_is_not_a_key},
	{"other_payload_types_ignored", other_payload_types_ignored},
	{"handler_may_free_the_detector", handler_may_free_the_detector},
	{"alloc_checks_arguments", alloc_checks_arguments},
	{NULL, NULL},
};
