/*
 * The SIP front: libre's stack with our transports, and the first request
 * listener after libre's own transaction layer.  It checks every request,
 * answers REGISTER and OPTIONS, refuses methods we do not serve, and lets
 * dialog methods pass on to the call module's session socket.
 */
#include <ctype.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "sip/sip_int.h"

/* Sized for thousands of calls/s: libre's SIP hash tables are chained, and
 * a transaction lives up to 32 s, so ~190k are alive at 6000 calls/s.
 * 16384 buckets meant chains of 12 (bench/cps/PROFILE.md). */
enum { HT_TRANS = 262144 };

/* At a few thousand calls/s the default 208 KiB socket buffer overflowed
 * during bursts (bench/cps saw 16k-28k drops a step); the kernel caps this
 * at net.core.rmem_max. */
enum { UDP_BUFFER = 4 * 1024 * 1024 };

static const char allow[] =
	"Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO\r\n";

static bool method_is(const struct sip_msg *msg, const char *m)
{
	return !pl_strcmp(&msg->met, m);
}

/* A datagram is a whole message, so one whose header section lacks the
 * blank line (RFC 4475's baddn.dat as archived) is ended here; the decoder
 * would otherwise wait for a line that cannot come and drop it unanswered.
 * Then the checks answer it like any other request.  Runs before libre's
 * decoder on every datagram of the SIP socket; STUN starts with a zero. */
static bool udp_recv_helper(struct sa *src, struct mbuf *mb, void *arg)
{
	const uint8_t *p = mbuf_buf(mb);
	size_t n = mbuf_get_left(mb), pos = mb->pos;
	(void)src;
	(void)arg;

	if (n < 4 || !isalpha(p[0]) || p[n - 2] != '\r' || p[n - 1] != '\n' ||
	    (p[n - 4] == '\r' && p[n - 3] == '\n'))
		return false;
	for (size_t i = 0; i + 4 <= n; i++) {
		if (p[i] == '\r' && !memcmp(p + i, "\r\n\r\n", 4))
			return false;
	}
	mb->pos = mb->end;
	(void)mbuf_write_str(mb, "\r\n");
	mb->pos = pos;
	return false;
}

static bool request_handler(const struct sip_msg *msg, void *arg)
{
	static const char *known[] = {
		"SUBSCRIBE", "NOTIFY", "PUBLISH", "MESSAGE", "PRACK", "UPDATE",
		"REFER",
	};
	struct sipd *sd = arg;
	const char *reason = NULL;
	char hdrs[320];
	uint16_t scode;

	/* A connection over its address's cap, or being closed. */
	if (tcpguard_msg(sd->tcp, msg))
		return true;

	/* libre does not hand out its transport socket; the first request
	 * over UDP (our own probe at start-up) carries it. */
	if (!sd->udp_tuned && msg->tp == SIP_TRANSP_UDP && msg->sock) {
		sd->udp_tuned = true;
		if (udp_sockbuf_set(msg->sock, UDP_BUFFER))
			log_warn("sip: cannot raise the UDP socket buffers");
		if (udp_register_helper(&sd->uh, msg->sock, 0, NULL,
					udp_recv_helper, sd))
			log_warn("sip: cannot watch the UDP socket");
	}

	/* Floods first: the cheapest refusal. */
	if (!pl_isset(&msg->to.tag)) {
		int c = method_is(msg, "REGISTER") ? LIMIT_REGISTER :
			method_is(msg, "INVITE") ? LIMIT_INVITE :
			method_is(msg, "OPTIONS") ? LIMIT_OPTIONS : -1;
		if (c >= 0 && !limit_allow(sd->limit, &msg->src,
					   (enum limit_class)c)) {
			if (!sd->cf.flood_drop)
				(void)sip_replyf(sd->sip, msg, 503,
						 "Service Unavailable",
						 "Retry-After: 5\r\n"
						 "Content-Length: 0\r\n\r\n");
			return true;
		}
	}

	scode = sipcheck_request(msg, sd->cf.max_msg_size, &reason, hdrs,
				 sizeof(hdrs));
	if (scode == 0xffff)
		return true;
	if (scode) {
		log_msg(LOG_INFO, NULL, "sip: %r from %J refused: %u %s",
			&msg->met, &msg->src, scode, reason);
		if (!method_is(msg, "ACK"))
			(void)sip_replyf(sd->sip, msg, scode, reason,
					 "%s%sContent-Length: 0\r\n\r\n",
					 hdrs, scode == 415 ? "Accept: "
					 "application/sdp\r\n" : "");
		return true;
	}

	if (method_is(msg, "REGISTER")) {
		registrar_handle(sd->reg, msg);
		return true;
	}
	if (method_is(msg, "OPTIONS")) {
		/* Keep-alives and the RFC 4475 probes: we are the addressed
		 * element, so Max-Forwards: 0 is still answered. */
		(void)sip_replyf(sd->sip, msg, 200, "OK",
				 "%sAccept: application/sdp\r\n"
				 "Content-Length: 0\r\n\r\n", allow);
		return true;
	}
	if (method_is(msg, "INVITE") || method_is(msg, "ACK") ||
	    method_is(msg, "BYE") || method_is(msg, "CANCEL") ||
	    method_is(msg, "INFO"))
		return false;
	if (method_is(msg, "REFER") && pl_isset(&msg->to.tag))
		return false; /* in-dialog: the session answers it */

	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		if (method_is(msg, known[i])) {
			(void)sip_replyf(sd->sip, msg, 405,
					 "Method Not Allowed",
					 "%sContent-Length: 0\r\n\r\n", allow);
			return true;
		}
	}
	(void)sip_replyf(sd->sip, msg, 501, "Not Implemented",
			 "%sContent-Length: 0\r\n\r\n", allow);
	return true;
}

