/* log: one line per event on stderr, with a level and, where known, a Call-ID. */
#ifndef LAOYOU_LOG_H
#define LAOYOU_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/** Set the lowest level that is printed. */
void log_set_level(enum log_level lvl);
/** Parse "debug|info|warn|error"; returns 0 or EINVAL. */
int  log_level_parse(enum log_level *lvl, const char *s);
/** Print one log line: level, optional Call-ID, printf-style message (re_vfprintf). */
void log_msg(enum log_level lvl, const char *callid, const char *fmt, ...);

#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO,  NULL, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN,  NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, NULL, __VA_ARGS__)

#endif
