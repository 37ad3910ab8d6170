/*
 * SDP offer/answer rewrite (src/media/sdp.c) as the B2BUA does it: parse
 * the peer's body, intersect the codecs with the other side's, and write
 * our own copy with the relay's address (call/leg.c, leg_sdp_for).
 *
 * Beyond memory safety it checks what the other leg relies on: the SDP we
 * write must read back with our own parser to the same stream (address,
 * codecs, telephone-event, direction, m-line count).  A body we cannot
 * read ourselves would be sent on to a phone.
 */
#include "fuzz.h"
#include <string.h>
#include "media/media.h"

static struct msdp other;        /* the other leg's offer */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char offer[] =
		"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
		"c=IN IP4 10.0.0.1\r\nt=0 0\r\n"
		"m=audio 4000 RTP/AVP 8 0 101\r\n"
		"a=rtpmap:101 telephone-event/8000\r\n";
	struct pl pl;
	(void)argc; (void)argv;

	fuzz_quiet();
	pl_set_str(&pl, offer);
	if (msdp_parse(&other, &pl))
		abort();
	return 0;
}

/* Our copy of s with the relay's address, read back.  The call module
 * writes one only for an audio stream with a codec left (leg.c, route.c). */
static void rewrite(const struct msdp *s, const char *ip, uint16_t port)
{
	struct msdp ours = *s, back;
	struct mbuf *mb = NULL;
	struct pl pl;
	int err;

	if (s->audio_idx < 0 || !s->ncodecs)
		return;

	(void)sa_set_str(&ours.addr, ip, port);
	ours.dir = msdp_dir_reverse(s->dir);
	err = msdp_encode(&mb, &ours, 0x123456789abcULL, 7);
	if (err == ENOMEM)
		return;
	FUZZ_CHECK(err == 0);

	pl.p = (const char *)mbuf_buf(mb);
	pl.l = mbuf_get_left(mb);
	err = msdp_parse(&back, &pl);
	if (err) {
		re_fprintf(stderr, "our SDP does not read back (%d):\n%b\n",
			   err, pl.p, pl.l);
		abort();
	}
	FUZZ_CHECK(back.nmlines == ours.nmlines);
	FUZZ_CHECK(back.audio_idx == ours.audio_idx);
	if (ours.audio_idx >= 0) {
		FUZZ_CHECK(sa_cmp(&back.addr, &ours.addr, SA_ALL));
		FUZZ_CHECK(back.dir == ours.dir);
		FUZZ_CHECK(back.te_pt == ours.te_pt);
		FUZZ_CHECK(back.ptime == ours.ptime);
		FUZZ_CHECK(back.ncodecs == ours.ncodecs);
		for (int i = 0; i < ours.ncodecs; i++) {
			FUZZ_CHECK(back.codecs[i].pt == ours.codecs[i].pt);
			FUZZ_CHECK(!strcmp(back.codecs[i].name,
					   ours.codecs[i].name));
		}
	}
	mem_deref(mb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pl body = {(const char *)data, size};
	struct msdp s, ans;

	if (msdp_parse(&s, &body))
		return 0;

	FUZZ_CHECK(s.ncodecs <= MSDP_MAX_CODECS);
	FUZZ_CHECK(s.nmlines <= MSDP_MAX_MLINES);
	FUZZ_CHECK(s.audio_idx < (int)s.nmlines);
	FUZZ_CHECK(s.te_pt >= -1 && s.te_pt <= 127);
	for (int i = 0; i < s.ncodecs; i++) {
		FUZZ_CHECK(s.codecs[i].pt <= 127);
		FUZZ_CHECK(!strcmp(s.codecs[i].name, "PCMU") ||
			   !strcmp(s.codecs[i].name, "PCMA"));
	}
	if (s.audio_idx >= 0)
		FUZZ_CHECK(sa_port(&s.addr) != 0);

	/* Offer from A: our offer to B; answer from B: our answer to A. */
	rewrite(&s, "127.0.0.1", 20000);
	rewrite(&s, "::1", 20002);

	ans = other;
	msdp_intersect(&ans, &other, &s);
	FUZZ_CHECK(ans.ncodecs <= s.ncodecs && ans.ncodecs <= other.ncodecs);
	rewrite(&ans, "127.0.0.1", 20004);
	ans = s;
	msdp_intersect(&ans, &s, &other);
	FUZZ_CHECK(ans.ncodecs <= s.ncodecs);
	rewrite(&ans, "127.0.0.1", 20006);
	(void)msdp_dir_name(s.dir);
	return 0;
}