static void probe_done(void *arg)
{
	struct sipd *sd = arg;
	sd->probe = mem_deref(sd->probe);
}

/* Send ourselves one OPTIONS so the UDP socket is tuned before load. */
static void probe_send(struct sipd *sd)
{
	struct sa la;
	struct mbuf *mb;

	sa_set_str(&la, sa_af(&sd->cf.sip_udp) == AF_INET6 ? "::1" :
		   "127.0.0.1", 0);
	if (udp_listen(&sd->probe, &la, NULL, NULL))
		return;
	mb = mbuf_alloc(512);
	if (!mb)
		return;
	(void)udp_local_get(sd->probe, &la);
	(void)mbuf_printf(mb, "OPTIONS sip:laoyou@%J SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP %J;branch=z9hG4bK%08x;rport\r\n"
			  "From: <sip:probe@%J>;tag=%08x\r\n"
			  "To: <sip:laoyou@%J>\r\nCall-ID: probe-%08x\r\n"
			  "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
			  "Content-Length: 0\r\n\r\n", &sd->cf.sip_udp, &la,
			  rand_u32(), &la, rand_u32(), &sd->cf.sip_udp,
			  rand_u32());
	mb->pos = 0;
	(void)udp_send(sd->probe, &sd->cf.sip_udp, mb);
	mem_deref(mb);
	tmr_start(&sd->tmr_probe, 1000, probe_done, sd);
}

static void destructor(void *arg)
{
	struct sipd *sd = arg;

	tmr_cancel(&sd->tmr_probe);
	mem_deref(sd->tcp);
	mem_deref(sd->probe);
	/* before the socket goes with the stack: it would free the helper */
	mem_deref(sd->uh);
	mem_deref(sd->lsnr);
	mem_deref(sd->reg);
	mem_deref(sd->auth);
	mem_deref(sd->limit);
	if (sd->sip)
		sip_close(sd->sip, true);
	mem_deref(sd->sip);
	mem_deref(sd->st);
}

