/* poi: the life circle's import (all or nothing, file:line errors) and
 * query (order, distances, walking minutes, category, cut-off).  Expected
 * distances come from the great-circle formula in its atan2 (Vincenty)
 * form, written here apart from the store's haversine, and from figures
 * worked out by hand. */
#include <stdlib.h>
#include <math.h>
#include <re.h>
#include "store/store.h"
#include "store/poi.h"
#include "unit.h"

/* The booth on 甜爱路 the demo uses. */
#define B_LAT 31.2747
#define B_LON 121.4838

/* Great-circle distance on the same sphere, by another formula. */
static double gc(double lat1, double lon1, double lat2, double lon2)
{
	double p1 = lat1 * M_PI / 180, p2 = lat2 * M_PI / 180;
	double dl = (lon2 - lon1) * M_PI / 180;
	double y = hypot(cos(p2) * sin(dl), cos(p1) * sin(p2) -
			 sin(p1) * cos(p2) * cos(dl));
	double x = sin(p1) * sin(p2) + cos(p1) * cos(p2) * cos(dl);

	return 6371008.8 * atan2(y, x);
}

static struct store *fresh(const char *name)
{
	struct store *st = NULL;
	char path[64];

	re_snprintf(path, sizeof(path), "poi-%s.db", name);
	(void)remove(unit_tmpfile(path));
	CHECK_EQ(store_open(&st, unit_tmpfile(path)), 0);
	return st;
}

static uint32_t count(struct store *st, const char *category)
{
	uint32_t total = 999999;
	CHECK_EQ(store_poi_list(st, category, 0, 0, NULL, NULL, &total), 0);
	return total;
}

static int csv(struct store *st, const char *text, int flags, char *err,
	       size_t sz)
{
	uint32_t n;
	return store_poi_import(st, "pois.csv", text, strlen(text),
				STORE_POI_CSV, flags, &n, err, sz);
}

static int geo(struct store *st, const char *text, char *err, size_t sz)
{
	uint32_t n;
	return store_poi_import(st, "pois.geojson", text, strlen(text),
				STORE_POI_GEOJSON, 0, &n, err, sz);
}

static void categories(void)
{
	size_t n = 0;
	const struct store_poi_category *c = store_poi_categories(&n);

	CHECK_EQ(n, 11);
	CHECK_STR(c[0].key, "clinic");
	CHECK_STR(store_poi_category("toilet")->en, "Public toilet");
	CHECK_STR(store_poi_category("metro")->zh, "地铁站");
	CHECK(!store_poi_category("Toilet"));
	CHECK(!store_poi_category(""));
	CHECK(!store_poi_category(NULL));
}

static void distance_and_walk(void)
{
	uint32_t walk = 0, min = 0;

	/* One degree along a meridian is R·π/180. */
	CHECK(fabs(store_poi_distance(31, 121, 32, 121) - 111195.0802) <
	      0.001);
	/* 0.002° of longitude at 31.2747°N: R·cos(lat)·0.002·π/180 (the
	 * great circle is a hair shorter than the parallel). */
	CHECK(fabs(store_poi_distance(B_LAT, B_LON, B_LAT, 121.4858) -
		   190.0742) < 0.001);
	CHECK(fabs(store_poi_distance(B_LAT, B_LON, 31.27, 121.48) -
		   gc(B_LAT, B_LON, 31.27, 121.48)) < 1e-6);
	CHECK(fabs(store_poi_distance(-33.8568, 151.2153, 51.5007, -0.1246)
		   - gc(-33.8568, 151.2153, 51.5007, -0.1246)) < 1e-3);
	CHECK_EQ(store_poi_distance(B_LAT, B_LON, B_LAT, B_LON), 0);

	/* walk = d × 1.3; minutes = ⌈walk / 80⌉, at least 1. */
	store_poi_walk(0, &walk, &min);
	CHECK_EQ(walk, 0);
	CHECK_EQ(min, 1);
	store_poi_walk(100, &walk, &min);
	CHECK_EQ(walk, 130);
	CHECK_EQ(min, 2);
	store_poi_walk(80 / 1.3, &walk, &min);
	CHECK_EQ(walk, 80);
	CHECK_EQ(min, 1);
	store_poi_walk(1200 / 1.3, &walk, &min);   /* 923.08 m */
	CHECK_EQ(walk, 1200);
	CHECK_EQ(min, 15);
	store_poi_walk(924, &walk, &min);
	CHECK_EQ(walk, 1201);
	CHECK_EQ(min, 16);
}

