/* train_output.c: what descent train shows: progress on stderr, the final table, the
 * JSON object, the history CSV. */
#include "train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

void train_on_batch(size_t done, size_t total, double loss, void *user)
{
    train_progress *p = user;
    if (!p->tty || p->quiet) return;
    double t = cli_now();
    if (t - p->last_draw < 0.1 && done < total) return;
    p->last_draw = t;
    double el = t - p->epoch_start, rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    int width = 30, fill = (int)(width * (double)done / (double)total);
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[width] = 0;
    fprintf(stderr, "\r[%s] %zu/%zu  %.0f samples/s  loss %.4f  ETA %.1fs ", bar, done, total, rate,
            loss, eta);
}

void train_on_epoch(const dsc_epoch *e, void *user)
{
    train_progress *p = user;
    if (!p->quiet) {
        if (p->tty) fprintf(stderr, "\r\033[K");
        const char *m = p->classify ? "acc" : "r2";
        fprintf(stderr, "epoch %lld/%lld  loss %.4f  %s %.4f", (long long)e->epoch, (long long)p->epochs,
                e->train_loss, m, e->train_metric);
        if (!isnan(e->val_loss)) fprintf(stderr, "  val_loss %.4f  val_%s %.4f", e->val_loss, m, e->val_metric);
        if (!isnan(e->avg_val_loss)) fprintf(stderr, "  avg_val_loss %.4f", e->avg_val_loss);
        fprintf(stderr, "  lr %.3g  %.2fs\n", e->lr, e->seconds);
    }
    if (p->saver) train_saver_epoch(p->saver, e);
    p->epoch_start = p->last_draw = cli_now();
}

static void layers_text(const dsc_mlp *m, char *buf, size_t size)
{
    const dsc_mlp_config *c = dsc_mlp_get_config(m);
    size_t used = 0;
    if (c->model) {
        snprintf(buf, size, "%s", c->model);
        return;
    }
    for (int i = 0; i <= c->layers && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%zu", i ? "-" : "", c->sizes[i]);
}

int train_print_table(const train_opts *o, const train_result *r)
{
    const dsc_history *h = r->hist;
    const dsc_epoch *last = &h->epochs[h->count - 1];
    int cls = r->classes > 0;
    char net[1024];
    layers_text(r->model, net, sizeof net);
    dsc_blas_info bi = dsc_blas_get_info();
    printf("data      %s: %zu rows x %zu features, %s", o->data, r->rows, r->cols, cls ? "classification" : "regression");
    if (cls) printf(" (%zu classes)", r->classes);
    const dsc_mlp_config *c = dsc_mlp_get_config(r->model);
    printf("\nnetwork   %s%s%s, %s, %s%s%s\n", net, c->model ? "" : " ", c->model ? "" : o->activation,
           dsc_dtype_name(c->dtype),
           o->optimizer, o->schedule ? ", schedule " : "", o->schedule ? o->schedule : "");
    if (o->average) printf("average   %s\n", o->average);
    printf("blas      %s (%s kernels, %d thread%s)\n\n", bi.name, bi.core, bi.threads, cli_s(bi.threads));
    printf("%-10s %10s %10s%s\n", "", "loss", cls ? "accuracy" : "R^2", cls ? "" : "       RMSE");
    printf("%-10s %10.4f %10.4f\n", "train", last->train_loss, last->train_metric);
    if (!isnan(last->val_loss)) printf("%-10s %10.4f %10.4f\n", "validation", last->val_loss, last->val_metric);
    if (!isnan(last->avg_val_loss)) printf("%-10s %10.4f %10.4f\n", "  averaged", last->avg_val_loss, last->avg_val_metric);
    if (r->test_rows) {
        printf("%-10s %10.4f %10.4f", "test", r->test_loss, r->test_metric);
        if (!cls) printf(" %10.4g", r->test_rmse);
        printf("\n");
    }
    if (r->test_rows && o->average) {
        printf("%-10s %10.4f %10.4f", "  averaged", r->avg_test_loss, r->avg_test_metric);
        if (!cls) printf(" %10.4g", r->avg_test_rmse);
        printf("\n");
    }
    double samples = (double)r->train_rows * (double)((int64_t)h->count - r->resumed_at);
    long long epochs = (long long)((int64_t)h->count - r->resumed_at);
    printf("\n%lld epoch%s in %.3g s (%.0f samples/s)%s", epochs, cli_s(epochs), h->seconds, samples / h->seconds,
           h->stopped_early ? ", stopped early" : "");
    if (r->resumed_at) printf(", resumed after epoch %lld (%zu in all)", (long long)r->resumed_at, h->count);
    if (o->save) printf(", saved to %s", o->save);
    printf("\n");
    if (h->best_epoch) printf("best validation loss at epoch %lld\n", (long long)h->best_epoch);
    return 0;
}

/* The losses and metrics of an epoch (accuracy or R^2 by the task); with an average,
 * validation at it too. */
static void add_scores(cJSON *o, const dsc_epoch *e, int cls, int average)
{
    cli_add_number(o, "train_loss", e->train_loss);
    cli_add_number(o, cls ? "train_accuracy" : "train_r2", e->train_metric);
    cli_add_number(o, "val_loss", e->val_loss);
    cli_add_number(o, cls ? "val_accuracy" : "val_r2", e->val_metric);
    if (!average) return;
    cli_add_number(o, "average_val_loss", e->avg_val_loss);
    cli_add_number(o, cls ? "average_val_accuracy" : "average_val_r2", e->avg_val_metric);
}

/* Test scores at the live weights (prefix "") or at the average ("average_"). */
static void add_test(cJSON *j, const char *prefix, double loss, double metric, double rmse, int cls)
{
    char key[40];
    snprintf(key, sizeof key, "%stest_loss", prefix);
    cli_add_number(j, key, loss);
    snprintf(key, sizeof key, "%stest_%s", prefix, cls ? "accuracy" : "rmse");
    cli_add_number(j, key, cls ? metric : rmse);
    if (cls) return;
    snprintf(key, sizeof key, "%stest_r2", prefix);
    cli_add_number(j, key, metric);
}

static cJSON *history_json(const dsc_history *h, int cls, int average)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < h->count; i++) {
        const dsc_epoch *e = &h->epochs[i];
        cJSON *o = cJSON_CreateObject();
        if (!o) break;
        cli_add_number(o, "epoch", (double)e->epoch);
        add_scores(o, e, cls, average);
        cli_add_number(o, "lr", e->lr);
        cli_add_number(o, "skipped", (double)e->skipped);
        cli_add_number(o, "seconds", e->seconds);
        cli_json_add(a, NULL, o);
    }
    return a;
}

