#include <re.h>
#include "sip/sip_int.h"
#include "unit.h"

static uint16_t check_text(const char *text, const char **reason, char *hdrs,
			   size_t sz)
{
	struct mbuf *mb = mbuf_alloc(strlen(text));
	struct sip_msg *msg = NULL;
	uint16_t code = 0xfffe;

	mbuf_write_str(mb, text);
	mb->pos = 0;
	if (!sip_msg_decode(&msg, mb)) {
		msg->tp = SIP_TRANSP_UDP;
		code = sipcheck_request(msg, 16384, reason, hdrs, sz);
	}
	mem_deref(msg);
	mem_deref(mb);
	return code;
}

#define HDRS "Via: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\n" \
	"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c1\r\n"

static void verdicts(void)
{
	const struct { const char *msg; uint16_t want; } cases[] = {
		{"OPTIONS sip:x SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\n"
		 "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", 0},
		{"OPTIONS sip:x SIP/2.0\r\n" HDRS "CSeq: 1 INVITE\r\n"
		 "Content-Length: 0\r\n\r\n", 400},
		{"OPTIONS sip:x SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\n"
		 "Content-Length: 9\r\n\r\nabc", 400},
		{"OPTIONS sip:x SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\n"
		 "Content-Length: -1\r\n\r\n", 400},
		{"OPTIONS sip:x SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\n"
		 "Max-Forwards: 300\r\n\r\n", 400},
		{"OPTIONS sip:x SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\n"
		 "Call-ID: c2\r\n\r\n", 400},
		{"OPTIONS sip:x SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\n"
		 "Require: 100rel\r\n\r\n", 420},
		{"OPTIONS mailto:x SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\n\r\n",
		 416},
		{"OPTIONS sip:x SIP/2.0\r\n" HDRS "CSeq: 99999999999 OPTIONS"
		 "\r\n\r\n", 400},
		{"OPTIONS sip:x SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\n"
		 "To: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
		 0xffff}, /* no Via: nowhere to answer */
		{"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9"
		 "\r\nFrom: <sip:a@x>;tag=1\r\nCSeq: 1 OPTIONS\r\n\r\n",
		 400}, /* no To, no Call-ID */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *reason = NULL;
		char hdrs[256];
		uint16_t got = check_text(cases[i].msg, &reason, hdrs,
					  sizeof(hdrs));
		if (got != cases[i].want) {
			fprintf(stderr, "  case %zu: got %u want %u\n", i, got,
				cases[i].want);
			unit_failed_checks++;
		}
		if (got == 420)
			CHECK(strstr(hdrs, "Unsupported: 100rel") != NULL);
	}
}

static void trailing_octets_are_cut(void)
{
	const char *text = "OPTIONS sip:x SIP/2.0\r\n" HDRS
		"CSeq: 1 OPTIONS\r\nContent-Length: 3\r\n\r\nabcINVITE junk";
	struct mbuf *mb = mbuf_alloc(strlen(text));
	struct sip_msg *msg = NULL;
	const char *reason;
	char hdrs[64];

	mbuf_write_str(mb, text);
	mb->pos = 0;
	CHECK_EQ(sip_msg_decode(&msg, mb), 0);
	CHECK_EQ(sipcheck_request(msg, 16384, &reason, hdrs, sizeof(hdrs)), 0);
	CHECK_EQ(mbuf_get_left(msg->mb), 3);
	mem_deref(msg);
	mem_deref(mb);
}

const struct unit_case check_cases[] = {
	{"verdicts", verdicts},
	{"trailing_octets_are_cut", trailing_octets_are_cut},
	{NULL, NULL},
};
