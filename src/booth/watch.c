/* Placeholder until the module is written: allocates an empty object. */
#include <re.h>
#include "booth/watch.h"
struct watch { int unused; };
int watch_alloc(struct watch **wp, const struct conf *cf, struct store *st,
		struct booths *b, struct sms *sms)
{ *wp = mem_zalloc(sizeof(struct watch), NULL); return *wp ? 0 : ENOMEM; }
void watch_reconf(struct watch *w, const struct conf *cf) { }
