/* watch: 守望相助 neighbourhood watch — a citizen at a booth asks for help;
 * the district's volunteers and community office are alerted by SMS and on
 * their page; the first to accept owns it; nobody accepting escalates. */
#ifndef LAOYOU_WATCH_H
#define LAOYOU_WATCH_H
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

struct watch;
struct conf;
struct store;
struct booths;
struct sms;

/** Alerts over the store, the fleet and the SMS outbox. */
int  watch_alloc(struct watch **wp, const struct conf *cf, struct store *st,
		 struct booths *b, struct sms *sms);
/** Apply the settings that may change while running (SIGHUP). */
void watch_reconf(struct watch *w, const struct conf *cf);

struct booth_info;
struct store_volunteer;
struct json;

enum { WATCH_NOTE_MAX = 500 };

/** Is category one a citizen may pick (fall, lost, suspicious,
 * fire-smoke, quarrel, other)? */
bool watch_category_ok(const char *category);
/** Chinese name of a category, for messages. */
const char *watch_category_zh(const char *category);
/** A citizen at booth bi asks for help: the alert is stored, then the
 * district's volunteers and office are alerted by SMS, and the booth's
 * screen and operations hear of it.  Its id goes to *idp; *dup says an
 * alert of the same booth and category still open was returned instead of
 * a new one.  EINVAL bad input, EAGAIN too many from this booth. */
int  watch_raise(struct watch *w, const struct booth_info *bi,
		 const char *category, const char *note, int64_t *idp,
		 bool *dup);
/** Volunteer v takes alert id: ENOENT if it is not of their district,
 * EALREADY if somebody else was first or it is over. */
int  watch_accept(struct watch *w, int64_t id,
		  const struct store_volunteer *v);
/** The volunteer who took alert id closes it: ENOENT, EPERM (somebody
 * else holds it), EALREADY (not accepted, or closed already). */
int  watch_close(struct watch *w, int64_t id, const struct store_volunteer *v,
		 const char *resolution);
/** The volunteer whose page link carries token (ENOENT if none). */
int  watch_volunteer_auth(struct watch *w, const char *token,
			  struct store_volunteer *v);
/** A volunteer object of the API or the site file into v (token too, if
 * the object has one); "file:line: what is wrong" into err. */
int  watch_volunteer_parse(const struct json *o, const char *file,
			   struct store_volunteer *v, char *err, size_t errsz);
/** Add or change volunteer v.  A new one, or any with rotate, gets a fresh
 * token unless v->token is set; the token in use goes to v->token. */
int  watch_volunteer_put(struct watch *w, struct store_volunteer *v,
			 bool rotate);
/** The link of a volunteer's page (public_url/watch.html?v=TOKEN). */
void watch_link(const struct watch *w, const char *token, char *buf,
		size_t sz);
/** Load the "volunteers" of a site (check only if w is NULL); errors read
 * "file:line: what is wrong". */
int  watch_site_load(struct watch *w, const struct json *root,
		     const char *file, char *err, size_t errsz);

/** Is buf a WAV file a spoken note may be (mono; PCM 8/16-bit, A-law or
 * u-law; 8-48 kHz; 0.2-60 s)?  Its length in ms goes to *ms. */
bool watch_wav_ok(const uint8_t *buf, size_t len, uint32_t *ms);
/** Attach a spoken note (a WAV file, see watch_wav_ok) to alert id of
 * booth: EINVAL not a WAV we take, ENOENT no such alert of this booth,
 * EALREADY closed already. */
int  watch_audio_put(struct watch *w, int64_t id, const char *booth,
		     const uint8_t *buf, size_t len, uint32_t *ms);

#endif
