/*
 * SIP message path: libre's sip_msg_decode on the raw bytes, then what
 * laoyou does with a request before any module sees it (sipcheck_request,
 * src/sip/check.c), then the parsing the registrar and the call module do
 * on a request that passed: Contact addresses and their expires, digest
 * credentials, an SDP body.
 *
 * Each input is decoded twice, as a UDP datagram and as a TCP message:
 * the checks differ (Content-Length is mandatory over TCP) and they cut the
 * message short in place, so the second pass needs a fresh decode.
 */
#include "fuzz.h"
#include <string.h>
#include "sip/sip_int.h"
#include "media/media.h"

enum { MAX_MSG = 16384 };     /* conf.c's default max_message_size */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_quiet();
	return 0;
}

static bool contact_handler(const struct sip_hdr *hdr,
			    const struct sip_msg *msg, void *arg)
{
	struct sip_addr a;
	struct pl ev;
	(void)msg; (void)arg;

	/* As registrar.c reads a binding. */
	if (sip_addr_decode(&a, &hdr->val))
		return false;
	if (!msg_param_decode(&a.params, "expires", &ev))
		(void)pl_u32(&ev);
	(void)pl_strcmp(&a.auri, "*");
	return false;
}

static bool cred_handler(const struct sip_hdr *hdr, const struct sip_msg *msg,
			 void *arg)
{
	struct httpauth_digest_resp r;
	(void)msg; (void)arg;

	(void)httpauth_digest_response_decode(&r, &hdr->val);
	return false;
}

static void one(const uint8_t *data, size_t size, enum sip_transp tp)
{
	struct mbuf *mb = mbuf_alloc(size ? size : 1);
	struct sip_msg *msg = NULL;
	const char *reason = NULL;
	char hdrs[256];
	uint16_t scode;

	if (!mb)
		return;
	(void)mbuf_write_mem(mb, data, size);
	mb->pos = 0;
	if (sip_msg_decode(&msg, mb) || !msg->req)
		goto out;

	msg->tp = tp;
	(void)sa_set_str(&msg->src, "192.0.2.1", 5060);
	memset(hdrs, 0x55, sizeof(hdrs));
	scode = sipcheck_request(msg, MAX_MSG, &reason, hdrs, sizeof(hdrs));

	/* What sipd.c relies on when it answers. */
	FUZZ_CHECK(memchr(hdrs, '\0', sizeof(hdrs)) != NULL);
	FUZZ_CHECK(msg->mb->pos <= msg->mb->end &&
		   msg->mb->end <= msg->mb->size);
	if (scode == 0xffff)
		goto out;
	if (scode) {
		FUZZ_CHECK(scode >= 400 && scode < 600);
		FUZZ_CHECK(reason != NULL && *reason);
		FUZZ_CHECK(scode == 420 || !hdrs[0]);
		goto out;
	}
	FUZZ_CHECK(!hdrs[0]);
	/* A request that passed has a Via to answer and a matching CSeq. */
	FUZZ_CHECK(pl_isset(&msg->via.sentby));
	FUZZ_CHECK(!pl_cmp(&msg->cseq.met, &msg->met));

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_handler,
				NULL);
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_AUTHORIZATION,
				cred_handler, NULL);
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_PROXY_AUTHORIZATION,
				cred_handler, NULL);

	/* As leg.c takes an offer from the body. */
	if (mbuf_get_left(msg->mb) &&
	    msg_ctype_cmp(&msg->ctyp, "application", "sdp")) {
		struct pl body = {(const char *)mbuf_buf(msg->mb),
				  mbuf_get_left(msg->mb)};
		struct msdp s;
		(void)msdp_parse(&s, &body);
	}
 out:
	mem_deref(msg);
	mem_deref(mb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, SIP_TRANSP_UDP);
	one(data, size, SIP_TRANSP_TCP);
	return 0;
}
