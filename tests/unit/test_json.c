#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <re.h>
#include "core/clock.h"
#include "site/json.h"
#include "unit.h"

static struct json *parse(const char *text)
{
	struct json *j = NULL;
	char err[256] = "";

	if (json_parse(&j, text, strlen(text), err, sizeof(err)))
		fprintf(stderr, "  unexpected parse error: %s\n", err);
	return j;
}

static bool same(const struct json *a, const struct json *b)
{
	if (json_type(a) != json_type(b) || json_count(a) != json_count(b))
		return false;
	switch (json_type(a)) {
	case JSON_NULL:
		return true;
	case JSON_BOOL:
		return json_bool(a) == json_bool(b);
	case JSON_NUMBER:
		return json_num(a) == json_num(b);
	case JSON_STRING:
		return !strcmp(json_str(a), json_str(b));
	case JSON_ARRAY:
	case JSON_OBJECT:
		break;
	}
	for (size_t i = 0; i < json_count(a); i++) {
		if (json_type(a) == JSON_OBJECT &&
		    strcmp(json_key(a, i), json_key(b, i)))
			return false;
		if (!same(json_at(a, i), json_at(b, i)))
			return false;
	}
	return true;
}

static void every_type_with_lines(void)
{
	const char *doc =
		"{\n"                                   /* 1 */
		"  \"name\": \"hotline\",\n"            /* 2 */
		"  \"open\": true, \"closed\": false,\n"/* 3 */
		"  \"none\": null,\n"                   /* 4 */
		"  \"n\": -12.5e1,\n"                   /* 5 */
		"  \"flows\": [\n"                      /* 6 */
		"    1,\n"                              /* 7 */
		"    {\"a\": []},\n"                    /* 8 */
		"    \"x\"\n"                           /* 9 */
		"  ],\n"                                /* 10 */
		"  \"empty\":\n"                        /* 11 */
		"    {}\n"                              /* 12 */
		"}\n";
	struct json *j = parse(doc);
	const struct json *flows, *inner;

	CHECK(j != NULL);
	if (!j)
		return;
	CHECK_EQ(json_type(j), JSON_OBJECT);
	CHECK_EQ(json_line(j), 1);
	CHECK_EQ(json_count(j), 7);

	/* Member order is the document's. */
	CHECK_STR(json_key(j, 0), "name");
	CHECK_STR(json_key(j, 1), "open");
	CHECK_STR(json_key(j, 2), "closed");
	CHECK_STR(json_key(j, 6), "empty");
	CHECK_EQ(json_key_line(j, 0), 2);
	CHECK_EQ(json_key_line(j, 2), 3);
	CHECK_EQ(json_key_line(j, 5), 6);
	CHECK_EQ(json_key_line(j, 6), 11);

	CHECK_STR(json_str(json_get(j, "name")), "hotline");
	CHECK_EQ(json_type(json_get(j, "open")), JSON_BOOL);
	CHECK(json_bool(json_get(j, "open")));
	CHECK(!json_bool(json_get(j, "closed")));
	CHECK_EQ(json_type(json_get(j, "none")), JSON_NULL);
	CHECK_EQ(json_line(json_get(j, "none")), 4);
	CHECK(json_num(json_get(j, "n")) == -125.0);
	CHECK_EQ(json_line(json_get(j, "n")), 5);

	flows = json_get(j, "flows");
	CHECK_EQ(json_type(flows), JSON_ARRAY);
	CHECK_EQ(json_line(flows), 6);
	CHECK_EQ(json_count(flows), 3);
	CHECK_EQ(json_line(json_at(flows, 0)), 7);
	CHECK(json_num(json_at(flows, 0)) == 1.0);
	inner = json_at(flows, 1);
	CHECK_EQ(json_type(inner), JSON_OBJECT);
	CHECK_EQ(json_line(inner), 8);
	CHECK_EQ(json_key_line(inner, 0), 8);
	CHECK_EQ(json_type(json_get(inner, "a")), JSON_ARRAY);
	CHECK_EQ(json_count(json_get(inner, "a")), 0);
	CHECK_STR(json_str(json_at(flows, 2)), "x");
	CHECK_EQ(json_line(json_at(flows, 2)), 9);
	CHECK(json_at(flows, 3) == NULL);

	/* A value's line is where it starts, not where its key is. */
	CHECK_EQ(json_line(json_get(j, "empty")), 12);
	CHECK_EQ(json_count(json_get(j, "empty")), 0);

	mem_deref(j);
}

