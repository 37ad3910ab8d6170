/* store internals shared by the store's own files. */
#ifndef LAOYOU_STORE_INT_H
#define LAOYOU_STORE_INT_H
#include <sqlite3.h>

struct store;

/** The open database. */
sqlite3 *store_db(struct store *st);
/** Log a failed step and map it to an errno (marks the store unhealthy on
 * I/O errors). */
int store_sqlerr(struct store *st, int rc, const char *what);

#endif
