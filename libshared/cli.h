/* cli.h — a program's command line from one option table.
 *
 * Each program lists its options once, in an array of struct cli_opt made
 * with the CLI_* macros below, ended by CLI_END.  That table is the only
 * place an option is written: cli_parse builds the getopt_long table and
 * the --help text from it, stores each value into its field with a strict
 * typed parser (or hands it to the program's function), and prints the
 * table for the bash completion (PROG --list-options).  The options every
 * program has (-q/--quiet, -h/--help, --version) are added by cli_parse;
 * the groups several programs share (--device, --threads, --precision,
 * --seed, --classes, -o/--output) are the CLI_OPT_* macros, one help text
 * and one parser each.
 *
 * The number parsers reject trailing junk, out-of-range values and empty
 * strings, and die with exit status 2 naming the option.
 */
#ifndef RADPIPE_CLI_H
#define RADPIPE_CLI_H

#include <stdint.h>
#include <stdio.h>

enum cli_kind {
	CLI_KEND,       /* ends the table */
	CLI_KTEXT,      /* a line of --help only: name is printed as is */
	CLI_KOPERAND,   /* --help only: an operand (name) and its help */
	CLI_KFLAG,      /* int = 1 */
	CLI_KINT,       /* int in [lo, hi] */
	CLI_KLLONG,     /* long long in [lo, hi] */
	CLI_KDOUBLE,    /* double in [lo, hi] */
	CLI_KFLOAT,     /* float, parsed as a double in [lo, hi] */
	CLI_KU64,       /* uint64_t (seeds) */
	CLI_KSTR,       /* const char * = the argument as given */
	CLI_KCHOICE,    /* int = the argument's index in choices */
	CLI_KCALL,      /* call(p, arg); arg is NULL for an option without value */
};

/* One entry of a program's option table. */
struct cli_opt {
	enum cli_kind kind;
	const char *name;       /* long name without "--"; NULL: short only */
	char letter;            /* short option letter, or 0 */
	const char *arg;        /* the value's name in --help; NULL: takes none */
	const char *help;       /* --help text; "\n" goes on on the next line */
	void *p;                /* the field it sets (CLI_KCALL: call's context) */
	double lo, hi;          /* range of the numeric kinds */
	const char *const *choices;     /* CLI_KCHOICE: NULL-terminated */
	void (*call)(void *p, const char *arg);
	int *given;             /* if not NULL: set to 1 when the option is seen */
	int optional;           /* CLI_KSTR, CLI_KCALL: the value may be left out
	                         * (--name alone stores NULL; --name=V, -xV give V;
	                         * --help shows --name[=ARG]) */
};

/* Compiles only when p points to a T (the field's type is checked). */
#define CLI_P_(T, p) _Generic((p), T *: (void *)(p))

/* The entries.  n: long name, l: short letter or 0, a: the value's name,
 * h: help, fld: the field.  Extra designators may follow (.given = &seen). */
#define CLI_END { .kind = CLI_KEND }
#define CLI_TEXT(t) { .kind = CLI_KTEXT, .name = (t) }
#define CLI_OPERAND(n, h) { .kind = CLI_KOPERAND, .name = (n), .help = (h) }
#define CLI_FLAG(n, l, h, fld, ...) { .kind = CLI_KFLAG, .name = (n), .letter = (l), \
	.help = (h), .p = CLI_P_(int, fld), __VA_ARGS__ }
#define CLI_INT(n, l, a, h, fld, lo_, hi_, ...) { .kind = CLI_KINT, .name = (n), .letter = (l), \
	.arg = (a), .help = (h), .p = CLI_P_(int, fld), .lo = (lo_), .hi = (hi_), __VA_ARGS__ }
#define CLI_LLONG(n, l, a, h, fld, lo_, hi_, ...) { .kind = CLI_KLLONG, .name = (n), .letter = (l), \
	.arg = (a), .help = (h), .p = CLI_P_(long long, fld), .lo = (lo_), .hi = (hi_), __VA_ARGS__ }
#define CLI_DOUBLE(n, l, a, h, fld, lo_, hi_, ...) { .kind = CLI_KDOUBLE, .name = (n), .letter = (l), \
	.arg = (a), .help = (h), .p = CLI_P_(double, fld), .lo = (lo_), .hi = (hi_), __VA_ARGS__ }
#define CLI_FLOAT(n, l, a, h, fld, lo_, hi_, ...) { .kind = CLI_KFLOAT, .name = (n), .letter = (l), \
	.arg = (a), .help = (h), .p = CLI_P_(float, fld), .lo = (lo_), .hi = (hi_), __VA_ARGS__ }
#define CLI_U64(n, l, a, h, fld, ...) { .kind = CLI_KU64, .name = (n), .letter = (l), \
	.arg = (a), .help = (h), .p = CLI_P_(uint64_t, fld), __VA_ARGS__ }
