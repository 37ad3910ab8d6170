/*
 * store, POI side.  A place is a row of `pois` and a point in the R*Tree
 * `pois_rt`, whose first dimension is the category's code: a query for one
 * category and a bounding box is then one index search, with no rows of
 * other categories to skip.  The R*Tree keeps 32-bit floats rounded
 * outwards, so it only narrows the search; distances come from the exact
 * doubles in `pois`.
 *
 * A category is a slab [code, code + 0.5], not a plane: with no thickness
 * every box of one category has no volume, the R*Tree's splits (which
 * weigh volumes) stop clustering by place, and a query read 20 times the
 * nodes it needed (measured with a million POIs; bench/booths/README.md).
 *
 * An import runs in one transaction and stops at the first bad record, so
 * a file goes in whole or not at all, however large.  Each import has its
 * own generation number: a row that meets an id already written by the
 * same import is a duplicate in the file, not an update.
 */
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <re.h>
#include "site/json.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store/poi.h"

const char store_poi_schema[] =
	"CREATE TABLE pois("
	" id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL, name_en TEXT NOT NULL DEFAULT '',"
	" category TEXT NOT NULL, address TEXT NOT NULL DEFAULT '',"
	" lat REAL NOT NULL, lon REAL NOT NULL,"
	" phone TEXT NOT NULL DEFAULT '', hours TEXT NOT NULL DEFAULT '',"
	" gen INTEGER NOT NULL);"
	"CREATE INDEX pois_c ON pois(category, ref);"
	"CREATE VIRTUAL TABLE pois_rt USING rtree(id, cat0, cat1, lat0, lat1,"
	" lon0, lon1);";

/* The position in this table is the code kept in the R*Tree: append new
 * categories, never reorder or remove one. */
static const struct store_poi_category categories[] = {
	{"clinic",           "诊所",             "Clinic"},
	{"hospital",         "医院",             "Hospital"},
	{"pharmacy",         "药店",             "Pharmacy"},
	{"community_centre", "社区服务中心",     "Community centre"},
	{"elder_care",       "养老服务",         "Elder care"},
	{"market",           "菜场超市",         "Market"},
	{"police",           "派出所",           "Police"},
	{"toilet",           "公共厕所",         "Public toilet"},
	{"metro",            "地铁站",           "Metro station"},
	{"bus",              "公交站",           "Bus stop"},
	{"bank",             "银行",             "Bank"},
};

const struct store_poi_category *store_poi_categories(size_t *n)
{
	if (n)
		*n = ARRAY_SIZE(categories);
	return categories;
}

static int category_code(const char *key)
{
	for (size_t i = 0; key && i < ARRAY_SIZE(categories); i++)
		if (!strcmp(key, categories[i].key))
			return (int)i;
	return -1;
}

const struct store_poi_category *store_poi_category(const char *key)
{
	int c = category_code(key);
	return c < 0 ? NULL : &categories[c];
}

static double rad(double deg)
{
	return deg * M_PI / 180.0;
}

double store_poi_distance(double lat1, double lon1, double lat2,
			  double lon2)
{
	double dphi = rad(lat2 - lat1), dlam = rad(lon2 - lon1);
	double a = sin(dphi / 2) * sin(dphi / 2) + cos(rad(lat1)) *
		cos(rad(lat2)) * sin(dlam / 2) * sin(dlam / 2);

	if (a > 1)
		a = 1;
	return 2 * STORE_POI_EARTH_M * asin(sqrt(a));
}

void store_poi_walk(double distance_m, uint32_t *walk_m, uint32_t *minutes)
{
	double walk = distance_m * STORE_POI_DETOUR;
	double min = ceil(walk / STORE_POI_M_PER_MIN);

	if (walk_m)
		*walk_m = (uint32_t)lround(walk);
	if (minutes)
		*minutes = min < 1 ? 1 : (uint32_t)min;
}

/* ---------- import ---------- */

enum field {
	F_ID, F_NAME, F_NAME_EN, F_CATEGORY, F_ADDRESS, F_LAT, F_LON,
	F_PHONE, F_HOURS, F_MAX
};

static const char *const field_names[F_MAX] = {
	"id", "name", "name_en", "category", "address", "lat", "lon",
	"phone", "hours",
};

struct imp {
	struct store *st;
	const char *file;
	char *err;
	size_t errsz;
	int64_t gen;
	bool txn;
	sqlite3_stmt *put, *rt;
	uint32_t count;
	struct store_poi p;
	bool have[F_MAX];
};

