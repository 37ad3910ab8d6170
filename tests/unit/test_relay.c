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

struct peer2 {
	struct peer rtp, rtcp;
};

/* A peer with RTP on an even port and RTCP on the next. */
static void peer2_open(struct peer2 *p)
{
	struct sa la;
	uint16_t port = unit_free_ports(2);

	memset(p, 0, sizeof(*p));
	sa_set_str(&la, "127.0.0.1", port);
	udp_listen(&p->rtp.us, &la, peer_recv, &p->rtp);
	p->rtp.addr = la;
	sa_set_port(&la, port + 1);
	udp_listen(&p->rtcp.us, &la, peer_recv, &p->rtcp);
	p->rtcp.addr = la;
}

static void peer2_close(struct peer2 *p)
{
	mem_deref(p->rtp.us);
	mem_deref(p->rtcp.us);
}

struct pt_peer {
	int got;
	uint8_t last_pt;
};

static void pt_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct pt_peer *p = arg;
	(void)src;
	if (mbuf_get_left(mb) >= 12) {
		p->got++;
		p->last_pt = mbuf_buf(mb)[1];
	}
}

static void send_pt(struct udp_sock *us, const struct sa *to, uint16_t seq,
		    uint8_t pt)
{
	struct mbuf *mb = mbuf_alloc(64);
	uint8_t h[12] = {0x80, pt, (uint8_t)(seq >> 8), (uint8_t)seq,
			 0, 0, 0, 0, 0, 0, 0x33, 0x33};
	mbuf_write_mem(mb, h, sizeof(h));
	mbuf_fill(mb, 0x11, 40);
	mb->pos = 0;
	udp_send(us, to, mb);
	mem_deref(mb);
}

