/*
 * paths.c: descent paths --data FILE.csv --penalty l1|l2|both [--lambdas MIN:MAX:N]
 *                        [--plot FILE] [--json]
 * Regularization paths of a linear model: for each lambda (log-spaced, largest
 * first, each fit starting from the last), the coefficients minimizing
 *
 *     1/(2n) |X w - y|^2 + lambda |w|_1       (l1, the lasso)
 *     1/(2n) |X w - y|^2 + lambda/2 |w|^2     (l2, ridge)
 *
 * on standardized features and the centered target (so the intercept is the mean of
 * y and the coefficients compare). The smooth part is descended by the library's SGD
 * at step 1/L (L the largest eigenvalue of X^T X / n, plus lambda for ridge, whose
 * penalty is SGD's coupled weight_decay); for the lasso each step is followed by
 * soft-thresholding at lr * lambda (ISTA, proximal gradient), which sets coefficients
 * exactly to zero. The Gram matrix X^T X / n is formed once (CBLAS), so an iteration
 * costs O(d^2), not O(n d).
 */
#include "cli.h"
#include "descent_data.h"
#include "descent_plot.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAMBDAS 1000
#define MAX_ITER 200000
#define TOL 1e-12
#define MAX_FEATURES 256 /* lines in one figure panel */

typedef struct model {
    size_t n, d;
    double *gram; /* d x d, X^T X / n */
    double *xty;  /* d, X^T y / n */
    double lmax;  /* largest eigenvalue of gram */
} model;

typedef struct path {
    int l1;
    double *coef;    /* nlambda x d */
    int64_t *iters;  /* per lambda */
} path;

static void help(FILE *f)
{
    fprintf(f,
            "usage: descent paths --data FILE.csv --penalty l1|l2|both [--lambdas MIN:MAX:N]\n"
            "                     [--plot FILE.png|.svg|.pdf] [--json]\n"
            "  --data     CSV with a header row; the target is the last column\n"
            "  --penalty  l1 (lasso: exact zeros by proximal gradient), l2 (ridge), or both\n"
            "  --lambdas  N log-spaced penalties from MIN to MAX (default 1e-3:1e3:50)\n"
            "  --plot     coefficients against lambda, one line per feature\n"
            "  --json     print one JSON object on stdout\n"
            "  Objective: 1/(2n)|Xw - y|^2 + lambda|w|_1, or + lambda/2 |w|^2, with standardized\n"
            "  features and centered target; fitted with descent's SGD (step 1/L).\n");
}

/* "MIN:MAX:N": 0 < MIN <= MAX, 1 <= N <= MAX_LAMBDAS (N 1 needs MIN == MAX). */
static int parse_lambdas(const char *text, double *lambdas, size_t *count)
{
    char *end;
    double lo = strtod(text, &end);
    if (end == text || *end != ':') return -1;
    const char *s = end + 1;
    double hi = strtod(s, &end);
    if (end == s || *end != ':') return -1;
    int64_t n;
    if (cli_parse_int64(end + 1, 1, MAX_LAMBDAS, &n)) return -1;
    if (!(lo > 0) || !(hi >= lo) || !isfinite(hi) || (n == 1 && hi != lo)) return -1;
    for (int64_t k = 0; k < n; k++) /* largest first: each fit warm-starts the next */
        lambdas[k] = n == 1 ? hi : exp(log(hi) + (log(lo) - log(hi)) * (double)k / (double)(n - 1));
    *count = (size_t)n;
    return 0;
}

/* Standardized features and the centered target's Gram matrix and moment vector. */
static int build_model(const dsc_dataset *ds, model *m)
{
    size_t n = dsc_dataset_rows(ds), d = dsc_dataset_cols(ds);
    const double *x = dsc_dataset_x(ds), *y = dsc_dataset_y(ds);
    double *z = malloc(n * d * sizeof *z), *yc = malloc(n * sizeof *yc);
    double *mean = malloc(d * sizeof *mean), *std = malloc(d * sizeof *std);
    m->n = n, m->d = d;
    m->gram = malloc(d * d * sizeof *m->gram);
    m->xty = malloc(d * sizeof *m->xty);
    int ok = z && yc && mean && std && m->gram && m->xty;
    if (ok) {
        dsc_dataset_moments(ds, mean, std);
        double ybar = 0;
        for (size_t i = 0; i < n; i++) ybar += y[i] / (double)n;
        for (size_t i = 0; i < n; i++) {
            yc[i] = y[i] - ybar;
            for (size_t j = 0; j < d; j++) z[i * d + j] = (x[i * d + j] - mean[j]) / std[j];
        }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)n, 1.0 / (double)n, z, (int)d, z,
                    (int)d, 0.0, m->gram, (int)d);
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)d, 1.0 / (double)n, z, (int)d, yc, 1, 0.0, m->xty, 1);
    }
    free(z);
    free(yc);
    free(mean);
    free(std);
    return ok ? 0 : -1;
}