#define HDR "id,name,name_en,category,address,lat,lon,phone,hours\n"
#define GOOD "a1,好药房,Good Pharmacy,pharmacy,甜爱路1号,31.2757,121.4838,," \
	"08:00-22:00\n"

static void csv_errors(void)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{HDR GOOD "a2,诊所,,clinic,,91,121.48,,\n",
		 "pois.csv:3: \"lat\" must be a number of degrees from -90 "
		 "to 90"},
		{HDR GOOD "a2,诊所,,clinic,,31.27,north,,\n",
		 "pois.csv:3: \"lon\" must be a number of degrees from -180 "
		 "to 180"},
		{HDR GOOD "a2,诊所,,clinic,,31.27,,,\n",
		 "pois.csv:3: a POI needs its coordinates (\"lat\" and "
		 "\"lon\")"},
		{HDR GOOD "a2,诊所,,clinic,,nan,121.48,,\n",
		 "pois.csv:3: \"lat\" must be a number of degrees from -90 "
		 "to 90"},
		{HDR GOOD "a2,诊所,,clinic,,0,0,,\n",
		 "pois.csv:3: coordinates 0, 0 are not a place (missing "
		 "coordinates?)"},
		{HDR GOOD "\n\na2,诊所,,hospitall,,31.27,121.48,,\n",
		 "pois.csv:5: unknown category \"hospitall\" (one of: clinic, "
		 "hospital, pharmacy, community_centre, elder_care, market, "
		 "police, toilet, metro, bus, bank)"},
		{HDR GOOD "a2,,Clinic,clinic,,31.27,121.48,,\n",
		 "pois.csv:3: a POI needs a \"name\""},
		{HDR GOOD ",诊所,,clinic,,31.27,121.48,,\n",
		 "pois.csv:3: a POI needs an \"id\""},
		{HDR GOOD "a2,诊所,,,,31.27,121.48,,\n",
		 "pois.csv:3: a POI needs a \"category\""},
		{HDR GOOD "a2,\"诊所,clinic,,31.27,121.48,,\n",
		 "pois.csv:3: a quoted field does not end on its line"},
		{HDR GOOD "a2,诊\"所,,clinic,,31.27,121.48,,\n",
		 "pois.csv:3: a quote inside an unquoted field (quote the "
		 "whole field and double the quotes in it)"},
		{HDR GOOD "a2,\"诊所\"x,,clinic,,31.27,121.48,,\n",
		 "pois.csv:3: text after a quoted field's closing quote"},
		{HDR GOOD "a2,诊所,,clinic,,31.27,121.48\n",
		 "pois.csv:3: 7 fields where the header has 9"},
		{HDR GOOD "a2,诊所,,clinic,,31.27,121.48,,,\n",
		 "pois.csv:3: more fields than the header's 9"},
		{HDR GOOD GOOD,
		 "pois.csv:3: POI \"a1\" is listed twice"},
		{HDR GOOD "a 2,诊所,,clinic,,31.27,121.48,,\n",
		 "pois.csv:3: an id is 1-63 of letters, digits and - _ . : /"},
		{HDR GOOD "a2,诊所,,clinic,,31.27,121.48,call me,\n",
		 "pois.csv:3: \"phone\" may hold digits, spaces and + - ( ) , "
		 "/ ; # only"},
		{HDR GOOD "a2,\xe8\xaf,,clinic,,31.27,121.48,,\n",
		 "pois.csv:3: not UTF-8 text"},
		{HDR GOOD "a2,诊所,,clinic,,31.27,121.48,,\"\t\"\n",
		 "pois.csv:3: \"hours\" holds a control character"},
		{"id,name,category,lat\n" GOOD,
		 "pois.csv:1: the header lacks the \"lon\" column"},
		{"id,name,category,lat,lon,colour\n",
		 "pois.csv:1: unknown column \"colour\" (columns: id, name, "
		 "name_en, category, address, lat, lon, phone, hours)"},
		{"id,name,category,lat,lon,name\n",
		 "pois.csv:1: column \"name\" is given twice"},
		{"",
		 "pois.csv:1: an empty file: a header line (id,name,category,"
		 "lat,lon,…) and POIs are needed"},
	};
	struct store *st = fresh("csv-errors");
	char err[600];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int e = csv(st, cases[i].text, 0, err, sizeof(err));
		CHECK_EQ(e, EINVAL);
		if (strcmp(err, cases[i].err))
			fprintf(stderr, "  case %zu:\n", i);
		CHECK_STR(err, cases[i].err);
		/* All or nothing: the good line before is not kept. */
		CHECK_EQ(count(st, ""), 0);
	}
	/* A long name is named with its limit. */
	{
		char text[600], name[129];
		memset(name, 'x', 128);
		name[128] = '\0';
		re_snprintf(text, sizeof(text), HDR "a3,%s,,clinic,,31.27,"
			    "121.48,,\n", name);
		CHECK_EQ(csv(st, text, 0, err, sizeof(err)), EINVAL);
		CHECK_STR(err, "pois.csv:2: \"name\" is longer than 127 "
			  "bytes");
	}
	/* A bad file with --replace leaves the old set alone. */
	CHECK_EQ(csv(st, HDR GOOD, 0, err, sizeof(err)), 0);
	CHECK_EQ(csv(st, HDR "b1,x,,bus,,1,1,,\nb2,y,,bus,,99,1,,\n",
		     STORE_POI_REPLACE, err, sizeof(err)), EINVAL);
	CHECK_STR(err, "pois.csv:3: \"lat\" must be a number of degrees from "
		  "-90 to 90");
	CHECK_EQ(count(st, ""), 1);
	CHECK_EQ(count(st, "pharmacy"), 1);
	mem_deref(st);
}