static void scalar_roots(void)
{
	struct json *j;

	j = parse(" \"s\" ");
	CHECK_STR(json_str(j), "s");
	mem_deref(j);
	j = parse("\n\n42\n");
	CHECK(json_num(j) == 42.0);
	CHECK_EQ(json_line(j), 3);
	mem_deref(j);
	j = parse("null");
	CHECK(j != NULL);
	CHECK_EQ(json_type(j), JSON_NULL);
	mem_deref(j);
	j = parse("\r\n\ttrue");
	CHECK(json_bool(j));
	CHECK_EQ(json_line(j), 2);
	mem_deref(j);
	/* RFC 8259 lets readers skip a byte order mark. */
	j = parse("\xef\xbb\xbf[]");
	CHECK_EQ(json_type(j), JSON_ARRAY);
	mem_deref(j);
}

static void accessors_tolerate_wrong_types(void)
{
	struct json *j = parse("[\"a\", 1, {\"k\": 2}]");

	CHECK(json_str(j) == NULL);
	CHECK(json_num(j) == 0);
	CHECK(!json_bool(j));
	CHECK(json_key(j, 0) == NULL);
	CHECK_EQ(json_key_line(j, 0), 0);
	CHECK(json_get(j, "a") == NULL);
	CHECK(json_str(json_at(j, 1)) == NULL);
	CHECK(json_num(json_at(j, 0)) == 0);
	CHECK_EQ(json_count(json_at(j, 0)), 0);
	CHECK(json_at(json_at(j, 0), 0) == NULL);
	CHECK(json_get(json_at(j, 2), "missing") == NULL);
	CHECK(json_key(json_at(j, 2), 1) == NULL);
	CHECK(json_num(json_get(json_at(j, 2), "k")) == 2.0);

	CHECK_EQ(json_type(NULL), JSON_NULL);
	CHECK_EQ(json_line(NULL), 0);
	CHECK(json_str(NULL) == NULL);
	CHECK_EQ(json_count(NULL), 0);
	CHECK(json_at(NULL, 0) == NULL);
	CHECK(json_get(NULL, "a") == NULL);
	mem_deref(j);
}

static void numbers(void)
{
	static const struct { const char *text; double want; } ok[] = {
		{"0", 0}, {"-0", 0}, {"7", 7}, {"-7", -7}, {"0.5", 0.5},
		{"1e3", 1000}, {"1E+3", 1000}, {"25e-1", 2.5},
		{"123456789012", 123456789012.0}, {"1e308", 1e308},
		{"1e-400", 0},
	};
	static const char *bad[] = {
		"01", "-", "1.", "1.e5", "1e", "1e+", "+1", ".5", "0x10",
		"1.2.3", "12abc", "--1", "-a",
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct json *j = parse(ok[i].text);
		CHECK_EQ(json_type(j), JSON_NUMBER);
		if (json_num(j) != ok[i].want) {
			fprintf(stderr, "  %s read as %g\n", ok[i].text,
				json_num(j));
			unit_failed_checks++;
		}
		mem_deref(j);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct json *j = NULL;
		char err[128];
		CHECK_EQ(json_parse(&j, bad[i], strlen(bad[i]), err,
				    sizeof(err)), EBADMSG);
		CHECK(j == NULL);
		/* ".5" and "+1" do not start a value at all. */
		if (bad[i][0] != '.' && bad[i][0] != '+')
			CHECK_STR(err, "1: invalid number");
	}
}

