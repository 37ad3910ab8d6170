/*
 * schedule: each weekday is a bitmap of its 1440 minutes, so overlap checks
 * and lookups are exact and cheap.  Local time comes from the C library
 * with TZ switched to the zone file for the call: the zone's own rules (DST
 * included) are then applied exactly as tzdata says, at the price of a
 * tzset() per lookup, which is fine at call-setup rates.
 */
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <re.h>
#include "ivr/schedule.h"

#define ZONEINFO "/usr/share/zoneinfo"

enum {
	DAY_MIN = 24 * 60,
	DAY_WORDS = (DAY_MIN + 63) / 64,
	ZONE_MAX = 128,       /* longest IANA name is about 30 bytes */
};

struct mark {
	int32_t day;          /* days since 1970-01-01 */
	bool workday;         /* else a holiday */
};

struct schedule {
	/* ":/usr/share/zoneinfo/NAME": the absolute path makes the C
	 * library read the very file schedule_alloc checked, TZDIR or not. */
	char tz[sizeof(ZONEINFO) + ZONE_MAX + 2];
	bool always;
	uint64_t open[7][DAY_WORDS];  /* bit m: minute m of the day is open */
	struct mark *marks;           /* sorted by day */
	size_t nmarks, cap;
};

static void destructor(void *arg)
{
	struct schedule *s = arg;
	mem_deref(s->marks);
}

/* Only plain relative names: no "..", no hidden files, no odd bytes. */
static bool zone_name_ok(const char *tz)
{
	size_t n = strlen(tz);
	bool comp_start = true;

	if (!n || n >= ZONE_MAX)
		return false;
	for (const char *p = tz; *p; p++) {
		char c = *p;
		if (comp_start && (c == '.' || c == '/'))
			return false;
		comp_start = c == '/';
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || strchr("/_+-.", c)))
			return false;
	}
	return !comp_start;
}

/* glibc quietly falls back to UTC for a zone it cannot load, so a typo
 * would shift every opening hour: insist on a real TZif file. */
static bool zone_file_ok(const char *path)
{
	char magic[4];
	bool ok;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
		!memcmp(magic, "TZif", sizeof(magic));
	close(fd);
	return ok;
}

int schedule_alloc(struct schedule **sp, const char *tz)
{
	struct schedule *s;
	int err = 0;

	if (!sp)
		return EINVAL;
	if (!tz)
		tz = "Asia/Shanghai";
	if (!zone_name_ok(tz))
		return EINVAL;

	s = mem_zalloc(sizeof(*s), destructor);
	if (!s)
		return ENOMEM;
	re_snprintf(s->tz, sizeof(s->tz), ":" ZONEINFO "/%s", tz);
	if (!zone_file_ok(s->tz + 1)) {
		err = EINVAL;
		goto out;
	}

 out:
	if (err)
		mem_deref(s);
	else
		*sp = s;
	return err;
}

void schedule_set_always(struct schedule *s)
{
	if (s)
		s->always = true;
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "HH:MM" at *pp as minutes of the day; "24:00" only if is_end. */
static int parse_hhmm(const char **pp, int *minp, bool is_end)
{
	const char *p = *pp;
	int h, m;

	if (!digit(p[0]) || !digit(p[1]) || p[2] != ':' || !digit(p[3]) ||
	    !digit(p[4]))
		return EINVAL;
	h = (p[0] - '0') * 10 + (p[1] - '0');
	m = (p[3] - '0') * 10 + (p[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m || !is_end)))
		return EINVAL;
	*minp = h * 60 + m;
	*pp = p + 5;
	return 0;
}

static const char *skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t')
		++p;
	return p;
}

static bool bit_get(const uint64_t *map, int m)
{
	return map[m / 64] >> (m % 64) & 1;
}

