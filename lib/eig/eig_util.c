/* Small shared pieces of the eigen solvers: applying an operator, sorting
 * spectra, fixing the sign of an eigenvector. */
#include "eig.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>

int cords_linop_apply(const cords_linop *A, const double *x, double *y)
{
	return A->apply(A->ctx, x, y);
}

typedef struct {
	double re, im, other;
} eig_item;

/* Decreasing modulus; ties (conjugates, +-lambda) by decreasing real part,
 * then positive imaginary part first, so two solvers list a spectrum alike. */
static int cmp_eig(const void *pa, const void *pb)
{
	const eig_item *a = pa, *b = pb;
	double ma = hypot(a->re, a->im), mb = hypot(b->re, b->im);
	double tie = 1e-12 * (ma > mb ? ma : mb);
	if (fabs(ma - mb) > tie)
		return ma < mb ? 1 : -1;
	if (fabs(a->re - b->re) > tie)
		return a->re < b->re ? 1 : -1;
	return (a->im < b->im) - (a->im > b->im);
}

void cords_eig_sort(int n, double *re, double *im, double *other)
{
	eig_item *t = malloc((size_t)(n > 0 ? n : 1) * sizeof *t);
	if (!t)
		return; /* only the order is lost; callers have valid values */
	for (int i = 0; i < n; i++)
		t[i] = (eig_item){re[i], im[i], other ? other[i] : 0};
	qsort(t, (size_t)n, sizeof *t, cmp_eig);
	for (int i = 0; i < n; i++) {
		re[i] = t[i].re;
		im[i] = t[i].im;
		if (other)
			other[i] = t[i].other;
	}
	free(t);
}

void cords_eig_top(int n, const double *re, const double *im, int p, int *idx)
{
	for (int i = 0; i < n; i++)
		idx[i] = i;
	for (int i = 0; i < p && i < n; i++) { /* partial selection sort: p is small */
		int b = i;
		for (int j = i + 1; j < n; j++)
			if (hypot(re[idx[j]], im[idx[j]]) > hypot(re[idx[b]], im[idx[b]]))
				b = j;
		int t = idx[i];
		idx[i] = idx[b];
		idx[b] = t;
	}
}

void cords_vec_fix_sign(int64_t n, double *v)
{
	int64_t imax = 0;
	for (int64_t i = 1; i < n; i++)
		if (fabs(v[i]) > fabs(v[imax]))
			imax = i;
	if (n > 0 && v[imax] < 0)
		for (int64_t i = 0; i < n; i++)
			v[i] = -v[i];
}
