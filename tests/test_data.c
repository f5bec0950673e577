/* test_data.c: the dataset loaders (CSV, NPY, IDX) on valid files and on every kind of
 * malformed file, the bundled datasets, splits and column statistics. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "descent_data.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dsc_test_data_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes len bytes to a file in the temp dir; returns its path (static storage, two
 * slots so a test can hold a features and a targets path). */
static const char *write_file(const char *name, const void *data, size_t len)
{
    static char paths[2][320];
    static int slot;
    char *p = paths[slot++ & 1];
    snprintf(p, 320, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return p;
}

static const char *write_text(const char *name, const char *text)
{
    return write_file(name, text, strlen(text));
}

static dsc_dataset *csv_ok(const char *text, const char *target)
{
    dsc_dataset *ds = NULL;
    dsc_status st = dsc_dataset_load_csv(&ds, write_text("ok.csv", text), target);
    if (st != DSC_OK) fail_msg("csv failed: %s", dsc_last_error());
    return ds;
}

/* A loader's failure: the status, a message holding needle, no dataset. */
static void expect_failure(dsc_status st, const dsc_dataset *ds, dsc_status want, const char *needle,
                           const char *what)
{
    if (st != want) fail_msg("%s: status %d, want %d (%s)", what, st, want, dsc_last_error());
    if (!strstr(dsc_last_error(), needle)) fail_msg("%s: message '%s' lacks '%s'", what, dsc_last_error(), needle);
    assert_null(ds);
}

static void csv_bad(const char *text, const char *target, dsc_status want, const char *needle)
{
    dsc_dataset *ds = NULL;
    dsc_status st = dsc_dataset_load_csv(&ds, write_text("bad.csv", text), target);
    expect_failure(st, ds, want, needle, text);
}

static void test_csv_valid(void **state)
{
    (void)state;
    dsc_dataset *ds = csv_ok("a, b ,y\n1,2,0\n3,4.5,1\n", NULL);
    assert_int_equal(dsc_dataset_rows(ds), 2);
    assert_int_equal(dsc_dataset_cols(ds), 2);
    assert_string_equal(dsc_dataset_feature_name(ds, 0), "a");
    assert_string_equal(dsc_dataset_feature_name(ds, 1), "b");
    assert_null(dsc_dataset_feature_name(ds, 2));
    assert_string_equal(dsc_dataset_target_name(ds), "y");
    const double *x = dsc_dataset_x(ds), *y = dsc_dataset_y(ds);
    assert_true(x[0] == 1 && x[1] == 2 && x[2] == 3 && x[3] == 4.5 && y[0] == 0 && y[1] == 1);
    dsc_dataset_destroy(ds);

    /* target by name, CRLF, quotes, blank lines, no final newline */
    ds = csv_ok("\"t\",u,v\r\n7,\"-1e-3\",2\r\n\r\n8,0x10,3", "t");
    assert_int_equal(dsc_dataset_rows(ds), 2);
    assert_string_equal(dsc_dataset_target_name(ds), "t");
    assert_string_equal(dsc_dataset_feature_name(ds, 0), "u");
    x = dsc_dataset_x(ds);
    y = dsc_dataset_y(ds);
    assert_true(y[0] == 7 && y[1] == 8 && x[0] == -1e-3 && x[1] == 2 && x[2] == 16 && x[3] == 3);
    dsc_dataset_destroy(ds);
    ds = csv_ok("a,b\n1,2\n", "last");
    assert_true(dsc_dataset_y(ds)[0] == 2);
    dsc_dataset_destroy(ds);
}

static void test_csv_malformed(void **state)
{
    (void)state;
    csv_bad("", NULL, DSC_ERR_FORMAT, "is empty");
    csv_bad("  \n\r\n\n", NULL, DSC_ERR_FORMAT, "is empty");
    csv_bad("a,b\n", NULL, DSC_ERR_FORMAT, "no data rows");
    csv_bad("a,b\n\n  \n", NULL, DSC_ERR_FORMAT, "no data rows");
    csv_bad("only\n1\n", NULL, DSC_ERR_FORMAT, "at least 2 columns");
    csv_bad("a,,c\n1,2,3\n", NULL, DSC_ERR_FORMAT, "line 1, column 2: empty column name");
    csv_bad("a,b,c\n1,2,3\n4,5\n", NULL, DSC_ERR_FORMAT, "line 3 has 2 fields, the header has 3");
    csv_bad("a,b,c\n1,2,3,4\n", NULL, DSC_ERR_FORMAT, "line 2 has 4 fields, the header has 3");
    csv_bad("a,b,c\n1,2,3\n4,abc,6\n", NULL, DSC_ERR_FORMAT, "line 3, column 2: 'abc' is not a finite number");
    csv_bad("a,b,c\n1,2,3\n4,5,six\n", NULL, DSC_ERR_FORMAT, "line 3, column 3: 'six'");
    csv_bad("a,b,c\n1,2,3\n4,six,5\n", NULL, DSC_ERR_FORMAT, "line 3, column 2: 'six'");
    csv_bad("a,b,c\n1,,3\n", NULL, DSC_ERR_FORMAT, "line 2, column 2: empty cell");
    csv_bad("a,b\n1,nan\n", NULL, DSC_ERR_FORMAT, "line 2, column 2: NaN (a missing target");
    csv_bad("a,b\nnan,1\n", NULL, DSC_ERR_FORMAT, "line 2, column 1: NaN (a missing value)");
    csv_bad("a,b\n1,inf\n", NULL, DSC_ERR_FORMAT, "'inf'");
    csv_bad("a,b,c\n1,2x,0\n", NULL, DSC_ERR_FORMAT, "'2x'");
    csv_bad("a,b\n1,x\n", NULL, DSC_ERR_FORMAT, "'x' is not a finite number"); /* labels: dsc_dataset_load */
    csv_bad("\n\na,b\n1,2\n3\n", NULL, DSC_ERR_FORMAT, "line 5 has 1 fields");
    csv_bad("a,b\n1,2\n", "nosuch", DSC_ERR_ARG, "no column named 'nosuch'");

    dsc_dataset *ds = NULL;
    assert_int_equal(dsc_dataset_load_csv(&ds, "/nonexistent/x.csv", NULL), DSC_ERR_IO);
    assert_non_null(strstr(dsc_last_error(), "/nonexistent/x.csv"));
    assert_int_equal(dsc_dataset_load_csv(&ds, tmpdir, NULL), DSC_ERR_IO); /* a directory */
    assert_int_equal(dsc_dataset_load_csv(NULL, "x", NULL), DSC_ERR_ARG);
    assert_int_equal(dsc_dataset_load_csv(&ds, NULL, NULL), DSC_ERR_ARG);
}

static dsc_dataset *bundled(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/../data/%s", DSC_TEST_DATA, name);
    dsc_dataset *ds = NULL;
    if (dsc_dataset_load_csv(&ds, path, NULL) != DSC_OK) fail_msg("%s: %s", path, dsc_last_error());
    return ds;
}

static void test_bundled_datasets(void **state)
{
    (void)state;
    static const struct { const char *file; size_t rows, cols, classes; } want[] = {
        {"digits.csv", 1797, 64, 10}, {"breast_cancer.csv", 569, 30, 2}, {"iris.csv", 150, 4, 3},
        {"wine.csv", 178, 13, 3},     {"diabetes.csv", 442, 10, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        dsc_dataset *ds = bundled(want[i].file);
        assert_int_equal(dsc_dataset_rows(ds), want[i].rows);
        assert_int_equal(dsc_dataset_cols(ds), want[i].cols);
        assert_int_equal(dsc_dataset_classes(ds), want[i].classes);
        dsc_dataset_destroy(ds);
    }
    dsc_dataset *iris = bundled("iris.csv");
    assert_string_equal(dsc_dataset_feature_name(iris, 0), "sepal_length_(cm)");
    assert_string_equal(dsc_dataset_target_name(iris), "label");
    assert_true(dsc_dataset_x(iris)[0] == 5.1 && dsc_dataset_x(iris)[3] == 0.2);
    dsc_dataset_destroy(iris);
}

/* ---- npy */

/* A .npy file of version 1.0: magic, header padded to 64 bytes, then data. */
static size_t npy_bytes(unsigned char *out, const char *dict, const void *data, size_t len)
{
    size_t dl = strlen(dict), hl = (10 + dl + 1 + 63) / 64 * 64 - 10;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (unsigned char)(hl & 0xff);
    out[9] = (unsigned char)(hl >> 8);
    memset(out + 10, ' ', hl);
    memcpy(out + 10, dict, dl);
    out[10 + hl - 1] = '\n';
    memcpy(out + 10 + hl, data, len);
    return 10 + hl + len;
}

static const char *npy_file(const char *name, const char *dict, const void *data, size_t len)
{
    static unsigned char buf[4096];
    size_t n = npy_bytes(buf, dict, data, len);
    return write_file(name, buf, n);
}

/* The loaders that read a features file and a targets file. */
typedef dsc_status (*pair_loader)(dsc_dataset **out, const char *xpath, const char *ypath);

static void pair_bad(pair_loader load, const char *xp, const char *yp, dsc_status want, const char *needle)
{
    dsc_dataset *ds = NULL;
    dsc_status st = load(&ds, xp, yp);
    expect_failure(st, ds, want, needle, xp);
}

#define npy_bad(...) pair_bad(dsc_dataset_load_npy, __VA_ARGS__)
#define idx_bad(...) pair_bad(dsc_dataset_load_idx, __VA_ARGS__)

static void test_npy(void **state)
{
    (void)state;
    const double xs[6] = {1, 2, 3, 4, 5, -6.5};
    const int64_t ys[3] = {0, 2, -1};
    const char *xp = npy_file("x.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", xs, sizeof xs);
    const char *yp = npy_file("y.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", ys, sizeof ys);
    dsc_dataset *ds = NULL;
    assert_int_equal(dsc_dataset_load_npy(&ds, xp, yp), DSC_OK);
    assert_int_equal(dsc_dataset_rows(ds), 3);
    assert_int_equal(dsc_dataset_cols(ds), 2);
    assert_true(dsc_dataset_x(ds)[5] == -6.5 && dsc_dataset_y(ds)[1] == 2 && dsc_dataset_y(ds)[2] == -1);
    dsc_dataset_destroy(ds);

    const float xf[4] = {0.5f, 1.5f, 2.5f, 3.5f};
    const unsigned char yu[2] = {7, 255};
    xp = npy_file("xf.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", xf, sizeof xf);
    yp = npy_file("yu.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1), }", yu, sizeof yu);
    assert_int_equal(dsc_dataset_load_npy(&ds, xp, yp), DSC_OK);
    assert_true(dsc_dataset_x(ds)[3] == 3.5 && dsc_dataset_y(ds)[0] == 7 && dsc_dataset_y(ds)[1] == 255);
    dsc_dataset_destroy(ds);

    const int16_t xi[2] = {-3, 300};
    xp = npy_file("xi.npy", "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }", xi, sizeof xi);
    yp = npy_file("yu.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", yu, sizeof yu);
    assert_int_equal(dsc_dataset_load_npy(&ds, xp, yp), DSC_OK);
    assert_int_equal(dsc_dataset_cols(ds), 1);
    assert_true(dsc_dataset_x(ds)[0] == -3 && dsc_dataset_x(ds)[1] == 300);
    size_t shape[3];
    assert_int_equal(dsc_dataset_shape(ds, shape), 0); /* flat rows */
    dsc_dataset_destroy(ds);

    /* images: (n, c, h, w) and (n, h, w) rows of c*h*w values, their shape kept */
    xp = npy_file("x4.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 1, 2), }", xs, sizeof xs);
    yp = npy_file("y1.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", ys, 8);
    assert_int_equal(dsc_dataset_load_npy(&ds, xp, yp), DSC_OK);
    assert_int_equal(dsc_dataset_cols(ds), 6);
    assert_int_equal(dsc_dataset_shape(ds, shape), 1);
    assert_true(shape[0] == 3 && shape[1] == 1 && shape[2] == 2 && dsc_dataset_x(ds)[5] == -6.5);
    dsc_dataset_destroy(ds);
    xp = npy_file("x3.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 3), }", xs, sizeof xs);
    assert_int_equal(dsc_dataset_load_npy(&ds, xp, yp), DSC_OK);
    assert_int_equal(dsc_dataset_shape(ds, shape), 1);
    assert_true(shape[0] == 1 && shape[1] == 2 && shape[2] == 3);
    dsc_dataset_destroy(ds);
}

static void test_npy_malformed(void **state)
{
    (void)state;
    const double xs[6] = {1, 2, 3, 4, 5, 6};
    const double nan2[2] = {1, NAN};
    const char *yp = npy_file("y.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", xs, 24);
    const char *xp;
    xp = npy_file("a.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", xs, sizeof xs);
    npy_bad(xp, yp, DSC_ERR_MISMATCH, "has 2 rows but");
    xp = npy_file("a.npy", "{'descr': '>f8', 'fortran_order': False, 'shape': (3, 2), }", xs, sizeof xs);
    npy_bad(xp, yp, DSC_ERR_UNSUPPORTED, "big-endian");
    xp = npy_file("a.npy", "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }", xs, sizeof xs);
    npy_bad(xp, yp, DSC_ERR_UNSUPPORTED, "Fortran order");
    xp = npy_file("a.npy", "{'descr': '<c16', 'fortran_order': False, 'shape': (3, 1), }", xs, 48);
    npy_bad(xp, yp, DSC_ERR_UNSUPPORTED, "unsupported dtype '<c16'");
    xp = npy_file("a.npy", "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 1), }", xs, 6);
    npy_bad(xp, yp, DSC_ERR_UNSUPPORTED, "unsupported dtype");
    xp = npy_file("a.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", xs, 40);
    npy_bad(xp, yp, DSC_ERR_FORMAT, "needs 48 bytes of data, the file has 40");
    xp = npy_file("a.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 2, 1, 1), }", xs, 48);
    npy_bad(xp, yp, DSC_ERR_FORMAT, "want 1 to 4");
    xp = npy_file("a.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", xs, 8);
    npy_bad(xp, yp, DSC_ERR_FORMAT, "0 dimensions");
    xp = npy_file("a.npy", "{'fortran_order': False, 'shape': (3, 2), }", xs, 48);
    npy_bad(xp, yp, DSC_ERR_FORMAT, "no 'descr'");
    xp = npy_file("a.npy", "{'descr': '<f8', 'shape': (3, 2), }", xs, 48);
    npy_bad(xp, yp, DSC_ERR_FORMAT, "no 'fortran_order'");
    xp = npy_file("a.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }", nan2, 16);
    npy_bad(xp, npy_file("b.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", xs, 16),
            DSC_ERR_FORMAT, "not finite");
    xp = npy_file("a.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", xs, 48);
    npy_bad(xp, npy_file("b.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", xs, 48),
            DSC_ERR_MISMATCH, "targets must be 1-D");
    npy_bad(write_text("c.npy", "not numpy at all"), yp, DSC_ERR_FORMAT, "bad magic");
    npy_bad(write_file("c.npy", "\x93NUMPY\x01\x00\xff\x00{", 11), yp, DSC_ERR_FORMAT, "header is truncated");
    npy_bad(write_file("c.npy", "", 0), yp, DSC_ERR_FORMAT, "bad magic");
    npy_bad(write_file("c.npy", "\x93NUMPY\x02\x00\x10\x00", 10), yp, DSC_ERR_FORMAT, "header is truncated");
    npy_bad(write_file("c.npy", "\x93NUMPY\x09\x00\x10\x00", 10), yp, DSC_ERR_UNSUPPORTED, "format version 9");
    npy_bad("/nonexistent.npy", yp, DSC_ERR_IO, "cannot open");
    /* 2^38 rows of width 0 hold no bytes; without a targets file the loader once asked
     * for 2 TiB of zero targets before it said the array was empty (a fuzzer found it:
     * out of memory in CI, an abort under ASan). */
    xp = npy_file("a.npy", "{'descr': '<i2', 'fortran_order': False, 'shape': (274877906944, 0), }", xs, 0);
    npy_bad(xp, NULL, DSC_ERR_FORMAT, "is empty (274877906944 x 0)");
}

/* ---- idx */

static size_t idx_bytes(unsigned char *out, unsigned type, const uint32_t *dims, unsigned nd,
                        const unsigned char *data, size_t len)
{
    out[0] = out[1] = 0;
    out[2] = (unsigned char)type;
    out[3] = (unsigned char)nd;
    for (unsigned i = 0; i < nd; i++)
        for (int b = 0; b < 4; b++) out[4 + 4 * i + b] = (unsigned char)(dims[i] >> (24 - 8 * b));
    memcpy(out + 4 + 4 * nd, data, len);
    return 4 + 4 * nd + len;
}

static const char *idx_gz(const char *name, const unsigned char *raw, size_t len)
{
    static char path[320];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, raw, (unsigned)len), (int)len);
    gzclose(g);
    return path;
}