static void geojson_errors(void)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{"{\"type\":\"FeatureCollection\",\"features\":[\n"
		 "{\"type\":\"Feature\",\"id\":\"g1\",\"geometry\":{\"type\":"
		 "\"Point\",\"coordinates\":[121.48,31.27]},\"properties\":{"
		 "\"name\":\"诊所\",\"category\":\"clinic\"}},\n"
		 "{\"type\":\"Feature\",\"id\":\"g2\",\"geometry\":{\"type\":"
		 "\"Point\",\"coordinates\":\n[121.48,\n-95]},\"properties\":"
		 "{\"name\":\"诊所\",\"category\":\"clinic\"}}]}",
		 "pois.geojson:5: \"lat\" must be a number of degrees from -90 "
		 "to 90"},
		{"{\"type\":\"FeatureCollection\",\"features\":[\n"
		 "{\"type\":\"Feature\",\"id\":\"g1\",\"geometry\":{\"type\":"
		 "\"Point\",\"coordinates\":[121.48,31.27]},\"properties\":{\n"
		 "\"name\":\"诊所\",\n\"category\":\"spa\"}}]}",
		 "pois.geojson:4: unknown category \"spa\" (one of: clinic, "
		 "hospital, pharmacy, community_centre, elder_care, market, "
		 "police, toilet, metro, bus, bank)"},
		{"{\"type\":\"FeatureCollection\",\"features\":[\n"
		 "{\"type\":\"Feature\",\"id\":\"g1\",\"geometry\":{\"type\":"
		 "\"Point\",\"coordinates\":[121.48,31.27]},\n\"properties\":{"
		 "\"category\":\"clinic\"}}]}",
		 "pois.geojson:2: a POI needs a \"name\""},
		{"{\"type\":\"FeatureCollection\",\"features\":[\n"
		 "{\"type\":\"Feature\",\"id\":\"g1\",\"geometry\":\n{\"type\":"
		 "\"LineString\",\"coordinates\":[[121.48,31.27]]},"
		 "\"properties\":{\"name\":\"x\",\"category\":\"clinic\"}}]}",
		 "pois.geojson:3: a POI's geometry must be a Point"},
		{"{\"type\":\"FeatureCollection\",\"features\":[\n"
		 "{\"type\":\"Feature\",\"id\":\"g1\",\"geometry\":{\"type\":"
		 "\"Point\",\"coordinates\":\n[31.27]},"
		 "\"properties\":{\"name\":\"x\",\"category\":\"clinic\"}}]}",
		 "pois.geojson:3: \"coordinates\" must be [lon, lat]"},
		{"{\"type\":\"FeatureCollection\",\"features\":[\n"
		 "{\"type\":\"Feature\",\"id\":\"g1\",\"geometry\":{\"type\":"
		 "\"Point\",\"coordinates\":[\"121.48\",31.27]},"
		 "\"properties\":{\"name\":\"x\",\"category\":\"clinic\"}}]}",
		 "pois.geojson:2: \"lon\" must be a number of degrees from "
		 "-180 to 180"},
		{"{\"type\":\"FeatureCollection\",\"features\":[\n"
		 "{\"type\":\"Feature\",\"geometry\":{\"type\":"
		 "\"Point\",\"coordinates\":[121.48,31.27]},"
		 "\"properties\":{\"name\":\"x\",\"category\":\"clinic\"}}]}",
		 "pois.geojson:2: a POI needs an \"id\""},
		{"{\"type\":\"FeatureCollection\",\"features\":[\n"
		 "{\"type\":\"Feature\",\"id\":1,\"geometry\":{\"type\":"
		 "\"Point\",\"coordinates\":[121.48,31.27]},"
		 "\"properties\":{\"name\":\"x\",\"category\":\"clinic\"}},\n"
		 "{\"type\":\"Feature\",\"id\":\"1\",\"geometry\":{\"type\":"
		 "\"Point\",\"coordinates\":[121.48,31.27]},"
		 "\"properties\":{\"name\":\"x\",\"category\":\"clinic\"}}]}",
		 "pois.geojson:3: POI \"1\" is listed twice"},
		{"{\"type\":\"FeatureCollection\",\"features\":[\n"
		 "{\"type\":\"Feature\",\"id\":\"g1\",\"geometry\":{\"type\":"
		 "\"Point\",\"coordinates\":[121.48,31.27]},\"properties\":{"
		 "\"name\":\"x\",\"category\":\"clinic\",\n\"phone\":12345}}]}",
		 "pois.geojson:3: \"phone\" must be a string"},
		{"{\"type\":\"FeatureCollection\",\"features\":[\n{\"type\":"
		 "\"Feature\"}]}",
		 "pois.geojson:2: a POI's geometry must be a Point"},
		{"{\"type\":\"FeatureCollection\",\"features\":[\n42]}",
		 "pois.geojson:2: a feature must be an object with \"type\": "
		 "\"Feature\""},
		{"{\"type\":\"FeatureCollection\",\n\"features\":{}}",
		 "pois.geojson:2: \"features\" must be an array"},
		{"{\"type\":\"FeatureCollection\",\n\"features\":[]}",
		 "pois.geojson:2: no features: a POI file needs at least one"},
		{"[1,2]",
		 "pois.geojson:1: a GeoJSON POI file is an object with "
		 "\"type\": \"FeatureCollection\""},
		{"{\"type\":\"FeatureCollection\",\n\"features\":[,]}",
		 NULL},
	};
	struct store *st = fresh("geo-errors");
	char err[600];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK_EQ(geo(st, cases[i].text, err, sizeof(err)), EINVAL);
		if (cases[i].err) {
			if (strcmp(err, cases[i].err))
				fprintf(stderr, "  case %zu:\n", i);
			CHECK_STR(err, cases[i].err);
		}
		else {
			/* The JSON reader's own error, with its line. */
			CHECK(!strncmp(err, "pois.geojson:2: ", 16));
		}
		CHECK_EQ(count(st, ""), 0);
	}
	mem_deref(st);
}