static void video_relays_both_ways_apart_from_audio(void)
{
	struct portpool *pp = NULL;
	struct mrelay *mr = NULL;
	struct peer2 a, b;
	struct peer stranger;
	struct sa ip, va, vb, ra, rtcp;
	struct mrelay_stats st;

	sa_set_str(&ip, "127.0.0.1", 0);
	uint16_t base = unit_free_ports(8);
	CHECK_EQ(portpool_alloc(&pp, &ip, base, (uint16_t)(base + 7)), 0);
	CHECK_EQ(mrelay_alloc(&mr, pp), 0);
	mrelay_set_label(mr, "unit-video");
	CHECK(!mrelay_has_video(mr));
	mrelay_video_laddr(mr, MSIDE_A, &va);
	CHECK_EQ(sa_port(&va), 0);
	CHECK_EQ(mrelay_video_alloc(mr), 0);
	CHECK_EQ(mrelay_video_alloc(mr), 0);        /* once is enough */
	CHECK(mrelay_has_video(mr));
	CHECK_EQ(portpool_used(pp), 4);
	mrelay_video_laddr(mr, MSIDE_A, &va);
	mrelay_video_laddr(mr, MSIDE_B, &vb);
	mrelay_laddr(mr, MSIDE_A, &ra);
	CHECK(sa_port(&va) && sa_port(&vb) && sa_port(&va) != sa_port(&vb));
	CHECK(sa_port(&va) != sa_port(&ra));

	peer2_open(&a);
	peer2_open(&b);
	peer_open(&stranger);
	mrelay_video_set_remote(mr, MSIDE_A, &a.rtp.addr, MDIR_SENDRECV);
	mrelay_video_set_remote(mr, MSIDE_B, &b.rtp.addr, MDIR_SENDRECV);

	for (uint16_t s = 0; s < 6; s++)
		send_rtp(a.rtp.us, &va, s, 1);
	for (uint16_t s = 0; s < 4; s++)
		send_rtp(b.rtp.us, &vb, (uint16_t)(s * 2), 2); /* 3 gaps */
	/* RTCP goes to the other side's RTP port + 1 until it latches. */
	rtcp = vb;
	sa_set_port(&rtcp, sa_port(&vb) + 1);
	send_rtp(b.rtcp.us, &rtcp, 0, 2);
	unit_run_loop(50);
	send_rtp(stranger.us, &va, 50, 9);
	unit_run_loop(30);

	mrelay_stats(mr, &st);
	CHECK_EQ(b.rtp.got, 6);
	CHECK_EQ(a.rtp.got, 4);
	CHECK_EQ(a.rtcp.got, 1);
	CHECK_EQ(st.vpkts[MSIDE_A], 6);
	CHECK_EQ(st.vpkts[MSIDE_B], 4);
	CHECK_EQ(st.vrelayed[MSIDE_A], 6);
	CHECK_EQ(st.vrelayed[MSIDE_B], 4);
	CHECK_EQ(st.vlost[MSIDE_B], 3);
	CHECK_EQ(st.vdropped[MSIDE_A], 1);
	CHECK_EQ(st.pkts[MSIDE_A], 0);           /* audio saw none of it */
	CHECK_EQ(st.pkts[MSIDE_B], 0);
	CHECK(mrelay_last_rx(mr) > 0);

	/* Not bridged (a caller waiting in line): received, held back. */
	mrelay_bridge(mr, false);
	send_rtp(a.rtp.us, &va, 6, 1);
	unit_run_loop(30);
	mrelay_stats(mr, &st);
	CHECK_EQ(st.vpkts[MSIDE_A], 7);
	CHECK_EQ(st.vrelayed[MSIDE_A], 6);
	CHECK_EQ(b.rtp.got, 6);
	mrelay_bridge(mr, true);

	/* Hold: B says sendonly, so no video goes to B. */
	mrelay_video_set_remote(mr, MSIDE_B, &b.rtp.addr, MDIR_SENDONLY);
	send_rtp(a.rtp.us, &va, 7, 1);
	unit_run_loop(30);
	CHECK_EQ(b.rtp.got, 6);

	/* B takes no video: nothing to it and nothing from it, even from
	 * the address it signals from. */
	struct sa none;
	sa_init(&none, AF_UNSPEC);
	mrelay_video_set_remote(mr, MSIDE_B, &none, MDIR_SENDRECV);
	mrelay_set_peer_ip(mr, MSIDE_B, &b.rtp.addr);
	send_rtp(a.rtp.us, &va, 8, 1);
	send_rtp(b.rtp.us, &vb, 9, 2);
	unit_run_loop(30);
	mrelay_stats(mr, &st);
	CHECK_EQ(b.rtp.got, 6);
	CHECK_EQ(a.rtp.got, 4);
	CHECK_EQ(st.vdropped[MSIDE_B], 1);

	mem_deref(mr);
	CHECK_EQ(portpool_used(pp), 0);          /* all four pairs back */
	mem_deref(pp);
	peer2_close(&a);
	peer2_close(&b);
	mem_deref(stranger.us);
}

