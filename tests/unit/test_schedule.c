#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <re.h>
#include "ivr/schedule.h"
#include "unit.h"

/* Fixed instants, worked out by hand: 2026-01-01 is day 20454 after
 * 1970-01-01 (56 years, 14 of them leap), both Thursdays.  Local midnight
 * in Shanghai (+08:00, no DST) is 16:00 UTC the day before. */
#define H 3600
#define M 60
/* 2026-10-01 00:00 +08:00, a Thursday (day 20727 = 20454 + 273). */
#define SH_THU_1001 INT64_C(1790784000)
#define SH_FRI_1002 (SH_THU_1001 + 24 * H)
/* 2026-10-10 00:00 +08:00, a Saturday. */
#define SH_SAT_1010 (SH_THU_1001 + 9 * 24 * H)
#define SH_SUN_1011 (SH_SAT_1010 + 24 * H)
#define SH_WED_1014 (SH_SAT_1010 + 4 * 24 * H)
#define SH_SAT_1017 (SH_SAT_1010 + 7 * 24 * H)
/* 2026-03-28 00:00 UTC, a Saturday (day 20540): 01:00 CET in Berlin.
 * Berlin moves to CEST (+02:00) at 01:00 UTC on Sunday 2026-03-29. */
#define UTC_SAT_0328 INT64_C(1774656000)
#define UTC_SUN_0329 (UTC_SAT_0328 + 24 * H)

static struct schedule *make(const char *tz)
{
	struct schedule *s = NULL;
	CHECK_EQ(schedule_alloc(&s, tz), 0);
	return s;
}

static void range_edges_and_lunch(void)
{
	struct schedule *s = make("Asia/Shanghai");

	if (!s)
		return;
	for (int d = 1; d <= 5; d++)
		CHECK_EQ(schedule_add_hours(s, d, "09:00-12:00, 13:30-17:30"),
			 0);

	/* Thursday 2026-10-01, local times. */
	CHECK(!schedule_is_open(s, SH_THU_1001 + 8 * H + 59 * M + 59));
	CHECK(schedule_is_open(s, SH_THU_1001 + 9 * H));          /* 09:00 */
	CHECK(schedule_is_open(s, SH_THU_1001 + 11 * H + 59 * M + 59));
	CHECK(!schedule_is_open(s, SH_THU_1001 + 12 * H));        /* 12:00 */
	CHECK(!schedule_is_open(s, SH_THU_1001 + 13 * H + 29 * M + 59));
	CHECK(schedule_is_open(s, SH_THU_1001 + 13 * H + 30 * M));
	CHECK(schedule_is_open(s, SH_THU_1001 + 17 * H + 29 * M + 59));
	CHECK(!schedule_is_open(s, SH_THU_1001 + 17 * H + 30 * M));
	CHECK(!schedule_is_open(s, SH_THU_1001));                 /* 00:00 */
	/* 09:30 UTC is 17:30 local: the zone is really applied. */
	CHECK(!schedule_is_open(s, SH_THU_1001 + 8 * H + 9 * H + 30 * M));
	/* Saturday and Sunday have no hours. */
	CHECK(!schedule_is_open(s, SH_SAT_1010 + 10 * H));
	CHECK(!schedule_is_open(s, SH_SUN_1011 + 10 * H));
	mem_deref(s);
}

static void day_end_and_separators(void)
{
	struct schedule *s = make(NULL);   /* Asia/Shanghai */

	if (!s)
		return;
	CHECK_EQ(schedule_add_hours(s, 6, "22:00-24:00"), 0);
	CHECK_EQ(schedule_add_hours(s, 0, "00:00-01:00 02:00-03:00"), 0);
	CHECK_EQ(schedule_add_hours(s, 0, " 05:00 - 06:00 ,07:00-08:00 "), 0);
	/* Adjacent is not overlapping. */
	CHECK_EQ(schedule_add_hours(s, 0, "01:00-02:00"), 0);

	CHECK(!schedule_is_open(s, SH_SAT_1010 + 21 * H + 59 * M));
	CHECK(schedule_is_open(s, SH_SAT_1010 + 23 * H + 59 * M + 59));
	CHECK(schedule_is_open(s, SH_SUN_1011));                  /* 00:00 */
	CHECK(schedule_is_open(s, SH_SUN_1011 + 1 * H + 30 * M));
	CHECK(schedule_is_open(s, SH_SUN_1011 + 2 * H + 59 * M));
	CHECK(!schedule_is_open(s, SH_SUN_1011 + 3 * H));
	CHECK(schedule_is_open(s, SH_SUN_1011 + 5 * H));
	CHECK(schedule_is_open(s, SH_SUN_1011 + 7 * H + 59 * M));
	CHECK(!schedule_is_open(s, SH_SUN_1011 + 8 * H));
	mem_deref(s);
}

