/* schedule: a hotline's opening hours — weekly ranges in a time zone, a
 * calendar of holidays and of make-up workdays (调休), or 7x24. */
#ifndef LAOYOU_SCHEDULE_H
#define LAOYOU_SCHEDULE_H
#include <stdint.h>
#include <stdbool.h>

struct schedule;

/** A schedule in time zone tz (an IANA name such as "Asia/Shanghai"; NULL means Asia/Shanghai); EINVAL if /usr/share/zoneinfo has no such zone. Starts closed every day. */
int  schedule_alloc(struct schedule **sp, const char *tz);
/** Open 7x24 (holidays and weekly hours are then ignored). */
void schedule_set_always(struct schedule *s);
/** Add opening ranges for weekday wday (0 = Sunday … 6 = Saturday): "HH:MM-HH:MM" separated by commas or spaces, e.g. "09:00-12:00, 13:30-17:30"; "24:00" allowed as an end; EINVAL on bad syntax, end <= start, or overlap. */
int  schedule_add_hours(struct schedule *s, int wday, const char *ranges);
/** Closed all day on date "YYYY-MM-DD" (EINVAL if not a real date). */
int  schedule_add_holiday(struct schedule *s, const char *date);
/** A make-up workday: open on date with Monday's hours, whatever the weekday (EINVAL if not a real date). A date may not be both a holiday and a workday (EEXIST). */
int  schedule_add_workday(struct schedule *s, const char *date);
/** Is it open at unix time t (seconds), judged in the schedule's time zone? */
bool schedule_is_open(const struct schedule *s, int64_t t);

#endif