static void unicode(void)
{
	struct json *j = parse(
		"[\"\\u4e2d\\u6587\", \"中文\", \"\\ud83d\\ude00\", "
		"\"\\uD83D\\uDE00\", \"\\\"\\\\\\/\\b\\f\\n\\r\\t\", "
		"\"\\u00e9\\u20AC\", \"a\\u0001z\"]");

	CHECK_EQ(json_count(j), 7);
	CHECK_STR(json_str(json_at(j, 0)), "中文");
	CHECK_STR(json_str(json_at(j, 1)), "中文");
	CHECK_STR(json_str(json_at(j, 2)), "\xf0\x9f\x98\x80"); /* 😀 */
	CHECK_STR(json_str(json_at(j, 3)), "😀");
	CHECK_STR(json_str(json_at(j, 4)), "\"\\/\b\f\n\r\t");
	CHECK_STR(json_str(json_at(j, 5)), "é€");
	CHECK_STR(json_str(json_at(j, 6)), "a\001z");
	mem_deref(j);

	/* Well-formed raw UTF-8 of every length, up to U+10FFFF. */
	j = parse("\"\x7f \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf "
		  "\xee\x80\x80 \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\"");
	CHECK(j != NULL);
	mem_deref(j);

	/* Keys are decoded too. */
	j = parse("{\"\\u540d\": 1}");
	CHECK(json_get(j, "名") != NULL);
	mem_deref(j);
}

static void errors_name_the_line(void)
{
	static const char *bad[][2] = {
		{"", "1: empty document"},
		{" \n\t\n ", "3: empty document"},
		{"{\n\"a\": 1\n\"b\": 2}",
		 "3: expected ',' or '}' after member \"a\""},
		{"{\"flows\": [] ]", "1: expected ',' or '}' after member "
		 "\"flows\""},
		{"[1 2]", "1: expected ',' or ']' after array element, "
		 "found '2'"},
		{"[1,\n2,\n]", "3: trailing comma before ']'"},
		{"{\"a\":1,\n}", "2: trailing comma before '}'"},
		{"{\n\"start\": 1,\n\"start\": 2}", "3: duplicate key \"start\""},
		{"{\"a\": {\"b\": 1, \"b\": 1}}", "1: duplicate key \"b\""},
		{"[\"abc", "1: unterminated string"},
		{"[\n\"abc\n\"]", "2: unterminated string"},
		{"\"abc\\\"", "1: unterminated string"},
		{"01", "1: invalid number"},
		{"[1e999]", "1: number out of range"},
		{"[-1e999]", "1: number out of range"},
		{"NaN", "1: expected a value, found 'N'"},
		{"[Infinity]", "1: expected a value, found 'I'"},
		{"// note\n1", "1: comments are not allowed"},
		{"[1, /* two */ 2]", "1: comments are not allowed"},
		{"['a']", "1: strings need double quotes"},
		{"{a: 1}", "1: expected a \"quoted\" key, found 'a'"},
		{"{'a': 1}", "1: expected a \"quoted\" key, found '''"},
		{"{\"a\" 1}", "1: expected ':' after key \"a\""},
		{"[tru]", "1: invalid literal (expected true, false or null)"},
		{"nul", "1: invalid literal (expected true, false or null)"},
		{"truex", "1: invalid literal (expected true, false or null)"},
		{"1 2", "1: unexpected '2' after the document"},
		{"{}\n\n}", "3: unexpected '}' after the document"},
		{"[]\x01", "1: unexpected 0x01 after the document"},
		{"\"a\tb\"", "1: unescaped control character 0x09 in string"},
		{"\"\\x\"", "1: invalid escape '\\x' in string"},
		{"\"\\\x01\"", "1: invalid escape (backslash before 0x01) in "
		 "string"},
		{"\"\\u12\"", "1: invalid \\u escape (need 4 hex digits)"},
		{"\"\\u12g4\"", "1: invalid \\u escape (need 4 hex digits)"},
		{"\"\\ud800\"", "1: lone surrogate \\uD800 in string"},
		{"\"\\udc00\\ud800\"", "1: lone surrogate \\uDC00 in string"},
		{"\"\\ud800\\u0041\"", "1: lone surrogate \\uD800 in string"},
		{"\"\\ud800x\"", "1: lone surrogate \\uD800 in string"},
		{"\"\\u0000\"", "1: \\u0000 is not allowed in strings"},
		{"{\"k\\u0000\": 1}", "1: \\u0000 is not allowed in strings"},
		{"\"\xc0\x80\"", "1: invalid UTF-8 in string"},     /* overlong */
		{"\"\xe0\x80\xaf\"", "1: invalid UTF-8 in string"},
		{"\"\xed\xa0\x80\"", "1: invalid UTF-8 in string"}, /* U+D800 */
		{"\"\xf4\x90\x80\x80\"", "1: invalid UTF-8 in string"},
		{"\"\xf5\x80\x80\x80\"", "1: invalid UTF-8 in string"},
		{"\"\x80\"", "1: invalid UTF-8 in string"},
		{"\"\xe4\xb8\"", "1: invalid UTF-8 in string"},   /* cut short */
		{"\"\xff\"", "1: invalid UTF-8 in string"},
		{"\xe4\xb8\xad", "1: expected a value, found 0xe4"},
		{"[1,\n2\n", "3: unexpected end of input in array"},
		{"{\"a\": 1,\n\n", "3: unexpected end of input in object"},
		{"{\"a\":", "1: unexpected end of input, expected a value"},
		{"{\"a\"", "1: expected ':' after key \"a\""},
		{"[", "1: unexpected end of input, expected a value"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct json *j = (struct json *)&j;  /* must stay untouched */
		char err[256] = "";
		int e = json_parse(&j, bad[i][0], strlen(bad[i][0]), err,
				   sizeof(err));
		CHECK_EQ(e, EBADMSG);
		CHECK(j == (struct json *)&j);
		if (strcmp(err, bad[i][1])) {
			fprintf(stderr, "  case %zu: got '%s', want '%s'\n", i,
				err, bad[i][1]);
			unit_failed_checks++;
		}
	}
}

static void long_key_is_cut_in_messages(void)
{
	char doc[400], err[512];
	struct json *j = NULL;
	size_t n;

	/* 100 three-byte characters: a cut must not split one. */
	n = (size_t)snprintf(doc, sizeof(doc), "{\"");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "中");
	snprintf(doc + n, sizeof(doc) - n, "\" 1}");
	CHECK_EQ(json_parse(&j, doc, strlen(doc), err, sizeof(err)), EBADMSG);
	CHECK(strlen(err) < 100);
	CHECK(!strncmp(err, "1: expected ':' after key \"中", 30));
	CHECK(strstr(err, "中\"") != NULL);

	/* A tiny or absent error buffer is fine too. */
	CHECK_EQ(json_parse(&j, "[", 1, err, 4), EBADMSG);
	CHECK_STR(err, "1: ");
	CHECK_EQ(json_parse(&j, "[", 1, NULL, 0), EBADMSG);
	CHECK_EQ(json_parse(NULL, "[]", 2, NULL, 0), EINVAL);
}

