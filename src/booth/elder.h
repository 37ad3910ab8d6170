/* elder: one-touch elder help (助老一键通).  A booth's help button or a
 * home device calls the elder-care queue first in line; if no agent answers
 * in time, the family contacts are called in order and sent an SMS. */
#ifndef LAOYOU_ELDER_H
#define LAOYOU_ELDER_H
#include <stddef.h>
struct elder;
struct conf;
struct calls;
struct desk;
struct store;
struct booths;
struct sms;
struct json;
struct store_elder;

/** Claims the elder number on calls; escalates through sms. */
int  elder_alloc(struct elder **ep, const struct conf *cf, struct calls *cs,
		 struct desk *d, struct store *st, struct booths *b,
		 struct sms *sms);
/** Apply the settings that may change while running (SIGHUP). */
void elder_reconf(struct elder *e, const struct conf *cf);

/** A profile object of a site file or an API body (for account) into pe;
 * "file:line: what is wrong" into err (EINVAL). */
int  elder_parse(const struct json *o, const char *file, const char *account,
		 struct store_elder *pe, char *err, size_t errsz);
/** A booth's escalation contacts, if pe has none: the community offices
 * (watch volunteers of kind office) of district, then those of every
 * district ("*"), each office's number and then its escalation number. */
int  elder_booth_contacts(struct store *st, const char *district,
			  struct store_elder *pe);
/** Load the "elders" of a site: an object of account: profile (check only
 * if e is NULL); profiles not listed are kept.  Errors read
 * "file:line: what is wrong". */
int  elder_site_load(struct elder *e, const struct json *root,
		     const char *file, char *err, size_t errsz);

#endif
