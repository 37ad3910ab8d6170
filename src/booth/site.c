/*
 * The site file's "booths": an array of booths.  A booth listed there is
 * added or changed; one made through the API and not listed is kept.
 */
#include <string.h>
#include <errno.h>
#include <re.h>
#include "store/store.h"
#include "store/booth.h"
#include "site/json.h"
#include "booth/booth.h"
#include "booth/booth_int.h"


enum { TOKEN_MIN = 12, TOKEN_MAX = 95 };

static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	return n && n < 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
				     "0123456789-_") == n;
}

/* Copy string member key of o into dst; false (with err) if it is not a
 * string that fits (or is absent while required). */
static int text(const struct json *o, const char *key, bool need, char *dst,
		size_t sz, const char *file, char *err, size_t errsz)
{
	const struct json *v = json_get(o, key);

	if (!v) {
		if (need)
			return json_fail(err, errsz, file, json_line(o),
					 "booth needs \"%s\"", key);
		dst[0] = '\0';
		return 0;
	}
	if (json_type(v) != JSON_STRING || strlen(json_str(v)) >= sz)
		return json_fail(err, errsz, file, json_line(v), "\"%s\" must "
				 "be a string of at most %zu bytes", key,
				 sz - 1);
	str_ncpy(dst, json_str(v), sz);
	return 0;
}

int booths_parse(const struct json *o, const char *file, const char *id,
		 struct store_booth *sb, char *token, size_t tsz, char *err,
		 size_t errsz)
{
	static const char allowed[] = " id name name_en address district lat"
		" lon account ports token ";
	const struct json *v;
	char pat[40];
	int e = 0;

	memset(sb, 0, sizeof(*sb));
	if (json_type(o) != JSON_OBJECT)
		return json_fail(err, errsz, file, json_line(o), "a booth is "
				 "an object");
	for (size_t k = 0; k < json_count(o); k++) {
		re_snprintf(pat, sizeof(pat), " %s ", json_key(o, k));
		if (!strstr(allowed, pat))
			return json_fail(err, errsz, file, json_key_line(o, k),
				   "unknown booth field \"%s\"",
				   json_key(o, k));
	}
	e = text(o, "id", !id, sb->id, sizeof(sb->id), file, err, errsz);
	if (!e && !sb->id[0] && id)
		str_ncpy(sb->id, id, sizeof(sb->id));
	if (!e && !id_ok(sb->id))
		e = json_fail(err, errsz, file, json_line(json_get(o, "id")),
			      "a booth id is 1-31 of a-z 0-9 - _");
	if (!e)
		e = text(o, "name", true, sb->name, sizeof(sb->name), file,
			 err, errsz);
	if (!e)
		e = text(o, "name_en", false, sb->name_en,
			 sizeof(sb->name_en), file, err, errsz);
	if (!e)
		e = text(o, "address", true, sb->address, sizeof(sb->address),
			 file, err, errsz);
	if (!e)
		e = text(o, "district", true, sb->district,
			 sizeof(sb->district), file, err, errsz);
	/* The district says whose volunteers and office answer: an empty
	 * one would alert the whole city. */
	if (!e && !sb->district[0])
		e = json_fail(err, errsz, file, json_line(json_get(o,
			      "district")), "\"district\" must not be empty");
	if (!e)
		e = text(o, "account", true, sb->account, sizeof(sb->account),
			 file, err, errsz);
	if (!e && token)
		e = text(o, "token", false, token, tsz, file, err, errsz);
	if (!e && token && token[0] && (strlen(token) < TOKEN_MIN ||
					 strpbrk(token, " \t\r\n")))
		e = json_fail(err, errsz, file, json_line(json_get(o, "token")),
			      "a booth's \"token\" is %d or more characters "
			      "without spaces", TOKEN_MIN);
	for (int i = 0; i < 2 && !e; i++) {
		const char *key = i ? "lon" : "lat";
		int lim = i ? 180 : 90;
		v = json_get(o, key);
		if (!v || json_type(v) != JSON_NUMBER ||
		    json_num(v) < -lim || json_num(v) > lim)
			e = json_fail(err, errsz, file, v ? json_line(v) :
				json_line(o), "\"%s\" must be a number of "
				"degrees from %d to %d", key, -lim, lim);
		else if (i)
			sb->lon = json_num(v);
		else
			sb->lat = json_num(v);
	}
	v = json_get(o, "ports");
	if (!e && v && (json_type(v) != JSON_NUMBER || json_num(v) < 0 ||
			json_num(v) > 64 ||
			json_num(v) != (double)(uint32_t)json_num(v)))
		e = json_fail(err, errsz, file, json_line(v), "\"ports\" must "
			      "be a whole number from 0 to 64");
	else if (!e && v)
		sb->ports = (uint32_t)json_num(v);
	return e;
}

int booths_site_load(struct booths *b, const struct json *root,
		     const char *file, char *err, size_t errsz)
{
	const struct json *list = json_get(root, "booths");
	struct store_booth sb;
	char token[TOKEN_MAX + 1], hash[65];
	int e = 0;

	if (!list)
		return 0;
	if (json_type(list) != JSON_ARRAY)
		return json_fail(err, errsz, file, json_line(list),
				 "\"booths\" is an array of booths");
	for (size_t i = 0; i < json_count(list) && !e; i++) {
		const struct json *o = json_at(list, i);
		e = booths_parse(o, file, NULL, &sb, token, sizeof(token),
				 err, errsz);
		for (size_t j = 0; j < i && !e; j++) {
			const char *other = json_str(json_get(json_at(list, j),
							      "id"));
			if (other && !strcmp(other, sb.id))
				e = json_fail(err, errsz, file, json_line(o),
					      "booth \"%s\" is listed twice",
					      sb.id);
		}
		if (e || !b)
			continue;
		e = store_booth_put(b->st, &sb);
		/* The site's token is the booth's first: one rotated
		 * through the API since stays. */
		if (!e && token[0]) {
			booths_token_hash(token, hash);
			e = store_booth_token_first(b->st, sb.id, hash);
		}
		if (e)
			re_snprintf(err, errsz, "%s: booth %s: the store "
				    "refused it: %m", file, sb.id, e);
		else
			(void)booths_seen_load(b, &sb);
	}
	return e;
}
