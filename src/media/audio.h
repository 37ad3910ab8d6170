/* audio: prompt and recording audio.  Everything the server plays or
 * records is held as 16-bit linear PCM, 8 kHz mono, and turned into G.711
 * only at the RTP edge, so prompts can be cut and joined sample-exactly. */
#ifndef LAOYOU_AUDIO_H
#define LAOYOU_AUDIO_H
#include <stddef.h>
#include <stdint.h>

enum { AUDIO_RATE = 8000, AUDIO_FRAME = 160 /* samples in 20 ms */ };

struct audio;   /* immutable PCM16, 8 kHz mono; opaque, mem_zalloc'd */

/** Load a RIFF/WAVE file holding 16-bit PCM, mono, 8000 Hz (what scripts/prompts and `sox -r 8000 -c 1 -b 16` write). Anything else, a truncated file, or a chunk that overruns the file: EINVAL (with a reason written to err, e.g. "sample rate 22050, need 8000"). Skips unknown chunks (LIST, fact …). */
int  audio_load_wav(struct audio **ap, const char *path, char *err,
		    size_t errsz);
/** An audio object from samples (copied). */
int  audio_alloc(struct audio **ap, const int16_t *pcm, size_t n);
/** Concatenate n audios into one (for "you are number" + "3" + "in line"). */
int  audio_concat(struct audio **ap, const struct audio *const *parts,
		  size_t n);
/** Number of samples in a (0 for NULL). */
size_t audio_samples(const struct audio *a);
/** The samples of a (NULL for NULL). */
const int16_t *audio_pcm(const struct audio *a);
/** Duration in milliseconds. */
uint32_t audio_duration_ms(const struct audio *a);
/** Write a WAV file: 8000 Hz, 16-bit, 1 or 2 channels (interleaved samples), atomically (write to PATH.tmp, fsync, rename). */
int  audio_save_wav(const char *path, const int16_t *pcm, size_t frames,
		    unsigned channels);
/** Encode n samples to G.711 (pt 0 = PCMU, pt 8 = PCMA) into out. */
void audio_encode(uint8_t pt, const int16_t *pcm, size_t n, uint8_t *out);
/** Decode n G.711 bytes of payload type pt (0 or 8) into pcm. */
void audio_decode(uint8_t pt, const uint8_t *in, size_t n, int16_t *pcm);

#endif
