/* media: private to the folder. */
#ifndef LAOYOU_MEDIA_INT_H
#define LAOYOU_MEDIA_INT_H

/** Bind an RTP/RTCP socket pair on a free even port of the pool. */
int  portpool_bind(struct portpool *pp, uint16_t *portp,
		   struct udp_sock **rtpp, struct udp_sock **rtcpp,
		   udp_recv_h *rtph, udp_recv_h *rtcph, void *arg);
/** Give a port pair back. */
void portpool_release(struct portpool *pp, uint16_t port);
/** The pool's IP address. */
const struct sa *portpool_ip(const struct portpool *pp);

#endif
