/* libarchive helpers (tarfile.h). */
#include "tarfile.h"

#include "err.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

const char *cords_base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

struct archive *cords_tar_open(const char *path)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		cords_err("%s: %s", path, archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

int cords_tar_read_entry(struct archive *a, const char *what, uint8_t **buf, size_t *cap, size_t *n)
{
	*n = 0;
	for (;;) {
		if (*cap - *n < 65536) {
			uint8_t *b = realloc(*buf, *cap = 2 * *cap + 65536 + 1);
			if (!b)
				return cords_err("out of memory");
			*buf = b;
		}
		la_ssize_t k = archive_read_data(a, *buf + *n, *cap - *n - 1);
		if (k < 0)
			return cords_err("%s: %s", what, archive_error_string(a));
		if (k == 0)
			break;
		*n += (size_t)k;
	}
	(*buf)[*n] = 0;
	return 0;
}

int cords_tar_member(const char *path, const char *base, uint8_t **data, size_t *n)
{
	struct archive *a = cords_tar_open(path);
	struct archive_entry *e;
	size_t cap = 0;
	int rc;
	*data = NULL;
	if (!a)
		return -1;
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN)
		if (archive_entry_filetype(e) == AE_IFREG && !strcmp(cords_base_name(archive_entry_pathname(e)), base))
			break;
	if (rc == ARCHIVE_EOF)
		rc = cords_err("%s: no %s in the archive", path, base);
	else if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
		rc = cords_err("%s: %s", path, archive_error_string(a));
	else
		rc = cords_tar_read_entry(a, path, data, &cap, n) ? cords_err_prefix("%s: ", base) : 0;
	archive_read_free(a);
	if (rc) {
		free(*data);
		*data = NULL;
	}
	return rc;
}