static int bad(struct imp *im, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int e;

	va_start(ap, fmt);
	e = json_vfail(im->err, im->errsz, im->file, line, fmt, ap);
	va_end(ap);
	return e;
}

/* Well-formed UTF-8 (no overlong forms, no surrogates). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return false;
		if (i + k >= n)
			return false;
		for (unsigned j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
		    || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += k + 1;
	}
	return true;
}

static bool id_ok(const char *s, size_t n)
{
	return n && strspn(s, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/") == n;
}

static bool phone_ok(const char *s, size_t n)
{
	return strspn(s, "0123456789+-() ,/;#") == n;
}

static char *field_dst(struct store_poi *p, enum field f, size_t *sz)
{
	switch (f) {
	case F_ID:       *sz = sizeof(p->id);       return p->id;
	case F_NAME:     *sz = sizeof(p->name);     return p->name;
	case F_NAME_EN:  *sz = sizeof(p->name_en);  return p->name_en;
	case F_CATEGORY: *sz = sizeof(p->category); return p->category;
	case F_ADDRESS:  *sz = sizeof(p->address);  return p->address;
	case F_PHONE:    *sz = sizeof(p->phone);    return p->phone;
	case F_HOURS:    *sz = sizeof(p->hours);    return p->hours;
	default:         *sz = 0;                   return NULL;
	}
}

/* A text field of the record being read: checked and kept. */
static int set_text(struct imp *im, unsigned line, enum field f,
		    const char *v, size_t n)
{
	const char *key = field_names[f];
	size_t sz;
	char *dst = field_dst(&im->p, f, &sz);

	if (!dst)
		return EINVAL;
	if (n >= sz)
		return bad(im, line, "\"%s\" is longer than %zu bytes", key,
			   sz - 1);
	if (!utf8_ok((const unsigned char *)v, n))
		return bad(im, line, "\"%s\" is not UTF-8 text", key);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return bad(im, line, "\"%s\" holds a control "
				   "character", key);
	memcpy(dst, v, n);
	dst[n] = '\0';
	if (f == F_ID && !id_ok(dst, n))
		return bad(im, line, "an id is 1-63 of letters, digits and "
			   "- _ . : /");
	if (f == F_PHONE && !phone_ok(dst, n))
		return bad(im, line, "\"phone\" may hold digits, spaces and "
			   "+ - ( ) , / ; # only");
	if (f == F_CATEGORY && category_code(dst) < 0) {
		char list[300] = "";
		for (size_t i = 0; i < ARRAY_SIZE(categories); i++)
			re_snprintf(list + strlen(list), sizeof(list) -
				    strlen(list), "%s%s", i ? ", " : "",
				    categories[i].key);
		return bad(im, line, "unknown category \"%s\" (one of: %s)",
			   dst, list);
	}
	im->have[f] = n > 0;
	return 0;
}

static int set_coord(struct imp *im, unsigned line, enum field f, bool num,
		     double v)
{
	int lim = f == F_LAT ? 90 : 180;

	if (!num || !isfinite(v) || v < -lim || v > lim)
		return bad(im, line, "\"%s\" must be a number of degrees from "
			   "%d to %d", field_names[f], -lim, lim);
	if (f == F_LAT)
		im->p.lat = v;
	else
		im->p.lon = v;
	im->have[f] = true;
	return 0;
}

static void record_start(struct imp *im)
{
	memset(&im->p, 0, sizeof(im->p));
	memset(im->have, 0, sizeof(im->have));
}

