/* cli.c — options every program shares, and strict number parsing. */
#include "cli.h"
#include "err.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RADPIPE_VERSION
#define RADPIPE_VERSION "0.0.0"
#endif

static const char *cli_usage_text = "";

void
cli_usage(void)
{
	fputs(cli_usage_text, stderr);
}

void
cli_begin(int *argc, char **argv, const char *usage)
{
	int i, j;

	err_init(argv[0]);
	argv[0] = (char *)progname;     /* getopt's messages start "prog:" too */
	cli_usage_text = usage;
	signal(SIGPIPE, SIG_IGN);
	for (i = j = 1; i < *argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			while (i < *argc)
				argv[j++] = argv[i++];
			break;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			printf("See %s(1).\n", progname);
			stdout_finish();
			exit(0);
		}
		if (strcmp(a, "--version") == 0) {
			printf("%s (radpipe) %s\n", progname, RADPIPE_VERSION);
			stdout_finish();
			exit(0);
		}
		if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			err_quiet = 1;
			continue;
		}
		argv[j++] = argv[i];
	}
	argv[j] = NULL;
	*argc = j;
}

/* Prints the options of a program for its completion; exits. */
static void
list_options(const char *shortopts, const struct option *longopts)
{
	static const char *const common[] = { "--help", "--version", "--quiet", "-h", "-q" };
	const char *s;
	size_t i;

	for (i = 0; longopts[i].name != NULL; i++)
		printf("--%s%s\n", longopts[i].name,
		    longopts[i].has_arg == no_argument ? "" : "=");
	for (s = shortopts; *s != '\0'; s++)
		if (*s != ':' && *s != '+' && *s != '-')
			printf("-%c%s\n", *s, s[1] == ':' ? "=" : "");
	for (i = 0; i < sizeof common / sizeof common[0]; i++)
		printf("%s\n", common[i]);
	exit(fflush(stdout) == 0 ? 0 : 1);
}

int
cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	if (argc == 2 && optind <= 1 && strcmp(argv[1], "--list-options") == 0)
		list_options(shortopts, longopts);
	return getopt_long(argc, argv, shortopts, longopts, NULL);
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
