/*
 * json: recursive descent over the raw bytes.  Recursion is safe because
 * nesting is capped at JSON_MAX_DEPTH, and every error stops the parse at
 * once, so the message always describes the first thing that is wrong.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <re.h>
#include "site/json.h"

enum {
	JSON_MAX_DEPTH = 64,
	/* Objects this small are checked for duplicate keys by a plain
	 * scan; bigger ones get a hash set so a huge object stays linear. */
	KEYSET_MIN = 8,
	KEY_SHOWN = 60,   /* bytes of a key quoted in an error message */
};

struct item {
	struct json *val;
	char *key;            /* objects only */
	unsigned key_line;
};

struct json {
	enum json_type type;
	unsigned line;
	union {
		bool b;
		double n;
		char *s;          /* points into the same allocation */
		struct {
			struct item *v;
			size_t n, cap;
		} c;
	} u;
};

struct parser {
	const unsigned char *p, *end;
	unsigned line;
	unsigned depth;
	char *err;
	size_t errsz;
	bool failed;
};

struct keyset {
	uint32_t *slot;       /* index + 1 into the object's items; 0 = free */
	size_t cap;           /* a power of two */
};

static int parse_value(struct parser *ps, struct json **jp);

static void destructor(void *arg)
{
	struct json *j = arg;

	if (j->type != JSON_ARRAY && j->type != JSON_OBJECT)
		return;
	for (size_t i = 0; i < j->u.c.n; i++) {
		mem_deref(j->u.c.v[i].val);
		mem_deref(j->u.c.v[i].key);
	}
	mem_deref(j->u.c.v);
}

__attribute__((format(printf, 3, 4)))
static int fail(struct parser *ps, unsigned line, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	/* Only the innermost failure is worth reporting. */
	if (ps->failed)
		return EBADMSG;
	ps->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->err && ps->errsz)
		snprintf(ps->err, ps->errsz, "%u: %s", line, msg);
	return EBADMSG;
}

static int fail_nomem(struct parser *ps)
{
	(void)fail(ps, ps->line, "out of memory");
	return ENOMEM;
}

/* A byte as an error message shows it: 'x', or 0xNN when unprintable. */
static const char *show(char buf[8], unsigned char c)
{
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "0x%02x", c);
	return buf;
}

/* A key short enough for a message, cut on a UTF-8 boundary. */
static int key_len(const char *key)
{
	size_t n = strlen(key);

	if (n <= KEY_SHOWN)
		return (int)n;
	n = KEY_SHOWN;
	while (n && ((unsigned char)key[n] & 0xc0) == 0x80)
		--n;
	return (int)n;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end) {
		switch (*ps->p) {
		case '\n':
			++ps->line;
			/* fall through */
		case ' ':
		case '\t':
		case '\r':
			++ps->p;
			break;
		default:
			return;
		}
	}
}

