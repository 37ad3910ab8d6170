#include <stdio.h>
#include <stdbool.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>
#include <re.h>
#include "media/audio.h"
#include "unit.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static size_t chunk(uint8_t *p, const char *id, const void *body,
		    uint32_t len)
{
	memcpy(p, id, 4);
	put32(p + 4, len);
	memcpy(p + 8, body, len);
	if (len & 1)
		p[8 + len++] = 0;
	return 8 + len;
}

struct wav {
	uint16_t tag, channels, bits;
	uint32_t rate;
	bool junk;              /* LIST (odd-sized) and fact before data */
	bool extensible;
};

/* Hand-built files, so the loader is tested on more than what
 * audio_save_wav happens to write.  Returns the file's length. */
static size_t build(uint8_t *buf, const struct wav *w, const int16_t *pcm,
		    size_t n)
{
	uint8_t fmt[40] = {0}, data[2048];
	uint16_t align = (uint16_t)(w->channels * w->bits / 8);
	size_t len = 12;

	put16(fmt, w->extensible ? 0xfffe : w->tag);
	put16(fmt + 2, w->channels);
	put32(fmt + 4, w->rate);
	put32(fmt + 8, w->rate * align);
	put16(fmt + 12, align);
	put16(fmt + 14, w->bits);
	put16(fmt + 16, 22);
	put16(fmt + 18, w->bits);
	put16(fmt + 24, w->tag);  /* sub-format GUID starts with the tag */

	memcpy(buf, "RIFFxxxxWAVE", 12);
	len += chunk(buf + len, "fmt ", fmt, w->extensible ? 40 : 16);
	if (w->junk) {
		len += chunk(buf + len, "LIST", "INFOx", 5);
		len += chunk(buf + len, "fact", "\x10\0\0\0", 4);
	}
	for (size_t i = 0; i < n; i++)
		put16(data + 2 * i, (uint16_t)pcm[i]);
	len += chunk(buf + len, "data", data, (uint32_t)(2 * n));
	put32(buf + 4, (uint32_t)(len - 8));
	return len;
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_EQ(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static long file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return n;
}

static const struct wav good = { 1, 1, 16, 8000, false, false };

static void save_load_mono(void)
{
	const char *path = unit_tmpfile("mono.wav");
	int16_t pcm[1000];
	struct audio *a = NULL;
	char err[256] = "";

	for (size_t i = 0; i < ARRAY_SIZE(pcm); i++)
		pcm[i] = (int16_t)(i * 131 - 32768 + (i & 1 ? 7 : -3));
	pcm[0] = INT16_MIN;
	pcm[1] = INT16_MAX;
	CHECK_EQ(audio_save_wav(path, pcm, ARRAY_SIZE(pcm), 1), 0);
	CHECK_EQ(file_size(path), 44 + 2 * ARRAY_SIZE(pcm));
	CHECK_EQ(audio_load_wav(&a, path, err, sizeof(err)), 0);
	CHECK_EQ(audio_samples(a), ARRAY_SIZE(pcm));
	CHECK(a && !memcmp(audio_pcm(a), pcm, sizeof(pcm)));
	mem_deref(a);
}

static void stereo_save_refused_by_load(void)
{
	const char *path = unit_tmpfile("stereo.wav");
	int16_t pcm[2 * 80] = {0};
	struct audio *a = NULL;
	char err[256] = "";

	CHECK_EQ(audio_save_wav(path, pcm, 80, 2), 0);
	CHECK_EQ(file_size(path), 44 + 4 * 80);
	CHECK_EQ(audio_load_wav(&a, path, err, sizeof(err)), EINVAL);
	CHECK(a == NULL);
	CHECK(strstr(err, "2 channels, need mono") != NULL);
}

static void save_is_atomic(void)
{
	const char *p = unit_tmpfile("atomic.wav");
	char path[512], tmp[520];
	int16_t pcm[160] = {0};
	struct audio *a = NULL;

	snprintf(path, sizeof(path), "%s", p);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK_EQ(audio_save_wav(path, pcm, 160, 1), 0);
	CHECK_EQ(audio_save_wav(path, pcm, 80, 1), 0);
	CHECK_EQ(file_size(path), 44 + 160);
	CHECK(access(tmp, F_OK) != 0);
	CHECK_EQ(audio_load_wav(&a, path, NULL, 0), 0);
	CHECK_EQ(audio_samples(a), 80);
	mem_deref(a);

	CHECK_EQ(audio_save_wav(path, pcm, 10, 3), EINVAL);
	CHECK_EQ(audio_save_wav(path, NULL, 10, 1), EINVAL);
	CHECK_EQ(audio_save_wav("/nonexistent/x.wav", pcm, 10, 1), ENOENT);
	/* An empty recording is still a valid file. */
	CHECK_EQ(audio_save_wav(path, NULL, 0, 1), 0);
	CHECK_EQ(audio_load_wav(&a, path, NULL, 0), 0);
	CHECK_EQ(audio_samples(a), 0);
	mem_deref(a);
}

static void skips_unknown_chunks(void)
{
	const char *path = unit_tmpfile("list.wav");
	const int16_t pcm[5] = {1, -2, 300, -400, 32767};
	uint8_t buf[4096];
	struct wav w = good;
	struct audio *a = NULL;
	char err[256] = "";

	w.junk = true;
	write_file(path, buf, build(buf, &w, pcm, 5));
	CHECK_EQ(audio_load_wav(&a, path, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_EQ(audio_samples(a), 5);
	CHECK(a && !memcmp(audio_pcm(a), pcm, sizeof(pcm)));
	mem_deref(a);
	a = NULL;

	w.extensible = true;
	write_file(path, buf, build(buf, &w, pcm, 5));
	CHECK_EQ(audio_load_wav(&a, path, err, sizeof(err)), 0);
	CHECK_EQ(audio_samples(a), 5);
	mem_deref(a);
}

static void rejects(void)
{
	const char *path = unit_tmpfile("bad.wav");
	const int16_t pcm[100] = {0};
	uint8_t buf[4096];
	char err[256];
	struct audio *a;
	size_t len;
	static const struct {
		struct wav w;
		const char *why;
	} fmts[] = {
		{{1, 1, 16, 22050, false, false}, "sample rate 22050, need 8000"},
		{{1, 1, 8, 8000, false, false}, "8-bit samples, need 16-bit"},
		{{1, 2, 16, 8000, true, false}, "2 channels, need mono"},
		{{3, 1, 16, 8000, false, false}, "format tag 3, need PCM"},
		{{3, 1, 16, 8000, false, true}, "format tag 3, need PCM"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
		a = NULL;
		err[0] = '\0';
		write_file(path, buf, build(buf, &fmts[i].w, pcm, 100));
		CHECK_EQ(audio_load_wav(&a, path, err, sizeof(err)), EINVAL);
		CHECK(a == NULL);
		if (!strstr(err, fmts[i].why)) {
			fprintf(stderr, "  got '%s', want '%s'\n", err,
				fmts[i].why);
			unit_failed_checks++;
		}
	}

	struct {
		size_t cut;             /* keep this many bytes, 0 = all */
		int32_t grow_data;      /* add to the data chunk's size */
		const char *why;
	} files[] = {
		{8, 0, "truncated RIFF header"},
		{20, 0, "truncated: RIFF header says 244 bytes, file has 20"},
		{100, 0, "truncated: RIFF header says 244"},
		{0, 2, "chunk 'data' of 202 bytes overruns the file"},
		{0, 1000000, "overruns the file"},
	};
	len = build(buf, &good, pcm, 100);
	CHECK_EQ(len, 244);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		uint8_t copy[4096];
		memcpy(copy, buf, len);
		put32(copy + 40, (uint32_t)(200 + files[i].grow_data));
		a = NULL;
		err[0] = '\0';
		write_file(path, copy, files[i].cut ? files[i].cut : len);
		CHECK_EQ(audio_load_wav(&a, path, err, sizeof(err)), EINVAL);
		CHECK(a == NULL);
		if (!strstr(err, files[i].why) || !strstr(err, path)) {
			fprintf(stderr, "  got '%s', want '%s'\n", err,
				files[i].why);
			unit_failed_checks++;
		}
	}

	/* Not a WAV at all, and a WAV without samples. */
	write_file(path, (const uint8_t *)"RIFF\4\0\0\0AVI ", 12);
	CHECK_EQ(audio_load_wav(&a, path, err, sizeof(err)), EINVAL);
	CHECK(strstr(err, "not a RIFF/WAVE file") != NULL);
	len = build(buf, &good, pcm, 0);
	put32(buf + 4, 4 + 24);
	write_file(path, buf, 12 + 24);
	CHECK_EQ(audio_load_wav(&a, path, err, sizeof(err)), EINVAL);
	CHECK(strstr(err, "no data chunk") != NULL);

	CHECK_EQ(audio_load_wav(&a, "/nonexistent/a.wav", err, sizeof(err)),
		 ENOENT);
	CHECK(strstr(err, "cannot open") != NULL);
}

static void concat_lengths(void)
{
	int16_t x[100], y[60];
	struct audio *a = NULL, *b = NULL, *e = NULL, *c = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(x); i++)
		x[i] = (int16_t)i;
	for (size_t i = 0; i < ARRAY_SIZE(y); i++)
		y[i] = (int16_t)(-1 - (int)i);
	CHECK_EQ(audio_alloc(&a, x, ARRAY_SIZE(x)), 0);
	CHECK_EQ(audio_alloc(&b, y, ARRAY_SIZE(y)), 0);
	CHECK_EQ(audio_alloc(&e, NULL, 0), 0);
	x[0] = 99;  /* audio_alloc copied */

	const struct audio *parts[] = {a, e, b, a};
	CHECK_EQ(audio_concat(&c, parts, ARRAY_SIZE(parts)), 0);
	CHECK_EQ(audio_samples(c), 260);
	CHECK_EQ(audio_duration_ms(c), 32);
	if (audio_samples(c) == 260) {
		const int16_t *p = audio_pcm(c);
		CHECK_EQ(p[0], 0);
		CHECK_EQ(p[99], 99);
		CHECK_EQ(p[100], -1);
		CHECK_EQ(p[159], -60);
		CHECK_EQ(p[160], 0);
		CHECK_EQ(p[259], 99);
	}
	c = mem_deref(c);

	CHECK_EQ(audio_concat(&c, NULL, 0), 0);
	CHECK_EQ(audio_samples(c), 0);
	c = mem_deref(c);
	const struct audio *holes[] = {a, NULL};
	CHECK_EQ(audio_concat(&c, holes, 2), EINVAL);
	CHECK(c == NULL);

	mem_deref(a);
	mem_deref(b);
	mem_deref(e);
}

static void g711_roundtrip(void)
{
	enum { N = 8000 };
	static int16_t pcm[N], back[N];
	static uint8_t enc[N];
	const uint8_t pts[] = {0, 8};

	for (size_t i = 0; i < N; i++)
		pcm[i] = (int16_t)lrint(16000 * sin(2 * M_PI * 1000 * i / 8000.0
						     + 0.3));
	for (size_t k = 0; k < ARRAY_SIZE(pts); k++) {
		double sig = 0, noise = 0;
		int worst = 0;

		audio_encode(pts[k], pcm, N, enc);
		audio_decode(pts[k], enc, N, back);
		for (size_t i = 0; i < N; i++) {
			int d = abs(back[i] - pcm[i]);
			sig += (double)pcm[i] * pcm[i];
			noise += (double)d * d;
			/* G.711 keeps a relative error of about 1/32. */
			if (d > abs(pcm[i]) / 16 + 16)
				worst++;
		}
		CHECK_EQ(worst, 0);
		CHECK(10 * log10(sig / noise) > 30);
	}

	/* Silence has a code of its own in each law. */
	const int16_t zero = 0;
	audio_encode(0, &zero, 1, enc);
	CHECK_EQ(enc[0], 0xff);
	audio_encode(8, &zero, 1, enc);
	CHECK_EQ(enc[0], 0xd5);
}

static void duration_ms(void)
{
	static const int16_t pcm[8000];
	struct audio *a = NULL;
	const struct { size_t n; uint32_t ms; } t[] = {
		{0, 0}, {7, 0}, {8, 1}, {160, 20}, {8000, 1000}, {4004, 500},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		CHECK_EQ(audio_alloc(&a, pcm, t[i].n), 0);
		CHECK_EQ(audio_duration_ms(a), t[i].ms);
		a = mem_deref(a);
	}
	CHECK_EQ(audio_duration_ms(NULL), 0);
	CHECK_EQ(audio_samples(NULL), 0);
}

const struct unit_case audio_cases[] = {
	{"save_load_mono", save_load_mono},
	{"stereo_save_refused_by_load", stereo_save_refused_by_load},
	{"save_is_atomic", save_is_atomic},
	{"skips_unknown_chunks", skips_unknown_chunks},
	{"rejects", rejects},
	{"concat_lengths", concat_lengths},
	{"g711_roundtrip", g711_roundtrip},
	{"duration_ms", duration_ms},
	{NULL, NULL},
};
