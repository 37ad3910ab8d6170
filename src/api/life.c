/*
 * api, the 15-minute life circle: what is within a short walk of a booth
 * (for its screen, which shows and speaks it, and for operations), the
 * categories the kiosk offers, and the POI set itself (imported by admins
 * as CSV or GeoJSON, all or nothing).  The walk model is the store's; see
 * docs/life-circle.md.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <stdlib.h>
#include <re.h>
#include "store/store.h"
#include "store/poi.h"
#include "booth/booth.h"
#include "api/api.h"
#include "api/api_int.h"

enum { LIST_LIMIT = 100, LIST_LIMIT_MAX = 1000, NEARBY_LIMIT = 20 };

/* Was the query parameter given at all (even empty or too long)? */
static bool param_given(const struct req *r, const char *name)
{
	const struct pl *q = &r->msg->prm;
	size_t nl = strlen(name);

	for (size_t i = 0; i + nl < q->l; i++)
		if ((i == 0 || q->p[i - 1] == '?' || q->p[i - 1] == '&') &&
		    !memcmp(q->p + i, name, nl) && q->p[i + nl] == '=')
			return true;
	return false;
}

/* A whole-number parameter in [min, max], def if absent; false after a
 * 400 reply. */
static bool num_param(struct req *r, const char *name, uint32_t min,
		      uint32_t max, uint32_t def, uint32_t *v)
{
	char buf[16], *end;
	unsigned long n;

	*v = def;
	if (!param_given(r, name))
		return true;
	if (!api_param(r, name, buf, sizeof(buf)) || !buf[0] ||
	    strspn(buf, "0123456789") != strlen(buf) ||
	    (n = strtoul(buf, &end, 10)) < min || n > max) {
		api_error(r, 400, "bad_request", "%s must be a whole number "
			  "from %u to %u", name, min, max);
		return false;
	}
	*v = (uint32_t)n;
	return true;
}

/* The category parameter: "" if absent, else a known category's key;
 * false after a 400 reply. */
static bool category_param(struct req *r, char *buf, size_t sz)
{
	buf[0] = '\0';
	if (!param_given(r, "category"))
		return true;
	if (!api_param(r, "category", buf, sz) ||
	    !store_poi_category(buf)) {
		char list[300] = "";
		size_t n;
		const struct store_poi_category *c = store_poi_categories(&n);
		for (size_t i = 0; i < n; i++)
			re_snprintf(list + strlen(list), sizeof(list) -
				    strlen(list), "%s%s", i ? ", " : "",
				    c[i].key);
		api_error(r, 400, "bad_request", "category must be one of: %s",
			  list);
		return false;
	}
	return true;
}

/* A number with prec decimals, rounded: libre's %f cuts digits off,
 * which turned 31.2747 into 31.274699. */
struct num {
	char s[32];
};

static struct num num(double v, int prec)
{
	struct num n;

	(void)snprintf(n.s, sizeof(n.s), "%.*f", prec, v);
	return n;
}

/* Degrees: 6 decimals are about 0.1 m. */
static struct num deg(double v)
{
	return num(v, 6);
}

static int poi_json(struct mbuf *mb, const struct store_poi *p)
{
	return mbuf_printf(mb, "{\"id\":\"%H\",\"name\":\"%H\",\"name_en\":"
			   "\"%H\",\"category\":\"%s\",\"address\":\"%H\","
			   "\"phone\":\"%H\",\"hours\":\"%H\",\"lat\":%s,"
			   "\"lon\":%s", store_json_esc, p->id,
			   store_json_esc, p->name, store_json_esc,
			   p->name_en, p->category, store_json_esc,
			   p->address, store_json_esc, p->phone,
			   store_json_esc, p->hours, deg(p->lat).s,
			   deg(p->lon).s);
}

/* ---------- near a booth ---------- */

struct near {
	struct mbuf *mb;
	struct store_poi_hit first;
	uint32_t n;
	int err;
};

static void near_hit(const struct store_poi_hit *h, void *arg)
{
	struct near *nr = arg;

	if (!nr->n)
		nr->first = *h;
	nr->err |= mbuf_printf(nr->mb, "%s", nr->n ? "," : "");
	nr->err |= poi_json(nr->mb, &h->poi);
	nr->err |= mbuf_printf(nr->mb, ",\"distance_m\":%u,\"walk_m\":%u,"
			       "\"minutes\":%u}",
			       (unsigned)(h->distance_m + 0.5), h->walk_m,
			       h->minutes);
	nr->n++;
}

