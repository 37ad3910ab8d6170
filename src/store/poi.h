/* store, POI side: the 15-minute life circle's places (clinics,
 * pharmacies, toilets, metro stations …), imported from CSV or GeoJSON all
 * or nothing, found near a point through an SQLite R*Tree.  The walk model
 * is in docs/life-circle.md. */
#ifndef LAOYOU_STORE_POI_H
#define LAOYOU_STORE_POI_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct store;
struct json;

/* The walk model: straight-line (haversine) distance times a detour
 * factor, walked at a steady pace. */
#define STORE_POI_DETOUR     1.3
#define STORE_POI_M_PER_MIN  80.0
#define STORE_POI_EARTH_M    6371008.8   /* mean Earth radius */
enum { STORE_POI_MINUTES = 15, STORE_POI_MINUTES_MAX = 30,
       STORE_POI_LIMIT_MAX = 100 };

/** One category: its key and its labels. */
struct store_poi_category {
	const char *key, *zh, *en;
};

/** One place. */
struct store_poi {
	char id[64];
	char name[128], name_en[128];
	char category[24];
	char address[192];
	char phone[32], hours[64];
	double lat, lon;           /* WGS-84 degrees */
};

/** A place found near a point. */
struct store_poi_hit {
	struct store_poi poi;
	double distance_m;         /* straight line (haversine) */
	uint32_t walk_m;           /* distance_m × detour, rounded */
	uint32_t minutes;          /* walk_m / pace, rounded up, at least 1 */
};

/** What to look for. */
struct store_poi_query {
	double lat, lon;
	const char *category;      /* NULL or "": every category */
	uint32_t minutes;          /* walking minutes, 1 to MINUTES_MAX */
	uint32_t limit;            /* at most this many, 1 to LIMIT_MAX */
};

enum store_poi_format { STORE_POI_CSV, STORE_POI_GEOJSON };
enum { STORE_POI_REPLACE = 1, STORE_POI_CHECK = 2 };

typedef void (store_poi_h)(const struct store_poi *p, void *arg);
typedef void (store_poi_hit_h)(const struct store_poi_hit *h, void *arg);

/** The categories, in display order; *n gets their count. */
const struct store_poi_category *store_poi_categories(size_t *n);
/** The category of key, or NULL if there is none. */
const struct store_poi_category *store_poi_category(const char *key);
/** Great-circle (haversine) distance in metres. */
double store_poi_distance(double lat1, double lon1, double lat2,
			  double lon2);
/** Walking metres and minutes for a straight-line distance. */
void store_poi_walk(double distance_m, uint32_t *walk_m, uint32_t *minutes);
/** Import text (len bytes) in fmt, all or nothing.  flags: REPLACE drops
 * every POI first; CHECK validates against the store and writes nothing.
 * *countp gets the POIs read.  On bad input "file:line: what is wrong" is
 * written to err and EINVAL returned. */
int  store_poi_import(struct store *st, const char *file, const char *text,
		      size_t len, enum store_poi_format fmt, int flags,
		      uint32_t *countp, char *err, size_t errsz);
/** The same for a parsed GeoJSON FeatureCollection (e.g. a site file's). */
int  store_poi_import_json(struct store *st, const char *file,
			   const struct json *fc, int flags, uint32_t *countp,
			   char *err, size_t errsz);
/** The places within q->minutes' walk of a point, nearest first (then by
 * id); h sees at most q->limit; *total gets how many there are in all. */
int  store_poi_nearby(struct store *st, const struct store_poi_query *q,
		      store_poi_hit_h *h, void *arg, uint32_t *total);
/** POIs of a category ("" or NULL: all) by id, from offset, at most limit;
 * *total gets how many there are in all. */
int  store_poi_list(struct store *st, const char *category, uint32_t limit,
		    uint32_t offset, store_poi_h *h, void *arg,
		    uint32_t *total);

#endif
