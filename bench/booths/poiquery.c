/* bench/booths/poiquery: life-circle queries in process, against a store
 * that already holds the POIs.  Reads queries ("LAT LON CATEGORY", "*" for
 * every category) from a file, runs WARMUP of them untimed, then times
 * each of the rest (store_poi_nearby, limit 20, 15 minutes) and prints
 * p50/p99/max and the mean number of places found.  POI_CACHE_MB=N sets
 * SQLite's page cache of the connection to N MiB (the store's default is
 * SQLite's, 2 MiB), to see what a larger cache would buy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "store/store.h"
#include "store/poi.h"
#include "store/store_int.h"

enum { QMAX = 200000, WARMUP = 500 };

struct q {
	double lat, lon;
	char cat[24];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *t, size_t n, uint64_t found,
		   uint64_t shown)
{
	if (!n)
		return;
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("%-14s n=%-6zu p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms  "
	       "found %.1f (shown %.1f) per query\n", what, n,
	       t[n / 2] / 1e6, t[(n * 99 + 99) / 100 - 1] / 1e6,
	       t[n - 1] / 1e6, (double)found / n, (double)shown / n);
}

static void count_hit(const struct store_poi_hit *h, void *arg)
{
	(void)h;
	(*(uint64_t *)arg)++;
}

int main(int argc, char **argv)
{
	static struct q qs[QMAX];
	static uint64_t t_one[QMAX], t_all[QMAX];
	uint64_t f_one = 0, f_all = 0, s_one = 0, s_all = 0;
	size_t nq = 0, n_one = 0, n_all = 0;
	struct store *st = NULL;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: poiquery DB QUERIES\n");
		return 2;
	}
	f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 2;
	}
	while (nq < QMAX && fscanf(f, "%lf %lf %23s", &qs[nq].lat,
				   &qs[nq].lon, qs[nq].cat) == 3)
		nq++;
	fclose(f);
	if (libre_init() || store_open(&st, argv[1])) {
		fprintf(stderr, "poiquery: cannot open %s\n", argv[1]);
		return 1;
	}
	if (getenv("POI_CACHE_MB")) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%ld",
			 atol(getenv("POI_CACHE_MB")) * 1024);
		if (sqlite3_exec(store_db(st), sql, NULL, NULL, NULL)) {
			fprintf(stderr, "poiquery: %s failed\n", sql);
			return 1;
		}
		printf("page cache %s MiB\n", getenv("POI_CACHE_MB"));
	}
	for (size_t i = 0; i < nq; i++) {
		struct store_poi_query q = {qs[i].lat, qs[i].lon,
			strcmp(qs[i].cat, "*") ? qs[i].cat : NULL, 15, 20};
		uint32_t total = 0;
		uint64_t shown = 0, t0 = now_ns(), dt;

		if (store_poi_nearby(st, &q, count_hit, &shown, &total)) {
			fprintf(stderr, "poiquery: query %zu failed\n", i);
			return 1;
		}
		dt = now_ns() - t0;
		if (i < WARMUP)
			continue;
		if (q.category) {
			t_one[n_one++] = dt;
			f_one += total;
			s_one += shown;
		}
		else {
			t_all[n_all++] = dt;
			f_all += total;
			s_all += shown;
		}
	}
	report("one category", t_one, n_one, f_one, s_one);
	report("all categories", t_all, n_all, f_all, s_all);
	mem_deref(st);
	libre_close();
	return 0;
}