int train_print_json(const train_opts *o, const train_result *r)
{
    const dsc_history *h = r->hist;
    const dsc_epoch *last = &h->epochs[h->count - 1];
    int cls = r->classes > 0;
    const dsc_mlp_config *c = dsc_mlp_get_config(r->model);
    cJSON *j = cJSON_CreateObject();
    if (!j) {
        cJSON_Delete(r->plot);
        return cli_print_json("train", NULL); /* reports the failed allocation */
    }
    cJSON_AddStringToObject(j, "data", o->data);
    cJSON_AddStringToObject(j, "task", cls ? "classify" : "regress");
    cli_add_number(j, "rows", (double)r->rows);
    cli_add_number(j, "features", (double)r->cols);
    if (cls) cli_add_number(j, "classes", (double)r->classes);
    cJSON *layers = cJSON_AddArrayToObject(j, "layers");
    for (int i = 0; layers && i <= c->layers; i++) cli_json_add(layers, NULL, cJSON_CreateNumber((double)c->sizes[i]));
    if (c->model) {
        cJSON_AddStringToObject(j, "model", c->model);
        cJSON *shape = cJSON_AddArrayToObject(j, "shape");
        for (int i = 0; shape && i < 3; i++)
            if (c->shape[i]) cli_json_add(shape, NULL, cJSON_CreateNumber((double)c->shape[i]));
    } else {
        cJSON_AddStringToObject(j, "activation", o->activation);
    }
    cJSON_AddStringToObject(j, "optimizer", o->optimizer);
    if (o->schedule) cJSON_AddStringToObject(j, "schedule", o->schedule);
    cJSON_AddStringToObject(j, "dtype", dsc_dtype_name(c->dtype));
    cli_add_number(j, "epochs", (double)h->count);
    cli_add_number(j, "batch", (double)o->batch);
    cli_add_number(j, "ranks", (double)r->ranks);
    cJSON_AddBoolToObject(j, "zero", o->zero && r->ranks > 1);
    cli_add_number(j, "optimizer_state_bytes", (double)r->state_bytes);
    int avg = o->average != NULL;
    if (avg) cJSON_AddStringToObject(j, "average", o->average);
    add_scores(j, last, cls, avg);
    add_test(j, "", r->test_loss, r->test_metric, r->test_rmse, cls);
    if (avg) add_test(j, "average_", r->avg_test_loss, r->avg_test_metric, r->avg_test_rmse, cls);
    cli_add_number(j, "seconds", h->seconds);
    cli_add_number(j, "load_seconds", r->load_seconds);
    cli_add_number(j, "samples_per_second", (double)r->train_rows * (double)((int64_t)h->count - r->resumed_at) / h->seconds);
    cli_add_number(j, "resumed_at", (double)r->resumed_at);
    cJSON_AddBoolToObject(j, "stopped_early", h->stopped_early);
    cli_add_number(j, "best_epoch", (double)h->best_epoch);
    dsc_blas_info bi = dsc_blas_get_info();
    cJSON *b = cJSON_AddObjectToObject(j, "blas");
    if (b) {
        cJSON_AddStringToObject(b, "name", bi.name);
        cJSON_AddStringToObject(b, "core", bi.core ? bi.core : "");
        cli_add_number(b, "threads", bi.threads);
    }
    cli_json_add(j, "history", history_json(h, cls, avg));
    if (r->plot) cli_json_add(j, "plot", r->plot);
    return cli_print_json("train", j);
}

int train_write_history(FILE *f, const dsc_history *h, int cls, int average)
{
    fprintf(f, "epoch,train_loss,%s,val_loss,%s,lr,skipped,seconds", cls ? "train_accuracy" : "train_r2",
            cls ? "val_accuracy" : "val_r2");
    if (average) fprintf(f, ",avg_val_loss,%s", cls ? "avg_val_accuracy" : "avg_val_r2");
    fprintf(f, "\n");
    for (size_t i = 0; i < h->count; i++) {
        const dsc_epoch *e = &h->epochs[i];
        fprintf(f, "%lld,%.17g,%.17g,%.17g,%.17g,%.17g,%lld,%.6f", (long long)e->epoch, e->train_loss,
                e->train_metric, e->val_loss, e->val_metric, e->lr, (long long)e->skipped, e->seconds);
        if (average) fprintf(f, ",%.17g,%.17g", e->avg_val_loss, e->avg_val_metric);
        fprintf(f, "\n");
    }
    return ferror(f) ? -1 : 0;
}