static void test_idx(void **state)
{
    (void)state;
    unsigned char img[64], lab[64];
    const unsigned char pix[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255};
    const unsigned char labels[3] = {1, 0, 9};
    size_t ni = idx_bytes(img, 0x08, (const uint32_t[]){3, 2, 2}, 3, pix, 12);
    size_t nl = idx_bytes(lab, 0x08, (const uint32_t[]){3}, 1, labels, 3);
    char xp[320];
    snprintf(xp, sizeof xp, "%s", write_file("img.idx", img, ni));
    const char *yp = write_file("lab.idx", lab, nl);
    dsc_dataset *ds = NULL;
    assert_int_equal(dsc_dataset_load_idx(&ds, xp, yp), DSC_OK);
    assert_int_equal(dsc_dataset_rows(ds), 3);
    assert_int_equal(dsc_dataset_cols(ds), 4);
    assert_true(dsc_dataset_x(ds)[11] == 255 && dsc_dataset_x(ds)[5] == 5 && dsc_dataset_y(ds)[2] == 9);
    assert_string_equal(dsc_dataset_target_name(ds), "label");
    dsc_dataset_destroy(ds);

    /* the same, gzip-compressed */
    snprintf(xp, sizeof xp, "%s", idx_gz("img.idx.gz", img, ni));
    assert_int_equal(dsc_dataset_load_idx(&ds, xp, idx_gz("lab.idx.gz", lab, nl)), DSC_OK);
    assert_int_equal(dsc_dataset_rows(ds), 3);
    assert_true(dsc_dataset_x(ds)[11] == 255 && dsc_dataset_y(ds)[0] == 1);
    dsc_dataset_destroy(ds);

    /* big-endian int16 and float64 element types */
    const unsigned char s16[4] = {0xff, 0xfe, 0x01, 0x00};
    ni = idx_bytes(img, 0x0B, (const uint32_t[]){2, 1}, 2, s16, 4);
    snprintf(xp, sizeof xp, "%s", write_file("s16.idx", img, ni));
    nl = idx_bytes(lab, 0x08, (const uint32_t[]){2}, 1, labels, 2);
    assert_int_equal(dsc_dataset_load_idx(&ds, xp, write_file("lab2.idx", lab, nl)), DSC_OK);
    assert_true(dsc_dataset_x(ds)[0] == -2 && dsc_dataset_x(ds)[1] == 256);
    dsc_dataset_destroy(ds);
}