/* One sentence each in Chinese and English for the screen to speak. */
static int say_json(struct mbuf *mb, const struct store_poi_category *c,
		    uint32_t minutes, uint32_t total,
		    const struct store_poi_hit *first)
{
	const char *zh = c ? c->zh : "服务设施", *en = c ? c->en : "Places";
	unsigned m10 = first ? ((unsigned)(first->distance_m + 5) / 10) * 10
		: 0;
	int err;

	if (m10 < 10)
		m10 = 10;
	if (!total)
		return mbuf_printf(mb, "{\"zh\":\"步行%u分钟内没有%s。\",\"en\":"
				   "\"%s: none within a %u-minute walk.\"}",
				   minutes, zh, en, minutes);
	err = mbuf_printf(mb, "{\"zh\":\"步行%u分钟内有%u个%s。最近的是%H，约%u"
			  "米，步行约%u分钟。\",", minutes, total, zh,
			  store_json_esc, first->poi.name, m10,
			  first->minutes);
	err |= mbuf_printf(mb, "\"en\":\"%s: %u within a %u-minute walk. The "
			   "nearest is %H, about %u metres, a %u-minute "
			   "walk.\"}", en, total, minutes, store_json_esc,
			   first->poi.name_en[0] ? first->poi.name_en :
			   first->poi.name, m10, first->minutes);
	return err;
}

/* The reply for a point: the booth, the query and the places; 0 if the
 * places were sent. */
static int nearby(struct req *r, const struct booth_info *bi)
{
	struct store_poi_query q = {.lat = bi->lat, .lon = bi->lon};
	const struct store_poi_category *c;
	struct near nr = {0};
	char cat[32];
	uint32_t total = 0;
	int err;

	if (!category_param(r, cat, sizeof(cat)) ||
	    !num_param(r, "limit", 1, STORE_POI_LIMIT_MAX, NEARBY_LIMIT,
		       &q.limit) ||
	    !num_param(r, "minutes", 1, STORE_POI_MINUTES_MAX,
		       STORE_POI_MINUTES, &q.minutes))
		return EINVAL;
	q.category = cat;
	c = store_poi_category(cat);
	nr.mb = mbuf_alloc(4096);
	if (!nr.mb) {
		api_error(r, 500, "internal", "out of memory");
		return ENOMEM;
	}
	err = mbuf_printf(nr.mb, "{\"booth\":\"%H\",\"lat\":%s,\"lon\":%s,"
			  "\"category\":", store_json_esc, bi->id,
			  deg(bi->lat).s, deg(bi->lon).s);
	if (c)
		err |= mbuf_printf(nr.mb, "\"%s\",\"label\":{\"zh\":\"%s\","
				   "\"en\":\"%s\"}", c->key, c->zh, c->en);
	else
		err |= mbuf_printf(nr.mb, "null,\"label\":null");
	err |= mbuf_printf(nr.mb, ",\"minutes\":%u,\"walk\":{\"detour\":%s,"
			   "\"m_per_min\":%u},\"items\":[", q.minutes,
			   num(STORE_POI_DETOUR, 2).s,
			   (unsigned)STORE_POI_M_PER_MIN);
	if (err) {
		api_error(r, 500, "internal", "out of memory");
		goto out;
	}
	err = store_poi_nearby(r->api->st, &q, near_hit, &nr, &total);
	if (err || nr.err) {
		err = EIO;
		api_error(r, 500, "store", "the places could not be read");
		goto out;
	}
	err = mbuf_printf(nr.mb, "],\"total\":%u,\"say\":", total);
	err |= say_json(nr.mb, c, q.minutes, total, nr.n ? &nr.first : NULL);
	err |= mbuf_write_str(nr.mb, "}");
	if (err) {
		api_error(r, 500, "internal", "out of memory");
		goto out;
	}
	api_reply(r, 200, "application/json", nr.mb, NULL);
 out:
	mem_deref(nr.mb);
	return err;
}

static bool need_booths(struct req *r)
{
	if (r->api->svc.booths)
		return true;
	api_error(r, 503, "unavailable", "booths are not running");
	return false;
}

static void screen_nearby(struct req *r)
{
	struct booth_info bi;

	if (!need_booths(r) || api_booth_auth(r, &bi))
		return;
	/* Only a query answered counts as a use of the service. */
	if (!nearby(r, &bi))
		booths_count(r->api->svc.booths, bi.id, "life");
}

static void screen_categories(struct req *r)
{
	const struct store_poi_category *c;
	struct booth_info bi;
	struct mbuf *mb;
	size_t n;
	int err;

	if (!need_booths(r) || api_booth_auth(r, &bi))
		return;
	c = store_poi_categories(&n);
	mb = mbuf_alloc(1024);
	if (!mb) {
		api_error(r, 500, "internal", "out of memory");
		return;
	}
	err = mbuf_printf(mb, "{\"minutes\":%u,\"items\":[",
			  STORE_POI_MINUTES);
	for (size_t i = 0; i < n; i++)
		err |= mbuf_printf(mb, "%s{\"key\":\"%s\",\"zh\":\"%s\","
				   "\"en\":\"%s\"}", i ? "," : "", c[i].key,
				   c[i].zh, c[i].en);
	err |= mbuf_write_str(mb, "]}");
	if (err)
		api_error(r, 500, "internal", "out of memory");
	else
		api_reply(r, 200, "application/json", mb, NULL);
	mem_deref(mb);
}

static void booth_nearby(struct req *r)
{
	struct booth_info bi;

	if (!need_booths(r))
		return;
	if (booths_get(r->api->svc.booths, r->seg[0], &bi)) {
		api_error(r, 404, "not_found", "no booth %s", r->seg[0]);
		return;
	}
	(void)nearby(r, &bi);
}