static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* The record read is whole: check what it lacks and write it. */
static int record_end(struct imp *im, unsigned line)
{
	struct store_poi *p = &im->p;
	int64_t rowid;
	int rc, code;

	for (int f = F_ID; f <= F_LON; f++) {
		if (im->have[f] || f == F_NAME_EN || f == F_ADDRESS)
			continue;
		return bad(im, line, f == F_LAT || f == F_LON ? "a POI needs "
			   "its coordinates (\"lat\" and \"lon\")" : "a POI "
			   "needs %s \"%s\"", f == F_ID ? "an" : "a",
			   field_names[f]);
	}
	if (p->lat == 0 && p->lon == 0)
		return bad(im, line, "coordinates 0, 0 are not a place "
			   "(missing coordinates?)");
	code = category_code(p->category);

	sqlite3_reset(im->put);
	bind_str(im->put, 1, p->id);
	bind_str(im->put, 2, p->name);
	bind_str(im->put, 3, p->name_en);
	bind_str(im->put, 4, p->category);
	bind_str(im->put, 5, p->address);
	sqlite3_bind_double(im->put, 6, p->lat);
	sqlite3_bind_double(im->put, 7, p->lon);
	bind_str(im->put, 8, p->phone);
	bind_str(im->put, 9, p->hours);
	sqlite3_bind_int64(im->put, 10, im->gen);
	rc = sqlite3_step(im->put);
	if (rc == SQLITE_DONE)
		return bad(im, line, "POI \"%s\" is listed twice", p->id);
	if (rc != SQLITE_ROW)
		goto fail;
	rowid = sqlite3_column_int64(im->put, 0);
	rc = sqlite3_step(im->put);
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_reset(im->put);

	sqlite3_reset(im->rt);
	sqlite3_bind_int64(im->rt, 1, rowid);
	sqlite3_bind_int(im->rt, 2, code);
	sqlite3_bind_double(im->rt, 3, p->lat);
	sqlite3_bind_double(im->rt, 4, p->lon);
	rc = sqlite3_step(im->rt);
	sqlite3_reset(im->rt);
	if (rc != SQLITE_DONE)
		goto fail;
	im->count++;
	return 0;
 fail:
	sqlite3_reset(im->put);
	re_snprintf(im->err, im->errsz, "%s:%u: the store refused the POI: "
		    "%s", im->file, line, sqlite3_errmsg(store_db(im->st)));
	return store_sqlerr(im->st, rc, "poi import");
}

/* ---------- CSV ---------- */

struct csv_line {
	const char *p, *end;       /* what is left of the line */
	char *buf;                 /* one field, unquoted */
	size_t bufsz;
};

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* The next field of the line into l->buf (*n bytes): 0, or EINVAL with
 * *why.  Quoted fields follow RFC 4180 but must end on their line. */
static int csv_field(struct csv_line *l, size_t *n, const char **why)
{
	const char *s = l->p, *e;

	while (s < l->end && (*s == ' ' || *s == '\t'))
		s++;
	*n = 0;
	if (s < l->end && *s == '"') {
		for (s++;; s++) {
			if (s >= l->end) {
				*why = "a quoted field does not end on its "
					"line";
				return EINVAL;
			}
			if (*s == '"') {
				if (s + 1 < l->end && s[1] == '"')
					s++;
				else
					break;
			}
			l->buf[(*n)++] = *s;
		}
		for (s++; s < l->end && (*s == ' ' || *s == '\t'); s++)
			;
		if (s < l->end && *s != ',') {
			*why = "text after a quoted field's closing quote";
			return EINVAL;
		}
		l->p = s;
	}
	else {
		e = memchr(s, ',', (size_t)(l->end - s));
		if (!e)
			e = l->end;
		l->p = e;
		trim(&s, &e);
		if (memchr(s, '"', (size_t)(e - s))) {
			*why = "a quote inside an unquoted field (quote the "
				"whole field and double the quotes in it)";
			return EINVAL;
		}
		*n = (size_t)(e - s);
		memcpy(l->buf, s, *n);
	}
	l->buf[*n] = '\0';
	return 0;
}

/* A whole number in decimal notation: no hex, inf or nan. */
static bool csv_num(const char *s, double *v)
{
	char *end;

	if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
		return false;
	*v = strtod(s, &end);
	return !*end;
}

static int csv_header(struct imp *im, struct csv_line *l, int *cols,
		      unsigned *ncols)
{
	static const enum field need[] = {F_ID, F_NAME, F_CATEGORY, F_LAT,
					  F_LON};
	bool seen[F_MAX] = {false};
	const char *why;
	size_t n;

	*ncols = 0;
	for (bool more = true; more;) {
		int f = -1;
		if (csv_field(l, &n, &why))
			return bad(im, 1, "%s", why);
		for (int i = 0; i < F_MAX; i++)
			if (!strcasecmp(l->buf, field_names[i]))
				f = i;
		if (f < 0)
			return bad(im, 1, "unknown column \"%s\" (columns: id, "
				   "name, name_en, category, address, lat, "
				   "lon, phone, hours)", l->buf);
		if (seen[f])
			return bad(im, 1, "column \"%s\" is given twice",
				   l->buf);
		seen[f] = true;
		cols[(*ncols)++] = f;
		more = l->p < l->end;
		l->p += more;
	}
	for (size_t i = 0; i < ARRAY_SIZE(need); i++)
		if (!seen[need[i]])
			return bad(im, 1, "the header lacks the \"%s\" column",
				   field_names[need[i]]);
	return 0;
}