static void test_idx_malformed(void **state)
{
    (void)state;
    unsigned char img[64], lab[64];
    const unsigned char pix[12] = {0};
    const unsigned char labels[4] = {1, 0, 9, 3};
    size_t ni = idx_bytes(img, 0x08, (const uint32_t[]){3, 2, 2}, 3, pix, 12);
    char xp[320];
    snprintf(xp, sizeof xp, "%s", write_file("img.idx", img, ni));
    size_t nl = idx_bytes(lab, 0x08, (const uint32_t[]){4}, 1, labels, 4);
    idx_bad(xp, write_file("lab.idx", lab, nl), DSC_ERR_MISMATCH, "has 3 images but");
    nl = idx_bytes(lab, 0x08, (const uint32_t[]){3, 1}, 2, labels, 3);
    idx_bad(xp, write_file("lab.idx", lab, nl), DSC_ERR_MISMATCH, "labels must have 1 dimension");
    nl = idx_bytes(lab, 0x08, (const uint32_t[]){3}, 1, labels, 2);
    idx_bad(xp, write_file("lab.idx", lab, nl), DSC_ERR_FORMAT, "need 3 bytes of data, the file has 2");
    nl = idx_bytes(lab, 0x07, (const uint32_t[]){3}, 1, labels, 3);
    idx_bad(xp, write_file("lab.idx", lab, nl), DSC_ERR_FORMAT, "unknown element type 0x07");
    nl = idx_bytes(lab, 0x08, (const uint32_t[]){3}, 0, labels, 0);
    idx_bad(xp, write_file("lab.idx", lab, nl), DSC_ERR_FORMAT, "0 dimensions");
    idx_bad(xp, write_file("lab.idx", "\x00\x00\x08\x02\x00", 5), DSC_ERR_FORMAT, "header is truncated");
    idx_bad(xp, write_text("lab.idx", "PK\x03\x04"), DSC_ERR_FORMAT, "bad magic");
    idx_bad(xp, write_file("lab.idx", "\x1f\x8b\x08\x00\x00\x00", 6), DSC_ERR_FORMAT, "corrupt or truncated gzip");
    /* a gzip file cut in half */
    nl = idx_bytes(lab, 0x08, (const uint32_t[]){3}, 1, labels, 3);
    const char *gz = idx_gz("lab.gz", lab, nl);
    FILE *f = fopen(gz, "rb");
    unsigned char cut[256];
    size_t n = fread(cut, 1, sizeof cut, f);
    fclose(f);
    idx_bad(xp, write_file("cut.gz", cut, n / 2), DSC_ERR_FORMAT, "corrupt or truncated gzip");
    idx_bad(xp, "/nonexistent.idx", DSC_ERR_IO, "cannot open");
}

