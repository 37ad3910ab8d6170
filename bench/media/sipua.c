/*
 * sipua -- SIP side of the laoyou media benchmark (libre).
 *
 * Spawned by pump (laoyou mode) with a SOCK_SEQPACKET control socket.
 * It runs two SIP stacks on loopback:
 *   UAC (--uac-port, default 5071): an IP-authenticated trunk placing
 *        calls to sip:EXT@PROXY, each offering the caller endpoint's port;
 *   UAS (--uas-port, default 5072): REGISTERs USER (digest auth) and
 *        answers the INVITEs laoyou forwards with 200 OK, using callee
 *        endpoint ports from a pool filled by the pump.
 *
 * Control protocol (one message per datagram):
 *   pump -> sipua  "CALL <id> <callerPort> <calleePort>", "QUIT"
 *   sipua -> pump  "READY", "REGFAIL <why>",
 *                  "A <id> <ip> <port>"        relay address for the caller
 *                                              leg (SDP of the 200 OK),
 *                  "B <calleePort> <ip> <port>" relay address for a callee
 *                                              leg (SDP of the INVITE),
 *                  "FAIL <id> <code> <reason>", "CLOSED <id> <code> <why>",
 *                  anything else is a note for the log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
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
	int id;           /* pump call id (UAC) or -1 (UAS) */
	uint16_t port;    /* our RTP port in SDP */
	bool answered;
	bool uas;
};

static int ctlfd = 3;
static const char *proxy = "127.0.0.1:5060";
static int uac_port = 5071, uas_port = 5072;
static const char *user = "mb", *secret = "pw", *ext = "3000";
static const char *aor = NULL;
static bool trace = false;

static struct sip *sip_uac, *sip_uas;
static struct sipsess_sock *sock_uac, *sock_uas;
static struct sipreg *reg;
static struct list calls;
static bool registered = false;
static bool quitting = false;
static struct tmr quit_tmr;
static char target_uri[128], reg_uri[128], aor_buf[128];

/* pool of callee ports handed over by the pump */
static uint16_t *pool;
static size_t pool_cap, pool_head, pool_tail;

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
			char fmt[16];
			snprintf(fmt, sizeof fmt, "%%%zu[0-9.]", ipsz - 1);
			sscanf(l + 9, fmt, ip);
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
		    "o=bench %u 1 IN IP4 127.0.0.1\r\n"
		    "s=bench\r\n"
		    "c=IN IP4 127.0.0.1\r\n"
		    "t=0 0\r\n"
		    "m=audio %u RTP/AVP 0\r\n"
		    "a=rtpmap:0 PCMU/8000\r\n"
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
	mem_deref(uc->sess);
}

/* re-INVITE from laoyou: answer with the same SDP */
static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct ucall *uc = arg;
	char ip[64];
	int port;
	if (sdp_addr(msg->mb, ip, sizeof ip, &port) == 0)
		ctl("note: re-INVITE on %s leg %d now %s:%d", uc->uas ? "callee" : "caller",
		    uc->uas ? uc->port : uc->id, ip, port);
	*descp = make_sdp(uc->port);
	return *descp ? 0 : ENOMEM;
}

static int uac_answer_h(const struct sip_msg *msg, void *arg)
{
	struct ucall *uc = arg;
	char ip[64];
	int port;
	if (uc->answered)
		return 0;
	if (sdp_addr(msg->mb, ip, sizeof ip, &port) < 0) {
		ctl("FAIL %d %u no usable SDP in %u response", uc->id, msg->scode, msg->scode);
		return 0;
	}
	uc->answered = true;
	ctl("A %d %s %d", uc->id, ip, port);
	return 0;
}

static int uas_answer_h(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
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
		snprintf(reason, sizeof reason, "BYE");
	if (!quitting) {
		if (!uc->uas && !uc->answered)
			ctl("FAIL %d %u %s", uc->id, scode, reason);
		else
			ctl("CLOSED %d %u %s leg port %u: %s", uc->uas ? -1 : uc->id, scode,
			    uc->uas ? "callee" : "caller", uc->port, reason);
	}
	mem_deref(uc);
}

static void uac_conn_h(const struct sip_msg *msg, void *arg)
{
	(void)arg;
	ctl("note: unexpected INVITE on the trunk side from %J", &msg->src);
	(void)sip_treply(NULL, sip_uac, msg, 603, "Decline");
}