int schedule_add_hours(struct schedule *s, int wday, const char *ranges)
{
	uint64_t add[DAY_WORDS] = {0};
	const char *p;
	int start, end;

	if (!s || wday < 0 || wday > 6 || !ranges)
		return EINVAL;

	/* Collect the whole string first, so a bad range near its end
	 * leaves the day as it was. */
	p = skip_blank(ranges);
	if (!*p)
		return EINVAL;
	for (;;) {
		const char *sep;

		if (parse_hhmm(&p, &start, false))
			return EINVAL;
		p = skip_blank(p);
		if (*p++ != '-')
			return EINVAL;
		p = skip_blank(p);
		if (parse_hhmm(&p, &end, true) || end <= start)
			return EINVAL;
		for (int m = start; m < end; m++) {
			if (bit_get(add, m) || bit_get(s->open[wday], m))
				return EINVAL;
			add[m / 64] |= 1ull << (m % 64);
		}

		sep = p;
		p = skip_blank(p);
		if (*p == ',')
			p = skip_blank(p + 1);
		else if (!*p)
			break;
		/* Ranges must be apart: "09:00-10:0011:00-12:00" is a typo. */
		if (p == sep || !*p)
			return EINVAL;
	}

	for (int i = 0; i < DAY_WORDS; i++)
		s->open[wday][i] |= add[i];
	return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (March-based years put the leap day last). */
static int32_t days_from_civil(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int parse_date(int32_t *dayp, const char *date)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
				    30, 31};
	int y, m, d, last;

	if (!date || strlen(date) != 10 || date[4] != '-' || date[7] != '-')
		return EINVAL;
	for (int i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && !digit(date[i]))
			return EINVAL;
	}
	y = atoi(date);
	m = (date[5] - '0') * 10 + (date[6] - '0');
	d = (date[8] - '0') * 10 + (date[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return EINVAL;
	last = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		last = 29;
	if (d > last)
		return EINVAL;
	*dayp = days_from_civil(y, m, d);
	return 0;
}

/* Index of the first mark on or after day. */
static size_t mark_find(const struct schedule *s, int32_t day)
{
	size_t lo = 0, hi = s->nmarks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->marks[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int add_mark(struct schedule *s, const char *date, bool workday)
{
	int32_t day;
	size_t i;

	if (!s || parse_date(&day, date))
		return EINVAL;

	i = mark_find(s, day);
	if (i < s->nmarks && s->marks[i].day == day)
		return s->marks[i].workday == workday ? 0 : EEXIST;

	if (s->nmarks == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct mark *m = s->marks ?
			mem_reallocarray(s->marks, cap, sizeof(*m), NULL) :
			mem_alloc(cap * sizeof(*m), NULL);
		if (!m)
			return ENOMEM;
		s->marks = m;
		s->cap = cap;
	}
	memmove(&s->marks[i + 1], &s->marks[i],
		(s->nmarks - i) * sizeof(*s->marks));
	s->marks[i].day = day;
	s->marks[i].workday = workday;
	++s->nmarks;
	return 0;
}

int schedule_add_holiday(struct schedule *s, const char *date)
{
	return add_mark(s, date, false);
}

int schedule_add_workday(struct schedule *s, const char *date)
{
	return add_mark(s, date, true);
}

/* localtime_r under the schedule's zone, then the caller's TZ back. */
static bool local_time(const struct schedule *s, int64_t t, struct tm *tm)
{
	const char *cur = getenv("TZ");
	time_t tt = (time_t)t;
	char *saved = NULL;
	bool ok;

	if ((int64_t)tt != t)
		return false;
	if (cur && !strcmp(cur, s->tz)) {
		tzset();
		return localtime_r(&tt, tm) != NULL;
	}

	/* setenv may free the string getenv returned. */
	if (cur && str_dup(&saved, cur))
		return false;
	if (setenv("TZ", s->tz, 1)) {
		mem_deref(saved);
		return false;
	}
	/* glibc's localtime_r does not re-read TZ by itself. */
	tzset();
	ok = localtime_r(&tt, tm) != NULL;

	if (saved)
		(void)setenv("TZ", saved, 1);
	else
		(void)unsetenv("TZ");
	tzset();
	mem_deref(saved);
	return ok;
}

bool schedule_is_open(const struct schedule *s, int64_t t)
{
	const uint64_t *day;
	struct tm tm;
	size_t i;
	int32_t dn;

	if (!s)
		return false;
	if (s->always)
		return true;
	/* ±34,000 years keeps every date below within int arithmetic. */
	if (t < -(INT64_C(1) << 40) || t > INT64_C(1) << 40 ||
	    !local_time(s, t, &tm))
		return false;

	day = s->open[tm.tm_wday];
	dn = days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	i = mark_find(s, dn);
	if (i < s->nmarks && s->marks[i].day == dn) {
		if (!s->marks[i].workday)
			return false;
		day = s->open[1];
	}
	return bit_get(day, tm.tm_hour * 60 + tm.tm_min);
}
