#include <re.h>
#include "ivr/ivr.h"
#include "unit.h"

static void words(const char *lang, uint32_t n, const char *want)
{
	const char *names[32];
	char got[512] = "";
	size_t k = ivr_number_words(lang, n, names, ARRAY_SIZE(names));

	for (size_t i = 0; i < k; i++) {
		strcat(got, i ? " " : "");
		strcat(got, names[i]);
	}
	if (strcmp(got, want)) {
		fprintf(stderr, "  %s %u: got \"%s\", want \"%s\"\n", lang, n,
			got, want);
		unit_failed_checks++;
	}
}

static void chinese_numbers(void)
{
	words("zh", 0, "digit_0");
	words("zh", 3, "digit_3");
	words("zh", 10, "num_10");
	words("zh", 12, "num_10 digit_2");
	words("zh", 20, "digit_2 num_10");
	words("zh", 105, "digit_1 num_100 digit_0 digit_5");
	words("zh", 110, "digit_1 num_100 digit_1 num_10");
	words("zh", 200, "num_2_liang num_100");
	words("zh", 2000, "num_2_liang num_1000");
	words("zh", 1001, "digit_1 num_1000 digit_0 digit_1");
	words("zh", 10086, "digit_1 num_10000 digit_0 digit_8 num_10 digit_6");
	words("zh", 30000, "digit_3 num_10000");
}

static void english_numbers(void)
{
	words("en", 0, "digit_0");
	words("en", 7, "digit_7");
	words("en", 13, "num_13");
	words("en", 40, "num_40");
	words("en", 42, "num_40 digit_2");
	words("en", 105, "digit_1 num_100 digit_5");
	words("en", 3000, "digit_3 num_1000");
	words("en", 12345, "num_12 num_1000 digit_3 num_100 num_40 digit_5");
}

static void durations(void)
{
	const char *names[16];
	size_t k = ivr_duration_words("zh", 45, names, 16);
	CHECK_EQ(k, 4);
	CHECK_STR(names[0], "digit_4");
	CHECK_STR(names[3], "seconds");
	k = ivr_duration_words("en", 125, names, 16);   /* 3 minutes */
	CHECK_EQ(k, 2);
	CHECK_STR(names[0], "digit_3");
	CHECK_STR(names[1], "minutes");
	CHECK_EQ(ivr_duration_words("en", 5, names, 1), 0);
}

static void out_of_range(void)
{
	const char *names[4];
	CHECK_EQ(ivr_number_words("zh", 100000000, names, 4), 0);
	/* A short buffer never overflows. */
	CHECK(ivr_number_words("en", 12345, names, 4) <= 4);
}

const struct unit_case ivr_cases[] = {
	{"chinese_numbers", chinese_numbers},
	{"english_numbers", english_numbers},
	{"durations", durations},
	{"out_of_range", out_of_range},
	{NULL, NULL},
};
