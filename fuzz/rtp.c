/*
 * RTP into the media relay (src/media/relay.c): the packet handler that
 * latches a peer, counts sequence gaps, takes RFC 4733 telephone-events
 * (one key per event, repeats and end packets dropped by timestamp) and
 * hands G.711 audio to the in-band DTMF detector, the recorder and the
 * supervision mixer.
 *
 * relay.c is compiled into this file: its packet handler is static and
 * is normally reached from a socket.  The relays here have no sockets
 * (what would be forwarded fails to send), the monotonic clock is the
 * input's, and the 20 ms media tick (tick.c) is replaced by one the input
 * drives, so the recorder and mixer consume what they buffered.
 *
 * Input: 4 bytes of setup, then records.  Setup: flags (bit 0 bridged,
 * 1 a key handler, 2 a key ends the call, 3 record, 4 stereo, 5-6
 * supervision 1 listen 2 whisper 3 barge), telephone-event payload type
 * of side A and of side B (>= 128: none), directions (2 bits per side).
 * A record below 0xf0 is a packet: bit 0 to the supervisor's relay,
 * bit 1 side B, bits 2-3 which of four sources, bit 4 RTCP, bits 5-7
 * milliseconds to advance (x 20); a big-endian 16-bit length follows.
 * 0xf0-0xff are events: a tick, new remote addresses, bridging on/off,
 * an injected key, codec changes, recording stop, supervision end, time,
 * the address a side signals from.  Side A's SDP names source 0, side B's
 * source 2.
 */
#include "fuzz.h"
#include <string.h>

#define clock_mono_ms fuzz_clock_ms
#include "media/relay.c"
#undef clock_mono_ms

static uint64_t now_ms;
static struct sa srcs[4];
static struct mrelay *call;
static bool end_on_key;
static unsigned keys;

uint64_t fuzz_clock_ms(void)
{
	return now_ms;
}

/* ---- the media tick, driven by the input ---- */

static struct list ticks;
static struct le *tick_cursor;

void mtick_join(struct mtick *t, void (*h)(struct mtick *t, void *arg),
		void *arg)
{
	if (t->le.list)
		return;
	t->h = h;
	t->arg = arg;
	list_append(&ticks, &t->le, t);
}

void mtick_leave(struct mtick *t)
{
	if (!t->le.list)
		return;
	if (tick_cursor == &t->le)
		tick_cursor = t->le.next;
	list_unlink(&t->le);
}

uint32_t media_load_pct(void)
{
	return 0;
}

static void tick(void)
{
	for (struct le *le = ticks.head; le; le = tick_cursor) {
		struct mtick *t = le->data;
		tick_cursor = le->next;
		t->h(t, t->arg);
	}
	tick_cursor = NULL;
}

/* ---- relays without sockets ---- */

static struct mrelay *relay_new(void)
{
	struct mrelay *mr = mem_zalloc(sizeof(*mr), destructor);

	if (!mr)
		return NULL;
	mr->bridged = true;
	for (int i = 0; i < 2; i++) {
		struct rtpep *ep = &mr->ep[i];
		ep->mr = mr;
		ep->side = (enum mside)i;
		ep->dir = MDIR_SENDRECV;
		ep->pt = -1;
		ep->last_pt = -1;
		ep->te_pt = -1;
	}
	return mr;
}