static int csv_record(struct imp *im, struct csv_line *l, unsigned line,
		      const int *cols, unsigned ncols)
{
	unsigned k = 0;
	const char *why;
	size_t n;
	int err = 0;

	record_start(im);
	for (bool more = true; more && !err; k++) {
		if (k == ncols)
			return bad(im, line, "more fields than the header's "
				   "%u", ncols);
		if (csv_field(l, &n, &why))
			return bad(im, line, "%s", why);
		more = l->p < l->end;
		l->p += more;
		if (cols[k] == F_LAT || cols[k] == F_LON) {
			double v = 0;
			bool num = csv_num(l->buf, &v);
			if (!num && !n)
				continue;
			err = set_coord(im, line, cols[k], num, v);
		}
		else if (n) {
			err = set_text(im, line, cols[k], l->buf, n);
		}
	}
	if (err)
		return err;
	if (k != ncols)
		return bad(im, line, "%u fields where the header has %u", k,
			   ncols);
	return record_end(im, line);
}

static int import_csv(struct imp *im, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	struct csv_line l = {0};
	int cols[F_MAX];
	unsigned ncols = 0, line = 0;
	bool header = true;
	int err = 0;

	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end && !err) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		line++;
		l.p = p;
		l.end = le;
		p = nl ? nl + 1 : end;
		if (l.end > l.p && l.end[-1] == '\r')
			l.end--;
		if (l.end == l.p)
			continue;
		if (memchr(l.p, '\0', (size_t)(l.end - l.p))) {
			err = bad(im, line, "a NUL byte: not a CSV text file");
			break;
		}
		if ((size_t)(l.end - l.p) + 1 > l.bufsz) {
			char *b = l.buf ? mem_realloc(l.buf, (size_t)(l.end -
							      l.p) + 1) :
				mem_alloc((size_t)(l.end - l.p) + 1, NULL);
			if (!b) {
				err = ENOMEM;
				break;
			}
			l.buf = b;
			l.bufsz = (size_t)(l.end - l.p) + 1;
		}
		if (header) {
			if (line != 1) {
				err = bad(im, 1, "the first line must be the "
					  "header");
				break;
			}
			err = csv_header(im, &l, cols, &ncols);
			header = false;
		}
		else {
			err = csv_record(im, &l, line, cols, ncols);
		}
	}
	mem_deref(l.buf);
	if (!err && header)
		err = bad(im, 1, "an empty file: a header line (id,name,"
			  "category,lat,lon,…) and POIs are needed");
	return err;
}

/* ---------- GeoJSON ---------- */

/* A property that must be a string if present (null counts as absent). */
static int geo_text(struct imp *im, const struct json *props, const char *key,
		    const char *alias, enum field f)
{
	const struct json *v = json_get(props, key);

	if (!v && alias)
		v = json_get(props, alias);
	if (!v || json_type(v) == JSON_NULL)
		return 0;
	if (json_type(v) != JSON_STRING)
		return bad(im, json_line(v), "\"%s\" must be a string", key);
	return set_text(im, json_line(v), f, json_str(v),
			strlen(json_str(v)));
}

static int geo_id(struct imp *im, const struct json *feat,
		  const struct json *props)
{
	const struct json *v = json_get(feat, "id");
	char num[32];

	if (!v || json_type(v) == JSON_NULL)
		v = json_get(props, "id");
	if (!v || json_type(v) == JSON_NULL)
		return 0;
	if (json_type(v) == JSON_NUMBER && json_num(v) >= 0 &&
	    json_num(v) <= 9007199254740992.0 &&
	    json_num(v) == floor(json_num(v))) {
		re_snprintf(num, sizeof(num), "%llu",
			    (unsigned long long)json_num(v));
		return set_text(im, json_line(v), F_ID, num, strlen(num));
	}
	if (json_type(v) != JSON_STRING)
		return bad(im, json_line(v), "\"id\" must be a string or a "
			   "whole number");
	return set_text(im, json_line(v), F_ID, json_str(v),
			strlen(json_str(v)));
}

