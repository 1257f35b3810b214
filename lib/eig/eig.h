/* Eigenvalues of a linear operator given only as a product y = A x on n
 * doubles (cords-analysis(7)): Arnoldi with full re-orthogonalisation (CGS2 or DGKS
 * with BLAS, the Ritz values by LAPACK), restarted as Krylov–Schur until the
 * wanted ones converge, power iteration for the dominant
 * eigenvector (parallel trials, honest convergence report), and the dense
 * matrix with LAPACK dgeev as the ground truth for small n.
 * Eigenvalue lists are sorted by decreasing modulus, conjugate pairs with the
 * positive imaginary part first (cords_eig_sort). */
#ifndef CORDS_EIG_H
#define CORDS_EIG_H

#include <stddef.h>
#include <stdint.h>

/* y = A x, x and y of length n, never aliased. Returns 0 or -1 (with
 * cords_err). Must be reentrant when used by parallel power trials. */
typedef int (*cords_apply_fn)(void *ctx, const double *x, double *y);

typedef struct {
	int64_t n;
	cords_apply_fn apply;
	void *ctx;
} cords_linop;

int cords_linop_apply(const cords_linop *A, const double *x, double *y);

/* Sort n eigenvalues (re[i], im[i]) by decreasing modulus, then by
 * decreasing real part, then positive imaginary part first; other[] (may be
 * NULL) is permuted along. */
void cords_eig_sort(int n, double *re, double *im, double *other);
/* idx [n] gets 0..n-1 permuted so that its first p index the p eigenvalues
 * of largest modulus, largest first (the rest in no order). */
void cords_eig_top(int n, const double *re, const double *im, int p, int *idx);

/* ---- Arnoldi ---- */
typedef struct {
	int k;        /* steps wanted (capped at n) */
	uint64_t seed; /* start vector (and restarts after a breakdown) */
	double tol;   /* converged: resid <= tol * max(|theta|, eps^(2/3) * max|theta|) */
	int always_reorth; /* 1: second Gram-Schmidt pass every step (CGS2);
			      0: only when the first pass cancelled (DGKS test) */
	int basis_f32;     /* store the basis in single precision: half the memory
			      and traffic; Ritz values then good to ~1e-6 relative */
	int device;        /* -1: the basis in host memory; N: on CUDA device N (double) */
	int nev;           /* 0: k Arnoldi steps; N > 0: Krylov–Schur restarts of a basis of
			      k vectors (k >= N + 2) until the N Ritz values of largest
			      modulus pass tol, or max_restarts */
	int max_restarts;
	int block;         /* products per orthogonalisation (s-step blocks, f64 basis only;
			      1: one at a time) */
} cords_arnoldi_opts;
#define CORDS_MAX_BLOCK 32

typedef struct {
	int k;                  /* number of Ritz values: the steps, or the restarted basis */
	int nconv;              /* how many pass the tolerance */
	int nwanted_conv;       /* restarted: how many of the nev wanted pass it, their
				   residuals computed as ||A x - theta x|| at the end */
	int unconfirmed;        /* restarted: wanted ones whose estimate passed but not the computed residual */
	int applies;            /* products A x */
	int cycles;             /* Krylov–Schur restarts */
	int block_fallbacks;    /* blocks too ill-conditioned, redone one step at a time */
	double *re, *im, *resid; /* [k] Ritz values by decreasing modulus, residual estimates */
	int restarts;           /* invariant subspaces met (continued with a fresh random vector) */
	int reorth;             /* steps that ran the second Gram-Schmidt pass */
	double t_apply, t_orth, t_hess; /* seconds in A x, Gram-Schmidt, LAPACK */
	size_t basis_bytes;     /* memory of the Krylov basis */
	double tol, floor;      /* the test: resid[i] <= tol * max(|theta_i|, floor) */
} cords_arnoldi_result;

/* k 300, seed 1, tol 1e-6, CGS2, host, not restarted (max_restarts 1000), blocks of 16 */
void cords_arnoldi_opts_default(cords_arnoldi_opts *o);
int cords_arnoldi(const cords_linop *A, const cords_arnoldi_opts *o, cords_arnoldi_result *r);
void cords_arnoldi_result_free(cords_arnoldi_result *r);
/* Whether Ritz value i passed the test (nconv counts these). */
int cords_ritz_converged(const cords_arnoldi_result *r, int i);

/* The Rayleigh quotient's eigen-step: S [m+1, m] (column-major, ld lds)
 * holds the quotient in its first m rows and the coupling to the next basis
 * vector in row m. T gets the Schur form Z^T S_m Z and Z the Schur vectors
 * (both m x m), re/im the eigenvalues in T's diagonal order and resid, for
 * each, |row m . y| for its unit eigenvector y of S_m (complex ones by
 * modulus): the Ritz residual ||A V y - theta V y||. */
int cords_schur_ritz(int m, const double *S, int lds, double *T, double *Z, double *re, double *im, double *resid);
/* Reorder the Schur form (T, Z, re, im as above) so that the p eigenvalues
 * of largest modulus lead. Returns how many lead: p, or p + 1 where p would
 * split a complex pair, or fewer where LAPACK refused an ill-conditioned
 * swap (still a valid Schur form); -1 on error. */
int cords_schur_keep(int m, double *T, double *Z, double *re, double *im, int p);

/* The Krylov basis, stored for the memory system: k columns of n doubles
 * in panels of `rows` rows (panel p = rows [p rows, (p+1) rows) of every
 * column, column-major inside the panel), so that a sweep over the basis
 * reads long contiguous runs and each thread streams its own panels. */
