/*
 * audio: PCM16 buffers, the WAV files they come from and go to, and the
 * G.711 laws.  A WAV is read chunk by chunk straight into the sample
 * buffer, so a long recording is never held twice.  Every size a file
 * claims is checked against the file before it is trusted: a prompt file
 * is data we did not write ourselves.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <re.h>
#include <spandsp.h>
#include "media/audio.h"

struct audio {
	size_t n;
	int16_t pcm[];
};

enum {
	WAV_PCM = 1,
	WAV_EXTENSIBLE = 0xfffe,
	WAV_HDR = 44,           /* RIFF + fmt (16) + data headers */
	CONV_SAMPLES = 2048,    /* samples converted per write() */
};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}

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

static int audio_new(struct audio **ap, size_t n)
{
	struct audio *a;

	if (n > (SIZE_MAX - sizeof(*a)) / sizeof(int16_t))
		return ENOMEM;
	a = mem_zalloc(sizeof(*a) + n * sizeof(int16_t), NULL);
	if (!a)
		return ENOMEM;
	a->n = n;
	*ap = a;
	return 0;
}

int audio_alloc(struct audio **ap, const int16_t *pcm, size_t n)
{
	struct audio *a;
	int err;

	if (!ap || (!pcm && n))
		return EINVAL;
	err = audio_new(&a, n);
	if (err)
		return err;
	if (n)
		memcpy(a->pcm, pcm, n * sizeof(int16_t));
	*ap = a;
	return 0;
}

int audio_concat(struct audio **ap, const struct audio *const *parts,
		 size_t n)
{
	struct audio *a;
	size_t total = 0, at = 0;
	int err;

	if (!ap || (!parts && n))
		return EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!parts[i])
			return EINVAL;
		if (parts[i]->n > SIZE_MAX - total)
			return ENOMEM;
		total += parts[i]->n;
	}
	err = audio_new(&a, total);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		memcpy(a->pcm + at, parts[i]->pcm,
		       parts[i]->n * sizeof(int16_t));
		at += parts[i]->n;
	}
	*ap = a;
	return 0;
}

size_t audio_samples(const struct audio *a)
{
	return a ? a->n : 0;
}

const int16_t *audio_pcm(const struct audio *a)
{
	return a ? a->pcm : NULL;
}

