/* site: the site file — the import/export format for hotlines, flows,
 * schedules and prompts.  Checked as a whole and applied all or nothing;
 * at run time the store holds the site in force. */
#ifndef LAOYOU_SITE_H
#define LAOYOU_SITE_H
#include <stdio.h>

struct store;
struct conf;

/** Check a site file; on error write "file:line: what is wrong". */
int site_check(const char *path, const struct conf *cf, char *err,
	       size_t errsz);
/** Check and import a site file into st (prompt recordings converted to
 * 8 kHz into the data directory); nothing changes on any error. */
int site_import(const char *path, const struct conf *cf, struct store *st,
		char *err, size_t errsz);
/** Write the site in force to f as JSON. */
int site_export(struct store *st, FILE *f);

#endif