static struct json *node_alloc(struct parser *ps, enum json_type type,
			       size_t extra)
{
	struct json *j = mem_zalloc(sizeof(*j) + extra, destructor);

	if (!j)
		return NULL;
	j->type = type;
	j->line = ps->line;
	return j;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int read_hex4(const unsigned char *s, const unsigned char *end)
{
	int v = 0;

	if (end - s < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

static size_t put_utf8(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | cp >> 12);
		d[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | cp >> 18);
	d[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	d[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	}
	else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	}
	else
		return 0;

	if ((size_t)(end - s) < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	return n;
}

/* Find the closing quote of the string at ps->p; *rawlen excludes both
 * quotes.  Decoding never grows a string, so rawlen bounds its size. */
static int string_span(struct parser *ps, size_t *rawlen)
{
	const unsigned char *q = ps->p + 1;

	while (q < ps->end && *q != '"') {
		if (*q == '\n')
			break;
		q += *q == '\\' ? 2 : 1;
	}
	if (q >= ps->end || *q != '"')
		return fail(ps, ps->line, "unterminated string");
	*rawlen = (size_t)(q - ps->p - 1);
	return 0;
}

/* Decode the string at ps->p (already spanned) into dst, which holds at
 * least rawlen + 1 bytes; leaves ps->p after the closing quote. */
static int string_decode(struct parser *ps, size_t rawlen, char *dst)
{
	const unsigned char *s = ps->p + 1, *end = s + rawlen;
	char *d = dst, b[8];

	while (s < end) {
		unsigned char c = *s;
		int cp, lo;

		if (c < 0x20)
			return fail(ps, ps->line, "unescaped control character"
				    " %s in string", show(b, c));
		if (c >= 0x80) {
			size_t n = utf8_len(s, end);
			if (!n)
				return fail(ps, ps->line,
					    "invalid UTF-8 in string");
			memcpy(d, s, n);
			d += n;
			s += n;
			continue;
		}
		if (c != '\\') {
			*d++ = (char)c;
			++s;
			continue;
		}

		/* string_span guarantees a byte after the backslash. */
		c = s[1];
		s += 2;
		switch (c) {
		case '"':  *d++ = '"';  continue;
		case '\\': *d++ = '\\'; continue;
		case '/':  *d++ = '/';  continue;
		case 'b':  *d++ = '\b'; continue;
		case 'f':  *d++ = '\f'; continue;
		case 'n':  *d++ = '\n'; continue;
		case 'r':  *d++ = '\r'; continue;
		case 't':  *d++ = '\t'; continue;
		case 'u':  break;
		default:
			if (c > 0x20 && c < 0x7f)
				return fail(ps, ps->line, "invalid escape "
					    "'\\%c' in string", c);
			return fail(ps, ps->line, "invalid escape (backslash "
				    "before %s) in string", show(b, c));
		}

		cp = read_hex4(s, end);
		if (cp < 0)
			return fail(ps, ps->line, "invalid \\u escape (need 4 "
				    "hex digits)");
		s += 4;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return fail(ps, ps->line, "lone surrogate \\u%04X in "
				    "string", (unsigned)cp);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			lo = end - s >= 6 && s[0] == '\\' && s[1] == 'u' ?
				read_hex4(s + 2, end) : -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				return fail(ps, ps->line, "lone surrogate "
					    "\\u%04X in string", (unsigned)cp);
			s += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		/* RFC 8259 section 9 lets a reader limit string contents: a
		 * NUL would silently cut the C string the caller sees. */
		if (cp == 0)
			return fail(ps, ps->line, "\\u0000 is not allowed in "
				    "strings");
		d += put_utf8(d, (uint32_t)cp);
	}
	*d = '\0';
	ps->p = end + 1;
	return 0;
}

static int parse_string(struct parser *ps, struct json **jp)
{
	struct json *j;
	size_t rawlen = 0;
	int err;

	err = string_span(ps, &rawlen);
	if (err)
		return err;
	j = node_alloc(ps, JSON_STRING, rawlen + 1);
	if (!j)
		return fail_nomem(ps);
	j->u.s = (char *)(j + 1);
	err = string_decode(ps, rawlen, j->u.s);
	if (err) {
		mem_deref(j);
		return err;
	}
	*jp = j;
	return 0;
}

static int parse_key(struct parser *ps, char **keyp)
{
	size_t rawlen = 0;
	char *key;
	int err;

	err = string_span(ps, &rawlen);
	if (err)
		return err;
	key = mem_alloc(rawlen + 1, NULL);
	if (!key)
		return fail_nomem(ps);
	err = string_decode(ps, rawlen, key);
	if (err) {
		mem_deref(key);
		return err;
	}
	*keyp = key;
	return 0;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *ps, struct json **jp)
{
	const unsigned char *s = ps->p, *q = s, *end = ps->end;
	char small[64], *buf = small;
	struct json *j;
	size_t len;
	double v;

	if (q < end && *q == '-')
		++q;
	if (q >= end || !is_digit(*q))
		return fail(ps, ps->line, "invalid number");
	if (*q == '0')
		++q;
	else {
		while (q < end && is_digit(*q))
			++q;
	}
	if (q < end && *q == '.') {
		++q;
		if (q >= end || !is_digit(*q))
			return fail(ps, ps->line, "invalid number");
		while (q < end && is_digit(*q))
			++q;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		++q;
		if (q < end && (*q == '+' || *q == '-'))
			++q;
		if (q >= end || !is_digit(*q))
			return fail(ps, ps->line, "invalid number");
		while (q < end && is_digit(*q))
			++q;
	}
	/* "01", "1.2.3", "12abc": reject as one bad number rather than
	 * blaming whatever follows a valid-looking prefix. */
	if (q < end && (is_digit(*q) || *q == '.' || *q == '+' || *q == '-' ||
			(*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
		return fail(ps, ps->line, "invalid number");

	/* strtod needs a terminated copy; the input need not be. */
	len = (size_t)(q - s);
	if (len >= sizeof(small)) {
		buf = mem_alloc(len + 1, NULL);
		if (!buf)
			return fail_nomem(ps);
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, NULL);
	if (buf != small)
		mem_deref(buf);
	if (!isfinite(v))
		return fail(ps, ps->line, "number out of range");

	j = node_alloc(ps, JSON_NUMBER, 0);
	if (!j)
		return fail_nomem(ps);
	j->u.n = v;
	ps->p = q;
	*jp = j;
	return 0;
}

static int parse_literal(struct parser *ps, struct json **jp)
{
	static const struct {
		const char *word;
		enum json_type type;
		bool b;
	} lits[] = {
		{"true", JSON_BOOL, true}, {"false", JSON_BOOL, false},
		{"null", JSON_NULL, false},
	};
	size_t avail = (size_t)(ps->end - ps->p);

	for (size_t i = 0; i < ARRAY_SIZE(lits); i++) {
		size_t n = strlen(lits[i].word);
		struct json *j;
		unsigned char next;

		if (avail < n || memcmp(ps->p, lits[i].word, n))
			continue;
		next = avail > n ? ps->p[n] : ' ';
		if ((next >= 'a' && next <= 'z') || (next >= 'A' &&
		    next <= 'Z') || is_digit(next) || next == '_')
			break;
		j = node_alloc(ps, lits[i].type, 0);
		if (!j)
			return fail_nomem(ps);
		j->u.b = lits[i].b;
		ps->p += n;
		*jp = j;
		return 0;
	}
	return fail(ps, ps->line, "invalid literal (expected true, false or "
		    "null)");
}

static int append(struct json *c, struct json *val, char *key,
		  unsigned key_line)
{
	struct item *it;

	if (c->u.c.n == c->u.c.cap) {
		size_t cap = c->u.c.cap ? c->u.c.cap * 2 : 4;
		struct item *v = c->u.c.v ?
			mem_reallocarray(c->u.c.v, cap, sizeof(*v), NULL) :
			mem_alloc(cap * sizeof(*v), NULL);
		if (!v)
			return ENOMEM;
		c->u.c.v = v;
		c->u.c.cap = cap;
	}
	it = &c->u.c.v[c->u.c.n++];
	it->val = val;
	it->key = key;
	it->key_line = key_line;
	return 0;
}

static uint32_t key_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void keyset_put(struct keyset *ks, const char *key, uint32_t idx1)
{
	size_t mask = ks->cap - 1, i = key_hash(key) & mask;

	while (ks->slot[i])
		i = (i + 1) & mask;
	ks->slot[i] = idx1;
}

/* Is key among the object's n keys?  If not, it is about to become key n
 * and is remembered as such. */
static int keyset_check(struct keyset *ks, const struct item *items,
			size_t n, const char *key, bool *dup)
{
	size_t mask, i;

	*dup = false;
	if (n < KEYSET_MIN) {
		for (i = 0; i < n; i++) {
			if (!strcmp(items[i].key, key))
				*dup = true;
		}
		return 0;
	}

	/* Keep the load under a half so probes stay short. */
	if (ks->cap < 2 * (n + 1)) {
		size_t cap = ks->cap ? ks->cap : 4 * KEYSET_MIN;
		while (cap < 2 * (n + 1))
			cap *= 2;
		mem_deref(ks->slot);
		ks->slot = mem_zalloc(cap * sizeof(*ks->slot), NULL);
		if (!ks->slot) {
			ks->cap = 0;
			return ENOMEM;
		}
		ks->cap = cap;
		for (i = 0; i < n; i++)
			keyset_put(ks, items[i].key, (uint32_t)(i + 1));
	}

	mask = ks->cap - 1;
	for (i = key_hash(key) & mask; ks->slot[i]; i = (i + 1) & mask) {
		if (!strcmp(items[ks->slot[i] - 1].key, key)) {
			*dup = true;
			return 0;
		}
	}
	ks->slot[i] = (uint32_t)(n + 1);
	return 0;
}

static int enter(struct parser *ps)
{
	if (++ps->depth > JSON_MAX_DEPTH)
		return fail(ps, ps->line, "nesting deeper than %d levels",
			    JSON_MAX_DEPTH);
	return 0;
}

static int parse_array(struct parser *ps, struct json **jp)
{
	struct json *a, *val = NULL;
	char b[8];
	int err;

	a = node_alloc(ps, JSON_ARRAY, 0);
	if (!a)
		return fail_nomem(ps);
	err = enter(ps);
	if (err)
		goto out;
	++ps->p;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']')
		goto close;

	for (;;) {
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ']') {
			err = fail(ps, ps->line, "trailing comma before ']'");
			goto out;
		}
		err = parse_value(ps, &val);
		if (err)
			goto out;
		if (append(a, val, NULL, 0)) {
			mem_deref(val);
			err = fail_nomem(ps);
			goto out;
		}
		skip_ws(ps);
		if (ps->p >= ps->end) {
			err = fail(ps, ps->line, "unexpected end of input "
				   "in array");
			goto out;
		}
		if (*ps->p == ']')
			break;
		if (*ps->p != ',') {
			err = fail(ps, ps->line, "expected ',' or ']' after "
				   "array element, found %s",
				   show(b, *ps->p));
			goto out;
		}
		++ps->p;
	}
 close:
	++ps->p;
	--ps->depth;
 out:
	if (err)
		mem_deref(a);
	else
		*jp = a;
	return err;
}

static int parse_object(struct parser *ps, struct json **jp)
{
	struct keyset ks = {NULL, 0};
	struct json *o, *val = NULL;
	char *key = NULL, b[8];
	unsigned key_line;
	bool dup;
	int err;

	o = node_alloc(ps, JSON_OBJECT, 0);
	if (!o)
		return fail_nomem(ps);
	err = enter(ps);
	if (err)
		goto out;
	++ps->p;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}')
		goto close;

	for (;;) {
		skip_ws(ps);
		if (ps->p >= ps->end) {
			err = fail(ps, ps->line, "unexpected end of input "
				   "in object");
			goto out;
		}
		if (*ps->p == '}' && o->u.c.n) {
			err = fail(ps, ps->line, "trailing comma before '}'");
			goto out;
		}
		if (*ps->p != '"') {
			err = fail(ps, ps->line, "expected a \"quoted\" key, "
				   "found %s", show(b, *ps->p));
			goto out;
		}
		key_line = ps->line;
		err = parse_key(ps, &key);
		if (err)
			goto out;
		if (keyset_check(&ks, o->u.c.v, o->u.c.n, key, &dup)) {
			err = fail_nomem(ps);
			goto out;
		}
		if (dup) {
			err = fail(ps, key_line, "duplicate key \"%.*s\"",
				   key_len(key), key);
			goto out;
		}

		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':') {
			err = fail(ps, ps->line, "expected ':' after key "
				   "\"%.*s\"", key_len(key), key);
			goto out;
		}
		++ps->p;
		skip_ws(ps);
		err = parse_value(ps, &val);
		if (err)
			goto out;
		if (append(o, val, key, key_line)) {
			mem_deref(val);
			err = fail_nomem(ps);
			goto out;
		}
		key = NULL;

		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '}')
			break;
		if (ps->p >= ps->end || *ps->p != ',') {
			const char *k = o->u.c.v[o->u.c.n - 1].key;
			err = fail(ps, ps->line, "expected ',' or '}' after "
				   "member \"%.*s\"", key_len(k), k);
			goto out;
		}
		++ps->p;
	}
 close:
	++ps->p;
	--ps->depth;
 out:
	mem_deref(ks.slot);
	mem_deref(key);
	if (err)
		mem_deref(o);
	else
		*jp = o;
	return err;
}

static int parse_value(struct parser *ps, struct json **jp)
{
	char b[8];

	if (ps->p >= ps->end)
		return fail(ps, ps->line, "unexpected end of input, expected "
			    "a value");

	switch (*ps->p) {
	case '{':
		return parse_object(ps, jp);
	case '[':
		return parse_array(ps, jp);
	case '"':
		return parse_string(ps, jp);
	case 't':
	case 'f':
	case 'n':
		return parse_literal(ps, jp);
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return parse_number(ps, jp);
	case '\'':
		return fail(ps, ps->line, "strings need double quotes");
	case '/':
		return fail(ps, ps->line, "comments are not allowed");
	default:
		return fail(ps, ps->line, "expected a value, found %s",
			    show(b, *ps->p));
	}
}

int json_parse(struct json **jp, const char *text, size_t len, char *err,
	       size_t errsz)
{
	struct parser ps;
	struct json *root = NULL;
	char b[8];
	int e;

	if (err && errsz)
		*err = '\0';
	if (!jp || (!text && len))
		return EINVAL;

	memset(&ps, 0, sizeof(ps));
	ps.p = (const unsigned char *)(text ? text : "");
	ps.end = ps.p + len;
	ps.line = 1;
	ps.err = err;
	ps.errsz = errsz;

	/* RFC 8259 lets a reader ignore a BOM; Windows editors add one. */
	if (len >= 3 && !memcmp(ps.p, "\xef\xbb\xbf", 3))
		ps.p += 3;

	skip_ws(&ps);
	if (ps.p >= ps.end)
		return fail(&ps, ps.line, "empty document");
	e = parse_value(&ps, &root);
	if (e)
		return e;
	skip_ws(&ps);
	if (ps.p < ps.end) {
		e = fail(&ps, ps.line, "unexpected %s after the document",
			 show(b, *ps.p));
		mem_deref(root);
		return e;
	}
	*jp = root;
	return 0;
}

enum json_type json_type(const struct json *j)
{
	return j ? j->type : JSON_NULL;
}

unsigned json_line(const struct json *j)
{
	return j ? j->line : 0;
}

const char *json_str(const struct json *j)
{
	return j && j->type == JSON_STRING ? j->u.s : NULL;
}

double json_num(const struct json *j)
{
	return j && j->type == JSON_NUMBER ? j->u.n : 0;
}

bool json_bool(const struct json *j)
{
	return j && j->type == JSON_BOOL && j->u.b;
}

static bool is_container(const struct json *j)
{
	return j && (j->type == JSON_ARRAY || j->type == JSON_OBJECT);
}

size_t json_count(const struct json *j)
{
	return is_container(j) ? j->u.c.n : 0;
}

const struct json *json_at(const struct json *j, size_t i)
{
	return is_container(j) && i < j->u.c.n ? j->u.c.v[i].val : NULL;
}

const char *json_key(const struct json *j, size_t i)
{
	return j && j->type == JSON_OBJECT && i < j->u.c.n ?
		j->u.c.v[i].key : NULL;
}

unsigned json_key_line(const struct json *j, size_t i)
{
	return j && j->type == JSON_OBJECT && i < j->u.c.n ?
		j->u.c.v[i].key_line : 0;
}

const struct json *json_get(const struct json *j, const char *key)
{
	if (!j || j->type != JSON_OBJECT || !key)
		return NULL;
	for (size_t i = 0; i < j->u.c.n; i++) {
		if (!strcmp(j->u.c.v[i].key, key))
			return j->u.c.v[i].val;
	}
	return NULL;
}

static int encode_str(struct mbuf *mb, const char *s)
{
	const char *run = s;
	int err;

	err = mbuf_write_u8(mb, '"');
	for (; !err && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		err = mbuf_write_mem(mb, (const uint8_t *)run,
				     (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"':  strcpy(esc, "\\\""); break;
		case '\\': strcpy(esc, "\\\\"); break;
		case '\b': strcpy(esc, "\\b"); break;
		case '\f': strcpy(esc, "\\f"); break;
		case '\n': strcpy(esc, "\\n"); break;
		case '\r': strcpy(esc, "\\r"); break;
		case '\t': strcpy(esc, "\\t"); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			break;
		}
		if (!err)
			err = mbuf_write_str(mb, esc);
	}
	if (!err)
		err = mbuf_write_mem(mb, (const uint8_t *)run,
				     (size_t)(s - run));
	if (!err)
		err = mbuf_write_u8(mb, '"');
	return err;
}

static int encode_num(struct mbuf *mb, double v)
{
	char buf[40];

	if (!isfinite(v))
		return mbuf_write_str(mb, "null");
	/* The shortest of these that reads back exactly: 0.1 stays "0.1"
	 * instead of 17 digits, and nothing is ever rounded away. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return mbuf_write_str(mb, buf);
}

int json_encode(struct mbuf *mb, const struct json *j)
{
	int err = 0;

	if (!mb || !j)
		return EINVAL;

	switch (j->type) {
	case JSON_NULL:
		return mbuf_write_str(mb, "null");
	case JSON_BOOL:
		return mbuf_write_str(mb, j->u.b ? "true" : "false");
	case JSON_NUMBER:
		return encode_num(mb, j->u.n);
	case JSON_STRING:
		return encode_str(mb, j->u.s);
	case JSON_ARRAY:
	case JSON_OBJECT:
		break;
	}

	err = mbuf_write_u8(mb, j->type == JSON_ARRAY ? '[' : '{');
	for (size_t i = 0; !err && i < j->u.c.n; i++) {
		if (i)
			err = mbuf_write_u8(mb, ',');
		if (!err && j->type == JSON_OBJECT) {
			err = encode_str(mb, j->u.c.v[i].key);
			if (!err)
				err = mbuf_write_u8(mb, ':');
		}
		if (!err)
			err = json_encode(mb, j->u.c.v[i].val);
	}
	if (!err)
		err = mbuf_write_u8(mb, j->type == JSON_ARRAY ? ']' : '}');
	return err;
}

int json_vfail(char *err, size_t errsz, const char *file, unsigned line,
	       const char *fmt, va_list ap)
{
	char why[400];

	(void)re_vsnprintf(why, sizeof(why), fmt, ap);
	re_snprintf(err, errsz, "%s:%u: %s", file, line, why);
	return EINVAL;
}

int json_fail(char *err, size_t errsz, const char *file, unsigned line,
	      const char *fmt, ...)
{
	va_list ap;
	int e;

	va_start(ap, fmt);
	e = json_vfail(err, errsz, file, line, fmt, ap);
	va_end(ap);
	return e;
}