static void length_not_terminator(void)
{
	const char buf[] = "[1,2]garbage";
	struct json *j = NULL;
	char err[64];

	CHECK_EQ(json_parse(&j, buf, 5, err, sizeof(err)), 0);
	CHECK_EQ(json_count(j), 2);
	mem_deref(j);
	j = NULL;
	/* A NUL inside the given length is just a bad byte. */
	CHECK_EQ(json_parse(&j, "[1]\0", 4, err, sizeof(err)), EBADMSG);
	CHECK_STR(err, "1: unexpected 0x00 after the document");
	CHECK_EQ(json_parse(&j, "\"a\0b\"", 5, err, sizeof(err)), EBADMSG);
	CHECK_STR(err, "1: unescaped control character 0x00 in string");
}

static char *nest(size_t depth)
{
	char *s = mem_zalloc(2 * depth + 1, NULL);

	for (size_t i = 0; s && i < depth; i++) {
		s[i] = '[';
		s[2 * depth - 1 - i] = ']';
	}
	return s;
}

static void depth_limit(void)
{
	char *s, err[128];
	struct json *j = NULL;

	s = nest(64);
	CHECK_EQ(json_parse(&j, s, strlen(s), err, sizeof(err)), 0);
	mem_deref(j);
	mem_deref(s);

	j = NULL;
	s = nest(65);
	CHECK_EQ(json_parse(&j, s, strlen(s), err, sizeof(err)), EBADMSG);
	CHECK_STR(err, "1: nesting deeper than 64 levels");
	CHECK(j == NULL);
	mem_deref(s);

	/* Far too deep must not use the stack up either. */
	s = nest(100000);
	CHECK_EQ(json_parse(&j, s, strlen(s), err, sizeof(err)), EBADMSG);
	mem_deref(s);

	j = parse("{\"a\":{\"a\":{\"a\":{\"a\":[[[[{}]]]]}}}}");
	CHECK(j != NULL);
	mem_deref(j);
}

