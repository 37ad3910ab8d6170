/*
 * POI import (src/store/poi.c): the input as CSV and as GeoJSON, through
 * store_poi_import with STORE_POI_CHECK (validated against a real store,
 * then rolled back).  Every refusal names the file and a line; nothing is
 * ever left in the store.
 */
#include "fuzz.h"
#include <string.h>
#include <errno.h>
#include "store/store.h"
#include "store/poi.h"

static struct store *st;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64];

	(void)argc; (void)argv;
	fuzz_quiet();
	snprintf(path, sizeof(path), "/tmp/laoyou-fuzz-poi-%d.db", getpid());
	(void)remove(path);
	if (store_open(&st, path))
		abort();
	return 0;
}

static void one(const uint8_t *data, size_t size, enum store_poi_format f,
		const char *file)
{
	char err[600];
	uint32_t n = 0, total = 1;
	int e;

	memset(err, 0x55, sizeof(err));
	e = store_poi_import(st, file, (const char *)data, size, f,
			     STORE_POI_CHECK, &n, err, sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (e == EINVAL) {
		size_t l = strlen(file);
		FUZZ_CHECK(!strncmp(err, file, l) && err[l] == ':' &&
			   err[l + 1] >= '1' && err[l + 1] <= '9');
	}
	else {
		FUZZ_CHECK(e == 0 || e == ENOMEM);
	}
	FUZZ_CHECK(!store_poi_list(st, "", 0, 0, NULL, NULL, &total));
	FUZZ_CHECK(total == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, STORE_POI_CSV, "pois.csv");
	one(data, size, STORE_POI_GEOJSON, "pois.geojson");
	return 0;
}