static void uas_conn_h(const struct sip_msg *msg, void *arg)
{
	(void)arg;
	char ip[64];
	int port;
	if (sdp_addr(msg->mb, ip, sizeof ip, &port) < 0) {
		ctl("note: callee INVITE without usable SDP (Call-ID %r)", &msg->callid);
		(void)sip_treply(NULL, sip_uas, msg, 488, "Not Acceptable Here");
		return;
	}
	if (pool_head == pool_tail) {
		ctl("note: callee INVITE but no free callee port");
		(void)sip_treply(NULL, sip_uas, msg, 486, "Busy Here");
		return;
	}
	uint16_t lport = pool[pool_head++ % pool_cap];
	struct ucall *uc = mem_zalloc(sizeof *uc, ucall_destructor);
	if (!uc) {
		(void)sip_treply(NULL, sip_uas, msg, 500, "Out of memory");
		return;
	}
	uc->id = -1;
	uc->uas = true;
	uc->port = lport;
	list_append(&calls, &uc->le, uc);
	struct mbuf *sdp = make_sdp(lport);
	int err = sipsess_accept(&uc->sess, sock_uas, msg, 200, "OK", user,
				 "application/sdp", sdp, NULL, NULL, false,
				 offer_h, uas_answer_h, estab_h, NULL, NULL,
				 close_h, uc, "");
	mem_deref(sdp);
	if (err) {
		ctl("note: sipsess_accept: %m", err);
		mem_deref(uc);
		return;
	}
	uc->answered = true;
	ctl("B %u %s %d", lport, ip, port);
}

static void place_call(int id, uint16_t aport, uint16_t bport)
{
	if (pool_tail - pool_head >= pool_cap) {
		ctl("FAIL %d 0 callee port pool full", id);
		return;
	}
	pool[pool_tail++ % pool_cap] = bport;
	struct ucall *uc = mem_zalloc(sizeof *uc, ucall_destructor);
	if (!uc) {
		ctl("FAIL %d 0 out of memory", id);
		return;
	}
	uc->id = id;
	uc->port = aport;
	list_append(&calls, &uc->le, uc);
	char from[96];
	snprintf(from, sizeof from, "sip:bench@127.0.0.1:%d", uac_port);
	struct mbuf *sdp = make_sdp(aport);
	int err = sipsess_connect(&uc->sess, sock_uac, target_uri, NULL, from, "bench",
				  NULL, 0, "application/sdp", sdp, NULL, NULL, false,
				  offer_h, uac_answer_h, progr_h, estab_h, NULL, NULL,
				  close_h, uc, "X-Bench-Call: %d\r\n", id);
	mem_deref(sdp);
	if (err) {
		ctl("FAIL %d 0 sipsess_connect: %m", id, err);
		mem_deref(uc);
	}
}

static void quit_timeout(void *arg)
{
	(void)arg;
	re_cancel();
}

static void quit_flush(void *arg)
{
	(void)arg;
	/* callee legs laoyou did not hang up itself */
	list_flush(&calls);
	reg = mem_deref(reg);
	tmr_start(&quit_tmr, 1000, quit_timeout, NULL);
}

static void do_quit(void)
{
	if (quitting)
		return;
	quitting = true;
	/* hang up on the caller side (deref sends BYE); laoyou then hangs up
	 * the callee legs, which close_h frees */
	struct le *le = list_head(&calls);
	while (le) {
		struct ucall *uc = le->data;
		le = le->next;
		if (!uc->uas)
			mem_deref(uc);
	}
	tmr_start(&quit_tmr, 1000, quit_flush, NULL);
}

static void ctl_h(int flags, void *arg)
{
	(void)flags;
	(void)arg;
	char buf[256];
	for (;;) {
		ssize_t n = recv(ctlfd, buf, sizeof buf - 1, MSG_DONTWAIT);
		if (n == 0) { /* pump gone */
			fd_close(ctlfd);
			do_quit();
			return;
		}
		if (n < 0)
			return;
		buf[n] = 0;
		int id;
		unsigned a, b;
		if (sscanf(buf, "CALL %d %u %u", &id, &a, &b) == 3)
			place_call(id, (uint16_t)a, (uint16_t)b);
		else if (!strcmp(buf, "QUIT")) {
			fd_close(ctlfd);
			do_quit();
			return;
		}
	}
}

