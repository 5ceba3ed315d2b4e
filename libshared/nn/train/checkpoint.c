/* checkpoint.c — the trainer's model files: the parameter checks before a
 * write, the train_state of a checkpoint and its restoration, and the
 * per-epoch checkpoint written by a forked child while training goes on.
 *
 * The background writer: fork() makes the child's memory a snapshot of
 * the trainer at the epoch's end (parameters and moments downloaded and
 * checked, the position, the step count), so the file is exactly what
 * the parent would have written then; the child writes it atomically
 * (nn_model_save: temporary file, fsync, rename) and exits, reporting a
 * failure through a pipe.  The parent trains on and waits for the child
 * (tr_join) before the next checkpoint, before any write to the same
 * path (a signal's checkpoint, --max-steps) and at the end, so a run
 * ends with the same files as if each had been written in place. */
#include "nn/train/checkpoint.h"
#include "envflag.h"
#include "err.h"
#include "frame_mp.h"
#include "nn/train/ranks.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
		return err_set(t->err, sizeof t->err, "%s", nn_error(t->m));
	if (nn_model_check_finite(t->m, with_moments, why, sizeof why) < 0)
		return err_set(t->err, sizeof t->err, "training diverged: %s after step %lld (lower --lr?); %s", why,
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

/* The model description of a file: class names, optimizer, its rate. */
static void
fill_info(struct trainer *t)
{
	if (t->nnames > 0)
		nn_model_info_set_classes(&t->info, t->names, t->nnames);
	t->info.optim = t->o->optim;
	t->info.optim.lr = t->lr;
}

/* Writes the model to path (the calling process: nntrain or the
 * background writer).  -1 (t->err) on failure. */
static int
write_file(struct trainer *t, const char *path, int with_state, int epoch, int batch)
{
	msgpack_sbuffer sb = { 0 };
	msgpack_zone z;
	msgpack_object st;
	size_t off = 0;
	int rc;

	fill_info(t);
	msgpack_zone_init(&z, 1024);
	if (with_state) {
		pack_state(t, epoch, batch, &sb);
		msgpack_unpack(sb.data, sb.size, &off, &z, &st);
	}
	rc = nn_model_save(path, t->m, &t->info, with_state, with_state ? mp_fv(&st) : NULL,
	                   t->err, sizeof t->err);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

int
tr_save(struct trainer *t, const char *path, int with_state, int epoch, int batch)
{
	char err[512];
	int rc;

	if (!ranks_lead(t))
		return 0;
	if (t->bg_pid > 0 && strcmp(path, t->bg_path) == 0 && tr_join(t) < 0)
		return -1;
	snprintf(err, sizeof err, "%s not written", path);
	if (tr_check_params(t, with_state, err) < 0)
		return -1;
	if ((rc = write_file(t, path, with_state, epoch, batch)) == 0)
		tt_saved(&t->tt, path);
	tt_add(&t->tt, TT_SAVE);
	return rc;
}

/* 1 when a checkpoint may be written by a forked child: one process (not
 * MPI ranks), and RADPIPE_CHECKPOINT_SYNC unset or 0. */
static int
background_ok(const struct trainer *t)
{
	return (t->dist == NULL || !dist_parallel(t->dist)) && !env_flag("RADPIPE_CHECKPOINT_SYNC", 0);
}

/* The forked writer: the parent's memory as of the fork is its snapshot.
 * Signals are the parent's to handle (it waits for this child); a
 * failure's message goes back through fd. */
static noreturn void
writer_child(struct trainer *t, const char *path, int epoch, int fd)
{
	int rc;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	rc = write_file(t, path, 1, epoch, 0);
	if (rc < 0 && write(fd, t->err, strlen(t->err)) < 0)
		rc = -1;
	_exit(rc < 0);
}

int
tr_save_background(struct trainer *t, const char *path, int epoch)
{
	char err[512];
	int fds[2];
	pid_t pid;

	if (!ranks_lead(t))
		return 0;
	if (tr_join(t) < 0)
		return -1;
	if (!background_ok(t))
		return tr_save(t, path, 1, epoch, 0);
	snprintf(err, sizeof err, "%s not written", path);
	if (tr_check_params(t, 1, err) < 0)
		return -1;
	fill_info(t);
	if (pipe(fds) < 0)
		return tr_save(t, path, 1, epoch, 0);
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return tr_save(t, path, 1, epoch, 0);
	}
	if (pid == 0) {
		close(fds[0]);
		writer_child(t, path, epoch, fds[1]);
	}
	close(fds[1]);
	t->bg_pid = pid, t->bg_fd = fds[0], t->bg_path = path;
	tt_add(&t->tt, TT_SAVE);
	return 0;
}

int
tr_join(struct trainer *t)
{
	char msg[sizeof t->err];
	size_t n = 0;
	ssize_t k;
	int st = 0;

	if (t->bg_pid <= 0)
		return 0;
	while (n < sizeof msg - 1 && ((k = read(t->bg_fd, msg + n, sizeof msg - 1 - n)) > 0 ||
	    (k < 0 && errno == EINTR)))
		n += k > 0 ? (size_t)k : 0;
	msg[n] = '\0';
	close(t->bg_fd);
	while (waitpid(t->bg_pid, &st, 0) < 0 && errno == EINTR)
		;
	t->bg_pid = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		tt_saved(&t->tt, t->bg_path);
		tt_add(&t->tt, TT_SAVE);
		return 0;
	}
	if (n > 0)
		return err_set(t->err, sizeof t->err, "%s", msg);
	if (WIFSIGNALED(st))
		return err_set(t->err, sizeof t->err, "%s: not written: its writer was killed by signal %d", t->bg_path,
		    WTERMSIG(st));
	return err_set(t->err, sizeof t->err, "%s: not written: its writer failed", t->bg_path);
}
