#include <re.h>
#include "media/media.h"
#include "unit.h"

static int parse(struct msdp *s, const char *text)
{
	struct pl pl;
	pl_set_str(&pl, text);
	return msdp_parse(s, &pl);
}

static void static_types_without_rtpmap(void)
{
	struct msdp s;
	/* No a=rtpmap, and no CRLF after the last line: both legal. */
	CHECK_EQ(parse(&s, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
		       "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8"), 0);
	CHECK_EQ(s.audio_idx, 0);
	CHECK_EQ(s.ncodecs, 2);
	CHECK_EQ(s.codecs[0].pt, 0);
	CHECK_STR(s.codecs[1].name, "PCMA");
	CHECK_EQ(sa_port(&s.addr), 4000);
	CHECK_EQ(s.dir, MDIR_SENDRECV);
	CHECK_EQ(s.te_pt, -1);
}

static void dynamic_and_telephone_event(void)
{
	struct msdp s;
	CHECK_EQ(parse(&s, "v=0\nc=IN IP4 192.168.1.5\nt=0 0\n"
		       "m=audio 5004 RTP/AVP 18 96 101\n"
		       "a=rtpmap:18 G729/8000\na=rtpmap:96 PCMU/8000\n"
		       "a=rtpmap:101 telephone-event/8000\na=sendonly\n"
		       "a=ptime:20\n"), 0);
	CHECK_EQ(s.ncodecs, 1);
	CHECK_EQ(s.codecs[0].pt, 96);
	CHECK_EQ(s.te_pt, 101);
	CHECK_EQ(s.dir, MDIR_SENDONLY);
	CHECK_EQ(s.ptime, 20);
}

static void media_level_connection_and_other_mlines(void)
{
	struct msdp s;
	struct mbuf *mb = NULL;
	CHECK_EQ(parse(&s, "v=0\r\nc=IN IP4 1.1.1.1\r\nt=0 0\r\n"
		       "m=video 6000 RTP/AVP 96\r\nc=IN IP4 2.2.2.2\r\n"
		       "m=audio 7000 RTP/AVP 8\r\nc=IN IP4 3.3.3.3\r\n"
		       "a=inactive\r\n"), 0);
	CHECK_EQ(s.audio_idx, 1);
	CHECK_EQ(s.nmlines, 2);
	CHECK(sa_cmp(&s.addr, &(struct sa){0}, SA_ADDR) == false);
	char ip[64];
	re_snprintf(ip, sizeof(ip), "%J", &s.addr);
	CHECK_STR(ip, "3.3.3.3:7000");
	CHECK_EQ(s.dir, MDIR_INACTIVE);

	/* Our copy keeps the m-line count and rejects the video in place. */
	sa_set_str(&s.addr, "127.0.0.1", 20000);
	CHECK_EQ(msdp_encode(&mb, &s, 42, 1), 0);
	char *txt = NULL;
	mbuf_strdup(mb, &txt, mbuf_get_left(mb));
	CHECK(strstr(txt, "m=video 0 RTP/AVP 96\r\n") != NULL);
	CHECK(strstr(txt, "m=audio 20000 RTP/AVP 8\r\n") != NULL);
	CHECK(strstr(txt, "c=IN IP4 127.0.0.1\r\n") != NULL);
	CHECK(strstr(txt, "a=inactive\r\n") != NULL);
	CHECK(strstr(txt, "o=laoyou 42 1 IN IP4 127.0.0.1") != NULL);
	mem_deref(txt);
	mem_deref(mb);
}

static void bad_input(void)
{
	struct msdp s;
	CHECK(parse(&s, "m=audio 4000 RTP/AVP 0\n") != 0);   /* no c= */
	CHECK(parse(&s, "c=IN IP4 nonsense\nm=audio 1 RTP/AVP 0\n") != 0);
	CHECK(parse(&s, "c=IN IP4 1.2.3.4\nm=audio\n") != 0);
	CHECK_EQ(parse(&s, "garbage\n\n\x01\x02"), 0);
	CHECK_EQ(s.audio_idx, -1);
	CHECK_EQ(parse(&s, "c=IN IP4 1.2.3.4\nm=audio 99999 RTP/AVP 0\n"), 0);
	CHECK_EQ(s.audio_idx, -1);  /* port out of range: not usable */
	char many[2048] = "c=IN IP4 1.2.3.4\n";
	for (int i = 0; i < 12; i++)
		strcat(many, "m=audio 4000 RTP/AVP 0\n");
	CHECK_EQ(parse(&s, many), EOVERFLOW);
}

static void intersect_and_direction(void)
{
	struct msdp offer, answer, out;
	parse(&offer, "c=IN IP4 1.1.1.1\nm=audio 1000 RTP/AVP 8 0 101\n"
	      "a=rtpmap:101 telephone-event/8000\n");
	parse(&answer, "c=IN IP4 2.2.2.2\nm=audio 2000 RTP/AVP 0 101\n"
	      "a=rtpmap:101 telephone-event/8000\n");
	out = offer;
	msdp_intersect(&out, &offer, &answer);
	CHECK_EQ(out.ncodecs, 1);
	CHECK_EQ(out.codecs[0].pt, 0);
	CHECK_EQ(out.te_pt, 101);
	CHECK_EQ(msdp_dir_reverse(MDIR_SENDONLY), MDIR_RECVONLY);
	CHECK_EQ(msdp_dir_reverse(MDIR_SENDRECV), MDIR_SENDRECV);
	CHECK_STR(msdp_dir_name(MDIR_RECVONLY), "recvonly");
}

const struct unit_case sdp_cases[] = {
	{"static_types_without_rtpmap", static_types_without_rtpmap},
	{"dynamic_and_telephone_event", dynamic_and_telephone_event},
	{"media_level_connection_and_other_mlines",
	 media_level_connection_and_other_mlines},
	{"bad_input", bad_input},
	{"intersect_and_direction", intersect_and_direction},
	{NULL, NULL},
};