static void holiday_on_a_weekday(void)
{
	struct schedule *s = make("Asia/Shanghai");

	if (!s)
		return;
	for (int d = 1; d <= 5; d++)
		CHECK_EQ(schedule_add_hours(s, d, "00:00-24:00"), 0);
	CHECK(schedule_is_open(s, SH_THU_1001 + 10 * H));
	CHECK_EQ(schedule_add_holiday(s, "2026-10-01"), 0);
	CHECK_EQ(schedule_add_holiday(s, "2026-10-01"), 0);  /* again: fine */
	CHECK(!schedule_is_open(s, SH_THU_1001 + 10 * H));   /* Thu 10:00 */
	/* The holiday is the local date: it starts at 16:00 UTC on 09-30
	 * and ends at 16:00 UTC on 10-01. */
	CHECK(schedule_is_open(s, SH_THU_1001 - 1));         /* Wed 23:59:59 */
	CHECK(!schedule_is_open(s, SH_THU_1001));            /* Thu 00:00 */
	CHECK(!schedule_is_open(s, SH_FRI_1002 - 1));        /* Thu 23:59:59 */
	CHECK(schedule_is_open(s, SH_FRI_1002));             /* Fri 00:00 */
	CHECK(schedule_is_open(s, SH_FRI_1002 + 10 * H));    /* Fri 10:00 */
	mem_deref(s);
}

static void makeup_workday_gets_mondays_hours(void)
{
	struct schedule *s = make("Asia/Shanghai");

	if (!s)
		return;
	CHECK_EQ(schedule_add_hours(s, 1, "08:00-12:00"), 0);
	for (int d = 2; d <= 5; d++)
		CHECK_EQ(schedule_add_hours(s, d, "13:00-17:00"), 0);
	CHECK_EQ(schedule_add_hours(s, 6, "13:00-14:00"), 0);
	CHECK_EQ(schedule_add_workday(s, "2026-10-10"), 0);   /* Saturday */
	CHECK_EQ(schedule_add_workday(s, "2026-10-11"), 0);   /* Sunday */
	CHECK_EQ(schedule_add_workday(s, "2026-10-14"), 0);   /* Wednesday */

	/* Saturday 2026-10-10: Monday's 08:00-12:00, not its own hours. */
	CHECK(!schedule_is_open(s, SH_SAT_1010 + 7 * H + 59 * M + 59));
	CHECK(schedule_is_open(s, SH_SAT_1010 + 8 * H));
	CHECK(schedule_is_open(s, SH_SAT_1010 + 11 * H + 59 * M + 59));
	CHECK(!schedule_is_open(s, SH_SAT_1010 + 12 * H));
	CHECK(!schedule_is_open(s, SH_SAT_1010 + 13 * H + 30 * M));
	/* Sunday 2026-10-11 likewise. */
	CHECK(schedule_is_open(s, SH_SUN_1011 + 9 * H));
	/* Wednesday 2026-10-14: Monday's hours whatever the weekday. */
	CHECK(schedule_is_open(s, SH_WED_1014 + 8 * H + 30 * M));
	CHECK(!schedule_is_open(s, SH_WED_1014 + 14 * H));
	/* The next Saturday is an ordinary one. */
	CHECK(!schedule_is_open(s, SH_SAT_1017 + 9 * H));
	CHECK(schedule_is_open(s, SH_SAT_1017 + 13 * H + 30 * M));

	/* A date is a holiday or a workday, never both. */
	CHECK_EQ(schedule_add_holiday(s, "2026-10-10"), EEXIST);
	CHECK_EQ(schedule_add_workday(s, "2026-10-10"), 0);
	CHECK_EQ(schedule_add_holiday(s, "2026-10-01"), 0);
	CHECK_EQ(schedule_add_workday(s, "2026-10-01"), EEXIST);
	CHECK(schedule_is_open(s, SH_SAT_1010 + 8 * H));
	mem_deref(s);
}