static int geo_feature(struct imp *im, const struct json *feat)
{
	const struct json *g, *c, *props, *type;
	unsigned line = json_line(feat);
	int err;

	record_start(im);
	type = json_get(feat, "type");
	if (json_type(feat) != JSON_OBJECT || !json_str(type) ||
	    strcmp(json_str(type), "Feature"))
		return bad(im, line, "a feature must be an object with "
			   "\"type\": \"Feature\"");
	g = json_get(feat, "geometry");
	type = json_get(g, "type");
	if (json_type(g) != JSON_OBJECT || !json_str(type) ||
	    strcmp(json_str(type), "Point"))
		return bad(im, g ? json_line(g) : line, "a POI's geometry must "
			   "be a Point");
	c = json_get(g, "coordinates");
	if (json_type(c) != JSON_ARRAY || json_count(c) < 2 ||
	    json_count(c) > 3)
		return bad(im, c ? json_line(c) : json_line(g),
			   "\"coordinates\" must be [lon, lat]");
	err = set_coord(im, json_line(json_at(c, 0)), F_LON,
			json_type(json_at(c, 0)) == JSON_NUMBER,
			json_num(json_at(c, 0)));
	if (!err)
		err = set_coord(im, json_line(json_at(c, 1)), F_LAT,
				json_type(json_at(c, 1)) == JSON_NUMBER,
				json_num(json_at(c, 1)));
	if (err)
		return err;
	props = json_get(feat, "properties");
	if (props && json_type(props) != JSON_OBJECT &&
	    json_type(props) != JSON_NULL)
		return bad(im, json_line(props), "\"properties\" must be an "
			   "object");
	err = geo_id(im, feat, props);
	if (!err)
		err = geo_text(im, props, "name", NULL, F_NAME);
	if (!err)
		err = geo_text(im, props, "name_en", "name:en", F_NAME_EN);
	if (!err)
		err = geo_text(im, props, "category", NULL, F_CATEGORY);
	if (!err)
		err = geo_text(im, props, "address", NULL, F_ADDRESS);
	if (!err)
		err = geo_text(im, props, "phone", NULL, F_PHONE);
	if (!err)
		err = geo_text(im, props, "hours", "opening_hours", F_HOURS);
	return err ? err : record_end(im, line);
}

static int import_geojson(struct imp *im, const struct json *root)
{
	const struct json *type = json_get(root, "type"), *fs;
	int err = 0;

	if (json_type(root) != JSON_OBJECT || !json_str(type) ||
	    strcmp(json_str(type), "FeatureCollection"))
		return bad(im, json_line(root), "a GeoJSON POI file is an "
			   "object with \"type\": \"FeatureCollection\"");
	fs = json_get(root, "features");
	if (json_type(fs) != JSON_ARRAY)
		return bad(im, fs ? json_line(fs) : json_line(root),
			   "\"features\" must be an array");
	if (!json_count(fs))
		return bad(im, json_line(fs), "no features: a POI file needs "
			   "at least one");
	for (size_t i = 0; i < json_count(fs) && !err; i++)
		err = geo_feature(im, json_at(fs, i));
	return err;
}

/* ---------- the transaction ---------- */