static void video_stranger_cannot_latch_and_types_renumber(void)
{
	struct portpool *pp = NULL;
	struct mrelay *mr = NULL;
	struct pt_peer pa = {0, 0}, pb = {0, 0};
	struct udp_sock *ua = NULL, *ub = NULL, *us = NULL;
	struct sa ip, la, lb, ls, va, vb, sig;
	struct mrelay_stats st;

	sa_set_str(&ip, "127.0.0.1", 0);
	uint16_t base = unit_free_ports(8);
	CHECK_EQ(portpool_alloc(&pp, &ip, base, (uint16_t)(base + 7)), 0);
	CHECK_EQ(mrelay_alloc(&mr, pp), 0);
	CHECK_EQ(mrelay_video_alloc(mr), 0);
	sa_set_str(&la, "127.0.0.1", 0);
	udp_listen(&ua, &la, pt_recv, &pa);
	udp_listen(&ub, &la, pt_recv, &pb);
	udp_listen(&us, &la, NULL, NULL);
	udp_local_get(ua, &la);
	udp_local_get(ub, &lb);
	udp_local_get(us, &ls);
	mrelay_video_laddr(mr, MSIDE_A, &va);
	mrelay_video_laddr(mr, MSIDE_B, &vb);

	/* A's SDP names another host; it signals from 127.0.0.1 (its
	 * media comes from there).  A stranger on 127.0.0.2 is refused
	 * before A's first packet, not latched (mrelay_set_peer_ip's rule,
	 * as for audio). */
	struct sa elsewhere;
	sa_set_str(&elsewhere, "192.0.2.77", 4000);
	mrelay_video_set_remote(mr, MSIDE_A, &elsewhere, MDIR_SENDRECV);
	mrelay_video_set_remote(mr, MSIDE_B, &lb, MDIR_SENDRECV);
	sa_set_str(&sig, "127.0.0.1", 5060);
	mrelay_set_peer_ip(mr, MSIDE_A, &sig);
	struct udp_sock *far = NULL;
	struct sa lfar;
	sa_set_str(&lfar, "127.0.0.2", 0);
	CHECK_EQ(udp_listen(&far, &lfar, NULL, NULL), 0);
	send_pt(far, &va, 1, 96);
	unit_run_loop(30);
	mrelay_stats(mr, &st);
	CHECK_EQ(st.vdropped[MSIDE_A], 1);
	CHECK_EQ(pb.got, 0);

	/* The two ends numbered VP8 96 (A) and 97 (B): renumbered on the
	 * way, the marker bit kept, other types untouched. */
	uint8_t a_in[1] = {96}, a_out[1] = {97};
	uint8_t b_in[1] = {97}, b_out[1] = {96};
	mrelay_video_ptmap(mr, MSIDE_A, a_in, a_out, 1);
	mrelay_video_ptmap(mr, MSIDE_B, b_in, b_out, 1);
	send_pt(ua, &va, 2, 0x80 | 96);
	unit_run_loop(30);
	CHECK_EQ(pb.got, 1);
	CHECK_EQ(pb.last_pt, 0x80 | 97);
	send_pt(ua, &va, 3, 100);
	unit_run_loop(30);
	CHECK_EQ(pb.last_pt, 100);
	/* B's video goes where A's came from, not to A's SDP address. */
	send_pt(ub, &vb, 1, 97);
	unit_run_loop(30);
	CHECK_EQ(pa.got, 1);
	CHECK_EQ(pa.last_pt, 96);
	/* A stranger from the right host but another port, after A has
	 * latched, is still refused. */
	send_pt(us, &va, 9, 96);
	unit_run_loop(30);
	mrelay_stats(mr, &st);
	CHECK_EQ(st.vdropped[MSIDE_A], 2);
	mrelay_video_ptmap(mr, MSIDE_A, NULL, NULL, 0);
	send_pt(ua, &va, 5, 96);
	unit_run_loop(30);
	CHECK_EQ(pb.last_pt, 96);

	mem_deref(mr);
	mem_deref(pp);
	mem_deref(ua);
	mem_deref(ub);
	mem_deref(us);
	mem_deref(far);
}

static void video_without_ports_leaves_audio_alone(void)
{
	struct portpool *pp = NULL;
	struct mrelay *mr = NULL;
	struct sa ip, va;

	sa_set_str(&ip, "127.0.0.1", 0);
	uint16_t base = unit_free_ports(4);
	/* Room for the audio's two pairs only. */
	CHECK_EQ(portpool_alloc(&pp, &ip, base, (uint16_t)(base + 3)), 0);
	CHECK_EQ(mrelay_alloc(&mr, pp), 0);
	CHECK(mrelay_video_alloc(mr) != 0);
	CHECK(!mrelay_has_video(mr));
	CHECK_EQ(portpool_used(pp), 2);
	mrelay_video_laddr(mr, MSIDE_B, &va);
	CHECK_EQ(sa_port(&va), 0);
	mem_deref(mr);
	CHECK_EQ(portpool_used(pp), 0);
	mem_deref(pp);
}

const struct unit_case relay_cases[] = {
	{"video_relays_both_ways_apart_from_audio",
	 video_relays_both_ways_apart_from_audio},
	{"video_stranger_cannot_latch_and_types_renumber",
	 video_stranger_cannot_latch_and_types_renumber},
	{"video_without_ports_leaves_audio_alone",
	 video_without_ports_leaves_audio_alone},
	{"relays_latches_counts_and_drops_strangers",
	 relays_latches_counts_and_drops_strangers},
	{NULL, NULL},
};