static void on_key(enum mside s, char key, void *arg)
{
	(void)s; (void)arg;
	FUZZ_CHECK(key && strchr(dtmf_keys, key));
	++keys;
	if (end_on_key && call) {
		/* As call.c ends a call: no more keys, then let go. */
		mrelay_set_dtmf_handler(call, NULL, NULL);
		call = mem_deref(call);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_quiet();
	(void)sa_set_str(&srcs[0], "192.0.2.1", 4000);
	(void)sa_set_str(&srcs[1], "192.0.2.1", 4002);
	(void)sa_set_str(&srcs[2], "192.0.2.2", 4000);
	(void)sa_set_str(&srcs[3], "2001:db8::1", 4000);
	return 0;
}

static int te(uint8_t b)
{
	return b >= 128 ? -1 : b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct mrelay *sup = NULL;
	struct mrelay_stats st;
	uint8_t flags;

	if (size < 4)
		return 0;
	now_ms = 1000000;
	keys = 0;
	flags = p[0];
	end_on_key = flags & 4;
	call = relay_new();
	if (!call)
		return 0;
	call->bridged = flags & 1;
	if (flags & 2)
		mrelay_set_dtmf_handler(call, on_key, NULL);
	mrelay_set_codec(call, MSIDE_A, 0, te(p[1]));
	mrelay_set_codec(call, MSIDE_B, 8, te(p[2]));
	mrelay_set_remote(call, MSIDE_A, &srcs[0], (enum mdir)(p[3] & 3));
	mrelay_set_remote(call, MSIDE_B, &srcs[2],
			  (enum mdir)(p[3] >> 2 & 3));
	if (flags & 8)
		(void)mrelay_record_start(call, "/dev/null", flags & 16);
	if (flags & 0x60) {
		sup = relay_new();
		if (sup && mrelay_supervise(call, sup, (enum msup_mode)
					    ((flags >> 5 & 3) - 1)))
			sup = mem_deref(sup);
	}
	p += 4;

	while (p < end && call) {
		uint8_t op = *p++;

		if (op < 0xf0) {
			struct mrelay *mr = op & 1 ? sup : call;
			struct rtpep *ep;
			struct mbuf *mb;
			size_t n;

			if (end - p < 2)
				break;
			n = (size_t)(p[0] << 8 | p[1]);
			p += 2;
			if (n > (size_t)(end - p))
				n = (size_t)(end - p);
			now_ms += 20 * (op >> 5);
			if (!mr) {
				p += n;
				continue;
			}
			ep = &mr->ep[op >> 1 & 1];
			/* Exactly n bytes, so a read past the packet is seen. */
			mb = mbuf_alloc(n ? n : 1);
			if (!mb)
				break;
			(void)mbuf_write_mem(mb, p, n);
			mb->pos = 0;
			p += n;
			{
				const struct sa *src = &srcs[op >> 2 & 3];
				bool *latched = op & 16 ? &ep->is_latched_rtcp :
					&ep->is_latched;
				bool was = *latched, vouched = ep->has_remote ||
					ep->has_sig;

				if (op & 16)
					rtcp_handler(src, mb, ep);
				else
					rtp_handler(src, mb, ep);
				/* A peer the signalling named, or no one, is
				 * latched (unless a key just ended the call). */
				if ((mr == sup || call) && !was && *latched &&
				    vouched)
					FUZZ_CHECK((ep->has_remote &&
						    sa_cmp(src, &ep->remote,
							   SA_ADDR)) ||
						   (ep->has_sig &&
						    sa_cmp(src, &ep->sig,
							   SA_ADDR)));
			}
			mem_deref(mb);
			continue;
		}

		switch (op) {
		case 0xf0:
			tick();
			break;
		case 0xf1:
		case 0xf2:
			if (p < end) {
				mrelay_set_remote(call, op == 0xf1 ? MSIDE_A :
						  MSIDE_B, &srcs[*p & 3],
						  (enum mdir)(*p >> 2 & 3));
				++p;
			}
			break;
		case 0xf3:
			mrelay_bridge(call, !call->bridged);
			break;
		case 0xf4:
			if (p < end)
				mrelay_dtmf_inject(call, *p & 1 ? MSIDE_B :
						   MSIDE_A, (char)*p), ++p;
			break;
		case 0xf5:
		case 0xf6:
			if (end - p >= 2) {
				mrelay_set_codec(call, op == 0xf5 ? MSIDE_A :
						 MSIDE_B, p[0], te(p[1]));
				p += 2;
			}
			break;
		case 0xf7:
			(void)mrelay_record_stop(call);
			break;
		case 0xf8:
			mrelay_unsupervise(call);
			break;
		case 0xf9:
			now_ms += 1000;
			break;
		case 0xfa:
		case 0xfb:
			if (p < end) {
				mrelay_set_peer_ip(call, op == 0xfa ? MSIDE_A :
						   MSIDE_B, &srcs[*p & 3]);
				++p;
			}
			break;
		default:
			break;
		}
	}

	if (call) {
		mrelay_stats(call, &st);
		for (int i = 0; i < 2; i++)
			FUZZ_CHECK(st.pkts[i] <= size && st.dropped[i] <= size);
		(void)mrelay_last_rx(call);
		(void)mrelay_record_stop(call);
		call = mem_deref(call);
	}
	mem_deref(sup);
	FUZZ_CHECK(!ticks.head);
	return 0;
}
