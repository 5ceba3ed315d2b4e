/* cli.c — a program's options from one table, and strict number parsing. */
#include "cli.h"
#include "err.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdnoreturn.h>

#ifndef RADPIPE_VERSION
#define RADPIPE_VERSION "0.0.0"
#endif

#define HELP_COL 24      /* the column where help texts start */
#define MAX_OPTS 64

const char *const cli_precisions[] = { "fp32", "tf32", "bf16", "fp16", NULL };
const char *const cli_formats[] = { "text", "tsv", "csv", "json", "frames", NULL };

int
cli_format_default(int format)
{
	if (format >= 0)
		return format;
	return isatty(1) ? CLI_FMT_TEXT : CLI_FMT_FRAMES;
}

/* The options cli_parse adds to every table. */
static const struct cli_opt cli_common[] = {
	CLI_TEXT("common to every radpipe program:"),
	CLI_FLAG("quiet", 'q', "no progress or information messages", &err_quiet),
	CLI_CALL("help", 'h', NULL, "print this text and exit", NULL, NULL),
	CLI_CALL("version", 0, NULL, "print the version and exit", NULL, NULL),
	CLI_END
};

static int
takes_value(const struct cli_opt *e)
{
	return e->arg != NULL || (e->kind == CLI_KCHOICE) ||
	    (e->kind != CLI_KFLAG && e->kind != CLI_KCALL);
}

static int
is_option(const struct cli_opt *e)
{
	return e->kind != CLI_KEND && e->kind != CLI_KTEXT && e->kind != CLI_KOPERAND;
}

/* 1: long-only options are indented past a "-x, " column. */
static int cli_wide;

/* Writes "  -x, --name ARG" (or the operand) and its help, aligned. */
static void
print_entry(FILE *f, const struct cli_opt *e)
{
	char left[160];
	size_t n = 0;

	if (e->kind == CLI_KTEXT) {
		fprintf(f, "%s\n", e->name);
		return;
	}
	if (e->kind == CLI_KOPERAND)
		n = (size_t)snprintf(left, sizeof left, "  %s", e->name);
	else if (e->letter)
		n = (size_t)snprintf(left, sizeof left, "  -%c%s%s", e->letter,
		    e->name ? ", --" : "", e->name ? e->name : "");
	else
		n = (size_t)snprintf(left, sizeof left, "%s--%s", cli_wide ? "      " : "  ", e->name);
	if (e->kind != CLI_KOPERAND && e->arg != NULL && e->optional)
		n += (size_t)snprintf(left + n, sizeof left - n, "[=%s]", e->arg);
	else if (e->kind != CLI_KOPERAND && e->arg != NULL)
		n += (size_t)snprintf(left + n, sizeof left - n, " %s", e->arg);
	else if (e->kind == CLI_KCHOICE)
		for (int i = 0; e->choices[i] && n < sizeof left; i++)
			n += (size_t)snprintf(left + n, sizeof left - n, "%c%s", i ? '|' : ' ', e->choices[i]);
	if (n + 1 < HELP_COL)
		fprintf(f, "%-*s", HELP_COL, left);
	else
		fprintf(f, "%s  ", left);
	for (const char *h = e->help; *h; h++) {
		fputc(*h, f);
		if (*h == '\n')
			fprintf(f, "%*s", HELP_COL, "");
	}
	fputc('\n', f);
}

void
cli_usage(FILE *f, const char *synopsis, const struct cli_opt *opts)
{
	const struct cli_opt *e;

	fputs(synopsis, f);
	cli_wide = 0;
	for (e = opts; e->kind != CLI_KEND; e++)
		cli_wide |= is_option(e) && e->letter;
	for (e = opts; e->kind != CLI_KEND; e++)
		print_entry(f, e);
	for (e = cli_common; e->kind != CLI_KEND; e++)
		print_entry(f, e);
}

/* Prints the options of a program for its completion (an optional value
 * is completed as a flag: --name); exits. */
