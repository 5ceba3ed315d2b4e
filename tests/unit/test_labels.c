/* test_labels.c — CSV label tables (libshared/labels.c): labels_read on
 * memory files; quotes, comments, CRLF, extra columns; every error says
 * "name:line: reason" and leaves the table empty. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "labels.h"

static int
read_text(struct labels *l, const char *text, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	assert_non_null(f);
	rc = labels_read(l, f, "t.csv", err, errlen);
	fclose(f);
	return rc;
}

static void
test_table(void **state)
{
	struct labels l;
	char err[256];

	assert_int_equal(read_text(&l, "key,class\n# comment\nTRAIN/a.png,abd\n"
	    "\"b,2.png\", chest \n\"q\"\"3\",abd,extra\n\r\n1.2.840.1,chest\r\n", err, sizeof err), 0);
	assert_int_equal(l.nclasses, 2);
	assert_string_equal(l.classes[0], "abd");
	assert_string_equal(l.classes[1], "chest");
	assert_int_equal(labels_find(&l, "TRAIN/a.png"), 0);
	assert_int_equal(labels_find(&l, "b,2.png"), 1);
	assert_int_equal(labels_find(&l, "q\"3"), 0);
	assert_int_equal(labels_find(&l, "1.2.840.1"), 1);
	assert_int_equal(labels_find(&l, "key"), -1);
	labels_free(&l);
}

static void
test_errors(void **state)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "k,c\na,x\na,y\n", "t.csv:3: 'a' is labelled both 'x' and 'y'" },
		{ "k,c\n\"a,x\n", "t.csv:2: unterminated quote" },
		{ "k,c\nlonely\n", "t.csv:2: expected KEY,CLASS" },
		{ "k,c\n,x\n", "t.csv:2: expected KEY,CLASS" },
		{ "key,class\n", "t.csv: no labels" },
		{ "", "t.csv: no labels" },
	};
	struct labels l;
	char err[256];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(read_text(&l, bad[i].text, err, sizeof err), -1);
		if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
			fail_msg("'%s': got '%s'", bad[i].want, err);
		assert_int_equal(l.nclasses, 0);
		assert_null(l.classes);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