/* ---------- the POI set ---------- */

struct poi_page {
	struct mbuf *mb;
	uint32_t n;
	int err;
};

static void list_poi(const struct store_poi *p, void *arg)
{
	struct poi_page *l = arg;

	l->err |= mbuf_printf(l->mb, "%s", l->n++ ? "," : "");
	l->err |= poi_json(l->mb, p);
	l->err |= mbuf_write_str(l->mb, "}");
}

static void pois_list(struct req *r)
{
	struct poi_page l = {0};
	uint32_t limit, offset, total = 0;
	char cat[32];
	int err;

	if (!category_param(r, cat, sizeof(cat)) ||
	    !num_param(r, "limit", 1, LIST_LIMIT_MAX, LIST_LIMIT, &limit) ||
	    !num_param(r, "offset", 0, UINT32_MAX / 2, 0, &offset))
		return;
	l.mb = mbuf_alloc(8192);
	if (!l.mb) {
		api_error(r, 500, "internal", "out of memory");
		return;
	}
	err = mbuf_write_str(l.mb, "{\"items\":[");
	err |= store_poi_list(r->api->st, cat, limit, offset, list_poi, &l,
			      &total);
	err |= l.err;
	err |= mbuf_printf(l.mb, "],\"total\":%u,\"limit\":%u,\"offset\":%u}",
			   total, limit, offset);
	if (err)
		api_error(r, 500, "store", "the POIs could not be read");
	else
		api_reply(r, 200, "application/json", l.mb, NULL);
	mem_deref(l.mb);
}

/* The body's format from its Content-Type; false if none fits. */
static bool body_format(const struct req *r, enum store_poi_format *fmt)
{
	const struct http_hdr *ct = http_msg_hdr(r->msg,
						 HTTP_HDR_CONTENT_TYPE);
	static const struct {
		const char *type;
		enum store_poi_format fmt;
	} types[] = {
		{"text/csv", STORE_POI_CSV},
		{"application/geo+json", STORE_POI_GEOJSON},
		{"application/json", STORE_POI_GEOJSON},
	};

	for (size_t i = 0; ct && i < ARRAY_SIZE(types); i++) {
		size_t n = strlen(types[i].type);
		if (ct->val.l >= n && !strncasecmp(ct->val.p, types[i].type,
						    n) &&
		    (ct->val.l == n || ct->val.p[n] == ';' ||
		     ct->val.p[n] == ' ')) {
			*fmt = types[i].fmt;
			return true;
		}
	}
	return false;
}

static void pois_import(struct req *r)
{
	const struct mbuf *mb = r->msg->mb;
	enum store_poi_format fmt;
	char rep[8] = "", err[512];
	uint32_t n = 0, total = 0;
	int flags = 0, e;

	if (!body_format(r, &fmt)) {
		api_error(r, 415, "unsupported_media_type", "send the POIs as "
			  "text/csv or application/geo+json");
		return;
	}
	if (param_given(r, "replace")) {
		if (!api_param(r, "replace", rep, sizeof(rep)) ||
		    (strcmp(rep, "true") && strcmp(rep, "false"))) {
			api_error(r, 400, "bad_request", "replace is true or "
				  "false");
			return;
		}
		if (!strcmp(rep, "true"))
			flags |= STORE_POI_REPLACE;
	}
	if (!mb || !mbuf_get_left(mb)) {
		api_error(r, 400, "bad_request", "the body must hold the POIs");
		return;
	}
	e = store_poi_import(r->api->st, "body", (const char *)mbuf_buf(mb),
			     mbuf_get_left(mb), fmt, flags, &n, err,
			     sizeof(err));
	if (e == EINVAL) {
		api_error(r, 400, "bad_poi", "%s", err);
		return;
	}
	if (e) {
		api_error(r, e == EBUSY ? 503 : 500, e == EBUSY ?
			  "unavailable" : "store", "%s", err[0] ? err :
			  "the store failed: nothing imported");
		return;
	}
	(void)store_poi_list(r->api->st, "", 0, 0, NULL, NULL, &total);
	api_audit(r, "poi.import", "%u POIs%s", n, (flags &
						     STORE_POI_REPLACE) ?
		  ", replacing all" : "");
	api_json(r, 200, "{\"imported\":%u,\"replaced\":%s,\"total\":%u}", n,
		 (flags & STORE_POI_REPLACE) ? "true" : "false", total);
}

const struct api_route life_routes[] = {
	{"GET", "/api/v1/booth/nearby", ROLE_NONE, NULL, screen_nearby},
	{"GET", "/api/v1/booth/categories", ROLE_NONE, NULL,
	 screen_categories},
	{"GET", "/api/v1/booths/{}/nearby", ROLE_SUPERVISOR, "read",
	 booth_nearby},
	{"GET", "/api/v1/pois", ROLE_SUPERVISOR, "read", pois_list},
	{"POST", "/api/v1/pois", ROLE_ADMIN, "admin", pois_import},
	{NULL, NULL, ROLE_NONE, NULL, NULL},
};
