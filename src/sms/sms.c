/* Placeholder until the module is written: allocates an empty object. */
#include <re.h>
#include "sms/sms.h"
struct sms { int unused; };
int sms_alloc(struct sms **sp, const struct conf *cf, struct store *st)
{ *sp = mem_zalloc(sizeof(struct sms), NULL); return *sp ? 0 : ENOMEM; }
void sms_reconf(struct sms *s, const struct conf *cf) { }
int sms_send(struct sms *s, const char *to, const char *text,
	     const char *ref, int64_t *idp) { return ENOSYS; }
int sms_dlr(struct sms *s, int64_t id, int status, const char *answer)
{ return ENOSYS; }