static void encode_round_trip(void)
{
	const char *doc =
		"{ \"name\" : \"热线 \\\"A\\\"\\\\\",\n"
		"  \"emoji\": \"\\ud83d\\ude00\", \"ctl\": \"a\\u0001\\n\\t\",\n"
		"  \"nums\": [0, -0.5, 0.1, 1e21, 123456789, 3.14159, -7e-9],\n"
		"  \"t\": true, \"f\": false, \"z\": null,\n"
		"  \"o\": {\"x\": [], \"y\": {}}, \"slash\": \"a/b\" }";
	const char *want =
		"{\"name\":\"热线 \\\"A\\\"\\\\\",\"emoji\":\"😀\","
		"\"ctl\":\"a\\u0001\\n\\t\","
		"\"nums\":[0,-0.5,0.1,1e+21,123456789,3.14159,-7e-09],"
		"\"t\":true,\"f\":false,\"z\":null,"
		"\"o\":{\"x\":[],\"y\":{}},\"slash\":\"a/b\"}";
	struct mbuf *mb = mbuf_alloc(256), *mb2 = mbuf_alloc(256);
	struct json *a = parse(doc), *b = NULL;
	char *out = NULL;

	CHECK(a != NULL);
	CHECK_EQ(json_encode(mb, a), 0);
	mb->pos = 0;
	CHECK_EQ(mbuf_strdup(mb, &out, mb->end), 0);
	CHECK_STR(out, want);

	b = parse(out);
	CHECK(b != NULL);
	CHECK(same(a, b));
	/* Encoding is stable: a second pass gives the same bytes. */
	CHECK_EQ(json_encode(mb2, b), 0);
	CHECK_EQ(mb2->end, mb->end);
	CHECK(!memcmp(mb->buf, mb2->buf, mb->end));

	/* Doubles survive the trip exactly. */
	mem_deref(a);
	mem_deref(b);
	a = parse("[0.1, 0.30000000000000004, 1.7976931348623157e308, "
		  "5e-324, 2.2250738585072014e-308, 9007199254740993]");
	mbuf_reset(mb);
	CHECK_EQ(json_encode(mb, a), 0);
	mb->pos = 0;
	mem_deref(out);
	out = NULL;
	CHECK_EQ(mbuf_strdup(mb, &out, mb->end), 0);
	b = parse(out);
	CHECK(same(a, b));

	CHECK_EQ(json_encode(NULL, a), EINVAL);
	CHECK_EQ(json_encode(mb, NULL), EINVAL);
	mem_deref(out);
	mem_deref(a);
	mem_deref(b);
	mem_deref(mb);
	mem_deref(mb2);
}

static const char torture_doc[] =
	"{\n"
	"  \"hotline\": \"400-800-1234\",\n"
	"  \"tz\": \"Asia/Shanghai\", \"always\": false,\n"
	"  \"hours\": {\"mon\": [\"09:00-12:00\", \"13:30-17:30\"]},\n"
	"  \"greeting\": \"\\u6b22\\u8fce\\ud83d\\ude00 致电\",\n"
	"  \"retries\": -3.5e-2, \"none\": null, \"on\": true,\n"
	"  \"menu\": [[], {}, [1, [2, {\"k\": \"v\\n\"}]]]\n"
	"}";

static void truncated_prefixes_fail_cleanly(void)
{
	size_t n = sizeof(torture_doc) - 1;
	struct json *j = NULL;
	char err[256];

	CHECK_EQ(json_parse(&j, torture_doc, n, err, sizeof(err)), 0);
	mem_deref(j);

	for (size_t len = 0; len < n; len++) {
		/* A private copy lets ASan catch any read past len. */
		char *copy = malloc(len ? len : 1);
		int e;

		memcpy(copy, torture_doc, len);
		j = NULL;
		err[0] = '\0';
		e = json_parse(&j, copy, len, err, sizeof(err));
		free(copy);
		if (e != EBADMSG || j || err[0] < '1' || err[0] > '9' ||
		    !strstr(err, ": ")) {
			fprintf(stderr, "  prefix %zu: rc %d, err '%s'\n", len,
				e, err);
			unit_failed_checks++;
			mem_deref(j);
			break;
		}
	}
}

