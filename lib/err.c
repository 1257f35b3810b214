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
	snprintf(errbuf, sizeof errbuf, "%s%s", pre, old);
	return -1;
}

const char *cords_errmsg(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}
