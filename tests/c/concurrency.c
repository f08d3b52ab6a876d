/*
 * concurrency.c: eight threads call different floss functions (both dtypes,
 * successes and failures interleaved) while a ninth keeps switching
 * floss_set_num_threads between 1 and 4, so calls run with one thread count
 * or the other, and the library's own worker threads start and stop under
 * the callers.
 *
 * Checks
 *   - every successful result (out, grad, hess) is bitwise identical to the
 *     one computed beforehand by sequential calls on the main thread;
 *   - every failing call returns its status and floss_last_error() gives
 *     exactly this thread's message (with this thread's own index in it);
 *   - a successful call leaves the thread's previous message alone, even
 *     while other threads keep failing: messages never bleed between
 *     threads.
 *
 * Exit status 0 when every check passes.
 */

#define _POSIX_C_SOURCE 200112L

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floss.h"

#define WORKERS 8
#define ROUNDS 60 /* each round: one successful call and one failing call */
#define N 16384   /* rows: work for 4 threads (2^19 cost units each) */
#define C 40
#define BIN_N 300000 /* work for 4 threads in f64 */
#define SAMPLES 20000

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static double uniform(void) { /* xorshift64*, in [0, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717u) >> 11) / 9007199254740992.0;
}

/* Shared read-only inputs (every thread reads them at the same time). */
static float logits32[N * C], target32[N * C], weight32[C];
static double logits64[N * C], target64[N * C], weight64[C];
static int64_t labels[N];
static double bin_pred[BIN_N], bin_target[BIN_N];
static double samples[SAMPLES];

/* One job: a successful call and a failing one, on one function. */
struct result {
    void *out, *grad, *hess;
    size_t out_bytes, grad_bytes;
};

struct job {
    const char *name;
    /* Writes the successful call's results into r; returns its status. */
    floss_status (*good)(struct result *r);
    /* A failing call whose message names `index`; returns its status. */
    floss_status (*bad)(size_t index);
    floss_status bad_status;
    const char *bad_words; /* printf format of the expected message */
    size_t bad_limit;      /* the failing call's index is below this */
    size_t out_bytes, grad_bytes;
    struct result reference;
};

/* A heap copy of `bytes` bytes of `src` (each failing call edits its own). */
static void *copy_of(const void *src, size_t bytes) {
    void *p = malloc(bytes);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(p, src, bytes);
    return p;
}

static floss_options opts_none(uint32_t input) {
    floss_options o;
    floss_options_init(&o);
    o.input = input;
    o.reduction = FLOSS_REDUCTION_NONE;
    return o;
}

/* -- the jobs (a different function per thread) */

static floss_status entropy_good(struct result *r) {
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    return floss_entropy_f32(logits32, N, C, &o, r->out, r->grad, r->hess);
}
static floss_status entropy_bad(size_t i) {
    /* Index i of a copy set to NaN. */
    float *copy = copy_of(logits32, sizeof logits32);
    copy[i] = NAN;
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    float out[N];
    floss_status s = floss_entropy_f32(copy, N, C, &o, out, NULL, NULL);
    free(copy);
    return s;
}

static floss_status ce_good(struct result *r) {
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    o.label_smoothing = 0.05;
    return floss_cross_entropy_f64(logits64, target64, N, C, &o, r->out, r->grad, r->hess);
}
static floss_status ce_bad(size_t i) {
    double *copy = copy_of(target64, sizeof target64);
    copy[i] = 1.5;
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    double out[N];
    floss_status s = floss_cross_entropy_f64(logits64, copy, N, C, &o, out, NULL, NULL);
    free(copy);
    return s;
}

static floss_status kl_good(struct result *r) {
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    o.log_base = 2.0;
    return floss_kl_divergence_f32(logits32, target32, N, C, &o, r->out, r->grad, NULL);
}
static floss_status kl_bad(size_t i) {
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    o.log_base = -(double)i; /* refused, and names this thread's i */
    float out[N];
    return floss_kl_divergence_f32(logits32, target32, N, C, &o, out, NULL, NULL);
}

static floss_status sparse_good(struct result *r) {
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    o.reduction = FLOSS_REDUCTION_WEIGHTED_MEAN;
    return floss_sparse_cross_entropy_f32(logits32, labels, N, C, weight32, &o, r->out, r->grad,
                                          r->hess);
}
static floss_status sparse_bad(size_t i) {
    int64_t *copy = copy_of(labels, sizeof labels);
    copy[i] = C + 3;
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    float out[N];
    floss_status s = floss_sparse_cross_entropy_f32(logits32, copy, N, C, NULL, &o, out, NULL, NULL);
    free(copy);
    return s;
}

static floss_status balanced_good(struct result *r) {
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    o.reduction = FLOSS_REDUCTION_MEAN;
    return floss_balanced_cross_entropy_f64(logits64, labels, N, C, NULL, &o, r->out, r->grad,
                                            r->hess);
}
static floss_status balanced_bad(size_t i) {
    int64_t *copy = copy_of(labels, sizeof labels);
    copy[i] = -7;
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    double out[N];
    floss_status s = floss_balanced_cross_entropy_f64(logits64, copy, N, C, NULL, &o, out, NULL, NULL);
    free(copy);
    return s;
}

static floss_status focal_good(struct result *r) {
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    return floss_focal_loss_f32(logits32, labels, N, C, weight32, 2.0f, &o, r->out, r->grad,
                                r->hess);
}
static floss_status focal_bad(size_t i) {
    float *copy = copy_of(logits32, sizeof logits32);
    copy[i] = INFINITY;
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    float out[N];
    floss_status s = floss_focal_loss_f32(copy, labels, N, C, NULL, 2.0f, &o, out, NULL, NULL);
    free(copy);
    return s;
}

static floss_status binary_good(struct result *r) {
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    return floss_binary_focal_loss_f64(bin_pred, bin_target, BIN_N, 0.25, 1.5, &o, r->out,
                                       r->grad, r->hess);
}
static floss_status binary_bad(size_t i) {
    double *copy = copy_of(bin_target, sizeof bin_target);
    copy[i] = -0.5;
    floss_options o = opts_none(FLOSS_INPUT_LOGITS);
    double *out = copy_of(bin_target, sizeof bin_target);
    floss_status s = floss_binary_focal_loss_f64(bin_pred, copy, BIN_N, 0.25, 1.5, &o, out, NULL, NULL);
    free(out);
    free(copy);
    return s;
}

static floss_status diff_good(struct result *r) {
    return floss_differential_entropy_f64(samples, SAMPLES, FLOSS_DIFFERENTIAL_ENTROPY_AUTO, 0,
                                          NULL, r->out);
}
static floss_status diff_bad(size_t i) {
    double *copy = copy_of(samples, sizeof samples);
    copy[i] = NAN;
    double out;
    floss_status s = floss_differential_entropy_f64(copy, SAMPLES, FLOSS_DIFFERENTIAL_ENTROPY_AUTO, 0,
                                          NULL, &out);
    free(copy);
    return s;
}

#define F4 sizeof(float)
#define F8 sizeof(double)
static struct job jobs[WORKERS] = {
    {"floss_entropy_f32", entropy_good, entropy_bad, FLOSS_ERR_NON_FINITE,
     "floss_entropy_f32: pred[%zu] = NaN", N * C - 2, N * F4, N * C * F4, {0}},
    {"floss_cross_entropy_f64", ce_good, ce_bad, FLOSS_ERR_PROBABILITY,
     "floss_cross_entropy_f64: target[%zu] = 1.5", N * C - 2, N * F8, N * C * F8, {0}},
    {"floss_kl_divergence_f32", kl_good, kl_bad, FLOSS_ERR_ARGUMENT,
     "floss_kl_divergence_f32: opts->log_base = -%zu", 1000000, N * F4, N * C * F4, {0}},
    {"floss_sparse_cross_entropy_f32", sparse_good, sparse_bad, FLOSS_ERR_LABEL,
     "floss_sparse_cross_entropy_f32: labels[%zu] = 43", N - 2, F4, N * C * F4, {0}},
    {"floss_balanced_cross_entropy_f64", balanced_good, balanced_bad, FLOSS_ERR_LABEL,
     "floss_balanced_cross_entropy_f64: labels[%zu] = -7", N - 2, F8, N * C * F8, {0}},
    {"floss_focal_loss_f32", focal_good, focal_bad, FLOSS_ERR_NON_FINITE,
     "floss_focal_loss_f32: pred[%zu] = inf", N * C - 2, N * F4, N * C * F4, {0}},
    {"floss_binary_focal_loss_f64", binary_good, binary_bad, FLOSS_ERR_PROBABILITY,
     "floss_binary_focal_loss_f64: target[%zu] = -0.5", BIN_N - 2, BIN_N * F8, BIN_N * F8, {0}},
    {"floss_differential_entropy_f64", diff_good, diff_bad, FLOSS_ERR_NON_FINITE,
     "floss_differential_entropy_f64: samples[%zu] = NaN", SAMPLES - 2, F8, 0, {0}},
};

static void result_alloc(struct result *r, const struct job *j) {
    r->out_bytes = j->out_bytes;
    r->grad_bytes = j->grad_bytes;
    r->out = calloc(1, j->out_bytes);
    r->grad = j->grad_bytes ? calloc(1, j->grad_bytes) : NULL;
    r->hess = j->grad_bytes ? calloc(1, j->grad_bytes) : NULL;
    if (!r->out || (j->grad_bytes && (!r->grad || !r->hess))) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
}
static void result_free(struct result *r) {
    free(r->out);
    free(r->grad);
    free(r->hess);
}
static int result_equal(const struct result *a, const struct result *b) {
    return memcmp(a->out, b->out, a->out_bytes) == 0 &&
           (!a->grad_bytes || (memcmp(a->grad, b->grad, a->grad_bytes) == 0 &&
                               memcmp(a->hess, b->hess, a->grad_bytes) == 0));
}

/* Each thread's bad index: distinct per thread and per round. */
static size_t bad_index(int worker, int round) {
    return ((size_t)worker * 7919 + (size_t)round * 104729) % jobs[worker].bad_limit + 2;
}

static volatile int workers_done = 0;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long toggles = 0;

struct worker_report {
    int failures;
    unsigned long good_calls, bad_calls;
    char first_failure[1024];
};
static struct worker_report reports[WORKERS];

static void report(struct worker_report *r, const char *fmt, const char *a, const char *b) {
    if (r->failures++ == 0) snprintf(r->first_failure, sizeof r->first_failure, fmt, a, b);
}

static void *worker(void *arg) {
    int w = (int)(intptr_t)arg;
    struct job *j = &jobs[w];
    struct worker_report *rep = &reports[w];
    struct result r;
    result_alloc(&r, j);
    char expected[256], message[512];
    for (int round = 0; round < ROUNDS; round++) {
        size_t i = bad_index(w, round);
        /* The failing call: its status and exactly this thread's message. */
        floss_status s = j->bad(i);
        rep->bad_calls++;
        snprintf(expected, sizeof expected, j->bad_words, i);
        floss_last_error(message, sizeof message);
        if (s != j->bad_status) report(rep, "%s: unexpected status (message %s)", j->name, message);
        if (strncmp(message, expected, strlen(expected)) != 0)
            report(rep, "message \"%s\" is not this thread's \"%s...\"", message, expected);
        /* The successful call: bitwise the sequential result; the message
         * is still this thread's last failure. */
        memset(r.out, 0xA5, r.out_bytes);
        s = j->good(&r);
        rep->good_calls++;
        if (s != FLOSS_OK) report(rep, "%s: a valid call failed: %s", j->name, floss_status_str(s));
        if (!result_equal(&r, &j->reference))
            report(rep, "%s: %s", j->name, "result differs from the sequential one");
        floss_last_error(message, sizeof message);
        if (strncmp(message, expected, strlen(expected)) != 0)
            report(rep, "after a success the message is \"%s\", not \"%s...\"", message, expected);
    }
    result_free(&r);
    pthread_mutex_lock(&done_lock);
    workers_done++;
    pthread_mutex_unlock(&done_lock);
    return NULL;
}

static void *toggler(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&done_lock);
        int done = workers_done == WORKERS;
        pthread_mutex_unlock(&done_lock);
        if (done) break;
        floss_set_num_threads(toggles % 2 ? 4 : 1);
        toggles++;
        struct timespec pause = {0, 20000}; /* 20 us: switch often, leave the cores to the workers */
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int main(void) {
    for (size_t i = 0; i < (size_t)N * C; i++) {
        logits64[i] = 8.0 * uniform() - 4.0;
        logits32[i] = (float)logits64[i];
    }
    for (size_t r = 0; r < N; r++) {
        double sum = 0;
        for (size_t j = 0; j < C; j++) sum += target64[r * C + j] = uniform();
        for (size_t j = 0; j < C; j++) {
            target64[r * C + j] /= sum;
            target32[r * C + j] = (float)target64[r * C + j];
        }
        labels[r] = (int64_t)(uniform() * C);
    }
    for (size_t j = 0; j < C; j++) weight32[j] = (float)(weight64[j] = 0.5 + uniform());
    for (size_t i = 0; i < BIN_N; i++) {
        bin_pred[i] = 20.0 * uniform() - 10.0;
        bin_target[i] = uniform() < 0.3 ? 1.0 : uniform();
    }
    for (size_t i = 0; i < SAMPLES; i++) samples[i] = uniform() + uniform() + uniform();

    /* Sequential references, with 1 thread, then checked with 4. */
    floss_set_num_threads(1);
    for (int w = 0; w < WORKERS; w++) {
        result_alloc(&jobs[w].reference, &jobs[w]);
        floss_status s = jobs[w].good(&jobs[w].reference);
        if (s != FLOSS_OK) {
            fprintf(stderr, "FAIL %s: sequential call returned %s\n", jobs[w].name,
                    floss_status_str(s));
            return 1;
        }
    }
    floss_set_num_threads(4);
    for (int w = 0; w < WORKERS; w++) {
        struct result r;
        result_alloc(&r, &jobs[w]);
        if (jobs[w].good(&r) != FLOSS_OK || !result_equal(&r, &jobs[w].reference)) {
            fprintf(stderr, "FAIL %s: 4 threads differ from 1 sequentially\n", jobs[w].name);
            return 1;
        }
        result_free(&r);
    }

    pthread_t threads[WORKERS], tog;
    if (pthread_create(&tog, NULL, toggler, NULL) != 0) return 2;
    for (int w = 0; w < WORKERS; w++)
        if (pthread_create(&threads[w], NULL, worker, (void *)(intptr_t)w) != 0) return 2;
    for (int w = 0; w < WORKERS; w++) pthread_join(threads[w], NULL);
    pthread_join(tog, NULL);

    int failures = 0;
    unsigned long calls = 0;
    for (int w = 0; w < WORKERS; w++) {
        calls += reports[w].good_calls + reports[w].bad_calls;
        if (reports[w].failures) {
            fprintf(stderr, "FAIL %s: %d check(s), first: %s\n", jobs[w].name, reports[w].failures,
                    reports[w].first_failure);
            failures += reports[w].failures;
        }
        result_free(&jobs[w].reference);
    }
    if (failures) return 1;
    printf("concurrency: %d threads x %d rounds = %lu calls (half failing), %lu thread-count "
           "switches meanwhile; results bitwise equal to sequential calls, messages per thread\n",
           WORKERS, ROUNDS, calls, toggles);
    return 0;
}
