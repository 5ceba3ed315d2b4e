/* strsort.c — strings sorted in memory, or in runs on disk then merged. */
#include "strsort.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUNBUF (2 * (STRSORT_MAX + 1))

struct strsort_run {
	uint64_t pos, end;      /* the part of the file still to read */
	char buf[RUNBUF];
	size_t len, at;         /* buf[at..len) is read but not yet taken */
	const char *cur;        /* the run's head string; NULL: run done */
};

void
strsort_init(struct strsort *s)
{
	memset(s, 0, sizeof *s);
	spill_init(&s->f);
	s->last = -1;
}

size_t
strsort_count(const struct strsort *s)
{
	return s->count;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the strings in the arena into s->v. */
static void
sort_arena(struct strsort *s)
{
	char *p = s->arena;

	free(s->v);
	s->v = XNEW(char *, s->n ? s->n : 1);
	for (size_t i = 0; i < s->n; i++) {
		s->v[i] = p;
		p += strlen(p) + 1;
	}
	if (s->n > 1)
		qsort(s->v, s->n, sizeof *s->v, cmp_str);
}

/* The run in memory, sorted, to the end of the file. */
static int
spill_run(struct strsort *s, char *err, size_t errlen)
{
	struct strsort_run *r;

	if (s->f.fd < 0 && spill_open(&s->f, err, errlen) < 0)
		return -1;
	sort_arena(s);
	s->runs = xreallocarray(s->runs, s->nruns + 1, sizeof *s->runs);
	r = memset(&s->runs[s->nruns++], 0, sizeof *r);
	r->pos = s->f.size;
	for (size_t i = 0; i < s->n; i++)
		if (spill_append(&s->f, s->v[i], strlen(s->v[i]) + 1, NULL, err, errlen) < 0)
			return -1;
	r->end = s->f.size;
	free(s->v);
	s->v = NULL;
	s->used = s->n = 0;
	return 0;
}

int
strsort_add(struct strsort *s, const char *str, char *err, size_t errlen)
{
	size_t len = strlen(str) + 1;

	if (len > STRSORT_MAX + 1) {
		snprintf(err, errlen, "a name of %zu bytes (at most %d): %.60s...", len - 1, STRSORT_MAX, str);
		return -1;
	}
	/* the strings and, when sorted, a pointer each */
	if (s->used + len + (s->n + 1) * sizeof(char *) > STRSORT_BUDGET && s->n > 0 &&
	    spill_run(s, err, errlen) < 0)
		return -1;
	if (s->used + len > s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4096;
		while (s->cap < s->used + len)
			s->cap *= 2;
		s->arena = xreallocarray(s->arena, s->cap, 1);
	}
	memcpy(s->arena + s->used, str, len);
	s->used += len;
	s->n++;
	s->count++;
	return 0;
}

/* Moves run r to its next string (r->cur; NULL at its end). */
static int
run_advance(struct strsort *s, struct strsort_run *r, char *err, size_t errlen)
{
	char *nul;

	for (;;) {
		nul = memchr(r->buf + r->at, '\0', r->len - r->at);
		if (nul) {
			r->cur = r->buf + r->at;
			r->at = (size_t)(nul - r->buf) + 1;
			return 0;
		}
		if (r->pos == r->end) {
			r->cur = NULL;
			return 0;
		}
		memmove(r->buf, r->buf + r->at, r->len - r->at);
		r->len -= r->at;
		r->at = 0;
		size_t k = RUNBUF - r->len;
		if (k > r->end - r->pos)
			k = (size_t)(r->end - r->pos);
		if (spill_read(&s->f, r->pos, r->buf + r->len, k, err, errlen) < 0)
			return -1;
		r->pos += k;
		r->len += k;
	}
}

int
strsort_finish(struct strsort *s, char *err, size_t errlen)
{
	if (s->nruns == 0) {
		sort_arena(s);
		s->next = 0;
		return 0;
	}
	if (s->n > 0 && spill_run(s, err, errlen) < 0)
		return -1;
	free(s->arena);
	s->arena = NULL;
	s->cap = 0;
	for (size_t i = 0; i < s->nruns; i++)
		if (run_advance(s, &s->runs[i], err, errlen) < 0)
			return -1;
	return 0;
}

int
strsort_next(struct strsort *s, const char **strP, char *err, size_t errlen)
{
	long best = -1;

	if (s->nruns == 0) {
		if (s->next >= s->n)
			return 0;
		*strP = s->v[s->next++];
		return 1;
	}
	if (s->last >= 0 && run_advance(s, &s->runs[s->last], err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < s->nruns; i++)
		if (s->runs[i].cur && (best < 0 || strcmp(s->runs[i].cur, s->runs[best].cur) < 0))
			best = (long)i;
	s->last = best;
	if (best < 0)
		return 0;
	*strP = s->runs[best].cur;
	return 1;
}

void
strsort_free(struct strsort *s)
{
	free(s->arena);
	free(s->v);
	free(s->runs);
	spill_close(&s->f);
	strsort_init(s);
}
