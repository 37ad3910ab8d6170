/* Placeholder until the module is written: allocates an empty object. */
#include <re.h>
#include "booth/elder.h"
struct elder { int unused; };
int elder_alloc(struct elder **ep, const struct conf *cf, struct calls *cs,
		struct desk *d, struct store *st, struct booths *b,
		struct sms *sms)
{ *ep = mem_zalloc(sizeof(struct elder), NULL); return *ep ? 0 : ENOMEM; }
void elder_reconf(struct elder *e, const struct conf *cf) { }