struct got {
	struct store_poi p[8];
	struct store_poi_hit h[8];
	size_t n;
};

static void got_poi(const struct store_poi *p, void *arg)
{
	struct got *g = arg;
	if (g->n < ARRAY_SIZE(g->p))
		g->p[g->n] = *p;
	g->n++;
}

static void got_hit(const struct store_poi_hit *h, void *arg)
{
	struct got *g = arg;
	if (g->n < ARRAY_SIZE(g->h))
		g->h[g->n] = *h;
	g->n++;
}

static void import_ok(void)
{
	struct store *st = fresh("import");
	struct got g = {0};
	uint32_t n = 0, total = 0;
	char err[600];
	const char *text =
		"\xef\xbb\xbfName,ID,Category,Lat,Lon,Address,Hours\r\n"
		"\"老百姓大药房(甜爱路店)\",p1,pharmacy,31.2757, 121.4838 ,"
		"\"四川北路2000号, 近甜爱路\",\"\"\"24h\"\"\"\r\n"
		"\r\n"
		"虹口区公厕,t1,toilet,31.2740,121.4830,,\r\n";
	const char *fc =
		"{\"type\":\"FeatureCollection\",\"features\":[\n"
		"{\"type\":\"Feature\",\"id\":240001,\"geometry\":{\"type\":"
		"\"Point\",\"coordinates\":[121.4858,31.2747,4.5]},"
		"\"properties\":{\"name\":\"虹口足球场站\",\"name:en\":"
		"\"Hongkou Football Stadium\",\"category\":\"metro\","
		"\"opening_hours\":\"05:30-23:00\",\"operator\":\"申通\"}},\n"
		"{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\","
		"\"coordinates\":[121.4850,31.2760]},\"properties\":{\"id\":"
		"\"b7\",\"name\":\"甜爱路站\",\"category\":\"bus\",\"phone\":"
		"null}}]}";

	CHECK_EQ(store_poi_import(st, "a.csv", text, strlen(text),
				  STORE_POI_CSV, 0, &n, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_EQ(n, 2);
	CHECK_EQ(store_poi_list(st, "", 10, 0, got_poi, &g, &total), 0);
	CHECK_EQ(total, 2);
	CHECK_EQ(g.n, 2);
	CHECK_STR(g.p[0].id, "p1");
	CHECK_STR(g.p[0].name, "老百姓大药房(甜爱路店)");
	CHECK_STR(g.p[0].address, "四川北路2000号, 近甜爱路");
	CHECK_STR(g.p[0].hours, "\"24h\"");
	CHECK_STR(g.p[0].category, "pharmacy");
	CHECK(g.p[0].lat == 31.2757 && g.p[0].lon == 121.4838);
	CHECK_STR(g.p[1].id, "t1");

	/* GeoJSON adds to the set; a numeric id becomes text. */
	CHECK_EQ(store_poi_import(st, "b.geojson", fc, strlen(fc),
				  STORE_POI_GEOJSON, 0, &n, err, sizeof(err)),
		 0);
	CHECK_EQ(n, 2);
	CHECK_EQ(count(st, ""), 4);
	g.n = 0;
	CHECK_EQ(store_poi_list(st, "metro", 10, 0, got_poi, &g, &total), 0);
	CHECK_EQ(total, 1);
	CHECK_STR(g.p[0].id, "240001");
	CHECK_STR(g.p[0].name_en, "Hongkou Football Stadium");
	CHECK_STR(g.p[0].hours, "05:30-23:00");

	/* Importing an id again changes that POI, in the index too. */
	text = "id,name,category,lat,lon\np1,新药房,clinic,31.2700,121.4800\n";
	CHECK_EQ(csv(st, text, 0, err, sizeof(err)), 0);
	CHECK_EQ(count(st, ""), 4);
	CHECK_EQ(count(st, "pharmacy"), 0);
	CHECK_EQ(count(st, "clinic"), 1);
	{
		struct store_poi_query q = {B_LAT, B_LON, "pharmacy", 15, 10};
		g.n = 0;
		CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), 0);
		CHECK_EQ(total, 0);
		q.category = "clinic";
		CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), 0);
		CHECK_EQ(total, 1);
		CHECK_STR(g.h[0].poi.name, "新药房");
	}

	/* A check reads everything and writes nothing. */
	text = "id,name,category,lat,lon\nz1,x,bank,31.27,121.48\n";
	CHECK_EQ(store_poi_import(st, "c.csv", text, strlen(text),
				  STORE_POI_CSV, STORE_POI_CHECK, &n, err,
				  sizeof(err)), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(count(st, "bank"), 0);

	/* Replace: the new file is the whole set. */
	CHECK_EQ(csv(st, text, STORE_POI_REPLACE, err, sizeof(err)), 0);
	CHECK_EQ(count(st, ""), 1);
	CHECK_EQ(count(st, "bank"), 1);
	{
		struct store_poi_query q = {B_LAT, B_LON, NULL, 15, 10};
		CHECK_EQ(store_poi_nearby(st, &q, NULL, NULL, &total), 0);
		CHECK_EQ(total, 1);
	}
	mem_deref(st);
}