/* Only regular files are read: a directory, a device that never ends (which would be
 * read until memory runs out) and a FIFO without a writer (which would block) are
 * refused at once, each loader naming itself and the path. */
static void test_not_regular_files(void **state)
{
    (void)state;
    char fifo[320];
    snprintf(fifo, sizeof fifo, "%s/fifo", tmpdir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *paths[] = {tmpdir, "/dev/zero", fifo};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        char want[400];
        snprintf(want, sizeof want, "'%s' is not a regular file", paths[i]);
        dsc_dataset *ds = NULL;
        expect_failure(dsc_dataset_load_csv(&ds, paths[i], NULL), ds, DSC_ERR_IO, want, "csv");
        assert_true(!strncmp(dsc_last_error(), "csv: ", 5));
        expect_failure(dsc_dataset_load_npy(&ds, paths[i], paths[i]), ds, DSC_ERR_IO, want, "npy");
        assert_true(!strncmp(dsc_last_error(), "npy: ", 5));
        expect_failure(dsc_dataset_load_idx(&ds, paths[i], paths[i]), ds, DSC_ERR_IO, want, "idx");
        assert_true(!strncmp(dsc_last_error(), "idx: ", 5));
    }
    unlink(fifo);
}

/* ---- splits and statistics */

static void test_split_stratified(void **state)
{
    (void)state;
    /* 100 rows: 80 of class 0, 20 of class 1; x holds the row index */
    double x[100], y[100];
    for (int i = 0; i < 100; i++) {
        x[i] = i;
        y[i] = i % 5 == 0;
    }
    dsc_dataset *ds, *train, *test, *train2, *test2;
    assert_int_equal(dsc_dataset_create(&ds, 100, 1, x, y), DSC_OK);
    assert_int_equal(dsc_dataset_classes(ds), 2);
    assert_int_equal(dsc_dataset_split(ds, 0.25, 42, 2, &train, &test), DSC_OK);
    assert_int_equal(dsc_dataset_rows(test), 25);
    assert_int_equal(dsc_dataset_rows(train), 75);
    int seen[100] = {0}, ones = 0;
    for (size_t i = 0; i < 25; i++) {
        seen[(int)dsc_dataset_x(test)[i]]++;
        ones += dsc_dataset_y(test)[i] == 1;
    }
    for (size_t i = 0; i < 75; i++) seen[(int)dsc_dataset_x(train)[i]]++;
    for (int i = 0; i < 100; i++) assert_int_equal(seen[i], 1); /* a partition */
    assert_int_equal(ones, 5);                                  /* 25 % of the 20 */
    /* same seed, same split; another seed, another */
    assert_int_equal(dsc_dataset_split(ds, 0.25, 42, 2, &train2, &test2), DSC_OK);
    assert_memory_equal(dsc_dataset_x(test), dsc_dataset_x(test2), 25 * sizeof(double));
    dsc_dataset_destroy(train2);
    dsc_dataset_destroy(test2);
    assert_int_equal(dsc_dataset_split(ds, 0.25, 43, 0, &train2, &test2), DSC_OK);
    assert_int_equal(dsc_dataset_rows(test2), 25);
    assert_memory_not_equal(dsc_dataset_x(test), dsc_dataset_x(test2), 25 * sizeof(double));
    dsc_dataset_destroy(train2);
    dsc_dataset_destroy(test2);

    assert_int_equal(dsc_dataset_split(ds, 1.0, 1, 0, &train2, &test2), DSC_ERR_RANGE);
    assert_int_equal(dsc_dataset_split(ds, 0.001, 1, 0, &train2, &test2), DSC_ERR_RANGE);
    assert_int_equal(dsc_dataset_split(ds, 0.5, 1, 1, &train2, &test2), DSC_ERR_ARG); /* label 1 >= 1 class */
    dsc_dataset_destroy(train);
    dsc_dataset_destroy(test);
    dsc_dataset_destroy(ds);
}