static void
list_options(const struct cli_opt *opts)
{
	const struct cli_opt *e;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (e = opts; e->kind != CLI_KEND; e++)
			if (is_option(e) && e->name)
				printf("--%s%s\n", e->name, takes_value(e) && !e->optional ? "=" : "");
		for (e = opts; e->kind != CLI_KEND; e++)
			if (is_option(e) && e->letter)
				printf("-%c%s\n", e->letter, takes_value(e) && !e->optional ? "=" : "");
		opts = cli_common;
	}
	exit(fflush(stdout) == 0 ? 0 : 1);
}

/* --help and --version exit at once, wherever they are (before "--"). */
static void
early_options(int argc, char **argv, const char *synopsis, const struct cli_opt *opts)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cli_usage(stdout, synopsis, opts);
			printf("See %s(1).\n", progname);
			stdout_finish();
			exit(0);
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s (radpipe) %s\n", progname, RADPIPE_VERSION);
			stdout_finish();
			exit(0);
		}
	}
}

/* Stores the value arg of option e. */
static void
store(const struct cli_opt *e, const char *arg)
{
	char opt[64];

	if (e->name)
		snprintf(opt, sizeof opt, "--%s", e->name);
	else
		snprintf(opt, sizeof opt, "-%c", e->letter);
	switch (e->kind) {
	case CLI_KFLAG: *(int *)e->p = 1; break;
	case CLI_KINT: *(int *)e->p = (int)cli_int(arg, opt, (long long)e->lo, (long long)e->hi); break;
	case CLI_KLLONG: *(long long *)e->p = cli_int(arg, opt, (long long)e->lo, (long long)e->hi); break;
	case CLI_KDOUBLE: *(double *)e->p = cli_double(arg, opt, e->lo, e->hi); break;
	case CLI_KFLOAT: *(float *)e->p = (float)cli_double(arg, opt, e->lo, e->hi); break;
	case CLI_KU64: *(uint64_t *)e->p = cli_u64(arg, opt); break;
	case CLI_KSTR: *(const char **)e->p = arg; break;
	case CLI_KCHOICE: *(int *)e->p = cli_choice(arg, opt, e->choices); break;
	case CLI_KCALL: if (e->call) e->call(e->p, arg); break;
	default: break;
	}
	if (e->given)
		*e->given = 1;
}

/* The getopt tables of opts and the common options; entry[i] is the entry
 * of getopt's return value 256 + i. */
struct getopt_tables {
	struct option longopts[2 * MAX_OPTS + 1];
	char shortopts[2 * MAX_OPTS + 2];
	const struct cli_opt *entry[2 * MAX_OPTS];
	int n;
};

static void
add_table(struct getopt_tables *t, const struct cli_opt *opts)
{
	size_t s = strlen(t->shortopts);

	for (const struct cli_opt *e = opts; e->kind != CLI_KEND; e++) {
		if (!is_option(e))
			continue;
		if (t->n == 2 * MAX_OPTS)
			die("cli: too many options");
		if (e->name)
			t->longopts[t->n] = (struct option){ e->name, !takes_value(e) ? no_argument :
			    e->optional ? optional_argument : required_argument, NULL, 256 + t->n };
		else
			t->longopts[t->n] = (struct option){ "", no_argument, NULL, 0 };
		if (e->letter) {
			t->shortopts[s++] = e->letter;
			if (takes_value(e))
				t->shortopts[s++] = ':';
			if (takes_value(e) && e->optional)
				t->shortopts[s++] = ':';
		}
		t->entry[t->n++] = e;
	}
	t->shortopts[s] = '\0';
}

/* The entry of getopt's answer ch. */
static const struct cli_opt *
find_entry(const struct getopt_tables *t, int ch)
{
	if (ch >= 256 && ch < 256 + t->n)
		return t->entry[ch - 256];
	for (int i = 0; i < t->n; i++)
		if (t->entry[i]->letter == ch)
			return t->entry[i];
	return NULL;
}

/* Dies naming what getopt refused: arg (the word it stopped at), optopt. */
static noreturn void
bad_option(const struct getopt_tables *t, const char *arg)
{
	if (optopt >= 256 && strchr(arg, '=') != NULL)
		die_usage("%s: the option takes no value", arg);
	if (optopt >= 256)
		die_usage("%s: missing value", arg);
	if (optopt > 0 && strchr(t->shortopts, optopt) != NULL)
		die_usage("-%c: missing value", optopt);
	if (optopt > 0)
		die_usage("-%c: unknown option", optopt);
	die_usage("%s: unknown option (or an ambiguous abbreviation)", arg);
}

