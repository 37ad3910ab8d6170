/*
 * rand: libre's random functions, replaced at link time like the timers
 * (src/core/tmr.c).  libre 1.1.0 asks OpenSSL's RAND_bytes for every tag,
 * branch and Call-ID — 24 calls and as many getpid() syscalls a call
 * (bench/cps/PROFILE.md).  These draw from a buffer that getrandom(2)
 * refills, which is as unpredictable and a fraction of the cost.  Tags,
 * nonce secrets and SSRCs all come from here.
 */
#include <string.h>
#include <sys/random.h>
#include <re.h>

enum { POOL = 4096 };

static uint8_t pool[POOL];
static size_t left;

void rand_init(void)
{
	left = 0;
}

void rand_bytes(uint8_t *p, size_t size)
{
	while (size) {
		size_t n;

		if (!left) {
			ssize_t got = getrandom(pool, sizeof(pool), 0);
			if (got <= 0)
				continue;   /* EINTR: try again */
			left = (size_t)got;
		}
		n = size < left ? size : left;
		memcpy(p, pool + POOL - left, n);
		/* Bytes handed out are not kept. */
		memset(pool + POOL - left, 0, n);
		left -= n;
		p += n;
		size -= n;
	}
}

uint16_t rand_u16(void)
{
	uint16_t v;
	rand_bytes((uint8_t *)&v, sizeof(v));
	return v;
}

uint32_t rand_u32(void)
{
	uint32_t v;
	rand_bytes((uint8_t *)&v, sizeof(v));
	return v;
}

uint64_t rand_u64(void)
{
	uint64_t v;
	rand_bytes((uint8_t *)&v, sizeof(v));
	return v;
}

void rand_str(char *str, size_t size)
{
	static const char alphanum[] =
		"0123456789abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ";

	if (!str || !size)
		return;
	--size;
	rand_bytes((uint8_t *)str, size);
	for (size_t i = 0; i < size; i++)
		str[i] = alphanum[(uint8_t)str[i] % (sizeof(alphanum) - 1)];
	str[size] = '\0';
}

char rand_char(void)
{
	char s[2];

	rand_str(s, sizeof(s));
	return s[0];
}