/* The largest eigenvalue of the (positive semi-definite) Gram matrix, by power
 * iteration, with a margin so that the step 1/L stays below the stability limit. */
static double largest_eigenvalue(const model *m)
{
    double *v = malloc(m->d * sizeof *v), *w = malloc(m->d * sizeof *w), lambda = 0;
    if (!v || !w) {
        free(v);
        free(w);
        return NAN;
    }
    for (size_t j = 0; j < m->d; j++) v[j] = 1.0 / sqrt((double)m->d);
    for (int it = 0; it < 500; it++) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m->d, (int)m->d, 1.0, m->gram, (int)m->d, v, 1, 0.0, w, 1);
        double norm = cblas_dnrm2((int)m->d, w, 1);
        if (!(norm > 0)) break;
        lambda = norm;
        for (size_t j = 0; j < m->d; j++) v[j] = w[j] / norm;
    }
    free(v);
    free(w);
    return 1.01 * lambda + 1e-12;
}

static double soft_threshold(double v, double t) { return v > t ? v - t : v < -t ? v + t : 0.0; }

/* One fit from w's current values; the iteration count into *iters. */
static dsc_status fit(const model *m, int l1, double lambda, double *w, double *grad, double *prev,
                      int64_t *iters)
{
    dsc_hparams hp = dsc_hparams_default(DSC_SGD);
    hp.lr = 1.0 / (m->lmax + (l1 ? 0.0 : lambda));
    hp.weight_decay = l1 ? 0.0 : lambda;
    dsc_param p = {.name = "w", .data = w, .grad = grad, .n = m->d, .dtype = DSC_F64};
    dsc_optim *opt;
    dsc_status st = dsc_optim_create(&opt, &hp, &p, 1);
    if (st) return st;
    int64_t it = 0;
    double change = INFINITY;
    while (it < MAX_ITER && change > TOL) {
        memcpy(prev, w, m->d * sizeof *w);
        /* gradient of the smooth part: gram w - X^T y / n */
        memcpy(grad, m->xty, m->d * sizeof *grad);
        cblas_dsymv(CblasRowMajor, CblasUpper, (int)m->d, 1.0, m->gram, (int)m->d, w, 1, -1.0, grad, 1);
        if ((st = dsc_optim_step(opt))) break;
        double scale = 1.0;
        change = 0;
        for (size_t j = 0; j < m->d; j++) {
            if (l1) w[j] = soft_threshold(w[j], hp.lr * lambda);
            scale = fmax(scale, fabs(w[j]));
            change = fmax(change, fabs(w[j] - prev[j]));
        }
        change /= scale;
        it++;
    }
    dsc_optim_destroy(opt);
    *iters = it;
    return st;
}

static dsc_status run_path(const model *m, path *pa, const double *lambdas, size_t count)
{
    double *w = calloc(m->d, sizeof *w), *grad = calloc(m->d, sizeof *grad), *prev = calloc(m->d, sizeof *prev);
    dsc_status st = w && grad && prev ? DSC_OK : DSC_ERR_NOMEM;
    for (size_t k = 0; k < count && !st; k++) {
        st = fit(m, pa->l1, lambdas[k], w, grad, prev, &pa->iters[k]);
        memcpy(&pa->coef[k * m->d], w, m->d * sizeof *w);
    }
    free(w);
    free(grad);
    free(prev);
    return st;
}

static const char *penalty_name(int l1) { return l1 ? "l1" : "l2"; }