static void test_moments_and_subset(void **state)
{
    (void)state;
    const double x[6] = {1, 5, 3, 5, 5, 5}, y[3] = {0, 1, 2};
    dsc_dataset *ds, *sub;
    assert_int_equal(dsc_dataset_create(&ds, 3, 2, x, y), DSC_OK);
    double mean[2], sd[2];
    dsc_dataset_moments(ds, mean, sd);
    assert_true(mean[0] == 3 && mean[1] == 5);
    assert_float_equal(sd[0], sqrt(8.0 / 3), 1e-15);
    assert_true(sd[1] == 1); /* a constant column */
    assert_int_equal(dsc_dataset_subset(ds, (const size_t[]){2, 0, 2}, 3, &sub), DSC_OK);
    assert_true(dsc_dataset_x(sub)[0] == 5 && dsc_dataset_x(sub)[2] == 1 && dsc_dataset_y(sub)[2] == 2);
    dsc_dataset_destroy(sub);
    assert_int_equal(dsc_dataset_subset(ds, (const size_t[]){3}, 1, &sub), DSC_ERR_ARG);
    assert_int_equal(dsc_dataset_create(&sub, 0, 2, x, y), DSC_ERR_ARG);
    /* non-integer or too many distinct targets: regression */
    const double yr[3] = {0, 0.5, 1};
    assert_int_equal(dsc_dataset_create(&sub, 3, 2, x, yr), DSC_OK);
    assert_int_equal(dsc_dataset_classes(sub), 0);
    dsc_dataset_destroy(sub);
    dsc_dataset_destroy(ds);
}

/* ---- what dsc_dataset_load adds: class labels, headerless files, separators,
 * missing values, files without targets, .npz */

static dsc_dataset *load_ok(const char *name, const char *text, const dsc_load_options *o)
{
    dsc_dataset *ds = NULL;
    if (dsc_dataset_load(&ds, write_text(name, text), o) != DSC_OK) fail_msg("%s: %s", text, dsc_last_error());
    return ds;
}

static void load_bad(const char *name, const char *text, const dsc_load_options *o, dsc_status want,
                     const char *needle)
{
    dsc_dataset *ds = NULL;
    expect_failure(dsc_dataset_load(&ds, write_text(name, text), o), ds, want, needle, text);
}

static void assert_y(const dsc_dataset *ds, const double *want, size_t n)
{
    assert_int_equal(dsc_dataset_rows(ds), n);
    for (size_t i = 0; i < n; i++)
        if (dsc_dataset_y(ds)[i] != want[i]) fail_msg("y[%zu] = %g, want %g", i, dsc_dataset_y(ds)[i], want[i]);
}

static void test_csv_labels(void **state)
{
    (void)state;
    dsc_load_options o = dsc_load_options_default();
    /* sorted by byte value, like LabelEncoder: upper case first */
    dsc_dataset *ds = load_ok("l.csv", "a,species\n1,setosa\n2,versicolor\n3,\"setosa\"\n4,Virginica\n", &o);
    assert_int_equal(dsc_dataset_label_count(ds), 3);
    assert_string_equal(dsc_dataset_label(ds, 0), "Virginica");
    assert_string_equal(dsc_dataset_label(ds, 1), "setosa");
    assert_string_equal(dsc_dataset_label(ds, 2), "versicolor");
    assert_null(dsc_dataset_label(ds, 3));
    assert_int_equal(dsc_dataset_classes(ds), 3);
    assert_y(ds, (const double[]){1, 2, 1, 0}, 4);
    dsc_dataset *sub = NULL;
    assert_int_equal(dsc_dataset_subset(ds, (const size_t[]){3}, 1, &sub), DSC_OK);
    assert_int_equal(dsc_dataset_label_count(sub), 3); /* a split keeps the classes */
    assert_string_equal(dsc_dataset_label(sub, 1), "setosa");
    dsc_dataset_destroy(sub);
    dsc_dataset_destroy(ds);
    /* a model's labels: the same indices whatever the file holds, unknown ones refused */
    static const char *const given[] = {"b", "a"};
    o.labels = given;
    o.nlabels = 2;
    ds = load_ok("l.csv", "x,y\n1,a\n2,a\n", &o);
    assert_y(ds, (const double[]){1, 1}, 2);
    assert_int_equal(dsc_dataset_label_count(ds), 2);
    assert_string_equal(dsc_dataset_label(ds, 0), "b");
    dsc_dataset_destroy(ds);
    load_bad("l.csv", "x,y\n1,a\n2,c\n", &o, DSC_ERR_MISMATCH, "line 3, column 2: unknown class label 'c'");
    /* numeric targets stay numbers; texts among numbers are errors, not classes */
    o = dsc_load_options_default();
    ds = load_ok("l.csv", "x,y\n1,2\n2,0\n", &o);
    assert_int_equal(dsc_dataset_label_count(ds), 0);
    dsc_dataset_destroy(ds);
    load_bad("l.csv", "x,y\n1,2\n2,two\n", &o, DSC_ERR_FORMAT, "line 3, column 2: 'two' is not a finite number");
}

/* A first row of numbers is data, not a header: nothing is lost. */
static void test_csv_headerless(void **state)
{
    (void)state;
    dsc_dataset *ds = csv_ok("1,2,0\n3,4,1\n\n5,6,1\n", NULL);
    assert_int_equal(dsc_dataset_cols(ds), 2);
    assert_y(ds, (const double[]){0, 1, 1}, 3);
    assert_true(dsc_dataset_x(ds)[0] == 1 && dsc_dataset_x(ds)[5] == 6);
    assert_string_equal(dsc_dataset_feature_name(ds, 1), "x1");
    assert_string_equal(dsc_dataset_target_name(ds), "y");
    dsc_dataset_destroy(ds);
    csv_bad("1,2,0\n3,4,1\n", "y", DSC_ERR_ARG, "has no header row");
    csv_bad("1,2,0\n3,4\n", NULL, DSC_ERR_FORMAT, "line 2 has 2 fields, the first row has 3");
    /* a header with one name that is a number is still a header */
    ds = csv_ok("1,b,y\n3,4,1\n", NULL);
    assert_int_equal(dsc_dataset_rows(ds), 1);
    assert_string_equal(dsc_dataset_feature_name(ds, 0), "1");
    dsc_dataset_destroy(ds);
}

static void test_csv_separators(void **state)
{
    (void)state;
    dsc_load_options o = dsc_load_options_default();
    dsc_dataset *ds = load_ok("t.tsv", "a\tb\ty\n1.5\t2\t0\n3\t4\t1\n", &o);
    assert_int_equal(dsc_dataset_cols(ds), 2);
    assert_true(dsc_dataset_x(ds)[0] == 1.5 && dsc_dataset_x(ds)[3] == 4 && dsc_dataset_y(ds)[1] == 1);
    dsc_dataset_destroy(ds);
    o.sep = ';';
    /* a decimal comma is not a number (strtod reads the C locale) */
    load_bad("s.csv", "a;b;y\n1,5;2;0\n", &o, DSC_ERR_FORMAT, "'1,5' is not a finite number");
    ds = load_ok("s.csv", "a;b;y\n1.5;2;0\n", &o);
    assert_true(dsc_dataset_x(ds)[0] == 1.5 && dsc_dataset_cols(ds) == 2);
    dsc_dataset_destroy(ds);
    o.sep = ':';
    load_bad("s.csv", "a:b\n1:2\n", &o, DSC_ERR_ARG, "separator must be");
    o = dsc_load_options_default();
    o.targets = "t.npy";
    load_bad("s.csv", "a,b\n1,2\n", &o, DSC_ERR_ARG, "a targets file is for .npy and IDX");
}