static void nearby_order(void)
{
	struct store *st = fresh("nearby");
	struct store_poi_query q = {B_LAT, B_LON, "pharmacy", 15, 10};
	struct got g = {0};
	uint32_t total = 0;
	char err[600];
	/* Placed by hand around the booth; the figures in the comments are
	 * worked out with the atan2 formula and checked against gc(). */
	const char *text = HDR
		/* 0.001° north: 111.195 m, walk 145 m, 2 min */
		"n1,北药房,,pharmacy,,31.2757,121.4838,,\n"
		/* 0.002° east: 190.074 m, walk 247 m, 4 min */
		"e1,东药房,,pharmacy,,31.2747,121.4858,,\n"
		/* south-west: 108.808 m, walk 141 m, 2 min */
		"s1,西南药房,,pharmacy,,31.2740,121.4830,,\n"
		/* 919.583 m north: walk 1195 m, 15 min, inside */
		"n9,边上药房,,pharmacy,,31.28297,121.4838,,\n"
		/* 926.255 m north: walk 1204 m, 16 min, outside */
		"n10,远药房,,pharmacy,,31.28303,121.4838,,\n"
		/* 635.262 m: a clinic, not a pharmacy */
		"c1,诊所,,clinic,,31.2700,121.4800,,\n"
		/* far away on the Bund */
		"f1,外滩药房,,pharmacy,,31.2400,121.4900,,\n";
	static const struct {
		const char *id;
		double lat, lon;
		unsigned dist, walk, min;
	} want[] = {
		{"s1", 31.2740, 121.4830, 109, 141, 2},
		{"n1", 31.2757, 121.4838, 111, 145, 2},
		{"e1", 31.2747, 121.4858, 190, 247, 4},
		{"n9", 31.28297, 121.4838, 920, 1195, 15},
	};

	CHECK_EQ(csv(st, text, 0, err, sizeof(err)), 0);
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), 0);
	CHECK_EQ(total, 4);
	CHECK_EQ(g.n, 4);
	for (size_t i = 0; i < ARRAY_SIZE(want) && i < g.n; i++) {
		double d = gc(B_LAT, B_LON, want[i].lat, want[i].lon);
		CHECK_STR(g.h[i].poi.id, want[i].id);
		CHECK(fabs(g.h[i].distance_m - d) < 1e-6);
		CHECK_EQ(lround(g.h[i].distance_m), want[i].dist);
		CHECK_EQ(g.h[i].walk_m, want[i].walk);
		CHECK_EQ(g.h[i].minutes, want[i].min);
	}

	/* The limit cuts the list, not the count. */
	q.limit = 2;
	g.n = 0;
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), 0);
	CHECK_EQ(g.n, 2);
	CHECK_EQ(total, 4);
	CHECK_STR(g.h[1].poi.id, "n1");

	/* Every category: the clinic joins in, in its place. */
	q.category = NULL;
	q.limit = 10;
	g.n = 0;
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), 0);
	CHECK_EQ(total, 5);
	CHECK_STR(g.h[3].poi.id, "c1");
	CHECK_EQ(lround(g.h[3].distance_m), 635);
	CHECK_EQ(g.h[3].minutes, 11);
	q.category = "clinic";
	g.n = 0;
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), 0);
	CHECK_EQ(total, 1);
	CHECK_STR(g.h[0].poi.id, "c1");
	q.category = "toilet";
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), 0);
	CHECK_EQ(total, 0);

	/* A shorter walk: 2 minutes is 160 m walked, 123 m straight. */
	q.category = "pharmacy";
	q.minutes = 2;
	g.n = 0;
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), 0);
	CHECK_EQ(total, 2);
	CHECK_STR(g.h[0].poi.id, "s1");
	CHECK_STR(g.h[1].poi.id, "n1");

	/* From the Bund, only its own pharmacy. */
	q.lat = 31.2405;
	q.lon = 121.4903;
	q.minutes = 15;
	g.n = 0;
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), 0);
	CHECK_EQ(total, 1);
	CHECK_STR(g.h[0].poi.id, "f1");
	CHECK_EQ(lround(g.h[0].distance_m),
		 lround(gc(31.2405, 121.4903, 31.24, 121.49)));

	/* Bad queries. */
	q.category = "spa";
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), EINVAL);
	q.category = NULL;
	q.lat = 91;
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), EINVAL);
	q.lat = NAN;
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), EINVAL);
	q.lat = 31;
	q.minutes = 0;
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), EINVAL);
	q.minutes = 31;
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), EINVAL);
	q.minutes = 15;
	q.limit = 0;
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), EINVAL);
	mem_deref(st);
}

