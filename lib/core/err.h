/* Error reporting for the library: functions return -1 (or NULL) and leave a
 * one-line message here; only the tools print it. Thread-local so worker
 * threads can fail independently. */
#ifndef CORDS_ERR_H
#define CORDS_ERR_H

#if defined(__GNUC__)
#define CORDS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CORDS_PRINTF(a, b)
#endif

/* Set the message; always returns -1 so callers can `return cords_err(...)`. */
int cords_err(const char *fmt, ...) CORDS_PRINTF(1, 2);
/* Prefix the current message with more context ("reading x: " + old). */
int cords_err_prefix(const char *fmt, ...) CORDS_PRINTF(1, 2);
const char *cords_errmsg(void);

#endif