static void byte_mutations_never_crash(void)
{
	static const char subst[] = "\"\\{}[],:0-eE .u\n\x01\x80\xc3\xff";
	size_t n = sizeof(torture_doc) - 1;
	char *copy = malloc(n);
	unsigned ok = 0;

	for (size_t pos = 0; pos < n; pos++) {
		for (size_t k = 0; k < sizeof(subst) - 1; k++) {
			struct json *j = NULL, *j2 = NULL;
			struct mbuf *mb;
			char err[256];

			memcpy(copy, torture_doc, n);
			copy[pos] = subst[k];
			if (json_parse(&j, copy, n, err, sizeof(err)))
				continue;
			/* Whatever it accepts, it must re-read the same. */
			++ok;
			mb = mbuf_alloc(512);
			CHECK_EQ(json_encode(mb, j), 0);
			CHECK_EQ(json_parse(&j2, (char *)mb->buf, mb->end,
					    err, sizeof(err)), 0);
			CHECK(same(j, j2));
			mem_deref(mb);
			mem_deref(j);
			mem_deref(j2);
		}
	}
	CHECK(ok > 0);
	free(copy);
}

static void large_inputs_stay_linear(void)
{
	enum { N = 100000 };
	struct mbuf *mb = mbuf_alloc(N * 16);
	struct json *j = NULL;
	char err[128];
	uint64_t t0 = clock_mono_ms();

	/* A wide object exercises duplicate detection at scale. */
	mbuf_write_str(mb, "{");
	for (int i = 0; i < N; i++)
		mbuf_printf(mb, "%s\"key%d\":%d", i ? "," : "", i, i);
	mbuf_write_str(mb, "}");
	CHECK_EQ(json_parse(&j, (char *)mb->buf, mb->end, err, sizeof(err)),
		 0);
	CHECK_EQ(json_count(j), N);
	CHECK_STR(json_key(j, N - 1), "key99999");
	CHECK(json_num(json_get(j, "key77777")) == 77777);
	mem_deref(j);
	j = NULL;

	/* The same with one repeat at the very end. */
	mb->pos = --mb->end;
	mbuf_write_str(mb, ",\"key4242\":0}");
	CHECK_EQ(json_parse(&j, (char *)mb->buf, mb->end, err, sizeof(err)),
		 EBADMSG);
	CHECK_STR(err, "1: duplicate key \"key4242\"");

	/* A long array and a long string. */
	mbuf_reset(mb);
	mbuf_write_str(mb, "[");
	for (int i = 0; i < N; i++)
		mbuf_write_str(mb, i ? ",\"x\"" : "\"x\"");
	mbuf_write_str(mb, ",\"");
	for (int i = 0; i < N; i++)
		mbuf_write_str(mb, "\\u4e2d");
	mbuf_write_str(mb, "\"]");
	CHECK_EQ(json_parse(&j, (char *)mb->buf, mb->end, err, sizeof(err)),
		 0);
	CHECK_EQ(json_count(j), N + 1);
	CHECK_EQ(strlen(json_str(json_at(j, N))), 3 * N);
	mem_deref(j);
	mem_deref(mb);

	/* Generous: quadratic behaviour would take minutes, not seconds. */
	CHECK(clock_mono_ms() - t0 < 5000);
}

const struct unit_case json_cases[] = {
	{"every_type_with_lines", every_type_with_lines},
	{"scalar_roots", scalar_roots},
	{"accessors_tolerate_wrong_types", accessors_tolerate_wrong_types},
	{"numbers", numbers},
	{"unicode", unicode},
	{"errors_name_the_line", errors_name_the_line},
	{"long_key_is_cut_in_messages", long_key_is_cut_in_messages},
	{"length_not_terminator", length_not_terminator},
	{"depth_limit", depth_limit},
	{"encode_round_trip", encode_round_trip},
	{"truncated_prefixes_fail_cleanly", truncated_prefixes_fail_cleanly},
	{"byte_mutations_never_crash", byte_mutations_never_crash},
	{"large_inputs_stay_linear", large_inputs_stay_linear},
	{NULL, NULL},
};