static void test_csv_missing(void **state)
{
    (void)state;
    const char *text = "a,b,y\n1,,0\n3,4,1\nNaN,8,1\n5,6,0\n";
    dsc_load_options o = dsc_load_options_default();
    load_bad("m.csv", text, &o, DSC_ERR_FORMAT, "line 2, column 2: empty cell (a missing value)");
    o.missing = DSC_MISSING_DROP;
    dsc_dataset *ds = load_ok("m.csv", text, &o);
    assert_y(ds, (const double[]){1, 0}, 2);
    assert_true(dsc_dataset_x(ds)[0] == 3 && dsc_dataset_x(ds)[3] == 6);
    dsc_dataset_destroy(ds);
    o.missing = DSC_MISSING_MEAN;
    ds = load_ok("m.csv", text, &o);
    assert_y(ds, (const double[]){0, 1, 1, 0}, 4);
    const double *x = dsc_dataset_x(ds);
    assert_true(x[1] == 6 && x[4] == 3 && x[0] == 1); /* b's mean (4+8+6)/3, a's (1+3+5)/3 */
    dsc_dataset_destroy(ds);
    const double fill[2] = {-1, -2};
    o.fill = fill;
    ds = load_ok("m.csv", text, &o);
    assert_true(dsc_dataset_x(ds)[1] == -2 && dsc_dataset_x(ds)[4] == -1);
    dsc_dataset_destroy(ds);
    o.fill = NULL;
    load_bad("m.csv", "a,y\n1,0\n2,\n", &o, DSC_ERR_FORMAT, "line 3, column 2: empty cell (a missing target");
    load_bad("m.csv", "a,b,y\n1,,0\n2,nan,1\n", &o, DSC_ERR_FORMAT, "column 'b' has no values");
    o.missing = DSC_MISSING_DROP;
    load_bad("m.csv", "a,y\n1,\n,1\n", &o, DSC_ERR_FORMAT, "every row has a missing value");
}

/* A model's feature count tells whether the last column is a target. */
static void test_csv_without_targets(void **state)
{
    (void)state;
    dsc_load_options o = dsc_load_options_default();
    o.features = 2;
    dsc_dataset *ds = load_ok("f.csv", "a,b\n1,2\n3,4\n", &o);
    assert_int_equal(dsc_dataset_has_targets(ds), 0);
    assert_int_equal(dsc_dataset_cols(ds), 2);
    assert_true(dsc_dataset_x(ds)[3] == 4);
    dsc_dataset_destroy(ds);
    ds = load_ok("f.csv", "a,b,y\n1,2,7\n", &o);
    assert_int_equal(dsc_dataset_has_targets(ds), 1);
    assert_y(ds, (const double[]){7}, 1);
    dsc_dataset_destroy(ds);
    load_bad("f.csv", "a,b,c,d\n1,2,3,4\n", &o, DSC_ERR_MISMATCH, "has 4 columns, the model takes 2 features");
    o = dsc_load_options_default();
    o.no_target = 1;
    ds = load_ok("f.csv", "5\n6\n", &o);
    assert_int_equal(dsc_dataset_cols(ds), 1);
    assert_int_equal(dsc_dataset_rows(ds), 2);
    dsc_dataset_destroy(ds);
}

static const char *corpus(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/../fuzz/corpus/npz/%s", DSC_TEST_DATA, name);
    return path;
}

/* Archives NumPy wrote (fuzz/make_npz_corpus.py): x = arange(12).reshape(4, 3),
 * y = [0, 1, 1, 0], stored (np.savez) and deflated (np.savez_compressed). */
static void test_npz(void **state)
{
    (void)state;
    const char *files[] = {"stored.npz", "deflated.npz"};
    dsc_load_options o = dsc_load_options_default();
    for (size_t f = 0; f < 2; f++) {
        dsc_dataset *ds = NULL;
        if (dsc_dataset_load(&ds, corpus(files[f]), &o)) fail_msg("%s: %s", files[f], dsc_last_error());
        assert_int_equal(dsc_dataset_cols(ds), 3);
        assert_y(ds, (const double[]){0, 1, 1, 0}, 4);
        for (int i = 0; i < 12; i++) assert_true(dsc_dataset_x(ds)[i] == i);
        dsc_dataset_destroy(ds);
    }
    dsc_dataset *ds = NULL;
    o.x_key = "features";
    o.y_key = "labels";
    assert_int_equal(dsc_dataset_load(&ds, corpus("other_keys.npz"), &o), DSC_OK);
    assert_int_equal(dsc_dataset_cols(ds), 3);
    assert_true(dsc_dataset_y(ds)[1] == 1);
    dsc_dataset_destroy(ds);
    ds = NULL;
    o = dsc_load_options_default();
    expect_failure(dsc_dataset_load(&ds, corpus("other_keys.npz"), &o), ds, DSC_ERR_ARG, "has no array named 'y'", "y");
    o.features = 1; /* a model's data: without y, features only */
    assert_int_equal(dsc_dataset_load(&ds, corpus("other_keys.npz"), &o), DSC_OK);
    assert_int_equal(dsc_dataset_has_targets(ds), 0);
    assert_int_equal(dsc_dataset_cols(ds), 1);
    dsc_dataset_destroy(ds);
    ds = NULL;
    o = dsc_load_options_default();
    expect_failure(dsc_dataset_load(&ds, corpus("flipped.npz"), &o), ds, DSC_ERR_FORMAT, "npz: ", "flipped");
    expect_failure(dsc_dataset_load(&ds, corpus("truncated.npz"), &o), ds, DSC_ERR_FORMAT, "not a zip archive",
                   "truncated");
    o.y_key = "nosuch";
    expect_failure(dsc_dataset_load(&ds, corpus("stored.npz"), &o), ds, DSC_ERR_ARG, "no array named 'nosuch'", "key");
    expect_failure(dsc_dataset_load(&ds, write_text("z.npz", "PK"), &o), ds, DSC_ERR_FORMAT, "too short", "short");
}

/* A member whose directory entry claims more than deflate can make of its bytes is
 * refused before anything is allocated. */
