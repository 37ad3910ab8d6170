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

#include <stdarg.h>
/** Prepare sql and bind text or integer arguments described by fmt ('s'
 * a const char *, 'i' an int64_t, 'd' a double). */
int store_prep(struct store *st, sqlite3_stmt **sp, const char *sql,
	       const char *fmt, va_list ap);
/** store_prep with the arguments inline. */
int store_query(struct store *st, sqlite3_stmt **sp, const char *sql,
		const char *fmt, ...);
/** Column col of the row as text into dst ("" for NULL). */
void store_col_text(sqlite3_stmt *s, int col, char *dst, size_t sz);
/** Run a statement that returns no rows; ENOENT if it changed none. */
int store_run(struct store *st, const char *sql, const char *fmt, ...);
/** Run a query and copy the first row's text columns into the buffers
 * given after fmt's arguments (pairs of char *, size_t); ENOENT if none. */
int store_row(struct store *st, const char *sql, int ncols,
	      const char *fmt, ...);

#endif
