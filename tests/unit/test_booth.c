#include <stdlib.h>
#include <re.h>
#include "store/store.h"
#include "store/booth.h"
#include "site/json.h"
#include "booth/booth.h"
#include "unit.h"

/* Parse text as a site and check its booths: 0 or the error's text. */
static int site_err(const char *text, char *err, size_t sz)
{
	struct json *root = NULL;
	char why[200];
	int e;

	err[0] = '\0';
	e = json_parse(&root, text, strlen(text), why, sizeof(why));
	if (!e)
		e = booths_site_load(NULL, root, "site.json", err, sz);
	mem_deref(root);
	return e;
}

static void site_errors(void)
{
	char err[300];

	CHECK_EQ(site_err("{\"booths\":[{\"id\":\"tianai-1\",\"name\":\"甜爱路"
			  "\",\"address\":\"甜爱路 1号\",\"district\":\"虹口\","
			  "\"account\":\"b1\",\"lat\":31.27,\"lon\":121.48,"
			  "\"ports\":4}]}", err, sizeof(err)), 0);
	CHECK_EQ(site_err("{\"booths\":[{\"id\":\"x\",\"name\":\"n\","
			  "\"address\":\"a\",\"district\":\"d\",\"account\":"
			  "\"b1\",\n\"lat\":91,\"lon\":121}]}", err,
			  sizeof(err)), EINVAL);
	CHECK_STR(err, "site.json:2: \"lat\" must be a number of degrees "
		  "from -90 to 90");
	CHECK_EQ(site_err("{\"booths\":[{\"id\":\"X Y\"}]}", err, sizeof(err)),
		 EINVAL);
	CHECK(strstr(err, "site.json:1:") == err);
	CHECK_EQ(site_err("{\"booths\":[\n{\"id\":\"a\",\"name\":\"n\","
			  "\"address\":\"a\",\"district\":\"d\",\"account\":"
			  "\"b1\",\"lat\":1,\"lon\":1,\"colour\":2}]}", err,
			  sizeof(err)), EINVAL);
	CHECK_STR(err, "site.json:2: unknown booth field \"colour\"");
}

static void charging_and_quotas(void)
{
	struct store *st = NULL;
	struct store_booth b;
	uint32_t n = 0, by_booth = 9, by_number = 9;
	double wh = 0;
	int64_t id = 0;

	CHECK_EQ(store_open(&st, unit_tmpfile("booth.db")), 0);
	memset(&b, 0, sizeof(b));
	strcpy(b.id, "b1");
	strcpy(b.account, "booth1");
	b.ports = 2;
	CHECK_EQ(store_booth_put(st, &b), 0);
	CHECK_EQ(store_charge(st, "b1", 1, "start", 0, "", 1000, &id), 0);
	CHECK_EQ(store_charge(st, "b1", 1, "stop", 12.5, "", 2000, NULL), 0);
	CHECK_EQ(store_charge(st, "b1", 2, "start", 0, "", 3000, NULL), 0);
	CHECK_EQ(store_charge(st, "b1", 2, "stop", 7.5, "", 4000, NULL), 0);
	CHECK_EQ(store_charge(st, "b1", 2, "fault", 0, "fault", 5000, NULL),
		 0);
	CHECK_EQ(store_charge_total(st, "b1", 0, 10000, &wh, &n), 0);
	CHECK(wh > 19.99 && wh < 20.01);
	CHECK_EQ(n, 2);
	CHECK_EQ(store_freecall(st, "b1", "021555", "2026-11-29", "c1", 1, 0,
				false), 0);
	CHECK_EQ(store_freecall(st, "b1", "110", "2026-11-29", "c2", 1, 0,
				true), 0);
	CHECK_EQ(store_freecall(st, "b1", "021555", "2026-11-29", "c1", 1, 42,
				false), 0);
	CHECK_EQ(store_freecall_count(st, "b1", "021555", "2026-11-29",
				      &by_booth, &by_number), 0);
	CHECK_EQ(by_booth, 1);
	CHECK_EQ(by_number, 1);
	mem_deref(st);
}

const struct unit_case booth_cases[] = {
	{"site_errors", site_errors},
	{"charging_and_quotas", charging_and_quotas},
	{NULL, NULL},
};