typedef struct {
	int64_t n;
	int k, rows, npanels;
	int f32;      /* stored in single precision (half the memory traffic) */
	size_t esize; /* 4 or 8 */
	size_t bytes;
	void *data;   /* npanels * rows * k values */
	void *dev;    /* not NULL: the basis is on a CUDA device instead (data NULL) */
} cords_basis;

int cords_basis_init(cords_basis *B, int64_t n, int k, int f32); /* -1 if out of memory */
/* The basis in the memory of CUDA device `device`, column-major doubles, and
 * Gram-Schmidt by cuBLAS there (kernels/cuda_eig.cu): the host sends w and
 * gets back w and h, one vector each way per step; the basis never crosses.
 * -1 with a message (no device, out of device memory, built without CUDA). */
int cords_basis_init_cuda(cords_basis *B, int64_t n, int k, int device);
void cords_basis_free(cords_basis *B);
/* x [n] into column col, and back; -1 with a message only on a device. */
int cords_basis_set(cords_basis *B, int col, const double *x);
int cords_basis_get(const cords_basis *B, int col, double *x);
/* The Krylov–Schur restart: columns 0..p-1 become V_m Q (V_m the first m
 * columns, Q m x p column-major with leading dimension ldq), and column m
 * moves to column p. One read of the basis (per panel, a BLAS-3 product into
 * a scratch of rows x p). -1 with a message if out of memory. */
int cords_basis_restart(cords_basis *B, int m, const double *Q, int ldq, int p);

/* Gram-Schmidt of w [n] against the first j (orthonormal) columns of B:
 * classical Gram-Schmidt (BLAS dgemv per panel, OpenMP over panels) with a
 * second pass always (CGS2) or only when the first cancelled more than
 * 1/sqrt(2) of ||w|| (the Daniel-Gragg-Kaufman-Stewart test). h[0..j-1]
 * gets the coefficients; w is overwritten by the remainder, whose norm is
 * returned (-1 if out of memory). *passes gets 1 or 2. For CGS2 the first
 * update and the second dot product run panel by panel, reusing the panel in
 * cache: three reads of the basis per step; a DGKS step that needs no second
 * pass reads it twice. In a single-precision basis the products are sgemv (so
 * orthogonality holds to ~1e-7, not ~1e-16) while w and h stay double. */
double cords_cgs2(const cords_basis *B, int j, double *w, double *h, int always, int *passes);
/* Block classical Gram-Schmidt of Y [n, s] (column-major) against the
 * first j columns of an f64 basis, twice always (three reads of the basis
 * for the s vectors, dgemm per panel) or, DGKS, the second pass only where
 * the first cancelled more than 1/sqrt(2) of a column's norm (two reads
 * without it). C [j, s] gets the coefficients of the passes summed, Y the
 * remainder, *passes 1 or 2 (a device always makes 2). -1 with a message
 * if out of memory. */
int cords_bcgs2(const cords_basis *B, int j, double *Y, int s, double *C, int always, int *passes);
/* The device side of the four above (kernels/cuda_eig.cu). */
void cords_cuda_basis_free(void *dev);
int cords_cuda_basis_set(void *dev, int col, const double *x);
int cords_cuda_basis_get(void *dev, int col, double *x);
double cords_cuda_cgs2(void *dev, int j, double *w, double *h, int always, int *passes);
int cords_cuda_basis_restart(void *dev, int m, const double *Q, int ldq, int p);
int cords_cuda_bcgs2(void *dev, int j, double *Y, int s, double *C);

/* ---- Power iteration ---- */
typedef struct {
	int trials;   /* independent random starts, run in parallel */
	int maxit;
	double tol;   /* stop when ||Av - lambda v|| <= tol * |lambda| */
	uint64_t seed;
} cords_power_opts;

typedef struct {
	int converged;     /* the best trial met tol */
	int pair;          /* 1: two dominant eigenvalues of equal modulus (a complex
			      pair, or +-lambda): lambda, lambda2 below; no single eigenvector */
	double re, im;     /* dominant eigenvalue (for a pair: the one with im >= 0) */
	double re2, im2;   /* second eigenvalue from the two-step fit (the gap estimate) */
	double gap;        /* |lambda2 / lambda1| from the two-term fit once it has
			      converged (NAN before): convergence goes like gap^iters */
	double rate;       /* observed residual reduction per iteration over the last
			      64 iterations (NAN if fewer): ~gap, when the gap is real */
	double resid;      /* ||Av - lambda v|| of the returned unit vector */
	int iters;         /* iterations of the best trial */
	int trials_agree;  /* trials whose eigenvalue matches the best one within 1e3 tol */
	double *vec;       /* [n] unit eigenvector, sign: largest entry positive */
	double *vec_im;    /* [n] imaginary part for a complex pair, else NULL */
} cords_power_result;

void cords_power_opts_default(cords_power_opts *o); /* 4 trials, 10000 its, 1e-10 */
int cords_power(const cords_linop *A, const cords_power_opts *o, cords_power_result *r);
void cords_power_result_free(cords_power_result *r);

/* ---- Dense ---- */
#define CORDS_DENSE_MAX 4096
/* All n eigenvalues via the n x n matrix (columns A e_i) and LAPACK dgeev,
 * sorted; re and im have room for n. If vec is not NULL it gets the unit
 * right eigenvector of the first eigenvalue (real part only when complex),
 * sign as in cords_power. Refuses n > max_n. */
int cords_dense_eig(const cords_linop *A, int64_t max_n, double *re, double *im, double *vec);

/* Fix the sign of a real vector: its entry of largest modulus positive. */
void cords_vec_fix_sign(int64_t n, double *v);

#endif
