/* test_targets.c — multi-label target tables (libshared/targets.c): the
 * ChestX-ray14 findings layout (its real header, whose unquoted commas
 * give more header fields than row fields), the one-column-per-label
 * layout (CheXpert's 1.0/0.0/-1.0/empty), label maps harmonising both onto
 * one target list, and errors that name file:line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "targets.h"

static int
read_text(struct targets *t, const char *text, const char *map, const struct targets_opts *o,
    char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	FILE *mf = map ? fmemopen((void *)map, strlen(map), "r") : NULL;
	struct targets_opts none = { 0 };
	int rc;

	assert_non_null(f);
	rc = targets_read(t, f, "t.csv", mf, "m.tsv", o ? o : &none, err, errlen);
	fclose(f);
	if (mf)
		fclose(mf);
	return rc;
}

/* Asserts key's targets are want (a string of '1', '0', 'u'). */
static void
check_row(const struct targets *t, const char *key, const char *want)
{
	const signed char *v = targets_find(t, key);

	if (v == NULL)
		fail_msg("no row for '%s'", key);
	assert_int_equal((int)strlen(want), t->k);
	for (int i = 0; i < t->k; i++) {
		int w = want[i] == '1' ? 1 : want[i] == '0' ? 0 : -1;
		if (v[i] != w)
			fail_msg("'%s' target %d (%s): got %d, want %d", key, i, t->names[i], v[i], w);
	}
}

static const char cxr14[] =
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
    "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\r\n"
    "00000001_000.png,Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143\r\n"
    "00000001_001.png,Cardiomegaly|Emphysema,1,1,58,M,PA,2894,2729,0.143,0.143\r\n"
    "00000002_000.png,No Finding,0,2,81,M,PA,2500,2048,0.171,0.171\r\n"
    "00000003_000.png,Hernia|Effusion,0,3,81,F,PA,2582,2991,0.143,0.143\r\n";

