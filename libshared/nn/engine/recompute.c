/* recompute.c — rebuilding transient activations in backward.
 *
 * A training plan keeps the conv outputs, the BN saved statistics and
 * whatever cannot be recomputed cheaply; the outputs of BN (+ in-place
 * ReLU), pools and concatenations of those are "transient" roots packed
 * by forward liveness (plan.c).  Backward walks the layers down; before
 * layer i runs, every transient root whose last reader is i is rebuilt
 * by running its member layers' forward again (BN from the saved batch
 * statistics through bn_apply, so the values are the forward's, bit for
 * bit).  Its lifetime is the same interval as in forward, so the packed
 * offsets stay valid; the roots a transient is rebuilt from live at least
 * as long as it does (plan.c extends them).  Calls only down: forward.c.
 */
#include <stdlib.h>

#include "nn/engine/nn_impl.h"

/* Runs the forward of every member of root r, in order. */
static void
rebuild(struct nn_model *m, int r)
{
	m->recomputing = 1;
	for (int j = m->lay[r].alo; j <= r; j++) {
		const struct nn_lay *l = &m->lay[j];
		if (l->root != r)
			continue;
		if (l->pub.type == NN_RELU && nn_bn_fuses_relu(m, l->pub.in[0]))
			continue;
		nn_fwd_layer(m, j);
	}
	m->recomputing = 0;
}

void
nn_recompute_root(struct nn_model *m, int r, int deep)
{
	if (deep) {
		for (int j = m->lay[r].alo; j <= r; j++) {
			const struct nn_lay *l = &m->lay[j];
			if (l->root != r)
				continue;
			for (int k = 0; k < l->pub.nin; k++) {
				int x = m->lay[l->pub.in[k]].root;
				if (x != r && m->lay[x].tr)
					nn_recompute_root(m, x, 1);
			}
		}
	}
	rebuild(m, r);
}

/* Marks root r and, through its members' inputs, the transient roots it
 * is rebuilt from. */
static void
need(struct nn_model *m, int r)
{
	struct nn_lay *R = &m->lay[r];

	if (!R->tr || R->need)
		return;
	R->need = 1;
	for (int j = R->alo; j <= r; j++) {
		const struct nn_lay *l = &m->lay[j];
		if (l->root != r)
			continue;
		for (int k = 0; k < l->pub.nin; k++)
			need(m, m->lay[l->pub.in[k]].root);
	}
}

void
nn_mark_need(struct nn_model *m)
{
	for (int i = 0; i < m->nlay; i++)
		m->lay[i].need = 0;
	for (int i = 1; i < m->nlay; i++) {
		const struct nn_lay *l = &m->lay[i];
		if (!l->up)
			continue;
		need(m, l->root);
		for (int k = 0; k < l->pub.nin; k++)
			need(m, m->lay[l->pub.in[k]].root);
	}
}

void
nn_recompute_at(struct nn_model *m, int i)
{
	for (int r = 1; r < m->nlay; r++)
		if (m->lay[r].need && m->lay[r].ahi == i)
			rebuild(m, r);
}
