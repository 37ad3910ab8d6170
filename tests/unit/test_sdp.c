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

/* What baresip 1.0.0 offers with fakevideo and VP8. */
static const char baresip_offer[] =
	"v=0\r\no=- 1471398811 1591169524 IN IP4 192.0.2.2\r\ns=-\r\n"
	"c=IN IP4 192.0.2.2\r\nt=0 0\r\na=tool:baresip 1.0.0\r\n"
	"m=audio 34074 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
	"a=sendrecv\r\na=label:1\r\na=rtcp-rsize\r\n"
	"a=ssrc:4030498101 cname:sip:a@127.0.0.1:35060\r\na=ptime:20\r\n"
	"m=video 34096 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"
	"a=fmtp:96 max-fs=3600\r\na=sendrecv\r\na=label:2\r\n"
	"a=rtcp-rsize\r\na=ssrc:4272458463 cname:sip:a@127.0.0.1:35060\r\n"
	"a=framerate:15.00\r\na=rtcp-fb:* nack pli\r\na=content:main\r\n";

static char *encode(const struct msdp *s)
{
	struct mbuf *mb = NULL;
	char *txt = NULL;

	if (msdp_encode(&mb, s, 7, 2))
		return NULL;
	mbuf_strdup(mb, &txt, mbuf_get_left(mb));
	mem_deref(mb);
	return txt;
}

static void video_stream_kept_and_passed_through(void)
{
	struct msdp s;
	char ip[64], *txt;

	CHECK_EQ(parse(&s, baresip_offer), 0);
	CHECK_EQ(s.audio_idx, 0);
	CHECK_EQ(s.video_idx, 1);
	CHECK(msdp_has_video(&s));
	CHECK_EQ(s.video.ncodecs, 1);
	CHECK_EQ(s.video.codecs[0].pt, 96);
	CHECK_STR(s.video.codecs[0].name, "VP8");
	CHECK_EQ(s.video.codecs[0].rate, 90000);
	CHECK_STR(s.video.codecs[0].fmtp, "max-fs=3600");
	CHECK_EQ(s.video.nfb, 1);
	CHECK_STR(s.video.fb[0], "* nack pli");
	CHECK_STR(s.video.framerate, "15.00");
	CHECK_EQ(s.video.dir, MDIR_SENDRECV);
	CHECK(!s.video.avpf);
	re_snprintf(ip, sizeof(ip), "%J", &s.video.addr);
	CHECK_STR(ip, "192.0.2.2:34096");
	/* The audio is read as before. */
	CHECK_EQ(s.ncodecs, 1);
	CHECK_EQ(s.te_pt, 101);

	/* Ours: the relay's ports, the formats and their attributes, none
	 * of the peer's own (ssrc, label) and the direction we choose. */
	sa_set_str(&s.addr, "127.0.0.1", 20000);
	sa_set_str(&s.video.addr, "127.0.0.1", 20002);
	s.video.dir = MDIR_RECVONLY;
	txt = encode(&s);
	CHECK(txt && strstr(txt, "m=audio 20000 RTP/AVP 0 101\r\n"));
	CHECK(txt && strstr(txt, "m=video 20002 RTP/AVP 96\r\n"
			    "a=rtpmap:96 VP8/90000\r\n"
			    "a=fmtp:96 max-fs=3600\r\n"
			    "a=rtcp-fb:* nack pli\r\n"
			    "a=framerate:15.00\r\n"
			    "a=recvonly\r\n"));
	CHECK(txt && !strstr(txt, "ssrc") && !strstr(txt, "label"));
	/* A read-back of our own SDP gives the same stream. */
	struct msdp back;
	struct pl pl;
	pl_set_str(&pl, txt ? txt : "");
	CHECK_EQ(msdp_parse(&back, &pl), 0);
	CHECK_EQ(back.video_idx, 1);
	CHECK_EQ(sa_port(&back.video.addr), 20002);
	CHECK_STR(back.video.codecs[0].fmtp, "max-fs=3600");
	CHECK_EQ(back.video.dir, MDIR_RECVONLY);
	mem_deref(txt);

	/* No video format in common, or no ports: rejected in place. */
	s.video.ncodecs = 0;
	txt = encode(&s);
	CHECK(txt && strstr(txt, "m=video 0 RTP/AVP 96\r\n"));
	CHECK(txt && !strstr(txt, "VP8"));
	mem_deref(txt);
	s.video.ncodecs = 1;
	sa_set_port(&s.video.addr, 0);
	txt = encode(&s);
	CHECK(txt && strstr(txt, "m=video 0 RTP/AVP 96\r\n"));
	mem_deref(txt);
}

