/* dtmfdet: in-band DTMF detection for callers that send keys as tones in
 * their G.711 audio instead of RFC 4733 telephone-events.  One detector per
 * call leg, fed with every audio payload that leg sends. */
#ifndef LAOYOU_DTMFDET_H
#define LAOYOU_DTMFDET_H
#include <stddef.h>
#include <stdint.h>

struct dtmfdet;

/** Handler: one detected key ('0'-'9', '*', '#', 'A'-'D'), reported once per key press. */
typedef void (dtmfdet_h)(char key, void *arg);

/** A detector for 8 kHz audio calling h for each key. */
int  dtmfdet_alloc(struct dtmfdet **dp, dtmfdet_h *h, void *arg);
/** Feed n samples of 16-bit linear PCM. */
void dtmfdet_pcm(struct dtmfdet *d, const int16_t *pcm, size_t n);
/** Feed one RTP payload of G.711 (pt 0 PCMU or 8 PCMA); other payload types are ignored. */
void dtmfdet_g711(struct dtmfdet *d, uint8_t pt, const uint8_t *payload, size_t n);

#endif
