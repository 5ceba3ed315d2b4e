/* checkpoint.c — the trainer's model files: the parameter checks before a
 * write, the train_state of a checkpoint and its restoration. */
#include "nn/train/checkpoint.h"
#include "err.h"
#include "frame_mp.h"
#include "nn/train/ranks.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Writes the printf-style message into t->err; returns -1. */
static int __attribute__((format(printf, 2, 3)))
ck_fail(struct trainer *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof t->err, fmt, ap);
	va_end(ap);
	return -1;
}

/* Restores the position, accumulators and schedules of a checkpoint. */
void
tr_restore_state(struct trainer *t)
{
	const msgpack_object *s = fv_mp(t->info.train_state);
	int64_t v;
	double d;

	if (!t->info.has_train_state)
		return;
	if (mp_int(s, "epoch", &v) > 0) t->skip_epoch = (int)v;
	if (mp_int(s, "batch", &v) > 0) t->skip_batches = (int)v;
	if (mp_int(s, "steps", &v) > 0) t->steps = (int)v;
	if (mp_int(s, "seen", &v) > 0) t->seen = (long)v;
	if (mp_int(s, "bad_epochs", &v) > 0) t->bad_epochs = (int)v;
	if (mp_int(s, "plateau_bad", &v) > 0) t->plateau_bad = (int)v;
	if (mp_int(s, "stopped", &v) > 0) t->stopped = (int)v;
	if (mp_num(s, "loss_sum", &d) > 0) t->loss_sum = d;
	if (mp_num(s, "acc_sum", &d) > 0) t->acc_sum = d;
	if (mp_num(s, "seconds", &d) > 0) t->seconds = d;
	if (mp_num(s, "lr", &d) > 0) t->lr = (float)d;
	if (mp_num(s, "best", &d) > 0) t->best = d;
	info("resuming at epoch %d, batch %d (step %lld)", t->skip_epoch + 1, t->skip_batches,
	    (long long)nn_step_count(t->m));
}

/* Fails (-1, t->err) if a parameter (with_moments: or a moment) is
 * NaN/Inf: the cheap per-step checks (loss, outputs) miss a NaN that ReLU
 * hides.  Downloads the parameters (and moments) to the host copies. */
int
tr_check_params(struct trainer *t, int with_moments, const char *when)
{
	char why[300];

	if (nn_params_download(t->m) < 0 || (with_moments && nn_moments_download(t->m) < 0))
		return ck_fail(t, "%s", nn_error(t->m));
	if (nn_model_check_finite(t->m, with_moments, why, sizeof why) < 0)
		return ck_fail(t, "training diverged: %s after step %lld (lower --lr?); %s", why,
		    (long long)nn_step_count(t->m), when);
	return 0;
}

/* The train_state map of a checkpoint: where the stream stands and what
 * the epoch in progress has accumulated. */
static void
pack_state(const struct trainer *t, int epoch, int batch, msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	struct { const char *k; double v; int real; } kv[] = {
		{ "epoch", epoch, 0 }, { "batch", batch, 0 }, { "steps", t->steps, 0 },
		{ "seen", (double)t->seen, 0 }, { "bad_epochs", t->bad_epochs, 0 },
		{ "plateau_bad", t->plateau_bad, 0 }, { "stopped", t->stopped, 0 },
		{ "loss_sum", t->loss_sum, 1 }, { "acc_sum", t->acc_sum, 1 },
		{ "seconds", t->seconds, 1 }, { "lr", t->lr, 1 }, { "best", t->best, 1 },
	};
	int n = (int)(sizeof kv / sizeof kv[0]);

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, (size_t)n);
	for (int i = 0; i < n; i++) {
		msgpack_pack_str_with_body(&pk, kv[i].k, strlen(kv[i].k));
		if (kv[i].real)
			msgpack_pack_double(&pk, kv[i].v);
		else
			msgpack_pack_int64(&pk, (int64_t)kv[i].v);
	}
}

/* Saves the model to path; with_state adds the optimizer and the position
 * (epoch, batch) to resume from.  -1 (t->err) on failure. */
int
tr_save(struct trainer *t, const char *path, int with_state, int epoch, int batch)
{
	msgpack_sbuffer sb = { 0 };
	msgpack_zone z;
	msgpack_object st;
	char err[512];
	size_t off = 0;
	int rc;

	if (!ranks_lead(t))
		return 0;
	snprintf(err, sizeof err, "%s not written", path);
	if (tr_check_params(t, with_state, err) < 0)
		return -1;
	if (t->nnames > 0)
		nn_model_info_set_classes(&t->info, t->names, t->nnames);
	t->info.optim = t->o->optim;
	t->info.optim.lr = t->lr;
	msgpack_zone_init(&z, 1024);
	if (with_state) {
		pack_state(t, epoch, batch, &sb);
		msgpack_unpack(sb.data, sb.size, &off, &z, &st);
	}
	rc = nn_model_save(path, t->m, &t->info, with_state, with_state ? mp_fv(&st) : NULL,
	                   t->err, sizeof t->err);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
	if (rc == 0)
		tt_saved(&t->tt, path);
	tt_add(&t->tt, TT_SAVE);
	return rc;
}