/* Equal distances go by id. */
static void nearby_ties(void)
{
	struct store *st = fresh("ties");
	struct store_poi_query q = {B_LAT, B_LON, "bus", 15, 10};
	struct got g = {0};
	uint32_t total = 0;
	char err[600];

	CHECK_EQ(csv(st, HDR "z,站,,bus,,31.2757,121.4838,,\n"
		     "a,站,,bus,,31.2757,121.4838,,\n"
		     "m,站,,bus,,31.2727,121.4838,,\n", 0, err, sizeof(err)),
		 0);
	CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total), 0);
	CHECK_EQ(total, 3);
	CHECK_STR(g.h[0].poi.id, "a");
	CHECK_STR(g.h[1].poi.id, "z");
	CHECK_STR(g.h[2].poi.id, "m");
	mem_deref(st);
}

/* The index finds exactly what a search of every POI finds, at
 * Shanghai's latitude and far north, where longitude degrees shrink. */
static void nearby_matches_brute_force(void)
{
	enum { N = 3000 };
	static const double centre[][2] = {{31.23, 121.47}, {69.65, 18.96}};
	struct store *st = fresh("brute");
	struct mbuf *mb = mbuf_alloc(N * 60);
	uint32_t total, n;
	char err[600];

	srand(7);
	for (size_t c = 0; c < ARRAY_SIZE(centre); c++) {
		double lat[N], lon[N];
		mb->pos = mb->end = 0;
		(void)mbuf_write_str(mb, "id,name,category,lat,lon\n");
		for (int i = 0; i < N; i++) {
			/* within about ±3 km */
			lat[i] = centre[c][0] + (rand() / (double)RAND_MAX -
						 0.5) * 0.054;
			lon[i] = centre[c][1] + (rand() / (double)RAND_MAX -
						 0.5) * 0.054 /
				cos(centre[c][0] * M_PI / 180);
			/* The doubles the importer will read back. */
			snprintf(err, sizeof(err), "r%zu-%d,x,toilet,%.7f,"
				 "%.7f\n", c, i, lat[i], lon[i]);
			(void)mbuf_write_str(mb, err);
			CHECK_EQ(sscanf(err, "%*[^,],x,toilet,%lf,%lf",
					&lat[i], &lon[i]), 2);
		}
		CHECK_EQ(store_poi_import(st, "r.csv", (char *)mb->buf,
					  mb->end, STORE_POI_CSV,
					  STORE_POI_REPLACE, &n, err,
					  sizeof(err)), 0);
		CHECK_EQ(n, N);
		for (int k = 0; k < 50; k++) {
			struct store_poi_query q = {
				centre[c][0] + (rand() / (double)RAND_MAX -
						0.5) * 0.03,
				centre[c][1] + (rand() / (double)RAND_MAX -
						0.5) * 0.03,
				"toilet", 1 + (uint32_t)(k % 15),
				1 + (uint32_t)(k % 8)};
			struct got g = {0};
			uint32_t want = 0;
			int best[8];
			double bd[8];

			/* The nearest few, by a search of every POI. */
			for (int i = 0; i < N; i++) {
				double d = gc(q.lat, q.lon, lat[i], lon[i]);
				int j;
				if (d * 1.3 > q.minutes * 80.0)
					continue;
				for (j = (int)(want < 8 ? want : 8); j > 0 &&
				     bd[j - 1] > d; j--) {
					if (j < 8) {
						bd[j] = bd[j - 1];
						best[j] = best[j - 1];
					}
				}
				if (j < 8) {
					bd[j] = d;
					best[j] = i;
				}
				want++;
			}
			CHECK_EQ(store_poi_nearby(st, &q, got_hit, &g, &total),
				 0);
			CHECK_EQ(total, want);
			CHECK_EQ(g.n, want < q.limit ? want : q.limit);
			for (size_t j = 0; j < g.n && j < 8; j++) {
				char id[32];
				re_snprintf(id, sizeof(id), "r%zu-%d", c,
					    best[j]);
				CHECK_STR(g.h[j].poi.id, id);
				CHECK(fabs(g.h[j].distance_m - bd[j]) < 1e-6);
			}
		}
	}
	mem_deref(mb);
	mem_deref(st);
}

const struct unit_case poi_cases[] = {
	{"categories", categories},
	{"distance_and_walk", distance_and_walk},
	{"csv_errors", csv_errors},
	{"geojson_errors", geojson_errors},
	{"import_ok", import_ok},
	{"nearby_order", nearby_order},
	{"nearby_ties", nearby_ties},
	{"nearby_matches_brute_force", nearby_matches_brute_force},
	{NULL, NULL},
};