static void print_table(const dsc_dataset *ds, const model *m, const path *pa, size_t npaths, const double *lambdas,
                        size_t count)
{
    for (size_t p = 0; p < npaths; p++) {
        printf("%s%s path, coefficients on standardized features:\n", p ? "\n" : "",
               pa[p].l1 ? "lasso (l1)" : "ridge (l2)");
        printf("%10s %7s %8s", "lambda", "nonzero", "iters");
        for (size_t j = 0; j < m->d; j++) printf(" %9.9s", dsc_dataset_feature_name(ds, j));
        printf("\n");
        for (size_t k = 0; k < count; k++) {
            const double *w = &pa[p].coef[k * m->d];
            size_t nz = 0;
            for (size_t j = 0; j < m->d; j++) nz += w[j] != 0;
            printf("%10.4g %7zu %8lld", lambdas[k], nz, (long long)pa[p].iters[k]);
            for (size_t j = 0; j < m->d; j++) printf(" %9.4g", w[j]);
            printf("\n");
        }
    }
}

static cJSON *path_json(const model *m, const path *pa, size_t count)
{
    cJSON *o = cJSON_CreateObject(), *coef = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "penalty", penalty_name(pa->l1));
    for (size_t k = 0; k < count; k++)
        cli_json_add(coef, NULL, cJSON_CreateDoubleArray(&pa->coef[k * m->d], (int)m->d));
    cli_json_add(o, "coef", coef);
    cJSON *iters = cJSON_AddArrayToObject(o, "iterations");
    for (size_t k = 0; k < count; k++) cli_json_add(iters, NULL, cJSON_CreateNumber((double)pa->iters[k]));
    return o;
}

static int print_json(const char *file, const dsc_dataset *ds, const model *m, const path *pa, size_t npaths,
                      const double *lambdas, size_t count, const dsc_plot_figure *fig, const char *plot)
{
    cJSON *o = cJSON_CreateObject(), *names = cJSON_AddArrayToObject(o, "features");
    cJSON_AddStringToObject(o, "data", file);
    cJSON_AddNumberToObject(o, "rows", (double)m->n);
    for (size_t j = 0; j < m->d; j++) cli_json_add(names, NULL, cJSON_CreateString(dsc_dataset_feature_name(ds, j)));
    cli_json_add(o, "lambdas", cJSON_CreateDoubleArray(lambdas, (int)count));
    cJSON *paths = cJSON_AddArrayToObject(o, "paths");
    for (size_t p = 0; p < npaths; p++) cli_json_add(paths, NULL, path_json(m, &pa[p], count));
    if (fig) {
        cJSON *po = cJSON_AddObjectToObject(o, "plot"), *panels = cJSON_AddArrayToObject(po, "panels");
        cJSON_AddStringToObject(po, "file", plot);
        for (size_t k = 0; k < fig->count; k++) {
            cJSON *pn = cJSON_CreateObject();
            cJSON_AddStringToObject(pn, "title", fig->panels[k].title);
            cJSON_AddNumberToObject(pn, "series", (double)fig->panels[k].count);
            cJSON_AddNumberToObject(pn, "points", (double)fig->panels[k].series[0].n);
            cli_json_add(panels, NULL, pn);
        }
    }
    return cli_print_json("paths", o);
}

/* One panel per path, one line per feature: coefficient against lambda (log axis). */
static int draw(const char *plot, const char *file, const dsc_dataset *ds, const model *m, const path *pa,
                size_t npaths, const double *lambdas, size_t count, dsc_plot_figure *fig, dsc_plot_panel *panels,
                dsc_plot_series *series, double *columns, char titles[][160])
{
    for (size_t p = 0; p < npaths; p++) {
        for (size_t j = 0; j < m->d; j++) {
            double *col = &columns[(p * m->d + j) * count];
            for (size_t k = 0; k < count; k++) col[k] = pa[p].coef[k * m->d + j];
            series[p * m->d + j] = (dsc_plot_series){.label = dsc_dataset_feature_name(ds, j), .x = lambdas,
                                                     .y = col, .n = count};
        }
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        snprintf(titles[p], 160, "%s on %s", pa[p].l1 ? "Lasso (L1)" : "Ridge (L2)", base);
        panels[p] = (dsc_plot_panel){.kind = DSC_PLOT_LINES, .title = titles[p], .xlabel = "penalty #gl",
                                     .ylabel = "coefficient (standardized features)",
                                     .series = &series[p * m->d], .count = m->d, .logx = 1};
    }
    *fig = (dsc_plot_figure){.panels = panels, .count = npaths};
    dsc_status st = dsc_plot_save(fig, plot);
    return st ? cli_lib_error("paths", st) : 0;
}