static void
test_findings(void **state)
{
	struct targets t;
	char err[256];

	assert_int_equal(read_text(&t, cxr14, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(t.layout, TARGETS_FINDINGS);
	assert_int_equal(t.k, 4);       /* the sorted union, No Finding left out */
	assert_string_equal(t.names[0], "Cardiomegaly");
	assert_string_equal(t.names[1], "Effusion");
	assert_string_equal(t.names[2], "Emphysema");
	assert_string_equal(t.names[3], "Hernia");
	check_row(&t, "00000001_000.png", "1000");
	check_row(&t, "00000001_001.png", "1010");
	check_row(&t, "00000002_000.png", "0000");      /* No Finding: all 0 */
	check_row(&t, "00000003_000.png", "0101");
	assert_null(targets_find(&t, "00000009_000.png"));
	targets_free(&t);

	/* names given: their order; a finding outside them is ignored */
	struct targets_opts o = { .names = "Hernia,Cardiomegaly" };
	assert_int_equal(read_text(&t, cxr14, NULL, &o, err, sizeof err), 0);
	assert_int_equal(t.k, 2);
	check_row(&t, "00000001_001.png", "01");
	check_row(&t, "00000003_000.png", "10");
	targets_free(&t);
}

static const char chexpert[] =
    "Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Cardiomegaly,Pleural Effusion\n"
    "train/p1/s1/view1_frontal.jpg,Female,68,Frontal,AP,1.0,,0.0\n"
    "train/p2/s1/view1_frontal.jpg,Male,87,Frontal,AP,,-1.0,1.0\n"
    "\"train/p3/s1/view1,frontal.jpg\",Male,87,Frontal,AP,,1,-1\n";

static void
test_columns(void **state)
{
	struct targets t;
	char err[256];
	struct targets_opts o = { .names = "Cardiomegaly,Pleural Effusion,Pneumonia" };

	assert_int_equal(read_text(&t, chexpert, NULL, &o, err, sizeof err), 0);
	assert_int_equal(t.layout, TARGETS_COLUMNS);
	assert_int_equal(t.k, 3);
	/* empty and -1 unknown; Pneumonia is no column: unknown everywhere */
	check_row(&t, "train/p1/s1/view1_frontal.jpg", "u0u");
	check_row(&t, "train/p2/s1/view1_frontal.jpg", "u1u");
	check_row(&t, "train/p3/s1/view1,frontal.jpg", "1uu");
	assert_int_equal(t.unmapped[0], 0);
	assert_int_equal(t.unmapped[2], 1);
	targets_free(&t);

	o.uncertain = 1;        /* U-ones */
	assert_int_equal(read_text(&t, chexpert, NULL, &o, err, sizeof err), 0);
	check_row(&t, "train/p2/s1/view1_frontal.jpg", "11u");
	targets_free(&t);
	o.uncertain = 2;        /* U-zeros */
	assert_int_equal(read_text(&t, chexpert, NULL, &o, err, sizeof err), 0);
	check_row(&t, "train/p2/s1/view1_frontal.jpg", "01u");
	targets_free(&t);

	/* a plain 0/1 table: every column but the key is a label */
	assert_int_equal(read_text(&t, "id,disc,bar\na.png,1,0\nb.png,0,\n", NULL, NULL,
	    err, sizeof err), 0);
	assert_int_equal(t.k, 2);
	check_row(&t, "a.png", "10");
	check_row(&t, "b.png", "0u");
	targets_free(&t);
}

/* One map, two data sets: CheXpert's "Pleural Effusion" and ChestX-ray14's
 * "Effusion" onto "Effusion"; Hernia only from ChestX-ray14. */
static const char map[] =
    "# source column\tvalue\ttarget\tverdict\n"
    "Finding Labels\tEffusion\tEffusion\t1\n"
    "Finding Labels\tHernia\tHernia\t1\n"
    "Pleural Effusion\t1\tEffusion\t1\n"
    "Pleural Effusion\t0\tEffusion\t0\n"
    "Pleural Effusion\t-1\tEffusion\tunknown\n"
    "Pleural Effusion\t\tEffusion\tunknown\n"
    "Cardiomegaly\t*\tCardiomegaly\tunknown\n"
    "Cardiomegaly\t1\tCardiomegaly\t1\n";

static void
test_map(void **state)
{
	struct targets t;
	char err[256];

	assert_int_equal(read_text(&t, cxr14, map, NULL, err, sizeof err), 0);
	assert_int_equal(t.k, 3);       /* the map's targets, in its order */
	assert_string_equal(t.names[0], "Effusion");
	assert_string_equal(t.names[1], "Hernia");
	assert_string_equal(t.names[2], "Cardiomegaly");
	/* Cardiomegaly is fed only by CheXpert's column: unknown here, never 0 */
	check_row(&t, "00000001_000.png", "00u");
	check_row(&t, "00000002_000.png", "00u");
	check_row(&t, "00000003_000.png", "11u");
	assert_int_equal(t.unmapped[2], 1);
	targets_free(&t);

	assert_int_equal(read_text(&t, chexpert, map, NULL, err, sizeof err), 0);
	assert_int_equal(t.k, 3);
	check_row(&t, "train/p1/s1/view1_frontal.jpg", "0uu");  /* Hernia: never annotated */
	check_row(&t, "train/p2/s1/view1_frontal.jpg", "1uu");  /* Cardiomegaly -1.0: '*' */
	check_row(&t, "train/p3/s1/view1,frontal.jpg", "uu1");
	assert_int_equal(t.unmapped[1], 1);
	targets_free(&t);
}

static void
test_errors(void **state)
{
	static const struct { const char *text, *map, *names, *want; } bad[] = {
		{ "id,a\nx.png,2\n", NULL, NULL, "t.csv:2: column 'a': value '2' is not 1, 0, -1 or empty" },
		{ "id,a,b\nx.png,1,yes\n", NULL, NULL, "t.csv:2: column 'b': value 'yes'" },
		{ "id,a\n\"x.png,1\n", NULL, NULL, "t.csv:2: unterminated quote" },
		{ "id,a,b\nx.png,1\n", NULL, NULL, "t.csv:2: 2 fields, but column 'b' is field 3" },
		{ "id,a\nx.png,1\nx.png,0\n", NULL, NULL, "t.csv:3: 'x.png' has another row" },
		{ "id,a\n,1\n", NULL, NULL, "t.csv:2: empty key" },
		{ "id,a\n", NULL, NULL, "t.csv: no rows after the header" },
		{ "", NULL, NULL, "t.csv: empty (no header line)" },
		{ "id\nx.png\n", NULL, NULL, "t.csv:1: no label column" },
		{ "Finding Labels,x\nA,b\n", NULL, NULL, "t.csv:1: a \"Finding Labels\" column but no" },
		{ "id,a,a\nx,1,1\n", NULL, NULL, "t.csv:1: column 'a' appears twice" },
		{ "id,a\nx,1\n", "a\t1\tA\n", NULL, "m.tsv:1: expected SOURCE_COLUMN" },
		{ "id,a\nx,1\n", "a\t1\tA\tmaybe\n", NULL, "m.tsv:1: 'maybe' is not" },
		{ "id,a\nx,1\n", "a\t1\tA\t1\na\t1\tA\t0\n", NULL, "m.tsv:2: a = '1' is mapped twice" },
		{ "id,a\nx,0\n", "a\t1\tA\t1\n", NULL, "t.csv:2: column 'a': value '0' is not in the label map" },
		{ "id,a\nx,1\n", "b\t1\tA\t1\n", NULL, "t.csv:1: no label column (no column of the label map" },
		{ "id,a\nx,1\n", "", NULL, "m.tsv: an empty label map" },
		{ "id,a\nx,1\n", NULL, "a,,b", "target names 'a,,b': an empty name" },
		{ "id,a\nx,1\n", NULL, "a,a", "target names 'a,a': a repeated name" },
		{ "Image Index,Finding Labels\nx,No Finding\n", NULL, NULL, "t.csv: no target label" },
	};
	struct targets t;
	char err[256];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct targets_opts o = { .names = bad[i].names };
		err[0] = '\0';
		if (read_text(&t, bad[i].text, bad[i].map, &o, err, sizeof err) != -1)
			fail_msg("case %zu ('%s'): accepted", i, bad[i].want);
		if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
			fail_msg("case %zu: want '%s', got '%s'", i, bad[i].want, err);
		assert_int_equal(t.k, 0);
		assert_null(t.v);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_findings),
		cmocka_unit_test(test_columns),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
