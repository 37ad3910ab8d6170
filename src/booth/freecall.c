/* Placeholder while the free call is written. */
#include <re.h>
#include "booth/booth.h"
#include "booth/booth_int.h"
struct freecall { int unused; };
int freecall_alloc(struct freecall **fcp, struct booths *b,
		   const struct conf *cf, struct calls *cs, struct store *st)
{ *fcp = mem_zalloc(sizeof(struct freecall), NULL); return *fcp ? 0 : ENOMEM; }
void freecall_reconf(struct freecall *fc, const struct conf *cf) { }
