/* Atomic stream saves and generator state as text (checkpoint.h). */
#include "checkpoint.h"
#include "err.h"
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(FILE *f, const char *name, const cords_tensor *const *items, int n)
{
	cords_writer *w = cords_writer_new(f, name, 0);
	if (!w)
		return -1;
	for (int i = 0; i < n; i++)
		if (cords_write_tensor(w, items[i])) {
			cords_writer_free(w);
			return -1;
		}
	return cords_writer_close(w);
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int cords_save_atomic(const char *path, const cords_tensor *const *items, int n)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return cords_err("%s: path too long", path);
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return cords_err("%s: %s", tmp, strerror(errno));
	int rc = write_all(f, path, items, n);
	if (!rc && (fflush(f) || fsync(fileno(f))))
		rc = cords_err("%s: %s", tmp, strerror(errno));
	if (fclose(f) && !rc)
		rc = cords_err("%s: %s", tmp, strerror(errno));
	if (!rc && rename(tmp, path))
		rc = cords_err("%s: rename: %s", path, strerror(errno));
	if (rc) {
		unlink(tmp);
		return -1;
	}
	sync_dir(path);
	return 0;
}

void cords_rng_format(const cords_rng *r, char buf[72])
{
	snprintf(buf, 72, "%016" PRIx64 ":%016" PRIx64 ":%016" PRIx64 ":%016" PRIx64, r->s[0], r->s[1], r->s[2],
		 r->s[3]);
}

int cords_rng_parse(const char *s, cords_rng *r)
{
	for (int i = 0; i < 4; i++) {
		char *end;
		errno = 0;
		r->s[i] = strtoull(s, &end, 16);
		if (errno || end - s != 16 || (i < 3 ? *end != ':' : *end != 0))
			return cords_err("bad generator state '%.80s'", s);
		s = end + 1;
	}
	return 0;
}