static void always_open(void)
{
	struct schedule *s = make("Asia/Shanghai");

	if (!s)
		return;
	CHECK(!schedule_is_open(s, SH_THU_1001 + 3 * H));
	CHECK_EQ(schedule_add_holiday(s, "2026-10-01"), 0);
	schedule_set_always(s);
	CHECK(schedule_is_open(s, SH_THU_1001 + 3 * H));     /* holiday */
	CHECK(schedule_is_open(s, SH_SUN_1011 + 23 * H));    /* Sunday */
	CHECK(schedule_is_open(s, 0));
	mem_deref(s);

	CHECK(!schedule_is_open(NULL, SH_THU_1001));
	schedule_set_always(NULL);
}

static void dst_zone_converts(void)
{
	struct schedule *s = make("Europe/Berlin");

	if (!s)
		return;
	CHECK_EQ(schedule_add_hours(s, 6, "08:00-09:00"), 0);
	CHECK_EQ(schedule_add_hours(s, 0, "08:00-09:00"), 0);

	/* Saturday 2026-03-28, CET (UTC+1). */
	CHECK(!schedule_is_open(s, UTC_SAT_0328 + 6 * H + 59 * M)); /* 07:59 */
	CHECK(schedule_is_open(s, UTC_SAT_0328 + 7 * H));          /* 08:00 */
	CHECK(schedule_is_open(s, UTC_SAT_0328 + 7 * H + 59 * M)); /* 08:59 */
	CHECK(!schedule_is_open(s, UTC_SAT_0328 + 8 * H));         /* 09:00 */

	/* Sunday 2026-03-29, CEST (UTC+2) from 01:00 UTC: the same UTC
	 * hours as Saturday now give the opposite answers. */
	CHECK(!schedule_is_open(s, UTC_SUN_0329 + 5 * H + 59 * M)); /* 07:59 */
	CHECK(schedule_is_open(s, UTC_SUN_0329 + 6 * H));          /* 08:00 */
	CHECK(schedule_is_open(s, UTC_SUN_0329 + 6 * H + 30 * M)); /* 08:30 */
	CHECK(!schedule_is_open(s, UTC_SUN_0329 + 7 * H));         /* 09:00 */
	CHECK(!schedule_is_open(s, UTC_SUN_0329 + 7 * H + 30 * M)); /* 09:30 */
	mem_deref(s);
}

static void callers_tz_is_restored(void)
{
	const char *orig = getenv("TZ");
	char *saved = NULL;
	struct schedule *s = make("Europe/Berlin");

	if (!s)
		return;
	if (orig)
		str_dup(&saved, orig);
	CHECK_EQ(schedule_add_hours(s, 6, "08:00-09:00"), 0);

	setenv("TZ", "America/New_York", 1);
	CHECK(schedule_is_open(s, UTC_SAT_0328 + 7 * H));
	CHECK_STR(getenv("TZ"), "America/New_York");
	unsetenv("TZ");
	CHECK(schedule_is_open(s, UTC_SAT_0328 + 7 * H));
	CHECK(getenv("TZ") == NULL);

	if (saved)
		setenv("TZ", saved, 1);
	tzset();
	mem_deref(saved);
	mem_deref(s);
}

