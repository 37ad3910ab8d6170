/* ivr: hotlines and their flows — bilingual prompts, DTMF menus, opening
 * hours, transfers, voicemail and call-back requests, the post-call
 * survey.  The flows come from the site file through the store; the IVR
 * takes calls to hotline numbers through the call module's application
 * interface. */
#ifndef LAOYOU_IVR_H
#define LAOYOU_IVR_H
#include <stdint.h>
#include <stdbool.h>

struct ivr;
struct ivr_site;
struct json;
struct calls;
struct store;
struct audio;

/** Build and check the IVR part of a site file (hotlines, flows,
 * schedules, prompts).  Errors: "file:line: what is wrong". */
int  ivr_site_load(struct ivr_site **sp, const struct json *root,
		   const char *file, const char *prompts_dir,
		   const char *overrides_dir, char *err, size_t errsz);
/** Hotlines in a loaded site. */
size_t ivr_site_hotlines(const struct ivr_site *s);

/** Start the IVR: load the site stored in st and claim its hotlines. */
int  ivr_alloc(struct ivr **ivrp, struct calls *cs, struct store *st,
	       const char *prompts_dir, const char *overrides_dir,
	       const char *recordings_dir);
struct desk;
/** Put queue nodes' callers in line at desk, and take agents' feature
 * codes (*61-*64) for it. */
void ivr_set_desk(struct ivr *ivr, struct desk *desk);
/** Delete recordings older than days, now and every hour. */
void ivr_set_retention(struct ivr *ivr, uint32_t days);
/** Reload the site from the store (after an import); calls in progress
 * keep the flows they started with. */
int  ivr_reload(struct ivr *ivr);

/** Audio parts that say n in lang ("zh", "en"): into parts, at most max;
 * returns how many (0 if a prompt is missing or n is out of range). */
size_t ivr_say_number(const struct ivr *ivr, const char *lang, uint32_t n,
		      struct audio **parts, size_t max);
/** Prompt names that say a duration: whole minutes from 60 s on (rounded
 * up), else seconds — "3 分钟" / "3 minutes". */
size_t ivr_duration_words(const char *lang, uint32_t seconds,
			  const char **names, size_t max);
/** The words of n in lang as prompt names, for tests and logs. */
size_t ivr_number_words(const char *lang, uint32_t n, const char **names,
			size_t max);

#endif
