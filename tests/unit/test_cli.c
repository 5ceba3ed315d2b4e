/* test_cli.c — option tables (libshared/cli.c): cli_parse stores every
 * kind into its field, in command-line order, with short and long names,
 * "--opt=V" and "--opt V", operands permuted after the options; .given
 * marks what was seen; --help is made from the table, aligned; the size
 * parser reads height first.  (Bad values exit 2: tests/cli cover them.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"

struct opts {
	int n, flag, choice, seen, called;
	long long big;
	double d;
	float f;
	uint64_t seed;
	const char *s, *out, *last_arg;
};

static const char *const colours[] = { "red", "green", "blue", NULL };

static void
on_call(void *p, const char *arg)
{
	struct opts *o = p;

	o->called++;
	o->last_arg = arg;
}

/* Runs cli_parse on the NULL-terminated words; returns the operand index. */
static int
parse(struct opts *o, char **argv)
{
	const struct cli_opt table[] = {
		CLI_TEXT("section:"),
		CLI_OPERAND("FILE", "input"),
		CLI_INT("num", 'n', "N", "a number", &o->n, 1, 10),
		CLI_FLAG("flag", 0, "a flag", &o->flag, .given = &o->seen),
		CLI_CHOICE("colour", 0, NULL, "a colour", &o->choice, colours),
		CLI_LLONG("big", 0, "N", "a big one", &o->big, 0, 1e15),
		CLI_DOUBLE("dbl", 0, "X", "a double\non two lines", &o->d, -1, 1),
		CLI_FLOAT("flt", 0, "X", "a float", &o->f, 0, 100),
		CLI_OPT_SEED("the seed", &o->seed),
		CLI_STR("str", 's', "S", "a string", &o->s),
		CLI_STR(NULL, 'o', "FILE", "short only", &o->out),
		CLI_CALL("call", 0, NULL, "a call", on_call, o),
		CLI_CALL("callv", 0, "V", "a call with a value", on_call, o),
		CLI_END
	};
	int argc = 0;

	while (argv[argc])
		argc++;
	return cli_parse(argc, argv, "usage: t [options] FILE\n", table);
}

static void
test_kinds(void **state)
{
	char *argv[] = { "t", "a.mpk", "-n", "7", "--flag", "--colour=blue", "--big", "123456789012",
	    "--dbl", "-0.5", "--flt", "2.5", "--seed", "18446744073709551615", "-sx", "-o", "out",
	    "--call", "--callv", "v1", "b.mpk", "-q", NULL };
	struct opts o = { 0 };
	int i;

	i = parse(&o, argv);
	assert_int_equal(o.n, 7);
	assert_int_equal(o.flag, 1);
	assert_int_equal(o.seen, 1);
	assert_int_equal(o.choice, 2);
	assert_true(o.big == 123456789012LL);
	assert_true(o.d == -0.5);
	assert_true(o.f == 2.5f);
	assert_true(o.seed == UINT64_MAX);
	assert_string_equal(o.s, "x");
	assert_string_equal(o.out, "out");
	assert_int_equal(o.called, 2);
	assert_string_equal(o.last_arg, "v1");
	assert_int_equal(err_quiet, 1);
	err_quiet = 0;
	/* the operands, permuted after the options, in order */
	assert_int_equal(i, 20);
	assert_string_equal(argv[i], "a.mpk");
	assert_string_equal(argv[i + 1], "b.mpk");
}

static void
test_order_and_defaults(void **state)
{
	char *argv[] = { "t", "-n", "2", "--num", "3", "--", "-n", NULL };
	struct opts o = { .n = 1, .s = "default" };
	int i;

	i = parse(&o, argv);
	assert_int_equal(o.n, 3);               /* the last one counts */
	assert_int_equal(o.seen, 0);            /* --flag not given */
	assert_string_equal(o.s, "default");
	assert_int_equal(i, 6);                 /* after "--": an operand */
	assert_string_equal(argv[i], "-n");
}

static void
test_help_text(void **state)
{
	struct opts o = { 0 };
	const struct cli_opt table[] = {
		CLI_TEXT("section:"),
		CLI_OPERAND("FILE", "input"),
		CLI_INT("num", 'n', "N", "a number", &o.n, 1, 10),
		CLI_FLAG("flag", 0, "a flag", &o.flag),
		CLI_CHOICE("colour", 0, NULL, "a colour", &o.choice, colours),
		CLI_DOUBLE("dbl", 0, "X", "a double\non two lines", &o.d, -1, 1),
		CLI_OPT_SEED("the seed", &o.seed),
		CLI_STR(NULL, 'o', "FILE", "short only", &o.out),
		CLI_END
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cli_usage(f, "usage: t [options] FILE\n", table);
	fclose(f);
	assert_string_equal(buf,
	    "usage: t [options] FILE\n"
	    "section:\n"
	    "  FILE                  input\n"
	    "  -n, --num N           a number\n"
	    "      --flag            a flag\n"
	    "      --colour red|green|blue  a colour\n"
	    "      --dbl X           a double\n"
	    "                        on two lines\n"
	    "      --seed S          the seed\n"
	    "  -o FILE               short only\n"
	    "common to every radpipe program:\n"
	    "  -q, --quiet           no progress or information messages\n"
	    "  -h, --help            print this text and exit\n"
	    "      --version         print the version and exit\n");
	free(buf);
}

/* An optional value: --name alone stores NULL (and marks .given), --name=V
 * and -xV store V, "--name V" leaves V an operand; --help shows [=ARG]. */
static void
test_optional(void **state)
{
	const char *layer = "unset";
	int seen = 0, n = 0;
	const struct cli_opt table[] = {
		CLI_STR("cam", 'c', "LAYER", "a map", &layer, .given = &seen, .optional = 1),
		CLI_INT("num", 'n', "N", "a number", &n, 1, 10),
		CLI_END
	};
	char *a1[] = { "t", "--cam", "x.mpk", NULL };
	char *a2[] = { "t", "--cam=mixed10", "-n", "2", NULL };
	char *a3[] = { "t", "-cmixed9", NULL };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(cli_parse(3, a1, "usage: t\n", table), 2);
	assert_null(layer);
	assert_int_equal(seen, 1);
	assert_string_equal(a1[2], "x.mpk");
	assert_int_equal(cli_parse(4, a2, "usage: t\n", table), 4);
	assert_string_equal(layer, "mixed10");
	assert_int_equal(n, 2);
	assert_int_equal(cli_parse(2, a3, "usage: t\n", table), 2);
	assert_string_equal(layer, "mixed9");
	assert_non_null(f = open_memstream(&buf, &len));
	cli_usage(f, "usage: t\n", table);
	fclose(f);
	assert_non_null(strstr(buf, "\n  -c, --cam[=LAYER]     a map\n"));
	free(buf);
}

static void
test_size(void **state)
{
	int h = 0, w = 0;

	cli_size("300x640", "--size", 5, 10, 20000, &h, &w);
	assert_int_equal(h, 300);
	assert_int_equal(w, 640);
	cli_size("299", "--size", 1, 1, 65536, &h, &w);
	assert_int_equal(h, 299);
	assert_int_equal(w, 299);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_order_and_defaults),
		cmocka_unit_test(test_help_text),
		cmocka_unit_test(test_optional),
		cmocka_unit_test(test_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
