/* json: a strict RFC 8259 reader for site files (hotlines, IVR flows,
 * schedules).  Every value and every object key remembers its line, so the
 * site loader can report `file:line: what is wrong`. */
#ifndef LAOYOU_JSON_H
#define LAOYOU_JSON_H
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
/* <re.h> declares libre's own JSON_STRING, JSON_BOOL and JSON_NULL (from
 * re_json.h, which has no guard of its own).  C cannot redeclare them, so
 * ours are spelled LY_JSON_* and the JSON_* names are macros for them.
 * That only works if libre's enum is seen first, hence this include here:
 * later includes of <re.h> are then no-ops, in whatever order. */
#include <re.h>

enum json_type {
	LY_JSON_NULL, LY_JSON_BOOL, LY_JSON_NUMBER, LY_JSON_STRING,
	LY_JSON_ARRAY, LY_JSON_OBJECT
};
#define JSON_NULL   LY_JSON_NULL
#define JSON_BOOL   LY_JSON_BOOL
#define JSON_NUMBER LY_JSON_NUMBER
#define JSON_STRING LY_JSON_STRING
#define JSON_ARRAY  LY_JSON_ARRAY
#define JSON_OBJECT LY_JSON_OBJECT

struct json;

/** Write "file:line: why" (why printed from fmt) into err; EINVAL. */
int json_fail(char *err, size_t errsz, const char *file, unsigned line,
	      const char *fmt, ...);
/** json_fail with a va_list. */
int json_vfail(char *err, size_t errsz, const char *file, unsigned line,
	       const char *fmt, va_list ap);

/** Parse text (len bytes, need not be NUL-terminated); on error write "LINE: what is wrong" into err and return EBADMSG. *jp is set only on success; mem_deref(root) frees the whole tree. */
int json_parse(struct json **jp, const char *text, size_t len, char *err,
	       size_t errsz);
/** The type of j (JSON_NULL for a NULL pointer). */
enum json_type json_type(const struct json *j);
/** The line where the value starts, from 1. */
unsigned json_line(const struct json *j);
/** A string's text, UTF-8 and NUL-terminated; NULL unless a string. */
const char *json_str(const struct json *j);
/** A number's value; 0 unless a number. */
double json_num(const struct json *j);
/** A boolean's value; false unless true. */
bool json_bool(const struct json *j);
/** Members of an array or object, else 0. */
size_t json_count(const struct json *j);
/** The i-th element or member value, NULL if out of range. */
const struct json *json_at(const struct json *j, size_t i);
/** The i-th member key of an object, NULL otherwise. */
const char *json_key(const struct json *j, size_t i);
/** The line of the i-th key of an object, 0 otherwise. */
unsigned json_key_line(const struct json *j, size_t i);
/** The member named key, NULL if absent or j is not an object. */
const struct json *json_get(const struct json *j, const char *key);
/** Append j to mb as compact JSON (strings escaped, UTF-8 kept), for exports. */
int json_encode(struct mbuf *mb, const struct json *j);

#endif
