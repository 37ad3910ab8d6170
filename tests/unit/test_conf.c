#include <stdio.h>
#include <re.h>
#include "core/conf.h"
#include "unit.h"

static int load_text(struct conf *cf, const char *text, char *err, size_t sz)
{
	const char *path = unit_tmpfile("test.conf");
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	conf_defaults(cf);
	return conf_load(cf, path, err, sz);
}

static void defaults(void)
{
	struct conf cf;
	conf_defaults(&cf);
	CHECK_EQ(sa_port(&cf.sip_udp), 5060);
	CHECK_EQ(sa_port(&cf.http), 8080);
	CHECK_EQ(cf.rtp_timeout_s, 60);
	CHECK_STR(cf.realm, "laoyou");
}

static void parses_values(void)
{
	struct conf cf;
	char err[256] = "";
	int e = load_text(&cf, "# comment\n\nsip_udp = 127.0.0.1:5070\n"
			  "  rtp_ports=30000-30099  \nmax_calls = 7\n"
			  "log_level = debug\nhttp = off\n"
			  "trunk = sip:10.1.1.1:5060\n", err, sizeof(err));
	CHECK_EQ(e, 0);
	CHECK_EQ(sa_port(&cf.sip_udp), 5070);
	CHECK_EQ(cf.rtp_min, 30000);
	CHECK_EQ(cf.rtp_max, 30099);
	CHECK_EQ(cf.max_calls, 7);
	CHECK_EQ(cf.log_level, LOG_DEBUG);
	CHECK(!sa_isset(&cf.http, SA_ADDR));
	CHECK_STR(cf.trunk_uri, "sip:10.1.1.1:5060");
}

static void errors_name_the_line(void)
{
	struct conf cf;
	char err[256], want[300];
	const char *bad[][2] = {
		{"a = 1\n", "1: unknown setting 'a'"},
		{"\n\nmax_calls = -1\n", "3: max_calls must be"},
		{"max_calls = 99999999999\n", "1: max_calls must be"},
		{"rtp_ports = 100-200\n", "1: rtp_ports must be"},
		{"sip_udp = nowhere\n", "1: sip_udp must be"},
		{"just words\n", "1: expected 'key = value'"},
		{"log_level = loud\n", "1: log_level must be"},
		{"trunk = http://x\n", "1: trunk must be"},
		{"realm = a b\n", "1: realm must be"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(load_text(&cf, bad[i][0], err, sizeof(err)) != 0);
		snprintf(want, sizeof(want), "%s:%s", unit_tmpfile("test.conf"),
			 bad[i][1]);
		if (strncmp(err, want, strlen(want))) {
			fprintf(stderr, "  got '%s', want '%s…'\n", err, want);
			unit_failed_checks++;
		}
	}
}

static void missing_file(void)
{
	struct conf cf;
	char err[256];
	conf_defaults(&cf);
	CHECK(conf_load(&cf, "/nonexistent/laoyou.conf", err, sizeof(err)));
	CHECK(strstr(err, "cannot open") != NULL);
}

const struct unit_case conf_cases[] = {
	{"defaults", defaults},
	{"parses_values", parses_values},
	{"errors_name_the_line", errors_name_the_line},
	{"missing_file", missing_file},
	{NULL, NULL},
};
