/*
 * sipua -- SIP side of the laoyou IVR benchmark (libre).
 *
 * Spawned by the meter with a SOCK_SEQPACKET control socket on fd 3.
 * One SIP stack on 127.0.0.1:--uac-port, which is an IP-authenticated
 * trunk account in laoyou, so its INVITEs are not challenged.  Each call
 * is an INVITE to sip:HOTLINE@PROXY offering the caller's RTP port with
 * PCMU and telephone-event; the 200 OK is ACKed by libre and laoyou's
 * RTP address from its SDP is reported to the meter.
 *
 * Control protocol (one message per datagram):
 *   meter -> sipua  "CALL <id> <rtpPort>"
 *                   "HANGUP <perSecond>"  BYE every call, paced
 *                   "QUIT"
 *   sipua -> meter  "READY"
 *                   "UP <id> <ip> <port>"        200 OK with laoyou's SDP
 *                   "FAIL <id> <code> <reason>"  setup failed
 *                   "CLOSED <id> <code> <reason>" laoyou ended the call
 *                   "HUNG <n>"                   n BYEs sent, none left
 *                   anything else is a note for the log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <re.h>

struct ucall {
	struct le le;
	struct sipsess *sess;
	int id;
	uint16_t port;
	bool answered;
};

static int ctlfd = 3;
static const char *proxy = "127.0.0.1:5060";
static const char *hotline = "7000";
static int uac_port = 5071;
static bool trace = false;

static struct sip *sip;
static struct sipsess_sock *ssock;
static struct list calls;
static bool quitting = false;
static struct tmr quit_tmr, hang_tmr;
static char target_uri[128], from_uri[128];
static unsigned hang_per_tick, hung;

static void ctl(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	if (send(ctlfd, buf, (size_t)n, MSG_NOSIGNAL) < 0 && !quitting) {
		fprintf(stderr, "sipua: control send: %s\n", strerror(errno));
		re_cancel();
	}
}

/* c= and the first m=audio port of an SDP body */
static int sdp_addr(const struct mbuf *mb, char *ip, size_t ipsz, int *port)
{
	char tmp[4096];
	size_t len = mb ? mbuf_get_left(mb) : 0;
	if (!len)
		return -1;
	if (len >= sizeof tmp)
		len = sizeof tmp - 1;
	memcpy(tmp, mbuf_buf(mb), len);
	tmp[len] = 0;
	ip[0] = 0;
	*port = -1;
	char *save = NULL;
	for (char *l = strtok_r(tmp, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		if (!strncmp(l, "c=IN IP4 ", 9)) {
			size_t k = 0;
			for (const char *q = l + 9; k + 1 < ipsz && ((*q >= '0' && *q <= '9') || *q == '.');
			     q++)
				ip[k++] = *q;
			ip[k] = 0;
		} else if (!strncmp(l, "m=audio ", 8) && *port < 0) {
			*port = atoi(l + 8);
		}
	}
	return ip[0] && *port > 0 && *port < 65536 ? 0 : -1;
}

static struct mbuf *make_sdp(uint16_t port)
{
	struct mbuf *mb = mbuf_alloc(512);
	if (!mb)
		return NULL;
	mbuf_printf(mb,
		    "v=0\r\n"
		    "o=caller %u 1 IN IP4 127.0.0.1\r\n"
		    "s=ivr-bench\r\n"
		    "c=IN IP4 127.0.0.1\r\n"
		    "t=0 0\r\n"
		    "m=audio %u RTP/AVP 0 101\r\n"
		    "a=rtpmap:0 PCMU/8000\r\n"
		    "a=rtpmap:101 telephone-event/8000\r\n"
		    "a=fmtp:101 0-15\r\n"
		    "a=ptime:20\r\n"
		    "a=sendrecv\r\n",
		    port, port);
	mb->pos = 0;
	return mb;
}

static void ucall_destructor(void *arg)
{
	struct ucall *uc = arg;
	list_unlink(&uc->le);
	mem_deref(uc->sess);  /* an established session sends BYE */
}

/* re-INVITE from laoyou: answer with the same SDP */
static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct ucall *uc = arg;
	char ip[64];
	int port;
	if (sdp_addr(msg->mb, ip, sizeof ip, &port) == 0)
		ctl("note: re-INVITE on call %d, laoyou now at %s:%d", uc->id, ip, port);
	*descp = make_sdp(uc->port);
	return *descp ? 0 : ENOMEM;
}

static int answer_h(const struct sip_msg *msg, void *arg)
{
	struct ucall *uc = arg;
	char ip[64];
	int port;
	if (uc->answered)
		return 0;
	if (sdp_addr(msg->mb, ip, sizeof ip, &port) < 0) {
		ctl("FAIL %d %u no usable SDP in the %u answer", uc->id, msg->scode, msg->scode);
		return 0;
	}
	uc->answered = true;
	ctl("UP %d %s %d", uc->id, ip, port);
	return 0;
}

