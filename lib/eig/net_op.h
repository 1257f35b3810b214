/* Linearisations of CordsNet's one-step map r -> F(r) (cords-model(7)) at a state
 * (lib/eig/eig_state.h), as operators for the eigen solvers, in double.
 *
 * One step: F_i(r) = (1 - alpha) r_i + alpha phi(z_i), with
 *   z_i = C_i r_i + b_i + A_i u_i,  C_i = area_conv_i, A_i = area_area_i,
 *   u_0 = p, u_1 = relu(r_0) + inp_skip(p),
 *   u_i = relu(r_{i-1}) + relu(r_{i-2})            (even i >= 2),
 *   u_i = relu(r_{i-1}) + S_k relu(r_{i-2})        (odd i >= 3, k = (i-3)/2).
 * The drive p is fixed, so its terms drop out of the derivative:
 *   dF_i = (1 - alpha) dr_i + alpha phi'(z_i) .* (C_i dr_i + A_i du_i),
 *   du_0 = 0, du_1 = relu'(r_0) .* dr_0,
 *   du_i = relu'(r_{i-1}) .* dr_{i-1} + relu'(r_{i-2}) .* dr_{i-2}  (even),
 *   du_i = relu'(r_{i-1}) .* dr_{i-1} + S_k (relu'(r_{i-2}) .* dr_{i-2}) (odd).
 * relu'(0) = 0 and phi' at 0 is the left derivative (0 for ReLU, the slope
 * for PReLU), as PyTorch's autograd. Every area reads only the previous
 * states, so J is block lower-triangular: its eigenvalues are those of the
 * diagonal blocks J_ii = (1 - alpha) I + alpha diag(phi'(z_i)) C_i (what
 * --op jacobian computes per area); --op network keeps the coupling, which
 * changes the eigenvectors and the transient growth, not the spectrum. */
#ifndef CORDS_NET_OP_H
#define CORDS_NET_OP_H

#include "arch.h"
#include "conv_op.h"
#include "dconv.h"
#include "eig_state.h"

typedef struct {
	int depth;
	double alpha;
	int64_t off[CORDS_MAX_DEPTH + 1]; /* area i is x[off[i] .. off[i+1]) */
	cords_conv_op rec[CORDS_MAX_DEPTH]; /* C_i, plain */
	cords_dconv ff[CORDS_MAX_DEPTH];    /* A_i (i >= 1) */
	cords_dconv skip[3];                /* S_k */
	cords_feed feed[CORDS_MAX_DEPTH];   /* what u_i reads */
	double *dphi[CORDS_MAX_DEPTH];      /* phi'(z_i) */
	double *drelu[CORDS_MAX_DEPTH];     /* relu'(r_i) */
} cords_net_op;

/* phi'(z) for the model's nonlinearity. */
double cords_phi_deriv(cords_phi phi, double z);

/* The recurrent conv C_i of area i from the parameters (a = 0, b = 1). */
int cords_area_conv_op(const cords_tensor_list *params, const cords_arch *a, int area, cords_conv_op *op);
/* J_ii at the state: C_i with a = 1 - alpha, b = alpha, d = phi'(z_i). */
int cords_area_jacobian_op(const cords_tensor_list *params, const cords_arch *a, int area, double alpha,
			   cords_phi phi, const cords_eig_state *st, cords_conv_op *op);

int cords_net_op_init(cords_net_op *op, const cords_tensor_list *params, const cords_arch *a, double alpha,
		      cords_phi phi, const cords_eig_state *st);
void cords_net_op_free(cords_net_op *op);
int cords_net_op_apply(void *ctx, const double *x, double *y);
static inline cords_linop cords_net_linop(cords_net_op *op)
{
	return (cords_linop){op->off[op->depth], cords_net_op_apply, op};
}

#endif