int sipd_alloc(struct sipd **sp, const struct conf *cf, struct store *st)
{
	struct sipd *sd;
	int err;

	if (!sp || !cf || !st)
		return EINVAL;

	sd = mem_zalloc(sizeof(*sd), destructor);
	if (!sd)
		return ENOMEM;
	sd->cf = *cf;
	sd->st = mem_ref(st);
	err = limit_alloc(&sd->limit, cf);
	if (err)
		goto out;

	err = sip_alloc(&sd->sip, NULL, HT_TRANS, HT_TRANS, HT_TRANS,
			"laoyou/" LAOYOU_VERSION, NULL, NULL);
	if (err)
		goto out;

	if (sa_isset(&cf->sip_udp, SA_ADDR)) {
		err = sip_transp_add(sd->sip, SIP_TRANSP_UDP, &cf->sip_udp);
		if (err) {
			log_error("sip: cannot listen on udp %J: %m",
				  &cf->sip_udp, err);
			goto out;
		}
	}
	if (sa_isset(&cf->sip_tcp, SA_ADDR)) {
		struct sa la;

		err = sip_transp_add(sd->sip, SIP_TRANSP_TCP, &cf->sip_tcp);
		if (err) {
			log_error("sip: cannot listen on tcp %J: %m",
				  &cf->sip_tcp, err);
			goto out;
		}
		err = sip_transp_laddr(sd->sip, &la, SIP_TRANSP_TCP,
				       &cf->sip_tcp);
		if (!err)
			err = tcpguard_alloc(&sd->tcp, sd, &la);
		if (err)
			goto out;
	}

	err = auth_alloc(&sd->auth, cf);
	if (err)
		goto out;
	err = registrar_alloc(&sd->reg, sd);
	if (err)
		goto out;
	err = sip_listen(&sd->lsnr, sd->sip, true, request_handler, sd);
	if (!err && sa_isset(&cf->sip_udp, SA_ADDR))
		probe_send(sd);

 out:
	if (err)
		mem_deref(sd);
	else
		*sp = sd;
	return err;
}

struct sip *sipd_stack(const struct sipd *s)
{
	return s->sip;
}

void sipd_reconf(struct sipd *s, const struct conf *cf)
{
	/* Listen addresses and the database need a restart; the rest is
	 * read on every request. */
	struct sa udp = s->cf.sip_udp, tcp = s->cf.sip_tcp;
	char db[sizeof(s->cf.db)];

	str_ncpy(db, s->cf.db, sizeof(db));
	s->cf = *cf;
	s->cf.sip_udp = udp;
	s->cf.sip_tcp = tcp;
	str_ncpy(s->cf.db, db, sizeof(s->cf.db));
	auth_reconf(s->auth, cf);
	limit_reconf(s->limit, cf);
	tcpguard_reconf(s->tcp, cf);
}

int sipd_authenticate(struct sipd *s, const struct sip_msg *msg,
		      struct store_account *acc)
{
	char src[64];

	/* An IP-authenticated trunk is known by its exact source; a request
	 * that carries credentials is a login, so skip that look-up. */
	if (!sip_msg_hdr(msg, SIP_HDR_PROXY_AUTHORIZATION) &&
	    !sip_msg_hdr(msg, SIP_HDR_AUTHORIZATION)) {
		re_snprintf(src, sizeof(src), "%J", &msg->src);
		if (!store_account_by_addr(s->st, src, acc) &&
		    !strcmp(acc->kind, "trunk"))
			return 0;
	}

	return auth_request(s->auth, s->sip, s->st, msg, acc);
}

uint32_t sipd_contacts(struct sipd *s, const char *user, sipd_contact_h *h,
		       void *arg)
{
	return registrar_contacts(s->reg, user, h, arg);
}

uint32_t sipd_registrations(const struct sipd *s)
{
	return registrar_count(s->reg);
}

uint32_t sipd_bans(const struct sipd *s)
{
	return auth_bans(s->auth);
}

void sipd_tcp_stats(const struct sipd *s, uint32_t *conns, uint64_t *refused)
{
	if (conns)
		*conns = tcpguard_count(s->tcp);
	if (refused)
		*refused = tcpguard_refused(s->tcp);
}
