/* Thread-local last error message (see err.h). */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errbuf[1024];

int cords_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
	return -1;
}

int cords_err_prefix(const char *fmt, ...)
{
	char old[sizeof errbuf], pre[sizeof errbuf];
	va_list ap;
	memcpy(old, errbuf, sizeof old);
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	/* Truncation is acceptable here: a long message keeps its start. */
	size_t n = strnlen(pre, sizeof errbuf - 1);
	memcpy(errbuf, pre, n);
	size_t m = strnlen(old, sizeof errbuf - 1 - n);
	memcpy(errbuf + n, old, m);
	errbuf[n + m] = 0;
	return -1;
}

const char *cords_errmsg(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}
