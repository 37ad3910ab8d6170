/*
 * tcpguard: SIP over TCP with a cap on the connections one address may
 * hold, and an idle timeout.
 *
 * libre 1.1.0 accepts SIP connections inside sip/transp.c and offers no
 * hook there, so this file defines accept(2): libre's tcp.o calls it, and
 * the program's own definition wins over libc's at link time, as
 * src/core/tmr.c's timers win over libre's tmr.o.  It is accept4(2) plus
 * one look at the result.  A connection to the SIP listener from an
 * address that holds its cap already is reset before libre ever sees it:
 * no sip_conn, no buffer, no timer, and no TIME_WAIT left behind.  Any
 * other accept passes untouched (the HTTP listener's, for one).
 *
 * libre owns the descriptors it accepted and closes them itself, so we
 * remember each by number together with its socket's inode, and trust an
 * entry only while fstat(2) still finds that inode there: a closed or
 * reused descriptor is never mistaken for the connection.  Stale entries
 * go on the sweep, when accept hands out their number again, or when
 * their address reaches the cap.  To end a connection we shut it down
 * (shutdown(2)); libre then reads end-of-file and closes it as if the
 * peer had.
 *
 * "Silent" is the kernel's word: TCP_INFO's time since data last arrived,
 * so CRLF keep-alives count as life.  A connection that a live binding
 * was registered over (its source is the binding's) is never closed for
 * silence: the phone is waiting for our calls.
 *
 * Should a future libre accept some other way, the requests themselves
 * still show each connection (sip_msg_tcpconn): one we did not see
 * accepted is then counted at its first request, and closed if over the
 * cap, and the log says the accept hook is not in use.
 */
#define _GNU_SOURCE  /* accept4 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <re.h>
#include "core/clock.h"
#include "core/log.h"
#include "sip/sip_int.h"

enum {
	HT_SIZE    = 1024,
	PRUNE_MS   = 100,      /* re-check an address at its cap so often */
	SWEEP_IDLE_OFF_MS = 30000,
};

struct tcpaddr {
	struct le he;
	struct sa ip;
	struct list conns;
	uint32_t n;
	uint64_t pruned_ms;
	uint64_t refused;
};

struct tcpconn {
	struct le he;              /* by descriptor */
	struct le le;              /* in its address's list */
	struct tcpaddr *ta;
	int fd;
	dev_t dev;
	ino_t ino;
	struct sa peer;
	bool closing;              /* shut down, libre is closing it */
};

struct tcpguard {
	struct le le;              /* in guards */
	struct sipd *sd;
	struct sa laddr;           /* the SIP listener's address */
	int lfd;                   /* its descriptor, once seen */
	struct hash *by_fd;
	struct hash *by_addr;
	struct tmr tmr;
	uint32_t max;
	uint32_t idle_s;
	uint32_t n;
	uint64_t refused;
	uint64_t idled;
	bool hook_seen;            /* accept() saw a connection of ours */
	bool warned;
};

/* One loop, one thread: accept() is only called from it. */
static struct list guards;

static void addr_destructor(void *arg)
{
	struct tcpaddr *ta = arg;

	hash_unlink(&ta->he);
}

static void conn_destructor(void *arg)
{
	struct tcpconn *c = arg;

	hash_unlink(&c->he);
	list_unlink(&c->le);
	if (c->ta && --c->ta->n == 0)
		mem_deref(c->ta);
}

static bool addr_cmp(struct le *le, void *arg)
{
	const struct tcpaddr *ta = le->data;

	return sa_cmp(&ta->ip, arg, SA_ADDR);
}

static bool fd_cmp(struct le *le, void *arg)
{
	const struct tcpconn *c = le->data;

	return c->fd == *(int *)arg;
}

static struct tcpconn *conn_by_fd(struct tcpguard *g, int fd)
{
	return list_ledata(hash_lookup(g->by_fd, (uint32_t)fd, fd_cmp, &fd));
}

/* Is c's descriptor still the socket we accepted? */
static bool conn_alive(const struct tcpconn *c)
{
	struct stat st;

	return !fstat(c->fd, &st) && S_ISSOCK(st.st_mode) &&
		st.st_dev == c->dev && st.st_ino == c->ino;
}

static void conn_drop(struct tcpguard *g, struct tcpconn *c)
{
	g->n--;
	mem_deref(c);
}