#define CLI_STR(n, l, a, h, fld, ...) { .kind = CLI_KSTR, .name = (n), .letter = (l), \
	.arg = (a), .help = (h), .p = CLI_P_(const char *, fld), __VA_ARGS__ }
/* a NULL: --help shows the choices as a|b|c */
#define CLI_CHOICE(n, l, a, h, fld, ch, ...) { .kind = CLI_KCHOICE, .name = (n), .letter = (l), \
	.arg = (a), .help = (h), .p = CLI_P_(int, fld), .choices = (ch), __VA_ARGS__ }
/* fn(ctx, arg): a an argument name, or NULL for an option without value. */
#define CLI_CALL(n, l, a, h, fn, ctx, ...) { .kind = CLI_KCALL, .name = (n), .letter = (l), \
	.arg = (a), .help = (h), .call = (fn), .p = (ctx), __VA_ARGS__ }

/* The option groups several programs share, defined once. */
extern const char *const cli_precisions[];      /* fp32 tf32 bf16 fp16: enum nn_precision */
#define CLI_OPT_DEVICE(p) CLI_STR("device", 0, "D", "cpu (default), ref, cuda or auto", p)
#define CLI_OPT_THREADS(p) CLI_INT("threads", 0, "N", "CPU threads (default: all cores)", p, 0, 4096)
#define CLI_OPT_PRECISION(p) CLI_CHOICE("precision", 0, "P", \
	"fp32 (default), tf32, bf16 or fp16 conv/dense math\n(tf32, fp16 need cuda; bf16: cuda, or a CPU with\nAVX512_BF16/AMX; nntrain scales the loss in fp16)", p, cli_precisions)
/* --seed S into a uint64_t; h says what it seeds and its default. */
#define CLI_OPT_SEED(h, p, ...) CLI_U64("seed", 0, "S", h, p, __VA_ARGS__)
/* --classes A,B,... as given (the program checks the names); dflt: the
 * default, a string literal. */
#define CLI_OPT_CLASSES(dflt, p) CLI_STR("classes", 0, "A,B,...", \
	"class names in label order (default: " dflt ")", p)
/* -f, --format FMT for programs that write reports: text (the default on a
 * terminal), tsv, csv, json or frames (the default otherwise); the field is
 * an int set to -1 before parsing, and cli_format_default settles it. */
enum { CLI_FMT_TEXT, CLI_FMT_TSV, CLI_FMT_CSV, CLI_FMT_JSON, CLI_FMT_FRAMES };
extern const char *const cli_formats[];
#define CLI_OPT_FORMAT(h, p) CLI_CHOICE("format", 'f', "FMT", h "\n" \
	"(default: text on a terminal, frames otherwise)", p, cli_formats)
/* A format left at -1: CLI_FMT_TEXT when stdout is a terminal, else CLI_FMT_FRAMES. */
int cli_format_default(int format);
/* -j, --jobs N|auto into an int: worker threads of a filter (workpool.h),
 * 1 to 1024; 0 or auto store 0, which workpool_new reads as one per CPU. */
void cli_set_jobs(void *p, const char *s);
#define CLI_OPT_JOBS(h, p) CLI_CALL("jobs", 'j', "N|auto", h, cli_set_jobs, p)
/* -o, --output FILE; h says what is written there. */
#define CLI_OPT_OUTPUT(h, p) CLI_STR("output", 'o', "FILE", h, p)

/* Parses the command line of a program whose options are opts: sets
 * progname and ignores SIGPIPE (a closed pipe becomes a write error, which
 * die_write turns back into a quiet death by SIGPIPE when it is stdout's);
 * --help/-h anywhere (synopsis and the table's text on stdout, exit 0),
 * --version, -q/--quiet (err_quiet); "PROG --list-options" alone prints the
 * options one a line (--name, or --name= with a value; -x or -x=; then the
 * common ones) and exits 0, for the bash completion (mk/install.mk).  Every
 * other option is stored as its entry says, in command-line order; an
 * unknown option or a missing value dies with status 2.  synopsis: the
 * "usage:" lines, ending in a newline.  Returns the index in argv of the
 * first operand (as optind). */
int cli_parse(int argc, char **argv, const char *synopsis, const struct cli_opt *opts);
/* Writes the --help text of a program: synopsis, then a line for each
 * entry of opts (options aligned, help going on in the same column), then
 * the common options. */
void cli_usage(FILE *f, const char *synopsis, const struct cli_opt *opts);

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
/* Parses "HxW" (or "N": N x N) into *hP in [hmin, max] and *wP in
 * [wmin, max]; the
 * meaning of --size everywhere: height first, as an image's shape. */
void cli_size(const char *s, const char *opt, int hmin, int wmin, int max, int *hP, int *wP);

#endif
