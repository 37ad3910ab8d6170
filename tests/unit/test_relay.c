#include <re.h>
#include "media/media.h"
#include "unit.h"

struct peer {
	struct udp_sock *us;
	struct sa addr;
	int got;
	uint16_t last_seq;
};

static void peer_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct peer *p = arg;
	(void)src;
	if (mbuf_get_left(mb) >= 4) {
		p->got++;
		p->last_seq = (uint16_t)(mbuf_buf(mb)[2] << 8 | mbuf_buf(mb)[3]);
	}
}

static void peer_open(struct peer *p)
{
	struct sa la;
	memset(p, 0, sizeof(*p));
	sa_set_str(&la, "127.0.0.1", 0);
	udp_listen(&p->us, &la, peer_recv, p);
	udp_local_get(p->us, &p->addr);
}

static void send_rtp(struct udp_sock *us, const struct sa *to, uint16_t seq,
		     uint32_t ssrc)
{
	struct mbuf *mb = mbuf_alloc(172);
	uint8_t h[12] = {0x80, 0, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, 0, 0,
			 (uint8_t)(ssrc >> 24), (uint8_t)(ssrc >> 16),
			 (uint8_t)(ssrc >> 8), (uint8_t)ssrc};
	mbuf_write_mem(mb, h, sizeof(h));
	mbuf_fill(mb, 0xff, 160);
	mb->pos = 0;
	udp_send(us, to, mb);
	mem_deref(mb);
}

static void relays_latches_counts_and_drops_strangers(void)
{
	struct portpool *pp = NULL;
	struct mrelay *mr = NULL;
	struct peer a, b, stranger;
	struct sa ip, ra, rb;
	struct mrelay_stats st;

	sa_set_str(&ip, "127.0.0.1", 0);
	uint16_t base = unit_free_ports(4);
	CHECK_EQ(portpool_alloc(&pp, &ip, base, (uint16_t)(base + 3)), 0);
	CHECK_EQ(mrelay_alloc(&mr, pp), 0);
	peer_open(&a);
	peer_open(&b);
	peer_open(&stranger);
	mrelay_set_remote(mr, MSIDE_A, &a.addr, MDIR_SENDRECV);
	mrelay_set_remote(mr, MSIDE_B, &b.addr, MDIR_SENDRECV);
	mrelay_laddr(mr, MSIDE_A, &ra);
	mrelay_laddr(mr, MSIDE_B, &rb);

	/* a sends 10 packets with one gap (seq 5 missing). */
	for (uint16_t s = 0; s < 11; s++)
		if (s != 5)
			send_rtp(a.us, &ra, (uint16_t)(65530 + s), 1111);
	/* b answers with 3. */
	for (uint16_t s = 0; s < 3; s++)
		send_rtp(b.us, &rb, s, 2222);
	unit_run_loop(50);
	/* A stranger tries to inject into both sides after latching. */
	send_rtp(stranger.us, &ra, 100, 9999);
	send_rtp(stranger.us, &rb, 100, 9999);
	unit_run_loop(30);

	mrelay_stats(mr, &st);
	CHECK_EQ(st.pkts[MSIDE_A], 10);
	CHECK_EQ(st.pkts[MSIDE_B], 3);
	CHECK_EQ(st.lost[MSIDE_A], 1);    /* across the 16-bit wrap */
	CHECK_EQ(st.lost[MSIDE_B], 0);
	CHECK_EQ(st.dropped[MSIDE_A], 1);
	CHECK_EQ(st.dropped[MSIDE_B], 1);
	CHECK_EQ(b.got, 10);
	CHECK_EQ(a.got, 3);
	CHECK(mrelay_last_rx(mr) > 0);

	/* Hold: a says sendonly, so nothing is sent towards a. */
	mrelay_set_remote(mr, MSIDE_A, &a.addr, MDIR_SENDONLY);
	send_rtp(b.us, &rb, 3, 2222);
	unit_run_loop(30);
	CHECK_EQ(a.got, 3);

	mem_deref(mr);
	mem_deref(pp);
	mem_deref(a.us);
	mem_deref(b.us);
	mem_deref(stranger.us);
}

const struct unit_case relay_cases[] = {
	{"relays_latches_counts_and_drops_strangers",
	 relays_latches_counts_and_drops_strangers},
	{NULL, NULL},
};