uint32_t audio_duration_ms(const struct audio *a)
{
	uint64_t ms = (uint64_t)audio_samples(a) * 1000 / AUDIO_RATE;
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* Samples are little-endian on disk; only a big-endian host has to swap. */
static void swap_le(int16_t *pcm, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (size_t i = 0; i < n; i++)
		pcm[i] = (int16_t)__builtin_bswap16((uint16_t)pcm[i]);
#else
	(void)pcm;
	(void)n;
#endif
}

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errsz, int e, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* A chunk id as text for a message, without letting junk bytes through. */
static void chunk_name(char out[5], const uint8_t *id)
{
	for (int i = 0; i < 4; i++)
		out[i] = id[i] >= 0x20 && id[i] < 0x7f ? (char)id[i] : '?';
	out[4] = '\0';
}

static int check_fmt(const uint8_t *p, uint32_t size, const char *path,
		     char *err, size_t errsz)
{
	uint16_t tag, channels, align, bits;
	uint32_t rate;

	if (size < 16)
		return fail(err, errsz, EINVAL, "%s: fmt chunk of %u bytes, "
			    "need at least 16", path, size);
	tag = le16(p);
	channels = le16(p + 2);
	rate = le32(p + 4);
	align = le16(p + 12);
	bits = le16(p + 14);

	/* sox switches to the extensible header for some layouts; its
	 * sub-format GUID starts with the plain format tag. */
	if (tag == WAV_EXTENSIBLE && size >= 40)
		tag = le16(p + 24);
	if (tag != WAV_PCM)
		return fail(err, errsz, EINVAL, "%s: format tag %u, need PCM "
			    "(1)", path, tag);
	if (channels != 1)
		return fail(err, errsz, EINVAL, "%s: %u channels, need mono",
			    path, channels);
	if (rate != AUDIO_RATE)
		return fail(err, errsz, EINVAL, "%s: sample rate %u, need %u",
			    path, rate, AUDIO_RATE);
	if (bits != 16)
		return fail(err, errsz, EINVAL, "%s: %u-bit samples, need "
			    "16-bit", path, bits);
	if (align != 2)
		return fail(err, errsz, EINVAL, "%s: block align %u, need 2",
			    path, align);
	return 0;
}

int audio_load_wav(struct audio **ap, const char *path, char *err,
		   size_t errsz)
{
	struct audio *a = NULL;
	uint8_t hdr[12], fmt[40];
	char name[5];
	struct stat st;
	uint64_t end, pos;
	bool have_fmt = false;
	FILE *f;
	int e;

	if (!ap || !path)
		return EINVAL;
	f = fopen(path, "rb");
	if (!f) {
		e = errno;
		return fail(err, errsz, e, "%s: cannot open: %s", path,
			    strerror(e));
	}
	if (fstat(fileno(f), &st)) {
		e = fail(err, errsz, errno, "%s: cannot stat: %s", path,
			 strerror(errno));
		goto out;
	}

	if (fread(hdr, 1, sizeof(hdr), f) != sizeof(hdr)) {
		e = fail(err, errsz, EINVAL, "%s: truncated RIFF header",
			 path);
		goto out;
	}
	if (memcmp(hdr, "RIFF", 4) || memcmp(hdr + 8, "WAVE", 4)) {
		e = fail(err, errsz, EINVAL, "%s: not a RIFF/WAVE file",
			 path);
		goto out;
	}
	end = (uint64_t)le32(hdr + 4) + 8;
	if (end > (uint64_t)st.st_size) {
		e = fail(err, errsz, EINVAL, "%s: truncated: RIFF header "
			 "says %llu bytes, file has %llu", path,
			 (unsigned long long)end,
			 (unsigned long long)st.st_size);
		goto out;
	}

	for (pos = sizeof(hdr);;) {
		uint8_t ch[8];
		uint32_t size;

		if (pos + sizeof(ch) > end ||
		    fread(ch, 1, sizeof(ch), f) != sizeof(ch)) {
			e = fail(err, errsz, EINVAL, have_fmt ?
				 "%s: no data chunk" : "%s: no fmt chunk",
				 path);
			goto out;
		}
		pos += sizeof(ch);
		size = le32(ch + 4);
		chunk_name(name, ch);
		if (pos + size > end) {
			e = fail(err, errsz, EINVAL, "%s: chunk '%s' of %u "
				 "bytes overruns the file", path, name, size);
			goto out;
		}

		if (!memcmp(ch, "fmt ", 4)) {
			size_t want = size < sizeof(fmt) ? size : sizeof(fmt);
			if (fread(fmt, 1, want, f) != want) {
				e = fail(err, errsz, EINVAL, "%s: truncated "
					 "fmt chunk", path);
				goto out;
			}
			e = check_fmt(fmt, size, path, err, errsz);
			if (e)
				goto out;
			have_fmt = true;
		}
		else if (!memcmp(ch, "data", 4)) {
			/* Without fmt we cannot know what the bytes are. */
			if (!have_fmt) {
				e = fail(err, errsz, EINVAL, "%s: data chunk "
					 "before fmt chunk", path);
				goto out;
			}
			/* A stray odd byte is not a sample; drop it. */
			e = audio_new(&a, size / 2);
			if (e)
				goto out;
			if (fread(a->pcm, 2, a->n, f) != a->n) {
				e = fail(err, errsz, ferror(f) ? EIO : EINVAL,
					 "%s: short read in data chunk", path);
				goto out;
			}
			swap_le(a->pcm, a->n);
			break;
		}

		/* Chunks are word-aligned: an odd size is followed by a
		 * pad byte that the size does not count. */
		pos += (uint64_t)size + (size & 1);
		if (fseeko(f, (off_t)pos, SEEK_SET)) {
			e = fail(err, errsz, errno, "%s: cannot seek: %s",
				 path, strerror(errno));
			goto out;
		}
	}

	*ap = a;
	a = NULL;
	e = 0;
 out:
	mem_deref(a);
	fclose(f);
	return e;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The rename is only durable once the directory entry is on disk too;
 * a failure here leaves a complete file, so it is not reported. */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	int fd;

	if (!slash)
		fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else if (slash == path)
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else {
		if (re_sdprintf(&dir, "%b", path, (size_t)(slash - path)))
			return;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		mem_deref(dir);
	}
	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

int audio_save_wav(const char *path, const int16_t *pcm, size_t frames,
		   unsigned channels)
{
	uint8_t hdr[WAV_HDR], buf[CONV_SAMPLES * 2];
	char *tmp = NULL;
	size_t n, done;
	uint32_t bytes;
	int fd = -1, err;

	if (!path || (channels != 1 && channels != 2) || (!pcm && frames))
		return EINVAL;
	/* RIFF sizes are 32-bit. */
	if (frames > (UINT32_MAX - (WAV_HDR - 8)) / (2 * channels))
		return EFBIG;
	n = frames * channels;
	bytes = (uint32_t)(n * 2);

	memcpy(hdr, "RIFF", 4);
	put32(hdr + 4, bytes + WAV_HDR - 8);
	memcpy(hdr + 8, "WAVEfmt ", 8);
	put32(hdr + 16, 16);
	put16(hdr + 20, WAV_PCM);
	put16(hdr + 22, (uint16_t)channels);
	put32(hdr + 24, AUDIO_RATE);
	put32(hdr + 28, AUDIO_RATE * 2 * channels);
	put16(hdr + 32, (uint16_t)(2 * channels));
	put16(hdr + 34, 16);
	memcpy(hdr + 36, "data", 4);
	put32(hdr + 40, bytes);

	err = re_sdprintf(&tmp, "%s.tmp", path);
	if (err)
		return err;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = errno;
		goto out;
	}
	err = write_all(fd, hdr, sizeof(hdr));
	for (done = 0; !err && done < n;) {
		size_t k = n - done < CONV_SAMPLES ? n - done : CONV_SAMPLES;
		for (size_t i = 0; i < k; i++)
			put16(buf + 2 * i, (uint16_t)pcm[done + i]);
		err = write_all(fd, buf, 2 * k);
		done += k;
	}
	if (err)
		goto out;
	if (fsync(fd)) {
		err = errno;
		goto out;
	}
	err = close(fd) ? errno : 0;
	fd = -1;
	if (err)
		goto out;
	if (rename(tmp, path)) {
		err = errno;
		goto out;
	}
	sync_dir(path);

 out:
	if (fd >= 0)
		close(fd);
	if (err)
		(void)unlink(tmp);
	mem_deref(tmp);
	return err;
}

/* Only PCMU and PCMA are ever negotiated; anything that is not PCMA is
 * treated as PCMU rather than failing mid-stream. */
void audio_encode(uint8_t pt, const int16_t *pcm, size_t n, uint8_t *out)
{
	if (pt == 8) {
		for (size_t i = 0; i < n; i++)
			out[i] = linear_to_alaw(pcm[i]);
	}
	else {
		for (size_t i = 0; i < n; i++)
			out[i] = linear_to_ulaw(pcm[i]);
	}
}

void audio_decode(uint8_t pt, const uint8_t *in, size_t n, int16_t *pcm)
{
	if (pt == 8) {
		for (size_t i = 0; i < n; i++)
			pcm[i] = alaw_to_linear(in[i]);
	}
	else {
		for (size_t i = 0; i < n; i++)
			pcm[i] = ulaw_to_linear(in[i]);
	}
}