static void progr_h(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

static void estab_h(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct ucall *uc = arg;
	uint16_t scode = msg ? msg->scode : 0;
	char reason[96] = "";
	if (msg && msg->reason.l)
		re_snprintf(reason, sizeof reason, "%r", &msg->reason);
	else if (err)
		re_snprintf(reason, sizeof reason, "%m", err);
	else
		snprintf(reason, sizeof reason, "BYE from laoyou");
	if (!quitting) {
		if (!uc->answered)
			ctl("FAIL %d %u %s", uc->id, scode, reason);
		else
			ctl("CLOSED %d %u %s", uc->id, scode, reason);
	}
	mem_deref(uc);
}

static void conn_h(const struct sip_msg *msg, void *arg)
{
	(void)arg;
	ctl("note: unexpected INVITE from %J", &msg->src);
	(void)sip_treply(NULL, sip, msg, 603, "Decline");
}

static void place_call(int id, uint16_t port)
{
	struct ucall *uc = mem_zalloc(sizeof *uc, ucall_destructor);
	if (!uc) {
		ctl("FAIL %d 0 out of memory", id);
		return;
	}
	uc->id = id;
	uc->port = port;
	list_append(&calls, &uc->le, uc);
	struct mbuf *sdp = make_sdp(port);
	int err = sdp ? sipsess_connect(&uc->sess, ssock, target_uri, NULL, from_uri,
				       "caller", NULL, 0, "application/sdp", sdp,
				       NULL, NULL, false, offer_h, answer_h, progr_h,
				       estab_h, NULL, NULL, close_h, uc,
				       "X-Bench-Call: %d\r\n", id) : ENOMEM;
	mem_deref(sdp);
	if (err) {
		ctl("FAIL %d 0 sipsess_connect: %m", id, err);
		mem_deref(uc);
	}
}

/* BYE hang_per_tick calls every 10 ms until none is left */
static void hang_tick(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < hang_per_tick; i++) {
		struct le *le = list_head(&calls);
		if (!le)
			break;
		struct ucall *uc = le->data;
		hung += uc->answered;
		mem_deref(uc);
	}
	if (list_head(&calls))
		tmr_start(&hang_tmr, 10, hang_tick, NULL);
	else {
		ctl("HUNG %u", hung);
		hung = 0;
	}
}

static void quit_timeout(void *arg)
{
	(void)arg;
	re_cancel();
}

static void do_quit(void)
{
	if (quitting)
		return;
	quitting = true;
	tmr_cancel(&hang_tmr);
	list_flush(&calls);   /* BYE whatever is left */
	/* give the BYE transactions a moment before the stack goes */
	tmr_start(&quit_tmr, 1000, quit_timeout, NULL);
}

static void ctl_h(int flags, void *arg)
{
	(void)flags;
	(void)arg;
	char buf[256];
	for (;;) {
		ssize_t n = recv(ctlfd, buf, sizeof buf - 1, MSG_DONTWAIT);
		if (n == 0) { /* meter gone */
			fd_close(ctlfd);
			do_quit();
			return;
		}
		if (n < 0)
			return;
		buf[n] = 0;
		int id;
		unsigned a;
		if (sscanf(buf, "CALL %d %u", &id, &a) == 2) {
			place_call(id, (uint16_t)a);
		} else if (sscanf(buf, "HANGUP %u", &a) == 1) {
			hang_per_tick = a / 100 ? a / 100 : 1;
			hung = 0;
			tmr_start(&hang_tmr, 0, hang_tick, NULL);
		} else if (!strcmp(buf, "QUIT")) {
			fd_close(ctlfd);
			do_quit();
			return;
		}
	}
}

static void trace_h(bool tx, enum sip_transp tp, const struct sa *src,
		    const struct sa *dst, const uint8_t *pkt, size_t len, void *arg)
{
	(void)tp;
	(void)arg;
	re_fprintf(stderr, "----- %s %J -> %J\n%b\n", tx ? "TX" : "RX", src, dst, pkt, len);
}

static void signal_h(int sig)
{
	(void)sig;
	re_cancel();
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--trace")) {
			trace = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "sipua: missing value for %s\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--ctl-fd")) ctlfd = atoi(v);
		else if (!strcmp(a, "--proxy")) proxy = v;
		else if (!strcmp(a, "--uac-port")) uac_port = atoi(v);
		else if (!strcmp(a, "--hotline")) hotline = v;
		else {
			fprintf(stderr, "sipua: unknown option %s\n", a);
			return 2;
		}
	}
	if (getenv("SIPUA_TRACE"))
		trace = true;
	snprintf(target_uri, sizeof target_uri, "sip:%s@%s", hotline, proxy);
	snprintf(from_uri, sizeof from_uri, "sip:caller@127.0.0.1:%d", uac_port);

	int err = libre_init();
	if (err) {
		re_fprintf(stderr, "sipua: libre_init: %m\n", err);
		return 1;
	}
	list_init(&calls);
	tmr_init(&quit_tmr);
	tmr_init(&hang_tmr);
	err = sip_alloc(&sip, NULL, 8192, 8192, 16, "laoyou-ivr-bench", NULL, NULL);
	struct sa laddr;
	sa_set_str(&laddr, "127.0.0.1", (uint16_t)uac_port);
	if (!err)
		err = sip_transp_add(sip, SIP_TRANSP_UDP, &laddr);
	if (!err && trace)
		sip_set_trace_handler(sip, trace_h);
	if (!err)
		err = sipsess_listen(&ssock, sip, 8192, conn_h, NULL);
	if (err) {
		re_fprintf(stderr, "sipua: SIP stack on 127.0.0.1:%d: %m\n", uac_port, err);
		dprintf(ctlfd, "note: cannot set up the SIP stack");
		return 1;
	}
	err = fd_listen(ctlfd, FD_READ, ctl_h, NULL);
	if (err) {
		re_fprintf(stderr, "sipua: fd_listen: %m\n", err);
		return 1;
	}
	ctl("READY");
	re_main(signal_h);

	quitting = true;
	list_flush(&calls);
	mem_deref(ssock);
	sip_close(sip, true);
	mem_deref(sip);
	tmr_cancel(&quit_tmr);
	tmr_cancel(&hang_tmr);
	libre_close();
	return 0;
}
