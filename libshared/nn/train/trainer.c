/* trainer.c — nntrain's loop: steps, epochs, validation, schedules,
 * checkpoints and exact resumption. */
#include "nn/train/trainer.h"
#include "err.h"
#include "frame_mp.h"
#include "nn/modelfile/h5keras.h"
#include "nn/train/checkpoint.h"
#include "nn/train/multilabel.h"
#include "nn/train/ranks.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void
trainer_defaults(struct train_options *o)
{
	*o = (struct train_options){
		.arch = "inception_v3", .preprocess = "rescale", .device = "cpu",
		.head = { .dense_units = 256, .dropout = 0.5f, .classes = 1 },
		.optim = { .type = NN_ADAM, .lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.999f,
		           .eps = 1e-8f, .momentum = 0.0f },
		.seed = 1, .monitor = MON_VAL_LOSS, .bucket_mb = 25,
	};
}

void
trainer_init(struct trainer *t, const struct train_options *o, struct frame_writer *out,
             struct dist *d)
{
	memset(t, 0, sizeof *t);
	tt_start(&t->tt, o->timing);
	t->o = o;
	t->out = out;
	t->dist = d;
	t->lr = o->optim.lr;
	t->best = NAN;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Freezing flags from the options. */
static int
apply_freeze(struct trainer *t, char *err, size_t errlen)
{
	const struct train_options *o = t->o;
	int last = -1, n = nn_layer_count(t->m);

	if (o->freeze_until && (last = nn_layer_find(t->m, o->freeze_until)) < 0) {
		snprintf(err, errlen, "--freeze-until: the model has no layer '%s'", o->freeze_until);
		return -1;
	}
	if (o->freeze_base)
		for (int i = 0; i < n; i++)
			if (nn_layer_at(t->m, i)->type == NN_GAP && i - 1 > last)
				last = i - 1;
	for (int i = 0; i < n; i++) {
		if (i <= last)
			nn_set_trainable(t->m, i, 0);
		if (o->bn_frozen && nn_layer_at(t->m, i)->type == NN_BATCHNORM)
			nn_set_frozen_bn(t->m, i, 1);
	}
	return 0;
}

/* A new model from --arch/--weights, or the checkpoint of --resume. */
static int
build_model(struct trainer *t, char *err, size_t errlen)
{
	const struct train_options *o = t->o;
	struct nn_model_info winfo = { 0 };

	if (o->resume) {
		if ((t->m = nn_model_load(o->resume, &t->info, err, errlen)) == NULL)
			return -1;
		nn_model_note_unverified(o->resume, &t->info);
		if (!t->info.has_optim || !t->info.has_train_state) {
			snprintf(err, errlen, "--resume %s: not a checkpoint (no optimizer state or "
			    "train_state; use --weights to start a new run from its parameters)", o->resume);
			return -1;
		}
		return 0;
	}
	struct nn_head hd = o->head;
	if (t->info.ml.k) {
		hd.classes = t->info.ml.k;
		hd.multilabel = 1;
	}
	t->m = nn_arch_build(o->arch, t->h, t->w, t->c, &hd);
	if (t->m == NULL) {
		snprintf(err, errlen, "cannot build --arch %s for %dx%dx%d input", o->arch, t->h, t->w, t->c);
		return -1;
	}
	nn_model_init_params(t->m, o->seed);
	if (o->weights && ends_with(o->weights, ".h5")) {
		if (h5k_import_model(o->weights, t->m, err, errlen) < 0)
			return -1;
	} else if (o->weights) {
		if (nn_model_load_into(o->weights, t->m, &winfo, err, errlen) < 0)
			return -1;
		nn_model_note_unverified(o->weights, &winfo);
		nn_model_info_free(&winfo);
	}
	snprintf(t->info.arch, sizeof t->info.arch, "%s", o->arch);
	t->info.input[0] = t->h, t->info.input[1] = t->w, t->info.input[2] = t->c;
	t->info.head = hd;
	snprintf(t->info.preprocess, sizeof t->info.preprocess, "%s", o->preprocess);
	/* a resumed model's preprocessing was set by its loader */
	if (nn_preprocess_set(t->m, t->info.preprocess) < 0) {
		snprintf(err, errlen, "preprocessing %s: %s", t->info.preprocess,
		         nn_preprocess_known(t->info.preprocess) ? nn_error(t->m) : "unknown");
		return -1;
	}
	return 0;
}

/* Adds name as the class name of label y (growing the list with ""). */
static void
set_name(struct trainer *t, int y, const char *name)
{
	if (y >= t->nnames) {
		t->names = xreallocarray(t->names, (size_t)y + 1, sizeof *t->names);
		for (int j = t->nnames; j <= y; j++)
			t->names[j] = xstrdup("");
		t->nnames = y + 1;
	}
	free(t->names[y]);
	t->names[y] = xstrdup(name);
}

/* The class names saved with the model: --classes, else those of the
 * checkpoint being resumed; labels still unnamed take the names the
 * batch frames carry (note_classes). */
static int
init_classes(struct trainer *t, char *err, size_t errlen)
{
	int nclass = t->k == 1 ? 2 : t->k, n = 0;
	char *s, *tok, *save = NULL;

	if (t->info.ml.k)
		return 0;       /* target_names, not classes */
	if (t->o->classes == NULL) {
		for (int i = 0; i < t->info.nclasses && i < nclass; i++)
			set_name(t, i, t->info.classes[i]);
		return 0;
	}
	s = xstrdup(t->o->classes);
	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (n < nclass)
			set_name(t, n++, tok);
		else
			n++;
	free(s);
	if (n != nclass) {
		snprintf(err, errlen, "--classes: %d names for a model of %d classes", n, nclass);
		return -1;
	}
	return 0;
}

static int
load_val(struct trainer *t, char *err, size_t errlen)
{
	char why[400];

	if (!t->o->val)
		return 0;
	if (feed_set_load(t->o->val, t->bs, &t->val, why, sizeof why) < 0) {
		snprintf(err, errlen, "--val %s: %s", t->o->val, why);
		return -1;
	}
	if (t->val.images == 0 && (t->dist == NULL || !dist_parallel(t->dist))) {
		snprintf(err, errlen, "--val %s: empty validation set (no sample or batch frames)", t->o->val);
		return -1;
	}
	if (t->info.ml.k)
		return mlt_check_val(t, err, errlen);
	for (int i = 0; i < t->val.n; i++) {
		if (feed_check_shape(&t->val.b[i], t->h, t->w, t->c, why, sizeof why) < 0) {
			snprintf(err, errlen, "--val %s: %s", t->o->val, why);
			return -1;
		}
		for (int j = 0; j < t->val.b[i].n; j++)
			if (t->val.b[i].y[j] < 0 || t->val.b[i].y[j] >= (t->k == 1 ? 2 : t->k)) {
				snprintf(err, errlen, "--val %s: %s has no label or one outside the model's classes",
				    t->o->val, t->val.b[i].ids[j]);
				return -1;
			}
	}
	return 0;
}

/* Checks early that the folder of each output file can be written to, so
 * that a run does not train for an hour and then fail to save. */
static int
check_writable(const struct train_options *o, char *err, size_t errlen)
{
	const char *paths[] = { o->save, o->checkpoint, o->best };

	for (int i = 0; i < 3; i++) {
		char dir[4096];
		const char *slash;
		if (!paths[i])
			continue;
		slash = strrchr(paths[i], '/');
		if (slash == NULL)
			snprintf(dir, sizeof dir, ".");
		else if (slash == paths[i])
			snprintf(dir, sizeof dir, "/");
		else
			snprintf(dir, sizeof dir, "%.*s", (int)(slash - paths[i]), paths[i]);
		if (access(dir, W_OK) != 0) {
			snprintf(err, errlen, "%s: cannot write into %s: %s", paths[i], dir, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
trainer_setup(struct trainer *t, const struct frame *first, char *err, size_t errlen)
{
	struct nn_backend_opts bo = { .threads = t->o->threads, .deterministic = t->o->deterministic,
	                              .precision = t->o->precision, .graphs = t->o->graphs };
	struct feed fb;

	if (check_writable(t->o, err, errlen) < 0 || feed_from_frame(first, &fb, err, errlen) < 0)
		return -1;
	if (fb.n == 0) {
		snprintf(err, errlen, "stdin: frame %llu: batch %d of epoch %d holds no images",
		    (unsigned long long)first->index, t->batch_in_epoch + 1, t->epoch + 1);
		feed_free(&fb);
		return -1;
	}
	t->bs = fb.n, t->h = fb.h, t->w = fb.w, t->c = fb.c;
	if (t->dist && dist_parallel(t->dist))
		bo.graphs = -1;         /* the gradient hook runs host code in backward */
	if (mlt_setup(t, &fb, err, errlen) < 0 ||
	    (t->be = nn_backend_open(t->o->device, &bo, err, errlen)) == NULL ||
	    (tt_add(&t->tt, TT_BACKEND), build_model(t, err, errlen)) < 0 ||
	    mlt_check_model(t, &fb, err, errlen) < 0) {
		feed_free(&fb);
		return -1;
	}
	feed_free(&fb);
	tt_add(&t->tt, TT_MODEL);
	if (ranks_setup(t, err, errlen) < 0)
		return -1;
	if (t->info.input[0] != t->h || t->info.input[1] != t->w || t->info.input[2] != t->c) {
		snprintf(err, errlen, "batches are %dx%dx%d but the model takes %dx%dx%d",
		    t->h, t->w, t->c, t->info.input[0], t->info.input[1], t->info.input[2]);
		return -1;
	}
	t->k = nn_output_size(t->m);
	if (init_classes(t, err, errlen) < 0 || apply_freeze(t, err, errlen) < 0)
		return -1;
	nn_set_seed(t->m, t->o->seed);
	nn_set_bn_unbiased(t->m, t->o->bn_unbiased);
	nn_set_bce_clip(t->m, 1e-7f);
	ranks_before_plan(t);
	if (nn_model_plan(t->m, t->be, t->bs) < 0) {
		snprintf(err, errlen, "%s", nn_error(t->m));
		return -1;
	}
	if (ranks_attach(t, err, errlen) < 0)
		return -1;
	nn_params_upload(t->m);
	if (t->info.has_optim)
		nn_moments_upload(t->m);
	tr_restore_state(t);
	t->probs = XNEW(float, (size_t)t->bs * (size_t)t->k);
	t->wts = XNEW(float, (size_t)t->bs * (size_t)t->k);
	t->ty = XNEW(float, (size_t)t->bs * (size_t)t->k);
	tt_add(&t->tt, TT_PLAN);
	if (load_val(t, err, errlen) < 0)
		return -1;
	tt_add(&t->tt, TT_VALSET);
	return 0;
}

/* Binary: p > 0.5 is class 1 (Keras rounds half to even: 0.5 -> 0);
 * softmax: the arg max. */
static int
predicted(const float *p, int k)
{
	int best = 0;

	if (k == 1)
		return p[0] > 0.5f;
	for (int j = 1; j < k; j++)
		if (p[j] > p[best])
			best = j;
	return best;
}

/* Keras' per-image loss from probabilities, clipped to [1e-7, 1-1e-7]. */
static double
image_loss(const float *p, int k, float y)
{
	const double eps = 1e-7;

	if (k == 1) {
		double q = fmin(fmax(p[0], eps), 1 - eps);
		return -(y * log(q) + (1 - y) * log(1 - q));
	}
	return -log(fmin(fmax(p[(int)y], eps), 1 - eps));
}

/* Loss and accuracy of the model on the validation set (inference mode);
 * -1 (t->err) on failure. */
static int
evaluate(struct trainer *t, double *lossP, double *accP)
{
	double loss = 0, acc = 0;
	int n = 0;

	if (t->info.ml.k)
		return mlt_evaluate(t, lossP, accP, &t->val_auc);
	for (int i = 0; i < t->val.n; i++) {
		const struct feed *b = &t->val.b[i];
		if (nn_infer(t->m, b->dt, b->x, b->n, t->probs) < 0)
			return err_set(t->err, sizeof t->err, "validation: %s", nn_error(t->m));
		for (int j = 0; j < b->n * t->k; j++)
			if (!isfinite(t->probs[j]))
				return err_set(t->err, sizeof t->err, "--val %s: %s: the model's output is %g after "
				    "step %lld: training diverged (lower --lr?); nothing saved", t->o->val,
				    b->ids[j / t->k], t->probs[j], (long long)nn_step_count(t->m));
		for (int j = 0; j < b->n; j++) {
			loss += image_loss(t->probs + (size_t)j * t->k, t->k, b->y[j]);
			acc += predicted(t->probs + (size_t)j * t->k, t->k) == (int)b->y[j];
			n++;
		}
	}
	double s[3] = { loss, acc, n };
	ranks_sum(t, s, 3);
	if (s[2] == 0)
		return err_set(t->err, sizeof t->err, "--val %s: empty validation set on every rank", t->o->val);
	*lossP = s[0] / s[2];
	*accP = s[1] / s[2];
	return 0;
}

static double
peak_rss_mb(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1024.0 : 0;
}

/* Remembers the class name of each label seen, for the saved model. */
static void
note_classes(struct trainer *t, const struct feed *fb)
{
	for (int i = 0; i < fb->n && !t->info.ml.k; i++) {
		int y = (int)fb->y[i];
		if ((y < t->nnames && t->names[y][0]) || !fb->classes[i][0])
			continue;
		set_name(t, y, fb->classes[i]);
	}
}

/* -1 (t->err) unless batch fb fits the model. */
static int
check_batch(struct trainer *t, const struct feed *fb, uint64_t index)
{
	char err[400];
	int nclass = t->k == 1 ? 2 : t->k;

	if (fb->n == 0)
		return err_set(t->err, sizeof t->err, "stdin: frame %llu: batch %d of epoch %d holds no images",
		    (unsigned long long)index, t->batch_in_epoch, t->epoch + 1);
	if (feed_check_shape(fb, t->h, t->w, t->c, err, sizeof err) < 0)
		return err_set(t->err, sizeof t->err, "stdin: frame %llu: %s", (unsigned long long)index, err);
	if (fb->n > t->bs)
		return err_set(t->err, sizeof t->err, "stdin: frame %llu: a batch of %d images, but the first batch "
		    "had %d (nntrain plans memory for the first batch's size)",
		    (unsigned long long)index, fb->n, t->bs);
	for (int i = 0; i < fb->n && !t->info.ml.k; i++)
		if (fb->y[i] < 0 || fb->y[i] >= nclass)
			return err_set(t->err, sizeof t->err, "stdin: frame %llu: %s: label %g is not a class of the "
			    "model (0..%d)%s", (unsigned long long)index, fb->ids[i], fb->y[i],
			    nclass - 1, fb->y[i] < 0 ? "; training images need labels (class folders)" : "");
	return 0;
}

static void
caption(const struct trainer *t, char *buf, size_t len)
{
	snprintf(buf, len, "loss: %.4f - acc: %.4f", t->seen ? t->loss_sum / t->seen : 0.0,
	    t->seen ? t->acc_sum / t->seen : 0.0);
}

/* --max-steps reached: checkpoint the position; later batches are read
 * and ignored so that upstream stages finish normally.  -1 (t->err) when
 * the checkpoint cannot be saved. */
static int
halt(struct trainer *t)
{
	t->halted = 1;
	t->seconds += now_seconds() - t->t0;
	if (t->o->checkpoint && tr_save(t, t->o->checkpoint, 1, t->epoch, t->batch_in_epoch) < 0)
		return -1;
	info("stopped after %lld steps (--max-steps)%s%s", (long long)nn_step_count(t->m),
	    t->o->checkpoint ? "; resume with --resume " : "", t->o->checkpoint ? t->o->checkpoint : "");
	return 0;
}

static int
finite_all(const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return 0;
	return 1;
}

/* The epoch in progress has begun (or been resumed). */
static void
activate(struct trainer *t)
{
	t->active = 1;
	t->t0 = now_seconds();
	progress_start(&t->prog, 0, t->o->quiet);
}

/* The step on batch fb and its checks; -1 (t->err) on failure. */
static int
train_step(struct trainer *t, struct feed *fb, uint64_t index, float *lossP)
{
	struct nn_optim opt = t->o->optim;
	const float *y = t->info.ml.k ? t->ty : fb->y;
	int weighted = t->o->has_class_weight || t->info.ml.k;

	if (check_batch(t, fb, index) < 0)
		return -1;
	note_classes(t, fb);
	if (t->info.ml.k && mlt_batch_inputs(t, fb, index, t->ty, t->wts) < 0)
		return -1;
	for (int i = 0; i < fb->n && !t->info.ml.k; i++)
		t->wts[i] = t->o->has_class_weight ? t->o->class_weight[(int)fb->y[i] != 0] : 1.0f;
	opt.lr = t->lr;
	if (nn_train_step(t->m, fb->dt, fb->x, fb->n, y, weighted ? t->wts : NULL,
	    &opt, lossP, t->probs) < 0)
		return err_set(t->err, sizeof t->err, "training step: %s", nn_error(t->m));
	if (!isfinite(*lossP) || !finite_all(t->probs, (size_t)fb->n * (size_t)t->k))
		return err_set(t->err, sizeof t->err, "training diverged: the %s is %g at step %lld (lower --lr?); "
		    "nothing saved", isfinite(*lossP) ? "output" : "loss",
		    isfinite(*lossP) ? NAN : *lossP, (long long)nn_step_count(t->m));
	if (nn_params_nonfinite(t->m)) {
		if (tr_check_params(t, 0, "nothing saved") < 0)
			return -1;
		return err_set(t->err, sizeof t->err, "training diverged: a parameter is NaN or Inf after step %lld "
		    "(lower --lr?); nothing saved", (long long)nn_step_count(t->m));
	}
	return 0;
}

int
trainer_batch(struct trainer *t, const struct frame *f)
{
	struct feed fb;
	char err[400];
	float loss;

	t->batch_in_epoch++;
	if (t->epoch < t->skip_epoch || (t->epoch == t->skip_epoch && t->batch_in_epoch <= t->skip_batches)) {
		/* the checkpoint's epoch in progress, with its sums restored:
		 * it is reported at its end even when no batch is left */
		if (t->epoch == t->skip_epoch && t->batch_in_epoch == t->skip_batches && !t->stopped)
			activate(t);
		return 0;
	}
	if (t->stopped || t->halted)
		return 0;
	if (!t->active)
		activate(t);
	if (feed_from_frame(f, &fb, err, sizeof err) < 0)
		return err_set(t->err, sizeof t->err, "stdin: frame %llu: %s", (unsigned long long)f->index, err);
	tt_add(&t->tt, TT_DECODE);
	if (t->dist)      /* multi-label: gradients weighted by known entries (masked mean) */
		dist_step_begin(t->dist, t->info.ml.k ? mlt_known(&fb) : fb.n);
	if (train_step(t, &fb, f->index, &loss) < 0 || ranks_after_step(t) < 0) {
		feed_free(&fb);
		return -1;
	}
	tt_add(&t->tt, t->tt.count[TT_STEP1] ? TT_STEP : TT_STEP1);
	t->loss_sum += (double)loss * fb.n;
	for (int i = 0; i < fb.n && !t->info.ml.k; i++)
		t->acc_sum += predicted(t->probs + (size_t)i * t->k, t->k) == (int)fb.y[i];
	if (t->info.ml.k && mlt_known(&fb))
		t->acc_sum += mlt_accuracy(t->probs, fb.t, (size_t)fb.n * (size_t)fb.k) * fb.n;
	t->seen += fb.n;
	t->steps++;
	caption(t, err, sizeof err);
	progress_update(&t->prog, t->steps, err);
	feed_free(&fb);
	tt_add(&t->tt, TT_METRICS);
	if (t->o->max_steps && nn_step_count(t->m) >= t->o->max_steps)
		return halt(t);
	return 0;
}

static double
monitored(const struct trainer *t, const double v[4])
{
	return v[t->o->monitor];
}

/* Best model, learning-rate schedules and early stopping after an epoch;
 * -1 (t->err) when the best model cannot be saved. */
static int
schedules(struct trainer *t, const double v[4], int epoch)
{
	const struct train_options *o = t->o;
	int maximise = o->monitor == MON_VAL_ACC || o->monitor == MON_ACC;
	double x = monitored(t, v);
	int improved = isnan(t->best) || (maximise ? x > t->best : x < t->best);

	if (isnan(x))
		improved = 0;
	if (improved) {
		t->best = x;
		t->bad_epochs = t->plateau_bad = 0;
		if (o->best && tr_save(t, o->best, 0, epoch + 1, 0) < 0)
			return -1;
	} else {
		t->bad_epochs++;
		t->plateau_bad++;
	}
	if (o->plateau_patience && t->plateau_bad >= o->plateau_patience) {
		t->lr *= o->plateau_factor;
		t->plateau_bad = 0;
		info("no improvement for %d epochs: learning rate now %g", o->plateau_patience, t->lr);
	}
	if (o->lr_step_every && (epoch + 1) % o->lr_step_every == 0)
		t->lr *= o->lr_step_factor;
	if (o->early_stop && t->bad_epochs >= o->early_stop) {
		t->stopped = 1;
		info("early stop: %s has not improved for %d epochs", 
		    (const char *[]){ "val_loss", "val_acc", "loss", "acc" }[o->monitor], o->early_stop);
	}
	return 0;
}

static void
write_metrics(struct trainer *t, const double v[4], int has_val, double secs)
{
	struct frame_writer *w = t->out;

	if (!ranks_lead(t))
		return;
	fw_map(w, (has_val ? 15 : 13) + (has_val && t->info.ml.k));
	fw_kv_str(w, "kind", "metrics");
	fw_kv_int(w, "epoch", t->epoch + 1);
	fw_kv_int(w, "epochs", t->epochs);
	fw_kv_int(w, "steps", t->steps);
	fw_kv_int(w, "images", t->seen);
	fw_kv_double(w, "loss", v[MON_LOSS]);
	fw_kv_double(w, "acc", v[MON_ACC]);
	if (has_val) {
		fw_kv_double(w, "val_loss", v[MON_VAL_LOSS]);
		fw_kv_double(w, "val_acc", v[MON_VAL_ACC]);
		if (t->info.ml.k)
			fw_kv_double(w, "val_auc", t->val_auc);
	}
	fw_kv_double(w, "lr", t->lr);
	fw_kv_double(w, "seconds", secs);
	fw_kv_double(w, "images_per_s", secs > 0 ? t->seen / secs : 0);
	fw_kv_double(w, "peak_rss_mb", peak_rss_mb());
	fw_kv_int(w, "step", nn_step_count(t->m));
	fw_kv_int(w, "ranks", t->dist ? dist_size(t->dist) : 1);
	frame_flush(w);
}

/* fp16 loss scaling: says on stderr how many steps of the epoch were
 * skipped for inf/NaN gradients, if any. */
static void
note_skipped(struct trainer *t)
{
	long long skipped;
	float scale;

	nn_amp_stats(t->m, &skipped, &scale);
	if (skipped > t->amp_skipped)
		info("epoch %d: %lld steps skipped for inf/NaN gradients (fp16 loss scale now %g)",
		    t->epoch + 1, skipped - t->amp_skipped, scale);
	t->amp_skipped = skipped;
}

/* Ends the epoch in progress: validation, metrics, schedules, checkpoint;
 * -1 (t->err) on failure. */
static int
end_epoch(struct trainer *t)
{
	double v[4] = { NAN, NAN, NAN, NAN }, secs;
	char line[256], cap[160];
	int has_val = t->o->val != NULL;
	double sums[3] = { t->loss_sum, t->acc_sum, (double)t->seen };

	if (t->halted || !ranks_any(t, t->active))
		return 0;
	if (tr_check_params(t, 0, "nothing saved for this epoch") < 0)
		return -1;
	tt_add(&t->tt, TT_CHECK);
	ranks_sum(t, sums, 3);          /* the training loss and accuracy of every rank */
	mlt_fold_counts(t);
	v[MON_LOSS] = sums[0] / sums[2];
	v[MON_ACC] = sums[1] / sums[2];
	t->loss_sum = sums[0], t->acc_sum = sums[1], t->seen = (long)sums[2];
	if (has_val && evaluate(t, &v[MON_VAL_LOSS], &v[MON_VAL_ACC]) < 0)
		return -1;
	tt_add(&t->tt, t->tt.count[TT_VAL1] ? TT_VAL : TT_VAL1);
	secs = t->seconds + now_seconds() - t->t0;
	write_metrics(t, v, has_val, secs);
	caption(t, cap, sizeof cap);
	if (has_val)
		snprintf(cap + strlen(cap), sizeof cap - strlen(cap), " - val_loss: %.4f - val_acc: %.4f",
		    v[MON_VAL_LOSS], v[MON_VAL_ACC]);
	snprintf(line, sizeof line, "epoch %d%s%.0d - %d steps", t->epoch + 1, t->epochs ? "/" : "",
	    t->epochs, t->steps);
	t->prog.t0 = now_seconds() - secs;
	progress_done(&t->prog, line, cap);
	note_skipped(t);
	tt_add(&t->tt, TT_METRICS);
	if (schedules(t, v, t->epoch) < 0)
		return -1;
	t->active = 0;
	t->loss_sum = t->acc_sum = t->seconds = 0;
	t->seen = t->steps = 0;
	if (t->o->checkpoint)
		return tr_save_background(t, t->o->checkpoint, t->epoch + 1);
	return 0;
}

int
trainer_epoch_frame(struct trainer *t, const struct frame *f)
{
	int64_t index = 0, count = 0;

	if (ranks_join(t) < 0 || end_epoch(t) < 0)
		return -1;
	mp_int(frame_root(f), "index", &index);
	mp_int(frame_root(f), "count", &count);
	t->epoch = (int)index;
	t->epochs = (int)count;
	t->batch_in_epoch = 0;
	return 0;
}

int
trainer_finish(struct trainer *t)
{
	if (ranks_join(t) < 0 || end_epoch(t) < 0)
		return -1;
	ranks_report(t);
	if (t->o->save && !t->halted && tr_save(t, t->o->save, 0, t->epoch + 1, 0) < 0)
		return -1;
	return tr_join(t);
}

int
trainer_sync(struct trainer *t)
{
	return tr_join(t);
}

int
trainer_interrupted(struct trainer *t)
{
	/* after --max-steps the batches read are not trained on: the
	 * checkpoint written at the halt is the position to resume from */
	if (!t->o->checkpoint || t->halted)
		return 0;
	if (t->active)
		t->seconds += now_seconds() - t->t0;
	return tr_save(t, t->o->checkpoint, 1, t->epoch, t->batch_in_epoch);
}

void
trainer_free(struct trainer *t)
{
	tr_join(t);
	feed_set_free(&t->val);
	nn_model_free(t->m);
	nn_model_info_free(&t->info);
	if (t->be)
		t->be->close(t->be);
	for (int i = 0; i < t->nnames; i++)
		free(t->names[i]);
	free(t->names);
	free(t->probs);
	free(t->wts);
	free(t->ty);
	free(t->mlbase);
}
