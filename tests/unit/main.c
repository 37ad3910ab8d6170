/* The unit-test harness: runs every case of every module and prints
 * `N passed, N failed`. */
#include <stdlib.h>
#include <unistd.h>
#include <re.h>
#include "core/log.h"
#include "unit.h"

int unit_failed_checks;

static const struct { const char *module; const struct unit_case *cases; }
modules[] = {
	{"conf", conf_cases}, {"tmr", tmr_cases}, {"event", event_cases},
	{"sdp", sdp_cases}, {"portpool", portpool_cases},
	{"relay", relay_cases}, {"store", store_cases},
	{"check", check_cases}, {"auth", auth_cases},
	{"dtmfdet", dtmfdet_cases}, {"audio", audio_cases},
	{"json", json_cases}, {"schedule", schedule_cases},
	{"ivr", ivr_cases}, {"acd", acd_cases}, {"kpi", kpi_cases}, {"api", api_cases},
	{"decode", decode_cases}, {"booth", booth_cases}, {"poi", poi_cases},
	{"sms", sms_cases}, {"taxi", taxi_cases},
};

static char tmpdir[256];

const char *unit_tmpfile(const char *name)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

uint16_t unit_free_ports(int n)
{
	for (int tries = 0; tries < 500; tries++) {
		uint16_t base = (uint16_t)(20000 + (rand_u16() % 20000) * 2);
		bool ok = true;
		for (int i = 0; i < n && ok; i++) {
			struct udp_sock *us = NULL;
			struct sa la;
			sa_set_str(&la, "127.0.0.1", (uint16_t)(base + i));
			ok = !udp_listen(&us, &la, NULL, NULL);
			mem_deref(us);
		}
		if (ok)
			return base;
	}
	return 40000;
}

static void stop_loop(void *arg)
{
	(void)arg;
	re_cancel();
}

void unit_run_loop(unsigned ms)
{
	struct tmr t;
	tmr_init(&t);
	tmr_start(&t, ms, stop_loop, NULL);
	(void)re_main(NULL);
	tmr_cancel(&t);
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/laoyou-unit-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	if (libre_init())
		return 1;
	log_set_level(LOG_ERROR);

	for (size_t m = 0; m < ARRAY_SIZE(modules); m++) {
		for (const struct unit_case *c = modules[m].cases; c->name;
		     c++) {
			int before = unit_failed_checks;
			if (argc > 1 && !strstr(c->name, argv[1]) &&
			    strcmp(modules[m].module, argv[1]))
				continue;
			c->fn();
			if (unit_failed_checks == before) {
				passed++;
				printf("ok   %s.%s\n", modules[m].module, c->name);
			}
			else {
				failed++;
				printf("FAIL %s.%s\n", modules[m].module, c->name);
			}
		}
	}

	libre_close();
	/* Every mem_zalloc'd object must be gone by now (counted where
	 * libre keeps statistics; LeakSanitizer checks the rest). */
	struct memstat ms;
	if (!mem_get_stat(&ms) && ms.blocks_cur) {
		printf("FAIL leaks: %zu objects still allocated\n",
		       ms.blocks_cur);
		mem_debug();
		failed++;
	}
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd)) { /* best effort */ }
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