static void test_npz_bomb(void **state)
{
    (void)state;
    FILE *f = fopen(corpus("deflated.npz"), "rb");
    assert_non_null(f);
    unsigned char buf[1024];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* the central directory's first entry: uncompressed size at +24 */
    for (size_t i = 0; i + 46 < n; i++)
        if (!memcmp(buf + i, "PK\x01\x02", 4)) {
            memcpy(buf + i + 24, "\x00\x00\x00\x7f", 4);
            break;
        }
    dsc_dataset *ds = NULL;
    expect_failure(dsc_dataset_load(&ds, write_file("bomb.npz", buf, n), NULL), ds, DSC_ERR_FORMAT, "claims", "bomb");
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Runs load in a child limited to limit_mb of address space; the child's status is
 * the load's (or 99 when the limit cannot be set). Skipped under ASan, whose shadow
 * memory needs far more address space. */
static int limited(dsc_status (*load)(void), size_t limit_mb)
{
#ifdef UNDER_ASAN
    (void)load;
    (void)limit_mb;
    return -1;
#else
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit r = {limit_mb << 20, limit_mb << 20};
        if (setrlimit(RLIMIT_AS, &r)) _exit(99);
        _exit(-(int)load());
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? -WEXITSTATUS(status) : -100;
#endif
}

static char bounded_x[320], bounded_y[320];

static dsc_status load_wide_blank_csv(void)
{
    dsc_dataset *ds = NULL;
    dsc_status st = dsc_dataset_load_csv(&ds, bounded_x, NULL);
    dsc_dataset_destroy(ds);
    return st;
}

static dsc_status load_idx_pair(void)
{
    dsc_dataset *ds = NULL;
    dsc_status st = dsc_dataset_load_idx(&ds, bounded_x, bounded_y);
    dsc_dataset_destroy(ds);
    return st;
}

/* Bad sizes are refused within a small memory bound (issue 13): a 5,000-column header
 * over 100,000 blank lines, and a gzip IDX whose label count disagrees. */
static void test_bounded_memory(void **state)
{
    (void)state;
    size_t cols = 5000, blanks = 100000;
    char *text = malloc(cols * 8 + blanks + 16), *p = text;
    for (size_t j = 0; j < cols; j++) p += sprintf(p, "%sc%zu", j ? "," : "", j);
    memset(p, '\n', blanks);
    p += blanks;
    strcpy(p, "1,2\n");
    snprintf(bounded_x, sizeof bounded_x, "%s", write_text("wide.csv", text));
    free(text);
    int st = limited(load_wide_blank_csv, 512);
    if (st != -1) assert_int_equal(st, DSC_ERR_FORMAT);

    /* 200,000 images of 28 x 28 zero bytes (157 MB, 150 KB gzipped) and 10 labels */
    static unsigned char zeros[1 << 20];
    unsigned char head[16];
    size_t nh = idx_bytes(head, 0x08, (const uint32_t[]){200000, 28, 28}, 3, zeros, 0);
    snprintf(bounded_x, sizeof bounded_x, "%s/big.idx.gz", tmpdir);
    gzFile g = gzopen(bounded_x, "wb");
    assert_non_null(g);
    gzwrite(g, head, (unsigned)nh);
    for (size_t left = (size_t)200000 * 784; left > 0;) {
        unsigned chunk = left < sizeof zeros ? (unsigned)left : (unsigned)sizeof zeros;
        assert_int_equal(gzwrite(g, zeros, chunk), (int)chunk);
        left -= chunk;
    }
    gzclose(g);
    unsigned char lab[32];
    size_t nl = idx_bytes(lab, 0x08, (const uint32_t[]){10}, 1, zeros, 10);
    snprintf(bounded_y, sizeof bounded_y, "%s", write_file("ten.idx", lab, nl));
    st = limited(load_idx_pair, 256);
    if (st != -1) assert_int_equal(st, DSC_ERR_MISMATCH);
    dsc_dataset *ds = NULL;
    expect_failure(load_idx_pair(), ds, DSC_ERR_MISMATCH, "has 200000 images but", "idx");
}

/* With dtype F32, features that float32 holds exactly stay in float32 (half the
 * memory, the same values); others stay in float64. Subsets and statistics follow. */
static void test_float32(void **state)
{
    (void)state;
    const float xs[6] = {1.5f, -2, 0.1f, 4, 5, 6};
    const double xd[6] = {1.5, -2, (double)0.1f, 4, 5, 6}, ys[3] = {0, 1, 0};
    char xp[320];
    snprintf(xp, sizeof xp, "%s", npy_file("f.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", xs, 24));
    const char *yp = npy_file("y.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", ys, 24);
    dsc_load_options o = dsc_load_options_default();
    o.targets = yp;
    o.dtype = DSC_F32;
    dsc_dataset *f = NULL, *d = NULL, *sub = NULL;
    assert_int_equal(dsc_dataset_load(&f, xp, &o), DSC_OK);
    assert_null(dsc_dataset_x(f));
    assert_non_null(dsc_dataset_x32(f));
    assert_memory_equal(dsc_dataset_x32(f), xs, sizeof xs);
    assert_true(dsc_dataset_y(f)[1] == 1);
    assert_int_equal(dsc_dataset_create(&d, 3, 2, xd, ys), DSC_OK);
    double m1[2], s1[2], m2[2], s2[2];
    dsc_dataset_moments(f, m1, s1);
    dsc_dataset_moments(d, m2, s2);
    assert_memory_equal(m1, m2, sizeof m1);
    assert_memory_equal(s1, s2, sizeof s1);
    assert_int_equal(dsc_dataset_subset(f, (const size_t[]){2, 0}, 2, &sub), DSC_OK);
    assert_null(dsc_dataset_x(sub));
    assert_true(dsc_dataset_x32(sub)[0] == 5 && dsc_dataset_x32(sub)[3] == -2);
    dsc_dataset_destroy(sub);
    dsc_dataset_destroy(f);
    dsc_dataset_destroy(d);
    f = NULL;
    /* float64 data stays float64 */
    snprintf(xp, sizeof xp, "%s", npy_file("d.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", xd, 48));
    assert_int_equal(dsc_dataset_load(&f, xp, &o), DSC_OK);
    assert_null(dsc_dataset_x32(f));
    assert_memory_equal(dsc_dataset_x(f), xd, sizeof xd);
    dsc_dataset_destroy(f);
    /* IDX bytes, gzip-compressed */
    unsigned char img[64], lab[64];
    const unsigned char pix[4] = {0, 7, 255, 3}, labels[2] = {1, 0};
    size_t ni = idx_bytes(img, 0x08, (const uint32_t[]){2, 2}, 2, pix, 4);
    size_t nl = idx_bytes(lab, 0x08, (const uint32_t[]){2}, 1, labels, 2);
    snprintf(xp, sizeof xp, "%s", idx_gz("i.idx.gz", img, ni));
    o.targets = write_file("l.idx", lab, nl);
    assert_int_equal(dsc_dataset_load(&f, xp, &o), DSC_OK);
    assert_true(dsc_dataset_x32(f)[2] == 255 && dsc_dataset_x32(f)[1] == 7 && dsc_dataset_y(f)[0] == 1);
    dsc_dataset_destroy(f);
}

/* The standardization's statistics of a float32 .npy loaded as float32, against values
 * worked out by hand (every sum below is exact in double): the mean, then the root of
 * the mean squared deviation from it, per column; a constant column gets 1. */
static void test_float32_moments(void **state)
{
    (void)state;
    const float xs[12] = {1, 0.25f, 7, 2, 0.75f, 7, 3, 1.5f, 7, 6, -0.5f, 7}; /* 4 rows x 3 */
    const int64_t ys[4] = {0, 1, 0, 1};
    dsc_load_options o = dsc_load_options_default();
    o.dtype = DSC_F32;
    char xp[320];
    snprintf(xp, sizeof xp, "%s", npy_file("m.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", xs, sizeof xs));
    o.targets = npy_file("my.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", ys, sizeof ys);
    dsc_dataset *ds = NULL;
    assert_int_equal(dsc_dataset_load(&ds, xp, &o), DSC_OK);
    assert_non_null(dsc_dataset_x32(ds));
    double mean[3], sd[3];
    dsc_dataset_moments(ds, mean, sd);
    /* column 0: 1, 2, 3, 6; deviations -2, -1, 0, 3: 14 / 4 */
    assert_true(mean[0] == 3 && sd[0] == sqrt(3.5));
    /* column 1: 0.25, 0.75, 1.5, -0.5; deviations -0.25, 0.25, 1, -1: 2.125 / 4 */
    assert_true(mean[1] == 0.5 && sd[1] == sqrt(0.53125));
    assert_true(mean[2] == 7 && sd[2] == 1);
    dsc_dataset_destroy(ds);
}

/* A .npy of header and n values of elem bytes at data, written in one go; its path
 * (static storage, one slot). */
static const char *npy_big(const char *name, const char *dict, const void *data, size_t n, size_t elem)
{
    unsigned char head[256];
    size_t h = npy_bytes(head, dict, "", 0);
    static char path[320];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(head, 1, h, f), h);
    assert_int_equal(fwrite(data, elem, n, f), n);
    fclose(f);
    return path;
}

