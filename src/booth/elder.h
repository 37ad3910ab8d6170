/* elder: one-touch elder help (助老一键通).  A booth's help button or a
 * home device calls the elder-care queue first in line; if no agent answers
 * in time, the family contacts are called in order and sent an SMS. */
#ifndef LAOYOU_ELDER_H
#define LAOYOU_ELDER_H
struct elder;
struct conf;
struct calls;
struct desk;
struct store;
struct booths;
struct sms;

/** Claims the elder number on calls; escalates through sms. */
int  elder_alloc(struct elder **ep, const struct conf *cf, struct calls *cs,
		 struct desk *d, struct store *st, struct booths *b,
		 struct sms *sms);
/** Apply the settings that may change while running (SIGHUP). */
void elder_reconf(struct elder *e, const struct conf *cf);

#endif