static int exec_sql(struct store *st, const char *q)
{
	int rc = sqlite3_exec(store_db(st), q, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_sqlerr(st, rc, q);
}

static int import_begin(struct imp *im, int flags)
{
	sqlite3 *db = store_db(im->st);
	sqlite3_stmt *s = NULL;
	int err;

	if (exec_sql(im->st, "BEGIN IMMEDIATE")) {
		re_snprintf(im->err, im->errsz, "%s: the store is busy or "
			    "failing: nothing imported", im->file);
		return EBUSY;
	}
	im->txn = true;
	err = (flags & STORE_POI_REPLACE) ?
		exec_sql(im->st, "DELETE FROM pois; DELETE FROM pois_rt") : 0;
	if (!err && sqlite3_prepare_v2(db, "SELECT coalesce(max(gen),0)+1 FROM"
				       " pois", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		im->gen = sqlite3_column_int64(s, 0);
	else
		err = EIO;
	sqlite3_finalize(s);
	if (!err && (sqlite3_prepare_v2(db, "INSERT INTO pois(ref,name,"
			"name_en,category,address,lat,lon,phone,hours,gen) "
			"VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(ref) DO "
			"UPDATE SET name=excluded.name, name_en="
			"excluded.name_en, category=excluded.category, "
			"address=excluded.address, lat=excluded.lat, lon="
			"excluded.lon, phone=excluded.phone, hours="
			"excluded.hours, gen=excluded.gen WHERE "
			"pois.gen<>excluded.gen RETURNING id", -1, &im->put,
			NULL) ||
		     sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO pois_rt("
			"id,cat0,cat1,lat0,lat1,lon0,lon1) VALUES(?1,?2,?2+0.5,"
			"?3,?3,?4,?4)", -1, &im->rt, NULL)))
		err = store_sqlerr(im->st, sqlite3_errcode(db), "poi import");
	if (err)
		re_snprintf(im->err, im->errsz, "%s: the store failed: "
			    "nothing imported", im->file);
	return err;
}

static int import_end(struct imp *im, int err, int flags)
{
	sqlite3_finalize(im->put);
	sqlite3_finalize(im->rt);
	im->put = im->rt = NULL;
	if (!im->txn)
		return err;
	if (!err && !(flags & STORE_POI_CHECK)) {
		err = exec_sql(im->st, "COMMIT");
		if (!err)
			return 0;
		re_snprintf(im->err, im->errsz, "%s: the store could not "
			    "commit: nothing imported", im->file);
	}
	(void)exec_sql(im->st, "ROLLBACK");
	return err;
}

static void imp_init(struct imp *im, struct store *st, const char *file,
		     char *err, size_t errsz)
{
	memset(im, 0, sizeof(*im));
	im->st = st;
	im->file = file ? file : "-";
	im->err = err;
	im->errsz = errsz;
	if (errsz)
		err[0] = '\0';
}

int store_poi_import_json(struct store *st, const char *file,
			  const struct json *fc, int flags, uint32_t *countp,
			  char *err, size_t errsz)
{
	struct imp im;
	int e;

	if (!st || !fc)
		return EINVAL;
	imp_init(&im, st, file, err, errsz);
	e = import_begin(&im, flags);
	if (!e)
		e = import_geojson(&im, fc);
	e = import_end(&im, e, flags);
	if (countp)
		*countp = im.count;
	return e;
}

int store_poi_import(struct store *st, const char *file, const char *text,
		     size_t len, enum store_poi_format fmt, int flags,
		     uint32_t *countp, char *err, size_t errsz)
{
	struct json *root = NULL;
	struct imp im;
	char why[256];
	int e;

	if (!st || (!text && len))
		return EINVAL;
	if (countp)
		*countp = 0;
	imp_init(&im, st, file, err, errsz);
	if (fmt == STORE_POI_GEOJSON) {
		if (json_parse(&root, text, len, why, sizeof(why))) {
			re_snprintf(err, errsz, "%s:%s", im.file, why);
			return EINVAL;
		}
		e = store_poi_import_json(st, file, root, flags, countp, err,
					  errsz);
		mem_deref(root);
		return e;
	}
	if (!utf8_ok((const unsigned char *)text, len)) {
		/* Name the line, as for any other bad input. */
		unsigned line = 1;
		size_t i = 0, start = 0;
		for (; i < len; i++) {
			if (text[i] != '\n')
				continue;
			if (!utf8_ok((const unsigned char *)text + start,
				     i - start))
				break;
			line++;
			start = i + 1;
		}
		return bad(&im, line, "not UTF-8 text");
	}
	e = import_begin(&im, flags);
	if (!e)
		e = import_csv(&im, text, len);
	e = import_end(&im, e, flags);
	if (countp)
		*countp = im.count;
	return e;
}

/* ---------- queries ---------- */

#define POI_COLS "p.ref,p.name,p.name_en,p.category,p.address,p.phone," \
	"p.hours,p.lat,p.lon"

static void poi_of(sqlite3_stmt *s, struct store_poi *p)
{
	char *txt[] = {p->id, p->name, p->name_en, p->category, p->address,
		       p->phone, p->hours};
	size_t szs[] = {sizeof(p->id), sizeof(p->name), sizeof(p->name_en),
			sizeof(p->category), sizeof(p->address),
			sizeof(p->phone), sizeof(p->hours)};

	for (int i = 0; i < 7; i++) {
		const unsigned char *t = sqlite3_column_text(s, i);
		str_ncpy(txt[i], t ? (const char *)t : "", szs[i]);
	}
	p->lat = sqlite3_column_double(s, 7);
	p->lon = sqlite3_column_double(s, 8);
}


static int hit_cmp(const void *a, const void *b)
{
	const struct store_poi_hit *x = a, *y = b;

	if (x->distance_m != y->distance_m)
		return x->distance_m < y->distance_m ? -1 : 1;
	return strcmp(x->poi.id, y->poi.id);
}

/* The box that holds every point within angle ang (radians) of (lat,
 * lon); on a sphere the widest longitude span is asin(sin ang / cos lat),
 * not ang / cos lat. */
static void bbox(double lat, double lon, double ang, double box[4])
{
	const double eps = 1e-6;   /* beyond the doubles' rounding */
	double dlat = ang * 180.0 / M_PI, dlon;

	box[0] = lat - dlat - eps;
	box[1] = lat + dlat + eps;
	box[2] = -180;
	box[3] = 180;
	if (box[0] <= -90 || box[1] >= 90)
		return;
	dlon = asin(sin(ang) / cos(rad(lat))) * 180.0 / M_PI;
	if (lon - dlon - eps < -180 || lon + dlon + eps > 180)
		return;
	box[2] = lon - dlon - eps;
	box[3] = lon + dlon + eps;
}

/* A place as the R*Tree alone knows it: its distance d from the middle of
 * its float box, which is within err metres of the true one. */
struct cand {
	int64_t rowid;
	double d, err;
};

/* The k-th smallest (from 0) of v[0..n), reordering v (quickselect). */
static double kth(double *v, long n, long k)
{
	long lo = 0, hi = n - 1;

	while (lo < hi) {
		double pivot = v[lo + (hi - lo) / 2], t;
		long i = lo, j = hi;
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				t = v[i], v[i] = v[j], v[j] = t;
				i++, j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

static int grow(void **arr, size_t *cap, size_t n, size_t each)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	/* libre's mem_realloc does not take NULL. */
	p = *arr ? mem_realloc(*arr, ncap * each) : mem_alloc(ncap * each,
							      NULL);
	if (!p)
		return ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* The row of a place by its rowid, into *hit with its exact distance from
 * (lat, lon); ENOENT if it is gone. */
static int fetch(struct store *st, sqlite3_stmt *s, int64_t rowid,
		 double lat, double lon, struct store_poi_hit *hit)
{
	int rc;

	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, rowid);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return ENOENT;
	if (rc != SQLITE_ROW)
		return store_sqlerr(st, rc, "poi nearby");
	poi_of(s, &hit->poi);
	hit->distance_m = store_poi_distance(lat, lon, hit->poi.lat,
					     hit->poi.lon);
	store_poi_walk(hit->distance_m, &hit->walk_m, &hit->minutes);
	return 0;
}

/*
 * Two passes, so that a dense quarter costs index pages, not rows: the
 * R*Tree's own float boxes give every candidate's distance to within a
 * metre; only the places that may be among the first `limit`, and those
 * too close to the rim to tell, are read from `pois` for their exact
 * coordinates.  (Reading every candidate's row was 10-100 times slower
 * with a million POIs: the rows lie in import order, not by place.)
 */
int store_poi_nearby(struct store *st, const struct store_poi_query *q,
		     store_poi_hit_h *h, void *arg, uint32_t *total)
{
	const double m_per_deg = STORE_POI_EARTH_M * M_PI / 180.0;
	struct store_poi_hit *hits = NULL, hit;
	struct cand *c = NULL;
	double *ub = NULL, box[4], max_walk, ang, top = INFINITY;
	size_t n = 0, cap = 0, nh = 0, hcap = 0, k;
	int c0 = 0, c1 = (int)ARRAY_SIZE(categories) - 1, rc, err;
	sqlite3_stmt *s = NULL, *row = NULL;
	bool txn = false;

	if (total)
		*total = 0;
	if (!st || !q || !isfinite(q->lat) || !isfinite(q->lon) ||
	    fabs(q->lat) > 90 || fabs(q->lon) > 180 || q->minutes < 1 ||
	    q->minutes > STORE_POI_MINUTES_MAX || q->limit < 1 ||
	    q->limit > STORE_POI_LIMIT_MAX)
		return EINVAL;
	if (q->category && q->category[0]) {
		c0 = c1 = category_code(q->category);
		if (c0 < 0)
			return EINVAL;
	}
	max_walk = q->minutes * STORE_POI_M_PER_MIN;
	ang = max_walk / STORE_POI_DETOUR / STORE_POI_EARTH_M;
	bbox(q->lat, q->lon, ang, box);

	/* Both passes see the same POIs, whatever an import elsewhere does. */
	if (sqlite3_get_autocommit(store_db(st))) {
		err = exec_sql(st, "BEGIN");
		if (err)
			return err;
		txn = true;
	}
	err = store_query(st, &s, "SELECT id,lat0,lat1,lon0,lon1 FROM pois_rt WHERE "
		    "cat1>=? AND cat0<=? AND lat1>=? AND lat0<=? AND "
		    "lon1>=? AND lon0<=?", "iidddd", (int64_t)c0, (int64_t)c1,
		    box[0], box[1], box[2], box[3]);
	if (!err)
		err = store_query(st, &row, "SELECT " POI_COLS " FROM pois p WHERE "
			    "p.id=?", "");
	if (err)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		double la0 = sqlite3_column_double(s, 1);
		double la1 = sqlite3_column_double(s, 2);
		double lo0 = sqlite3_column_double(s, 3);
		double lo1 = sqlite3_column_double(s, 4);
		double mla = (la0 + la1) / 2, d, e;

		d = store_poi_distance(q->lat, q->lon, mla, (lo0 + lo1) / 2);
		/* Half the box's diagonal, with room for rounding. */
		e = 0.5 * hypot((la1 - la0) * m_per_deg, (lo1 - lo0) *
				m_per_deg * cos(rad(mla))) * 1.01 + 0.001;
		if ((d - e) * STORE_POI_DETOUR > max_walk)
			continue;
		err = grow((void **)&c, &cap, n, sizeof(*c));
		if (err)
			break;
		c[n].rowid = sqlite3_column_int64(s, 0);
		c[n].d = d;
		c[n].err = e;
		/* Too near the rim to tell: look at the row. */
		if ((d + e) * STORE_POI_DETOUR > max_walk) {
			err = fetch(st, row, c[n].rowid, q->lat, q->lon, &hit);
			if (err == ENOENT) {
				err = 0;
				continue;
			}
			if (err)
				break;
			if (hit.distance_m * STORE_POI_DETOUR > max_walk)
				continue;
			c[n].d = hit.distance_m;
			c[n].err = 0;
		}
		n++;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_sqlerr(st, rc, "poi nearby");
	if (err)
		goto out;

	/* The first k by exact distance are among those that may be as near
	 * as the k-th nearest can be at most. */
	k = n < q->limit ? n : q->limit;
	if (n > k) {
		ub = mem_alloc(n * sizeof(*ub), NULL);
		if (!ub) {
			err = ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			ub[i] = c[i].d + c[i].err;
		top = kth(ub, (long)n, (long)k - 1);
	}
	for (size_t i = 0; i < n; i++) {
		if (c[i].d - c[i].err > top)
			continue;
		err = grow((void **)&hits, &hcap, nh, sizeof(*hits));
		if (err)
			goto out;
		err = fetch(st, row, c[i].rowid, q->lat, q->lon, &hits[nh]);
		if (err == ENOENT) {
			err = 0;
			continue;
		}
		if (err)
			goto out;
		nh++;
	}
	if (nh > 1)
		qsort(hits, nh, sizeof(*hits), hit_cmp);
	for (size_t i = 0; h && i < nh && i < k; i++)
		h(&hits[i], arg);
	if (total)
		*total = (uint32_t)n;
 out:
	sqlite3_finalize(s);
	sqlite3_finalize(row);
	if (txn)
		(void)exec_sql(st, "COMMIT");
	mem_deref(ub);
	mem_deref(hits);
	mem_deref(c);
	return err;
}

int store_poi_list(struct store *st, const char *category, uint32_t limit,
		   uint32_t offset, store_poi_h *h, void *arg,
		   uint32_t *total)
{
	struct store_poi p;
	sqlite3_stmt *s;
	const char *c = category ? category : "";
	char num[16] = "0";
	int rc, err;

	err = store_row(st, "SELECT count(*) FROM pois p WHERE ?1='' OR "
			"p.category=?1", 1, "s", c, num, sizeof(num));
	if (err)
		return err;
	if (total)
		*total = (uint32_t)strtoul(num, NULL, 10);
	err = store_query(st, &s, "SELECT " POI_COLS " FROM pois p WHERE ?1='' OR "
		    "p.category=?1 ORDER BY p.ref LIMIT ?2 OFFSET ?3", "sii",
		    c, (int64_t)limit, (int64_t)offset);
	if (err)
		return err;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		poi_of(s, &p);
		if (h)
			h(&p, arg);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_sqlerr(st, rc, "poi list");
}
