/* The state Arnoldi's parts share (lib/eig: eig_arnoldi.c the steps and the
 * driver, eig_block.c the s-step blocks, eig_ks.c the Krylov–Schur restarts):
 * the relation A V_j = V_{j+1} S[0:j+1, 0:j] as it grows. Not public. */
#ifndef CORDS_EIG_KRYLOV_H
#define CORDS_EIG_KRYLOV_H

#include "eig.h"
#include "rng.h"

typedef struct cords_krylov {
	const cords_linop *A;
	const cords_arnoldi_opts *o;
	cords_arnoldi_result *r;
	cords_basis B;
	double *S;  /* [m + 1, m] column-major: the Rayleigh quotient and the coupling row */
	size_t ld;
	double *v, *w; /* v: the basis column the next step starts from */
	cords_rng rng;
	int block;      /* products per block (1: one step at a time) */
	double *Y;      /* [n, block + 1]: a block's Newton basis */
	double sh_re[CORDS_MAX_BLOCK], sh_im[CORDS_MAX_BLOCK]; /* its shifts (im > 0: a pair, two products) */
	int nsh;
} cords_krylov;

/* Arnoldi steps from .. to-1 (x->v holds column from): by blocks once shifts
 * are known, else one product at a time. */
int cords_krylov_extend(cords_krylov *x, int from, int to);
int cords_krylov_steps(cords_krylov *x, int from, int to);
/* Ritz values, residual estimates, Schur form T and vectors Z of the m x m
 * quotient into x->r; counts the converged. */
int cords_krylov_ritz(cords_krylov *x, int m, double *T, double *Z);
/* eig_block.c: the next blocks' shifts from nv Ritz values; from the
 * quotient's first j columns (before any Ritz values); one block of s steps
 * (0, 1: too ill-conditioned, nothing changed, -1: error). */
void cords_krylov_shifts(cords_krylov *x, int nv, const double *re, const double *im);
int cords_krylov_shifts_hessenberg(cords_krylov *x, int j);
int cords_krylov_block(cords_krylov *x, int j, int s);
/* eig_ks.c: restart the basis of m vectors until x->o->nev converge. */
int cords_krylov_schur(cords_krylov *x, int m);

#endif
