/* cli.h — what every program's command line has in common.
 *
 * cli_begin handles --help/-h, --version and --quiet/-q before the program
 * parses its own options, and removes them from argv.  The number parsers
 * reject trailing junk, out-of-range values and empty strings, and die with
 * exit status 2 naming the option.
 */
#ifndef RADPIPE_CLI_H
#define RADPIPE_CLI_H

#include <getopt.h>
#include <stdint.h>

/* Sets progname, ignores SIGPIPE (a closed pipe becomes a write error, which
 * die_write turns back into a quiet death by SIGPIPE when it is stdout's),
 * handles --help (usage on stdout, exit 0),
 * --version and --quiet.  usage: the synopsis and option summary. */
void cli_begin(int *argc, char **argv, const char *usage);
/* Prints the usage text given to cli_begin to stderr. */
void cli_usage(void);

/* getopt_long(argc, argv, shortopts, longopts, NULL), except that a program
 * run as "PROG --list-options" prints its options, one a line (--name, or
 * --name= when it takes a value; -x or -x= for shortopts, then the options
 * cli_begin handles) on stdout and exits 0: the bash completion is made from
 * this list (mk/install.mk). */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* Parses a floating-point option value in [lo, hi]. */
double cli_double(const char *s, const char *opt, double lo, double hi);
/* Parses an integer option value in [lo, hi]. */
long long cli_int(const char *s, const char *opt, long long lo, long long hi);
/* Parses an unsigned 64-bit value (seeds). */
uint64_t cli_u64(const char *s, const char *opt);
/* Returns the index of s in the NULL-terminated choices, or dies listing them. */
int cli_choice(const char *s, const char *opt, const char *const *choices);
/* Parses "A,B" into two doubles (e.g. --window C,W); dies on bad input. */
void cli_pair(const char *s, const char *opt, double *a, double *b);

#endif
