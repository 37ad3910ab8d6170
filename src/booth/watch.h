/* watch: 守望相助 neighbourhood watch — a citizen at a booth asks for help;
 * the district's volunteers and community office are alerted by SMS and on
 * their page; the first to accept owns it; nobody accepting escalates. */
#ifndef LAOYOU_WATCH_H
#define LAOYOU_WATCH_H
struct watch;
struct conf;
struct store;
struct booths;
struct sms;

/** Alerts over the store, the fleet and the SMS outbox. */
int  watch_alloc(struct watch **wp, const struct conf *cf, struct store *st,
		 struct booths *b, struct sms *sms);
/** Apply the settings that may change while running (SIGHUP). */
void watch_reconf(struct watch *w, const struct conf *cf);

#endif