/* An array past the size that gets huge pages, read straight into float32 (as stored)
 * and through a conversion into float64: every value arrives; a NaN or an infinity is
 * found wherever it is (the scan tests blocks of 4096 at a time), and the first named. */
static void test_npy_large(void **state)
{
    (void)state;
    enum { ROWS = 150001, COLS = 8, N = ROWS * COLS }; /* 4.8 MB of float32, a partial last block */
    float *v = malloc(N * sizeof *v);
    double *y = malloc(ROWS * sizeof *y);
    assert_true(v && y);
    for (size_t i = 0; i < N; i++) v[i] = (float)(i % 1000) - 500.25f;
    for (size_t i = 0; i < ROWS; i++) y[i] = (double)(i % 3);
    char xp[320];
    snprintf(xp, sizeof xp, "%s", npy_big("big.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (150001, 8), }", v, N, 4));
    char yp[320];
    snprintf(yp, sizeof yp, "%s", npy_big("bigy.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (150001,), }", y, ROWS, 8));
    dsc_load_options o = dsc_load_options_default();
    o.targets = yp;
    dsc_dataset *f = NULL, *d = NULL;
    o.dtype = DSC_F32;
    assert_int_equal(dsc_dataset_load(&f, xp, &o), DSC_OK);
    o.dtype = DSC_F64;
    assert_int_equal(dsc_dataset_load(&d, xp, &o), DSC_OK);
    assert_int_equal(dsc_dataset_rows(f), ROWS);
    assert_memory_equal(dsc_dataset_x32(f), v, N * sizeof *v);
    for (size_t i = 0; i < N; i++)
        if (dsc_dataset_x(d)[i] != (double)v[i]) fail_msg("value %zu: %g, want %g", i, dsc_dataset_x(d)[i], (double)v[i]);
    assert_memory_equal(dsc_dataset_y(f), y, ROWS * sizeof *y);
    dsc_dataset_destroy(f);
    dsc_dataset_destroy(d);
    /* the first bad value, in a middle block, in the last partial block, at the very end */
    const size_t at[3][2] = {{4096 * 100 + 17, 4096 * 100 + 4000}, {N - 5, N - 1}, {N - 1, N - 1}};
    for (int k = 0; k < 3; k++) {
        float keep[2] = {v[at[k][0]], v[at[k][1]]};
        v[at[k][1]] = INFINITY;
        v[at[k][0]] = k == 1 ? -INFINITY : NAN;
        snprintf(xp, sizeof xp, "%s", npy_big("bad.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (150001, 8), }", v, N, 4));
        char want[64];
        snprintf(want, sizeof want, "value %zu (row %zu) is not finite", at[k][0], at[k][0] / COLS);
        for (int dt = 0; dt < 2; dt++) {
            o.dtype = dt ? DSC_F64 : DSC_F32;
            dsc_dataset *bad = NULL;
            expect_failure(dsc_dataset_load(&bad, xp, &o), bad, DSC_ERR_FORMAT, want, xp);
        }
        v[at[k][0]] = keep[0];
        v[at[k][1]] = keep[1];
    }
    free(v);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_valid),        cmocka_unit_test(test_csv_malformed),
        cmocka_unit_test(test_bundled_datasets), cmocka_unit_test(test_npy),
        cmocka_unit_test(test_npy_malformed),    cmocka_unit_test(test_idx),
        cmocka_unit_test(test_idx_malformed),    cmocka_unit_test(test_split_stratified),
        cmocka_unit_test(test_moments_and_subset), cmocka_unit_test(test_not_regular_files),
        cmocka_unit_test(test_csv_labels),       cmocka_unit_test(test_csv_headerless),
        cmocka_unit_test(test_csv_separators),   cmocka_unit_test(test_csv_missing),
        cmocka_unit_test(test_csv_without_targets), cmocka_unit_test(test_npz),
        cmocka_unit_test(test_npz_bomb),         cmocka_unit_test(test_bounded_memory),
        cmocka_unit_test(test_float32),          cmocka_unit_test(test_float32_moments),
        cmocka_unit_test(test_npy_large),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