static void video_avpf_order_static_and_media_connection(void)
{
	struct msdp s;
	char ip[64], *txt;

	/* Formats stay in m-line order whatever order the rtpmaps come in;
	 * a static type needs none; feedback for an unlisted type goes. */
	CHECK_EQ(parse(&s, "v=0\nc=IN IP4 1.1.1.1\nt=0 0\na=sendonly\n"
		       "m=audio 4000 RTP/AVP 8\n"
		       "m=video 6000 RTP/AVPF 100 34 97 98\nc=IN IP4 2.2.2.2\n"
		       "a=rtpmap:97 VP8/90000\n"
		       "a=rtpmap:100 H264/90000\n"
		       "a=fmtp:100 profile-level-id=42e01f;"
		       "packetization-mode=1\n"
		       "a=rtcp-fb:100 ccm fir\na=rtcp-fb:99 nack\n"
		       "a=rtcp-fb:97 nack pli\n"), 0);
	CHECK_EQ(s.dir, MDIR_SENDONLY);
	CHECK_EQ(s.video.dir, MDIR_SENDONLY);  /* session level */
	CHECK(s.video.avpf);
	CHECK_EQ(s.video.ncodecs, 3);          /* 98 has no rtpmap */
	CHECK_EQ(s.video.codecs[0].pt, 100);
	CHECK_STR(s.video.codecs[0].name, "H264");
	CHECK_STR(s.video.codecs[0].fmtp,
		  "profile-level-id=42e01f;packetization-mode=1");
	CHECK_EQ(s.video.codecs[1].pt, 34);
	CHECK_STR(s.video.codecs[1].name, "H263");
	CHECK_EQ(s.video.codecs[2].pt, 97);
	CHECK_EQ(s.video.nfb, 2);
	CHECK_STR(s.video.fb[0], "100 ccm fir");
	CHECK_STR(s.video.fb[1], "97 nack pli");
	re_snprintf(ip, sizeof(ip), "%J", &s.video.addr);
	CHECK_STR(ip, "2.2.2.2:6000");
	re_snprintf(ip, sizeof(ip), "%J", &s.addr);
	CHECK_STR(ip, "1.1.1.1:4000");

	/* Only the first format offered to the callee: its feedback only. */
	s.video.ncodecs = 1;
	txt = encode(&s);
	CHECK(txt && strstr(txt, "m=video 6000 RTP/AVPF 100\r\n"));
	CHECK(txt && strstr(txt, "a=rtcp-fb:100 ccm fir\r\n"));
	CHECK(txt && !strstr(txt, "97"));
	mem_deref(txt);
}

static void video_pick_by_name_and_renumber(void)
{
	struct msdp to, other;
	struct msdp_video v;
	uint8_t in[8], out[8];

	parse(&to, "c=IN IP4 1.1.1.1\nm=audio 1000 RTP/AVP 0\n"
	      "m=video 1002 RTP/AVP 96 100\na=rtpmap:96 VP8/90000\n"
	      "a=rtpmap:100 H264/90000\na=fmtp:100 packetization-mode=0\n");
	parse(&other, "c=IN IP4 2.2.2.2\nm=audio 2000 RTP/AVP 0\n"
	      "m=video 2002 RTP/AVP 102 97 31\na=rtpmap:102 h264/90000\n"
	      "a=fmtp:102 packetization-mode=1\na=rtpmap:97 VP8/90000\n"
	      "a=fmtp:97 max-fs=8160\na=rtcp-fb:97 nack pli\n"
	      "a=rtcp-fb:* ccm fir\na=rtcp-fb:102 goog-remb\n"
	      "a=framerate:30\n");
	msdp_video_pick(&v, &to.video, &other.video);
	/* to's formats and numbers, the receiver's parameters. */
	CHECK_EQ(v.ncodecs, 2);
	CHECK_EQ(v.codecs[0].pt, 96);
	CHECK_STR(v.codecs[0].fmtp, "max-fs=8160");
	CHECK_EQ(v.codecs[1].pt, 100);
	CHECK_STR(v.codecs[1].fmtp, "packetization-mode=1");
	CHECK_EQ(v.nfb, 3);
	CHECK_STR(v.fb[0], "96 nack pli");
	CHECK_STR(v.fb[1], "* ccm fir");
	CHECK_STR(v.fb[2], "100 goog-remb");
	CHECK_STR(v.framerate, "30");
	CHECK_EQ(sa_port(&v.addr), 1002);

	/* Packets from other's end carry its numbers: renumbered for to. */
	size_t n = msdp_video_ptmap(&other.video, &to.video, in, out, 8);
	CHECK_EQ(n, 2);
	CHECK_EQ(in[0], 102);
	CHECK_EQ(out[0], 100);
	CHECK_EQ(in[1], 97);
	CHECK_EQ(out[1], 96);
	CHECK_EQ(msdp_video_ptmap(&to.video, &to.video, in, out, 8), 0);

	/* Nothing in common (a different clock rate is another format). */
	parse(&other, "c=IN IP4 2.2.2.2\nm=audio 2000 RTP/AVP 0\n"
	      "m=video 2002 RTP/AVP 96\na=rtpmap:96 VP8/48000\n");
	msdp_video_pick(&v, &to.video, &other.video);
	CHECK_EQ(v.ncodecs, 0);
	CHECK_EQ(v.nfb, 0);
}