static void bad_hours(void)
{
	static const char *bad[] = {
		"25:00-26:00", "9-5", "9:00-17:00", "09:00-12:00,11:00-13:00",
		"12:00-12:00", "13:00-12:00", "24:00-24:00", "09:00-24:01",
		"09:60-10:00", "", "   ", "09:00-12:00,", ",09:00-12:00",
		"09:00-12:00,,13:00-14:00", "09:00-10:0011:00-12:00", "09:00",
		"09:00-", "09:00-12:00x", "09:00~12:00", "-09:00-10:00",
		"09:00-10:00; 11:00-12:00", "0900-1000",
	};
	struct schedule *s = make("Asia/Shanghai");

	if (!s)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (schedule_add_hours(s, 1, bad[i]) != EINVAL) {
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
			unit_failed_checks++;
		}
	}
	/* None of the rejected strings left anything behind. */
	for (int m = 0; m < 24 * 60; m++) {
		if (schedule_is_open(s, SH_THU_1001 - 3 * 24 * H + m * M)) {
			fprintf(stderr, "  Monday minute %d open\n", m);
			unit_failed_checks++;
			break;
		}
	}

	CHECK_EQ(schedule_add_hours(s, 1, "09:00-12:00"), 0);
	CHECK_EQ(schedule_add_hours(s, 1, "11:59-13:00"), EINVAL);
	CHECK_EQ(schedule_add_hours(s, 1, "14:00-15:00, 08:00-09:01"), EINVAL);
	/* All or nothing: 14:00 stayed closed on Monday 2026-09-28. */
	CHECK(!schedule_is_open(s, SH_THU_1001 - 3 * 24 * H + 14 * H));
	CHECK_EQ(schedule_add_hours(s, 1, "12:00-13:00"), 0);
	CHECK_EQ(schedule_add_hours(s, -1, "09:00-10:00"), EINVAL);
	CHECK_EQ(schedule_add_hours(s, 7, "09:00-10:00"), EINVAL);
	CHECK_EQ(schedule_add_hours(s, 2, NULL), EINVAL);
	CHECK_EQ(schedule_add_hours(NULL, 2, "09:00-10:00"), EINVAL);
	mem_deref(s);
}

static void bad_dates(void)
{
	static const char *bad[] = {
		"2026-02-30", "2026-02-29", "2100-02-29", "2026-13-01",
		"2026-00-10", "2026-04-31", "2026-10-00", "2026-1-05",
		"26-10-01", "2026/10/01", "2026-10-01x", "2026-10-0a", "",
		"0000-01-01",
	};
	struct schedule *s = make("Asia/Shanghai");

	if (!s)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (schedule_add_holiday(s, bad[i]) != EINVAL ||
		    schedule_add_workday(s, bad[i]) != EINVAL) {
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
			unit_failed_checks++;
		}
	}
	CHECK_EQ(schedule_add_holiday(s, NULL), EINVAL);
	CHECK_EQ(schedule_add_holiday(NULL, "2026-10-01"), EINVAL);
	CHECK_EQ(schedule_add_holiday(s, "2028-02-29"), 0);
	CHECK_EQ(schedule_add_holiday(s, "2000-02-29"), 0);
	CHECK_EQ(schedule_add_workday(s, "2026-12-31"), 0);
	mem_deref(s);
}

static void bad_zones(void)
{
	static const char *bad[] = {
		"Mars/Olympus", "", "Asia", "Asia/", "../../etc/passwd",
		"/etc/localtime", "Asia//Shanghai", "./UTC", "zone.tab",
		"Asia/Shang hai", "Asia/Shanghai\n",
	};
	static const char *good[] = {
		"UTC", "Etc/GMT-8", "America/New_York", "Asia/Hong_Kong",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct schedule *s = NULL;
		if (schedule_alloc(&s, bad[i]) != EINVAL || s) {
			fprintf(stderr, "  accepted zone '%s'\n", bad[i]);
			unit_failed_checks++;
			mem_deref(s);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct schedule *s = NULL;
		CHECK_EQ(schedule_alloc(&s, good[i]), 0);
		mem_deref(s);
	}
	CHECK_EQ(schedule_alloc(NULL, "UTC"), EINVAL);
}

const struct unit_case schedule_cases[] = {
	{"range_edges_and_lunch", range_edges_and_lunch},
	{"day_end_and_separators", day_end_and_separators},
	{"holiday_on_a_weekday", holiday_on_a_weekday},
	{"makeup_workday_gets_mondays_hours",
	 makeup_workday_gets_mondays_hours},
	{"always_open", always_open},
	{"dst_zone_converts", dst_zone_converts},
	{"callers_tz_is_restored", callers_tz_is_restored},
	{"bad_hours", bad_hours},
	{"bad_dates", bad_dates},
	{"bad_zones", bad_zones},
	{NULL, NULL},
};