typedef struct options {
    const char *data, *plot;
    int penalties; /* 1 l1, 2 l2, 3 both */
    double lambdas[MAX_LAMBDAS];
    size_t count;
    int json;
} options;

static int parse(int argc, char **argv, options *o)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'D'}, {"penalty", required_argument, 0, 'p'},
        {"lambdas", required_argument, 0, 'l'}, {"plot", required_argument, 0, 'P'},
        {"json", no_argument, 0, 'j'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    parse_lambdas("1e-3:1e3:50", o->lambdas, &o->count);
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'D': o->data = optarg; break;
        case 'p':
            if (!strcmp(optarg, "l1")) o->penalties = 1;
            else if (!strcmp(optarg, "l2")) o->penalties = 2;
            else if (!strcmp(optarg, "both")) o->penalties = 3;
            else return cli_usage_error("paths", "--penalty must be l1, l2 or both, got '%s'", optarg);
            break;
        case 'l':
            if (parse_lambdas(optarg, o->lambdas, &o->count))
                return cli_usage_error("paths", "--lambdas must be MIN:MAX:N with 0 < MIN <= MAX and 1 <= N <= %d, got '%s'",
                                       MAX_LAMBDAS, optarg);
            break;
        case 'P': o->plot = optarg; break;
        case 'j': o->json = 1; break;
        case 'h': help(stdout); return -1;
        case ':': return cli_usage_error("paths", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("paths", "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("paths", "unexpected argument '%s'", argv[optind]);
    if (!o->data) return cli_usage_error("paths", "--data is required, e.g. --data data/diabetes.csv");
    if (!o->penalties) return cli_usage_error("paths", "--penalty is required: l1, l2 or both");
    return o->plot ? cli_check_plot("paths", o->plot) : 0;
}

int cmd_paths(int argc, char **argv)
{
    static options o;
    memset(&o, 0, sizeof o);
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    dsc_dataset *ds = NULL;
    dsc_status st = dsc_dataset_load_csv(&ds, o.data, "last");
    if (st) return cli_lib_error("paths", st);
    model m = {0};
    path pa[2] = {{0}, {0}};
    size_t npaths = o.penalties == 3 ? 2 : 1;
    if (dsc_dataset_cols(ds) > MAX_FEATURES) {
        rc = cli_usage_error("paths", "'%s' has %zu features, at most %d are supported", o.data, dsc_dataset_cols(ds),
                             MAX_FEATURES);
        goto done;
    }
    if (build_model(ds, &m) || !isfinite(m.lmax = largest_eigenvalue(&m))) {
        rc = cli_fail("paths", "out of memory for '%s'", o.data);
        goto done;
    }
    for (size_t p = 0; p < npaths && !rc; p++) {
        pa[p].l1 = o.penalties == 1 || (o.penalties == 3 && p == 1);
        pa[p].coef = malloc(o.count * m.d * sizeof *pa[p].coef);
        pa[p].iters = malloc(o.count * sizeof *pa[p].iters);
        if (!pa[p].coef || !pa[p].iters) rc = cli_fail("paths", "out of memory");
        else if ((st = run_path(&m, &pa[p], o.lambdas, o.count))) rc = cli_lib_error("paths", st);
    }
    dsc_plot_figure fig;
    dsc_plot_panel panels[2];
    dsc_plot_series *series = malloc(npaths * m.d * sizeof *series);
    double *columns = malloc(npaths * m.d * o.count * sizeof *columns);
    char titles[2][160];
    if (!rc && (!series || !columns)) rc = cli_fail("paths", "out of memory");
    if (!rc && o.plot) rc = draw(o.plot, o.data, ds, &m, pa, npaths, o.lambdas, o.count, &fig, panels, series, columns, titles);
    if (!rc && o.json) rc = print_json(o.data, ds, &m, pa, npaths, o.lambdas, o.count, o.plot ? &fig : NULL, o.plot);
    else if (!rc) print_table(ds, &m, pa, npaths, o.lambdas, o.count);
    free(series);
    free(columns);
done:
    for (size_t p = 0; p < 2; p++) {
        free(pa[p].coef);
        free(pa[p].iters);
    }
    free(m.gram);
    free(m.xty);
    dsc_dataset_destroy(ds);
    return rc;
}