/* Forget the entries of ta whose descriptors libre has closed. */
static void addr_prune(struct tcpguard *g, struct tcpaddr *ta, uint64_t now)
{
	struct le *le = ta->conns.head;

	ta->pruned_ms = now;
	mem_ref(ta);
	while (le) {
		struct tcpconn *c = le->data;

		le = le->next;
		if (!conn_alive(c))
			conn_drop(g, c);
	}
	mem_deref(ta);
}

static struct tcpconn *conn_add(struct tcpguard *g, int fd,
				const struct sa *peer)
{
	struct tcpaddr *ta;
	struct tcpconn *c;
	struct stat st;

	if (fstat(fd, &st))
		return NULL;
	ta = list_ledata(hash_lookup(g->by_addr, sa_hash(peer, SA_ADDR),
				     addr_cmp, (void *)peer));
	if (!ta) {
		ta = mem_zalloc(sizeof(*ta), addr_destructor);
		if (!ta)
			return NULL;
		ta->ip = *peer;
		hash_append(g->by_addr, sa_hash(peer, SA_ADDR), &ta->he, ta);
	}
	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c) {
		if (!ta->n)
			mem_deref(ta);
		return NULL;
	}
	c->fd = fd;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->peer = *peer;
	c->ta = ta;
	ta->n++;
	g->n++;
	list_append(&ta->conns, &c->le, c);
	hash_append(g->by_fd, (uint32_t)fd, &c->he, c);
	return c;
}

/* May peer open one more connection?  Its stale entries are pruned first,
 * at most every PRUNE_MS so that a flood costs little. */
static bool addr_room(struct tcpguard *g, const struct sa *peer)
{
	struct tcpaddr *ta;
	uint64_t now;

	if (!g->max)
		return true;
	ta = list_ledata(hash_lookup(g->by_addr, sa_hash(peer, SA_ADDR),
				     addr_cmp, (void *)peer));
	if (!ta || ta->n < g->max)
		return true;
	now = clock_mono_ms();
	if (now - ta->pruned_ms >= PRUNE_MS) {
		mem_ref(ta);
		addr_prune(g, ta, now);
		if (ta->n < g->max) {
			mem_deref(ta);
			return true;
		}
		mem_deref(ta);
	}
	ta->refused++;
	g->refused++;
	/* Say so once per thousand, not once per connection of a flood. */
	if (ta->refused % 1000 == 1)
		log_warn("sip: %j holds %u TCP connections, its cap: refused "
			 "%llu", peer, ta->n, (unsigned long long)ta->refused);
	return false;
}

/* fd was accepted on g's listener: keep it (true) or not. */
static bool guard_accepted(struct tcpguard *g, int fd)
{
	struct tcpconn *c;
	struct sa peer;

	g->hook_seen = true;
	sa_init(&peer, AF_UNSPEC);
	if (getpeername(fd, &peer.u.sa, &peer.len))
		return true;    /* libre will find it broken itself */
	if (!addr_room(g, &peer))
		return false;
	c = conn_add(g, fd, &peer);
	if (!c)
		log_warn("sip: cannot track a TCP connection from %J", &peer);
	return true;
}

static bool is_listener(struct tcpguard *g, int fd)
{
	struct sa la;

	if (g->lfd >= 0)
		return fd == g->lfd;
	sa_init(&la, AF_UNSPEC);
	if (getsockname(fd, &la.u.sa, &la.len) ||
	    !sa_cmp(&la, &g->laddr, SA_ALL))
		return false;
	g->lfd = fd;
	return true;
}

/** accept(2) for the whole program: accept4 with the SIP caps applied. */
int accept(int fd, __SOCKADDR_ARG addr, socklen_t *__restrict len)
{
	int c = accept4(fd, addr, len, 0);

	if (c < 0)
		return c;
	for (struct le *le = guards.head; le; le = le->next) {
		struct tcpguard *g = le->data;
		struct tcpconn *old = conn_by_fd(g, c);

		/* The number is free again, so that connection is gone. */
		if (old)
			conn_drop(g, old);
		if (is_listener(g, fd) && !guard_accepted(g, c)) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};

			(void)setsockopt(c, SOL_SOCKET, SO_LINGER, &lg,
					 sizeof(lg));
			(void)close(c);
			errno = ECONNABORTED;
			return -1;
		}
	}
	return c;
}

