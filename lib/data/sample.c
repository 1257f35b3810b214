/* Sample sinks: label checks and --skip-bad accounting (sample.h). */
#include "sample.h"

#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int cords_sink_bad(cords_sink *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!s->skip_bad)
		return cords_err("%s", msg);
	s->skipped++;
	if (s->bad)
		s->bad(s, msg);
	return 0;
}

void cords_sink_ignore(cords_sink *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	s->ignored_n++;
	if (s->ignored)
		s->ignored(s, msg);
}

int cords_sink_put(cords_sink *s, const cords_sample *x)
{
	if (s->classes > 0 && (x->label < 0 || x->label >= s->classes))
		return cords_sink_bad(s, "%s: label %lld outside 0..%d", x->name ? x->name : "item",
				      (long long)x->label, s->classes - 1);
	if (s->put(s, x))
		return -1;
	s->done++;
	return 0;
}
