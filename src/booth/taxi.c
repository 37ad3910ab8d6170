/* Placeholder until the module is written: allocates an empty object. */
#include <re.h>
#include "booth/taxi.h"
struct taxi { int unused; };
int taxi_alloc(struct taxi **tp, const struct conf *cf, struct store *st,
	       struct booths *b)
{ *tp = mem_zalloc(sizeof(struct taxi), NULL); return *tp ? 0 : ENOMEM; }
void taxi_reconf(struct taxi *t, const struct conf *cf) { }
