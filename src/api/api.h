/* api: HTTP in the same event loop — /health now; REST and WebSocket
 * under /api/v1 later.  Reads the other modules through their headers. */
#ifndef LAOYOU_API_H
#define LAOYOU_API_H
#include <re.h>

struct api;
struct calls;
struct sipd;
struct portpool;
struct store;

/** Serve HTTP on laddr, reporting on the given modules. */
int api_alloc(struct api **apip, const struct sa *laddr, struct calls *cs,
	      struct sipd *sd, struct portpool *pp, struct store *st);

#endif