static int auth_h(char **username, char **password, const char *realm, void *arg)
{
	(void)realm;
	(void)arg;
	int err = str_dup(username, user);
	err |= str_dup(password, secret);
	return err;
}

static void reg_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	(void)arg;
	if (err) {
		if (!registered)
			ctl("REGFAIL %m", err);
		return;
	}
	if (msg->scode >= 200 && msg->scode < 300) {
		if (!registered) {
			registered = true;
			ctl("READY");
		}
	} else if (msg->scode >= 300 && !registered) {
		ctl("REGFAIL %u %r", msg->scode, &msg->reason);
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

static int new_stack(struct sip **sipp, struct sipsess_sock **sockp, int port,
		     sipsess_conn_h *connh)
{
	struct sa laddr;
	int err = sip_alloc(sipp, NULL, 4096, 4096, 16, "laoyou-media-bench", NULL, NULL);
	if (err)
		return err;
	sa_set_str(&laddr, "127.0.0.1", (uint16_t)port);
	err = sip_transp_add(*sipp, SIP_TRANSP_UDP, &laddr);
	if (err) {
		re_fprintf(stderr, "sipua: cannot bind SIP UDP 127.0.0.1:%d: %m\n", port, err);
		return err;
	}
	if (trace)
		sip_set_trace_handler(*sipp, trace_h);
	return sipsess_listen(sockp, *sipp, 4096, connh, NULL);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--trace")) { trace = true; continue; }
		if (!v) {
			fprintf(stderr, "sipua: missing value for %s\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--ctl-fd")) ctlfd = atoi(v);
		else if (!strcmp(a, "--proxy")) proxy = v;
		else if (!strcmp(a, "--uac-port")) uac_port = atoi(v);
		else if (!strcmp(a, "--uas-port")) uas_port = atoi(v);
		else if (!strcmp(a, "--user")) user = v;
		else if (!strcmp(a, "--secret")) secret = v;
		else if (!strcmp(a, "--ext")) ext = v;
		else if (!strcmp(a, "--aor")) aor = v;
		else {
			fprintf(stderr, "sipua: unknown option %s\n", a);
			return 2;
		}
	}
	if (getenv("SIPUA_TRACE"))
		trace = true;
	char host[64];
	if (sscanf(proxy, "%63[^:]", host) != 1) {
		fprintf(stderr, "sipua: bad --proxy %s\n", proxy);
		return 2;
	}
	snprintf(target_uri, sizeof target_uri, "sip:%s@%s", ext, proxy);
	snprintf(reg_uri, sizeof reg_uri, "sip:%s", proxy);
	if (!aor) {
		snprintf(aor_buf, sizeof aor_buf, "sip:%s@%s", user, host);
		aor = aor_buf;
	}
	pool_cap = 1 << 16;
	pool = calloc(pool_cap, sizeof *pool);
	if (!pool)
		return 1;

	int err = libre_init();
	if (err) {
		re_fprintf(stderr, "sipua: libre_init: %m\n", err);
		return 1;
	}
	list_init(&calls);
	tmr_init(&quit_tmr);
	err = new_stack(&sip_uac, &sock_uac, uac_port, uac_conn_h);
	err |= new_stack(&sip_uas, &sock_uas, uas_port, uas_conn_h);
	if (err) {
		dprintf(ctlfd, "REGFAIL cannot set up SIP stacks");
		return 1;
	}
	err = fd_listen(ctlfd, FD_READ, ctl_h, NULL);
	if (err) {
		re_fprintf(stderr, "sipua: fd_listen: %m\n", err);
		return 1;
	}
	err = sipreg_register(&reg, sip_uas, reg_uri, aor, NULL, aor, 600, user,
			      NULL, 0, 0, auth_h, NULL, false, reg_resp_h, NULL,
			      NULL, NULL);
	if (err) {
		dprintf(ctlfd, "REGFAIL sipreg_register: %s", strerror(err));
		return 1;
	}
	re_main(signal_h);

	quitting = true;
	list_flush(&calls);
	mem_deref(reg);
	mem_deref(sock_uac);
	mem_deref(sock_uas);
	sip_close(sip_uac, true);
	sip_close(sip_uas, true);
	mem_deref(sip_uac);
	mem_deref(sip_uas);
	tmr_cancel(&quit_tmr);
	libre_close();
	free(pool);
	return 0;
}