int
cli_parse(int argc, char **argv, const char *synopsis, const struct cli_opt *opts)
{
	static struct getopt_tables t;
	const struct cli_opt *e;
	int ch, j = 0;

	err_init(argv[0]);
	argv[0] = (char *)progname;     /* messages start "prog:" too */
	signal(SIGPIPE, SIG_IGN);
	early_options(argc, argv, synopsis, opts);
	if (argc == 2 && strcmp(argv[1], "--list-options") == 0)
		list_options(opts);
	memset(&t, 0, sizeof t);
	add_table(&t, opts);
	add_table(&t, cli_common);
	/* short-only entries have no long name: drop them from longopts */
	for (int i = 0; i < t.n; i++)
		if (t.longopts[i].name[0] != '\0')
			t.longopts[j++] = t.longopts[i];
	t.longopts[j] = (struct option){ NULL, 0, NULL, 0 };
	opterr = 0;
	optind = 0;             /* glibc: start afresh (a program parses once; tests more) */
	while ((ch = getopt_long(argc, argv, t.shortopts, t.longopts, NULL)) != -1) {
		if (ch == '?' || ch == ':' || (e = find_entry(&t, ch)) == NULL)
			bad_option(&t, argv[optind - 1]);
		store(e, optarg);
	}
	return optind;
}

double
cli_double(const char *s, const char *opt, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno == ERANGE || isnan(v))
		die_usage("%s: '%s' is not a number", opt, s);
	if (v < lo || v > hi)
		die_usage("%s: %s is out of range [%g, %g]", opt, s, lo, hi);
	return v;
}

long long
cli_int(const char *s, const char *opt, long long lo, long long hi)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno == ERANGE)
		die_usage("%s: '%s' is not an integer", opt, s);
	if (v < lo || v > hi)
		die_usage("%s: %s is out of range [%lld, %lld]", opt, s, lo, hi);
	return v;
}

uint64_t
cli_u64(const char *s, const char *opt)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s == '-' || *s == '\0')
		die_usage("%s: '%s' is not a non-negative integer", opt, s);
	v = strtoull(s, &end, 0);
	if (*end != '\0' || errno == ERANGE)
		die_usage("%s: '%s' is not a non-negative integer", opt, s);
	return v;
}

int
cli_choice(const char *s, const char *opt, const char *const *choices)
{
	char list[512] = "";

	for (int i = 0; choices[i]; i++) {
		if (strcmp(s, choices[i]) == 0)
			return i;
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
		    i ? ", " : "", choices[i]);
	}
	die_usage("%s: unknown value '%s' (one of: %s)", opt, s, list);
}

void
cli_set_jobs(void *p, const char *s)
{
	*(int *)p = strcmp(s, "auto") == 0 ? 0 : (int)cli_int(s, "--jobs", 0, 1024);
}

void
cli_pair(const char *s, const char *opt, double *a, double *b)
{
	char buf[128];
	char *comma;

	if (strlen(s) >= sizeof buf || (comma = strchr(s, ',')) == NULL)
		die_usage("%s: expected two numbers A,B, got '%s'", opt, s);
	memcpy(buf, s, (size_t)(comma - s));
	buf[comma - s] = '\0';
	*a = cli_double(buf, opt, -HUGE_VAL, HUGE_VAL);
	*b = cli_double(comma + 1, opt, -HUGE_VAL, HUGE_VAL);
}

void
cli_size(const char *s, const char *opt, int hmin, int wmin, int max, int *hP, int *wP)
{
	const char *x = strchr(s, 'x');
	char buf[32];

	if (x == NULL) {
		*hP = *wP = (int)cli_int(s, opt, hmin > wmin ? hmin : wmin, max);
		return;
	}
	if ((size_t)(x - s) >= sizeof buf)
		die_usage("%s: bad value '%s' (HxW: height x width)", opt, s);
	memcpy(buf, s, (size_t)(x - s));
	buf[x - s] = '\0';
	*hP = (int)cli_int(buf, opt, hmin, max);
	*wP = (int)cli_int(x + 1, opt, wmin, max);
}