static uint32_t sweep_ms(const struct tcpguard *g)
{
	uint64_t ms = (uint64_t)g->idle_s * 250;

	if (!g->idle_s)
		return SWEEP_IDLE_OFF_MS;
	return (uint32_t)(ms < 250 ? 250 : ms > 5000 ? 5000 : ms);
}

/* Milliseconds since data last came in on fd; false if it cannot say. */
static bool silent_ms(int fd, uint32_t *ms)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) ||
	    len < offsetof(struct tcp_info, tcpi_last_data_recv) +
	    sizeof(ti.tcpi_last_data_recv))
		return false;
	*ms = ti.tcpi_last_data_recv;
	return true;
}

static bool sweep_conn(struct le *le, void *arg)
{
	struct tcpguard *g = arg;
	struct tcpconn *c = le->data;
	uint32_t ms;

	if (!conn_alive(c)) {
		conn_drop(g, c);
		return false;
	}
	if (!g->idle_s || c->closing || !silent_ms(c->fd, &ms) ||
	    ms < g->idle_s * 1000)
		return false;
	if (g->sd->reg && registrar_tcp_bound(g->sd->reg, &c->peer))
		return false;
	log_info("sip: TCP connection from %J silent for %u s: closed",
		 &c->peer, ms / 1000);
	c->closing = true;
	g->idled++;
	(void)shutdown(c->fd, SHUT_RDWR);
	return false;
}

static void sweep(void *arg)
{
	struct tcpguard *g = arg;

	(void)hash_apply(g->by_fd, sweep_conn, g);
	tmr_start(&g->tmr, sweep_ms(g), sweep, g);
}

bool tcpguard_msg(struct tcpguard *g, const struct sip_msg *msg)
{
	struct tcp_conn *tc;
	struct tcpconn *c;
	int fd;

	if (!g || (msg->tp != SIP_TRANSP_TCP && msg->tp != SIP_TRANSP_TLS))
		return false;
	tc = sip_msg_tcpconn(msg);
	fd = tc ? tcp_conn_fd(tc) : -1;
	if (fd < 0)
		return false;
	c = conn_by_fd(g, fd);
	if (c && sa_cmp(&c->peer, &msg->src, SA_ALL))
		return c->closing;
	/* Not seen at accept.  Ours dial out from other ports: only a
	 * connection to the listener's port is counted. */
	if (sa_port(&msg->dst) != sa_port(&g->laddr))
		return false;
	if (c)
		conn_drop(g, c);
	if (!g->warned && !g->hook_seen) {
		g->warned = true;
		log_warn("sip: TCP connections are not seen at accept; the "
			 "per-address cap applies at their first request");
	}
	if (!addr_room(g, &msg->src)) {
		(void)shutdown(fd, SHUT_RDWR);
		return true;
	}
	(void)conn_add(g, fd, &msg->src);
	return false;
}

static void destructor(void *arg)
{
	struct tcpguard *g = arg;

	tmr_cancel(&g->tmr);
	list_unlink(&g->le);
	hash_flush(g->by_fd);
	mem_deref(g->by_fd);
	mem_deref(g->by_addr);
}

int tcpguard_alloc(struct tcpguard **gp, struct sipd *sd,
		   const struct sa *laddr)
{
	struct tcpguard *g;
	int err;

	if (!gp || !sd || !laddr)
		return EINVAL;
	g = mem_zalloc(sizeof(*g), destructor);
	if (!g)
		return ENOMEM;
	g->sd = sd;
	g->laddr = *laddr;
	g->lfd = -1;
	err = hash_alloc(&g->by_fd, HT_SIZE);
	if (!err)
		err = hash_alloc(&g->by_addr, HT_SIZE);
	if (err) {
		mem_deref(g);
		return err;
	}
	list_append(&guards, &g->le, g);
	tcpguard_reconf(g, &sd->cf);
	*gp = g;
	return 0;
}

void tcpguard_reconf(struct tcpguard *g, const struct conf *cf)
{
	if (!g)
		return;
	g->max = cf->tcp_max_per_addr;
	g->idle_s = cf->tcp_idle_s;
	tmr_start(&g->tmr, sweep_ms(g), sweep, g);
}

uint32_t tcpguard_count(const struct tcpguard *g)
{
	return g ? g->n : 0;
}

uint64_t tcpguard_refused(const struct tcpguard *g)
{
	return g ? g->refused : 0;
}