static void video_bad_input(void)
{
	struct msdp s;
	char many[2048], big[400];

	/* A rejected or secure video line is no stream of ours. */
	CHECK_EQ(parse(&s, "c=IN IP4 1.1.1.1\nm=audio 4000 RTP/AVP 0\n"
		       "m=video 0 RTP/AVP 96\na=rtpmap:96 VP8/90000\n"), 0);
	CHECK_EQ(s.video_idx, -1);
	CHECK(!msdp_has_video(&s));
	CHECK_EQ(parse(&s, "c=IN IP4 1.1.1.1\nm=audio 4000 RTP/AVP 0\n"
		       "m=video 5000 RTP/SAVP 96\na=rtpmap:96 VP8/90000\n"), 0);
	CHECK_EQ(s.video_idx, -1);
	/* Only the first video line is relayed. */
	CHECK_EQ(parse(&s, "c=IN IP4 1.1.1.1\nm=audio 4000 RTP/AVP 0\n"
		       "m=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/90000\n"
		       "m=video 5002 RTP/AVP 97\na=rtpmap:97 VP8/90000\n"), 0);
	CHECK_EQ(s.video_idx, 1);
	CHECK_EQ(s.video.codecs[0].pt, 96);
	CHECK_EQ(s.nmlines, 3);
	/* A video line without any address carries nothing. */
	CHECK_EQ(parse(&s, "m=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/90000\n"),
		 0);
	CHECK(!msdp_has_video(&s));
	/* A bad video c= line is a bad SDP, as for audio. */
	CHECK(parse(&s, "c=IN IP4 1.1.1.1\nm=audio 4000 RTP/AVP 0\n"
		    "m=video 5000 RTP/AVP 96\nc=IN IP4 x\n") != 0);
	/* Control characters are never echoed: the attribute is ignored. */
	CHECK_EQ(parse(&s, "c=IN IP4 1.1.1.1\nm=audio 4000 RTP/AVP 0\n"
		       "m=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/90000\n"
		       "a=fmtp:96 a=1\ra=injected\na=rtcp-fb:* nack\x01\n"), 0);
	CHECK_EQ(s.video.ncodecs, 1);
	CHECK_STR(s.video.codecs[0].fmtp, "");
	CHECK_EQ(s.video.nfb, 0);
	/* Parameters too long to keep whole: the format is dropped rather
	 * than offered with half of them. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	re_snprintf(many, sizeof(many), "c=IN IP4 1.1.1.1\n"
		    "m=audio 4000 RTP/AVP 0\nm=video 5000 RTP/AVP 96 97\n"
		    "a=rtpmap:96 H264/90000\na=fmtp:96 p=%b\n"
		    "a=rtpmap:97 VP8/90000\na=rtcp-fb:96 nack\n", big,
		    (size_t)200);
	CHECK_EQ(parse(&s, many), 0);
	CHECK_EQ(s.video.ncodecs, 1);
	CHECK_STR(s.video.codecs[0].name, "VP8");
	CHECK_EQ(s.video.nfb, 0);
	/* Feedback lines beyond what we keep are left out. */
	strcpy(many, "c=IN IP4 1.1.1.1\nm=audio 4000 RTP/AVP 0\n"
	       "m=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/90000\n");
	for (int i = 0; i < 20; i++)
		strcat(many, "a=rtcp-fb:96 nack\n");
	CHECK_EQ(parse(&s, many), 0);
	CHECK_EQ(s.video.nfb, MSDP_MAX_FB);
	/* A bare rtpmap name or a clock rate of 0 names nothing. */
	CHECK_EQ(parse(&s, "c=IN IP4 1.1.1.1\nm=audio 4000 RTP/AVP 0\n"
		       "m=video 5000 RTP/AVP 96 97\na=rtpmap:96 VP8/0\n"
		       "a=rtpmap:97 VP8\n"), 0);
	CHECK(!msdp_has_video(&s));
}

const struct unit_case sdp_cases[] = {
	{"video_stream_kept_and_passed_through",
	 video_stream_kept_and_passed_through},
	{"video_avpf_order_static_and_media_connection",
	 video_avpf_order_static_and_media_connection},
	{"video_pick_by_name_and_renumber", video_pick_by_name_and_renumber},
	{"video_bad_input", video_bad_input},
	{"static_types_without_rtpmap", static_types_without_rtpmap},
	{"dynamic_and_telephone_event", dynamic_and_telephone_event},
	{"media_level_connection_and_other_mlines",
	 media_level_connection_and_other_mlines},
	{"bad_input", bad_input},
	{"intersect_and_direction", intersect_and_direction},
	{NULL, NULL},
};
