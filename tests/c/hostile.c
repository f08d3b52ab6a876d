/*
 * hostile.c: every exported computing function, in float and double, called
 * with hostile arguments: NULL pointers, bad shapes (c = 0, n * c overflowing
 * size_t, arrays larger than the address space, windows too wide), bad
 * options (size, enums, log_base, label_smoothing, hessian, hessian_floor),
 * bad parameters, labels out of range, probabilities outside [0, 1], NaN and
 * infinities, outputs overlapping inputs or each other, misaligned pointers;
 * and the valid calls around them (NULL for empty arrays and optional
 * pointers, the 0.1 options layout, -Inf logits, the ignore index).
 *
 * Table-driven: each case edits a fresh valid problem, calls one function
 * and checks
 *   - the status;
 *   - that no output byte changed when the call failed (outputs are filled
 *     with a sentinel before the call);
 *   - that no input byte changed, whatever the status;
 *   - that floss_last_error() names the function, the argument and, for
 *     data errors, the index ("pred[5]"); and that a successful call leaves
 *     the previous message alone;
 * and, at the end, that every function returned each status it can reach.
 *
 * Two contract details are deliberately not asserted (they are being
 * settled): a misaligned non-NULL pointer with n = 0, and NaN in an option
 * field a function does not read.
 *
 * Exit status 0 when every check passes; prints the number of calls.
 */

#define _POSIX_C_SOURCE 200112L /* posix_memalign */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floss.h"

/* ---------------------------------------------------------------- kinds */

enum kind {
    ENTROPY, CROSS_ENTROPY, KL, SPARSE, BALANCED, FOCAL,
    BINARY_CE, BINARY_FOCAL, CLASS_WEIGHTS, DIFF_ENTROPY, DENSITY, N_KINDS
};
static const char *const kind_name[N_KINDS] = {
    "floss_entropy", "floss_cross_entropy", "floss_kl_divergence",
    "floss_sparse_cross_entropy", "floss_balanced_cross_entropy",
    "floss_focal_loss", "floss_binary_cross_entropy", "floss_binary_focal_loss",
    "floss_class_weights", "floss_differential_entropy",
    "floss_differential_entropy_density",
};

#define K(k) (1u << (k))
#define MULTI (K(ENTROPY) | K(CROSS_ENTROPY) | K(KL) | K(SPARSE) | K(BALANCED) | K(FOCAL))
#define DENSE_TARGET (K(CROSS_ENTROPY) | K(KL) | K(BINARY_CE) | K(BINARY_FOCAL))
#define LABELLED (K(SPARSE) | K(BALANCED) | K(FOCAL))
#define CLASS_VECTOR LABELLED /* functions taking an optional c-vector */
#define BINARY (K(BINARY_CE) | K(BINARY_FOCAL))
#define LOSSES (MULTI | BINARY) /* out/grad/hess, reads input, reduction, hessian */
#define SMOOTHING (K(CROSS_ENTROPY) | K(KL) | LABELLED | BINARY)
#define WITH_OPTS (LOSSES | K(DIFF_ENTROPY) | K(DENSITY))
#define FLOAT_INPUT (LOSSES | K(DIFF_ENTROPY) | K(DENSITY))
#define ALL ((1u << N_KINDS) - 1)

/* ---------------------------------------------------------- a problem */

enum dtype { F32, F64 };

/* Sizes of the valid problem of each kind. */
#define MC_N 2
#define MC_C 3
#define BIN_N 4
#define CW_N 5
#define CW_C 3
#define DE_N 7
#define DEN_N 6
#define CAP 16      /* elements allocated per array (>= every length) */
#define SLACK 16    /* extra bytes, so a misaligned pointer stays inside */

/* Every array of a call, as raw storage; `in_*` are the inputs. */
struct problem {
    enum kind kind;
    enum dtype dt;
    size_t esize;
    unsigned char *pred, *target, *weight, *out, *grad, *hess;
    int64_t *labels;
    floss_options *opts;
    unsigned char *storage[8];
    /* copies taken before the call */
    unsigned char before[8][CAP * 8 + SLACK];
};

/* The arguments actually passed (pointers may point anywhere). */
struct args {
    void *pred, *target, *weight, *out, *grad, *hess;
    int64_t *labels;
    floss_options *opts;
    size_t n, c;
    double p1, p2;     /* pos_weight | alpha, gamma | gamma | beta | dx */
    uint32_t code;     /* class-weights scheme | entropy method */
    size_t window;
    int64_t ignore;    /* class_weights' ignore_index */
};

static void put(void *buf, enum dtype dt, size_t i, double v) {
    if (dt == F32)
        ((float *)buf)[i] = (float)v;
    else
        ((double *)buf)[i] = v;
}

static void put_all(void *buf, enum dtype dt, const double *v, size_t n) {
    for (size_t i = 0; i < n; i++) put(buf, dt, i, v[i]);
}

#define SENTINEL 0xA5
#define N_STORAGE 8
#define BYTES (CAP * 8 + SLACK)

static void *block(void) {
    /* 64-byte aligned, so every misalignment below is deliberate. */
    void *p = NULL;
    if (posix_memalign(&p, 64, BYTES) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(p, 0, BYTES);
    return p;
}

static void problem_init(struct problem *p, enum kind kind, enum dtype dt, struct args *a) {
    static const double mc_pred[] = {0.2, 0.3, 0.5, 0.6, 0.3, 0.1};
    static const double mc_target[] = {0.0, 0.0, 1.0, 0.5, 0.5, 0.0};
    static const double mc_weight[] = {1.0, 2.0, 0.5};
    static const double bin_pred[] = {0.1, 0.4, 0.7, 0.9};
    static const double bin_target[] = {0.0, 1.0, 0.25, 1.0};
    static const double samples[] = {0.3, -1.2, 2.5, 0.7, 1.9, -0.4, 1.1};
    static const double density[] = {0.05, 0.2, 0.4, 0.4, 0.2, 0.05};

    memset(p, 0, sizeof *p);
    memset(a, 0, sizeof *a);
    p->kind = kind;
    p->dt = dt;
    p->esize = dt == F32 ? sizeof(float) : sizeof(double);
    for (int i = 0; i < N_STORAGE; i++) p->storage[i] = block();
    p->pred = p->storage[0];
    p->target = p->storage[1];
    p->labels = (int64_t *)(void *)p->storage[2];
    p->weight = p->storage[3];
    p->opts = (floss_options *)(void *)p->storage[4];
    p->out = p->storage[5];
    p->grad = p->storage[6];
    p->hess = p->storage[7];
    memset(p->out, SENTINEL, BYTES);
    memset(p->grad, SENTINEL, BYTES);
    memset(p->hess, SENTINEL, BYTES);
    {
        /* The defaults, copied field by field onto zeroed memory: the
         * struct's padding bytes are then defined (floss_options_init
         * leaves them as they come, and the input check compares bytes). */
        floss_options o;
        floss_options_init(&o);
        memset(p->opts, 0, sizeof *p->opts);
        p->opts->size = o.size;
        p->opts->input = o.input;
        p->opts->reduction = FLOSS_REDUCTION_NONE;
        p->opts->log_base = o.log_base;
        p->opts->ignore_index = o.ignore_index;
        p->opts->label_smoothing = o.label_smoothing;
        p->opts->hessian = o.hessian;
        p->opts->hessian_floor = o.hessian_floor;
        p->opts->positions = o.positions;
    }

    a->pred = p->pred;
    a->target = p->target;
    a->labels = p->labels;
    a->weight = p->weight;
    a->opts = p->opts;
    a->out = p->out;
    a->grad = p->grad;
    a->hess = p->hess;
    a->ignore = FLOSS_NO_IGNORE;

    switch (kind) {
    case ENTROPY: case CROSS_ENTROPY: case KL: case SPARSE: case BALANCED: case FOCAL:
        a->n = MC_N;
        a->c = MC_C;
        put_all(p->pred, dt, mc_pred, MC_N * MC_C);
        put_all(p->target, dt, mc_target, MC_N * MC_C);
        put_all(p->weight, dt, mc_weight, MC_C);
        p->labels[0] = 2;
        p->labels[1] = 0;
        a->p1 = 2.0; /* gamma */
        break;
    case BINARY_CE: case BINARY_FOCAL:
        a->n = BIN_N;
        put_all(p->pred, dt, bin_pred, BIN_N);
        put_all(p->target, dt, bin_target, BIN_N);
        a->p1 = kind == BINARY_CE ? 2.0 : 0.25; /* pos_weight | alpha */
        a->p2 = 2.0;                           /* gamma */
        break;
    case CLASS_WEIGHTS: {
        static const int64_t labels[CW_N] = {0, 1, 1, 2, 2};
        memcpy(p->labels, labels, sizeof labels);
        a->n = CW_N;
        a->c = CW_C;
        a->code = FLOSS_WEIGHTS_EFFECTIVE_NUMBER;
        a->p1 = 0.9; /* beta */
        break;
    }
    case DIFF_ENTROPY:
        a->n = DE_N;
        put_all(p->pred, dt, samples, DE_N);
        a->code = FLOSS_DIFFERENTIAL_ENTROPY_AUTO;
        break;
    case DENSITY:
        a->n = DEN_N;
        put_all(p->pred, dt, density, DEN_N);
        a->p1 = 0.5; /* dx */
        break;
    default:
        break;
    }
}

/* Copies every array, to compare after the call. */
static void snapshot(struct problem *p) {
    for (int i = 0; i < N_STORAGE; i++) memcpy(p->before[i], p->storage[i], BYTES);
}

static void problem_free(struct problem *p) {
    for (int i = 0; i < N_STORAGE; i++) free(p->storage[i]);
}

static floss_status invoke(enum kind kind, enum dtype dt, const struct args *a) {
#define ARGS32(x) ((float *)(x))
#define ARGS64(x) ((double *)(x))
    if (dt == F32) {
        switch (kind) {
        case ENTROPY:
            return floss_entropy_f32(ARGS32(a->pred), a->n, a->c, a->opts, ARGS32(a->out), ARGS32(a->grad), ARGS32(a->hess));
        case CROSS_ENTROPY:
            return floss_cross_entropy_f32(ARGS32(a->pred), ARGS32(a->target), a->n, a->c, a->opts, ARGS32(a->out), ARGS32(a->grad), ARGS32(a->hess));
        case KL:
            return floss_kl_divergence_f32(ARGS32(a->pred), ARGS32(a->target), a->n, a->c, a->opts, ARGS32(a->out), ARGS32(a->grad), ARGS32(a->hess));
        case SPARSE:
            return floss_sparse_cross_entropy_f32(ARGS32(a->pred), a->labels, a->n, a->c, ARGS32(a->weight), a->opts, ARGS32(a->out), ARGS32(a->grad), ARGS32(a->hess));
        case BALANCED:
            return floss_balanced_cross_entropy_f32(ARGS32(a->pred), a->labels, a->n, a->c, ARGS32(a->weight), a->opts, ARGS32(a->out), ARGS32(a->grad), ARGS32(a->hess));
        case FOCAL:
            return floss_focal_loss_f32(ARGS32(a->pred), a->labels, a->n, a->c, ARGS32(a->weight), (float)a->p1, a->opts, ARGS32(a->out), ARGS32(a->grad), ARGS32(a->hess));
        case BINARY_CE:
            return floss_binary_cross_entropy_f32(ARGS32(a->pred), ARGS32(a->target), a->n, (float)a->p1, a->opts, ARGS32(a->out), ARGS32(a->grad), ARGS32(a->hess));
        case BINARY_FOCAL:
            return floss_binary_focal_loss_f32(ARGS32(a->pred), ARGS32(a->target), a->n, (float)a->p1, (float)a->p2, a->opts, ARGS32(a->out), ARGS32(a->grad), ARGS32(a->hess));
        case CLASS_WEIGHTS:
            return floss_class_weights_f32(a->labels, a->n, a->c, a->code, a->p1, a->ignore, ARGS32(a->out));
        case DIFF_ENTROPY:
            return floss_differential_entropy_f32(ARGS32(a->pred), a->n, a->code, a->window, a->opts, ARGS32(a->out));
        case DENSITY:
            return floss_differential_entropy_density_f32(ARGS32(a->pred), a->n, (float)a->p1, a->opts, ARGS32(a->out));
        default:
            break;
        }
    } else {
        switch (kind) {
        case ENTROPY:
            return floss_entropy_f64(ARGS64(a->pred), a->n, a->c, a->opts, ARGS64(a->out), ARGS64(a->grad), ARGS64(a->hess));
        case CROSS_ENTROPY:
            return floss_cross_entropy_f64(ARGS64(a->pred), ARGS64(a->target), a->n, a->c, a->opts, ARGS64(a->out), ARGS64(a->grad), ARGS64(a->hess));
        case KL:
            return floss_kl_divergence_f64(ARGS64(a->pred), ARGS64(a->target), a->n, a->c, a->opts, ARGS64(a->out), ARGS64(a->grad), ARGS64(a->hess));
        case SPARSE:
            return floss_sparse_cross_entropy_f64(ARGS64(a->pred), a->labels, a->n, a->c, ARGS64(a->weight), a->opts, ARGS64(a->out), ARGS64(a->grad), ARGS64(a->hess));
        case BALANCED:
            return floss_balanced_cross_entropy_f64(ARGS64(a->pred), a->labels, a->n, a->c, ARGS64(a->weight), a->opts, ARGS64(a->out), ARGS64(a->grad), ARGS64(a->hess));
        case FOCAL:
            return floss_focal_loss_f64(ARGS64(a->pred), a->labels, a->n, a->c, ARGS64(a->weight), a->p1, a->opts, ARGS64(a->out), ARGS64(a->grad), ARGS64(a->hess));
        case BINARY_CE:
            return floss_binary_cross_entropy_f64(ARGS64(a->pred), ARGS64(a->target), a->n, a->p1, a->opts, ARGS64(a->out), ARGS64(a->grad), ARGS64(a->hess));
        case BINARY_FOCAL:
            return floss_binary_focal_loss_f64(ARGS64(a->pred), ARGS64(a->target), a->n, a->p1, a->p2, a->opts, ARGS64(a->out), ARGS64(a->grad), ARGS64(a->hess));
        case CLASS_WEIGHTS:
            return floss_class_weights_f64(a->labels, a->n, a->c, a->code, a->p1, a->ignore, ARGS64(a->out));
        case DIFF_ENTROPY:
            return floss_differential_entropy_f64(ARGS64(a->pred), a->n, a->code, a->window, a->opts, ARGS64(a->out));
        case DENSITY:
            return floss_differential_entropy_density_f64(ARGS64(a->pred), a->n, a->p1, a->opts, ARGS64(a->out));
        default:
            break;
        }
    }
    return 0xFFFFFFFFu;
#undef ARGS32
#undef ARGS64
}

/* ------------------------------------------------------------- cases */

/* What a case expects: the status, and words the message must contain
 * (besides the function's name). */
struct expect {
    floss_status status;
    char word[64];
    char word2[64];
};

typedef void (*edit_fn)(struct problem *, struct args *, struct expect *);

struct kase {
    const char *what;
    unsigned kinds;
    edit_fn edit;
};

static void expect_status(struct expect *e, floss_status s, const char *word, const char *word2) {
    e->status = s;
    snprintf(e->word, sizeof e->word, "%s", word ? word : "");
    snprintf(e->word2, sizeof e->word2, "%s", word2 ? word2 : "");
}

/* Data error at `arg[index]`. */
static void expect_at(struct expect *e, floss_status s, const char *arg, size_t index) {
    e->status = s;
    snprintf(e->word, sizeof e->word, "%s[%zu]", arg, index);
    e->word2[0] = 0;
}

/* The name of the first input array and of the output, per kind. */
static const char *in_name(enum kind k) {
    return k == DIFF_ENTROPY ? "samples" : k == DENSITY ? "density" : k == CLASS_WEIGHTS ? "labels" : "pred";
}
static const char *out_name(enum kind k) { return k == CLASS_WEIGHTS ? "weights" : "out"; }
static const char *vector_name(enum kind k) { return k == SPARSE ? "weight" : "alpha"; }
/* Elements of the first input: n x c, or n for the one-dimensional ones. */
static size_t pred_len(const struct args *a) { return a->c ? a->n * a->c : a->n; }
static void *first_input(enum kind k, struct args *a) {
    return k == CLASS_WEIGHTS ? (void *)a->labels : a->pred;
}

/* --- valid calls */

static void ok(struct problem *p, struct args *a, struct expect *e) {
    (void)p; (void)a;
    expect_status(e, FLOSS_OK, NULL, NULL);
}
static void ok_logits(struct problem *p, struct args *a, struct expect *e) {
    /* Logits, one of them -Inf (a masked class / p = 0 exactly). */
    static const double mc[] = {-1.0, 0.5, 3.0, -INFINITY, 2.0, -0.5};
    static const double bin[] = {-30.0, -INFINITY, 0.0, 12.5};
    p->opts->input = FLOSS_INPUT_LOGITS;
    if (p->kind == BINARY_CE || p->kind == BINARY_FOCAL)
        put_all(p->pred, p->dt, bin, BIN_N);
    else
        put_all(p->pred, p->dt, mc, MC_N * MC_C);
    (void)a;
    expect_status(e, FLOSS_OK, NULL, NULL);
}
static void ok_no_grad_hess(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->grad = NULL;
    a->hess = NULL;
    expect_status(e, FLOSS_OK, NULL, NULL);
}
static void ok_null_opts(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->opts = NULL; /* defaults: MEAN, so out holds one value */
    expect_status(e, FLOSS_OK, NULL, NULL);
}
static void ok_opts_v0_1(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->size = FLOSS_OPTIONS_SIZE_V0_1;
    p->opts->hessian = 77; /* beyond the 0.1 layout: never read */
    expect_status(e, FLOSS_OK, NULL, NULL);
}
static void ok_empty(struct problem *p, struct args *a, struct expect *e) {
    /* n = 0: every array may be NULL (out too, with REDUCTION_NONE). */
    (void)p;
    a->n = 0;
    a->pred = a->target = NULL;
    a->labels = NULL;
    a->out = a->grad = a->hess = NULL;
    if (p->kind == CLASS_WEIGHTS) a->out = p->out; /* weights: c outputs */
    expect_status(e, FLOSS_OK, NULL, NULL);
}
static void ok_reductions(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->reduction = FLOSS_REDUCTION_WEIGHTED_MEAN;
    p->opts->log_base = 2.0;
    p->opts->hessian = FLOSS_HESSIAN_FLOOR;
    p->opts->hessian_floor = 1e-3;
    expect_status(e, FLOSS_OK, NULL, NULL);
}
static void ok_smoothing_ignore(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->label_smoothing = 0.1;
    p->opts->ignore_index = -1;
    if (p->kind == SPARSE || p->kind == BALANCED || p->kind == FOCAL) p->labels[1] = -1;
    expect_status(e, FLOSS_OK, NULL, NULL);
}
static void ok_no_vector(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->weight = NULL; /* all 1, or (balanced) the inverse class frequency */
    expect_status(e, FLOSS_OK, NULL, NULL);
}
static void ok_ignored_label(struct problem *p, struct args *a, struct expect *e) {
    p->labels[4] = -1;
    a->ignore = -1;
    expect_status(e, FLOSS_OK, NULL, NULL);
}
static void ok_methods(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->code = FLOSS_DIFFERENTIAL_ENTROPY_CORREA;
    a->window = 2;
    expect_status(e, FLOSS_OK, NULL, NULL);
}

/* --- NULL pointers */

static void null_first(struct problem *p, struct args *a, struct expect *e) {
    if (p->kind == CLASS_WEIGHTS)
        a->labels = NULL;
    else
        a->pred = NULL;
    expect_status(e, FLOSS_ERR_NULL_POINTER, in_name(p->kind), "NULL");
}
static void null_target(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->target = NULL;
    expect_status(e, FLOSS_ERR_NULL_POINTER, "target", "NULL");
}
static void null_labels(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->labels = NULL;
    expect_status(e, FLOSS_ERR_NULL_POINTER, "labels", "NULL");
}
static void null_out(struct problem *p, struct args *a, struct expect *e) {
    a->out = NULL;
    expect_status(e, FLOSS_ERR_NULL_POINTER, out_name(p->kind), "NULL");
}
static void null_out_mean(struct problem *p, struct args *a, struct expect *e) {
    p->opts->reduction = FLOSS_REDUCTION_MEAN;
    a->out = NULL;
    expect_status(e, FLOSS_ERR_NULL_POINTER, "out", "NULL");
}
static void null_out_empty(struct problem *p, struct args *a, struct expect *e) {
    /* n = 0 with a reduction: out still holds one value, so is required. */
    p->opts->reduction = FLOSS_REDUCTION_SUM;
    a->n = 0;
    a->pred = a->target = NULL;
    a->labels = NULL;
    a->out = NULL;
    expect_status(e, FLOSS_ERR_NULL_POINTER, "out", "NULL");
}

/* --- shapes */

static void c_zero(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->c = 0;
    expect_status(e, FLOSS_ERR_SHAPE, "c = 0", NULL);
}
static void nc_overflow(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->n = SIZE_MAX / 2 + 1;
    a->c = 3;
    expect_status(e, FLOSS_ERR_SHAPE, "n * c", "overflows");
}
static void too_many_bytes(struct problem *p, struct args *a, struct expect *e) {
    /* n (times c) fits in size_t, the bytes do not fit in isize. */
    if (p->kind == CLASS_WEIGHTS) {
        a->c = SIZE_MAX / 4;
        expect_status(e, FLOSS_ERR_SHAPE, "weights", "isize::MAX");
        return;
    }
    if (p->kind == CLASS_WEIGHTS || (K(p->kind) & MULTI)) {
        a->n = SIZE_MAX / 8;
        a->c = 2;
    } else {
        a->n = SIZE_MAX / 2;
    }
    expect_status(e, FLOSS_ERR_SHAPE, in_name(p->kind), "isize::MAX");
}
static void window_too_wide(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->window = 4; /* 2 * 4 >= 7 */
    expect_status(e, FLOSS_ERR_SHAPE, "window = 4", "n = 7");
}
static void too_few_samples(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->n = 2; /* the default window is 1, and 2 * 1 >= 2 */
    expect_status(e, FLOSS_ERR_SHAPE, "default window", "n = 2");
}
static void density_one_value(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->n = 1;
    expect_status(e, FLOSS_ERR_SHAPE, "n = 1", NULL);
}

/* --- options */

static void opt_size(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->size = 12;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->size = 12", NULL);
}
static void opt_size_zero(struct problem *p, struct args *a, struct expect *e) {
    /* A struct never initialised (all zero). */
    (void)a;
    memset(p->opts, 0, sizeof *p->opts);
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->size = 0", NULL);
}
static void opt_input(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->input = 7;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->input = 7", NULL);
}
static void opt_reduction(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->reduction = 9;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->reduction = 9", NULL);
}
static void opt_log_base_one(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->log_base = 1.0;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->log_base = 1", NULL);
}
static void opt_log_base_negative(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->log_base = -2.0;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->log_base = -2", NULL);
}
static void opt_log_base_nan(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->log_base = NAN;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->log_base = NaN", NULL);
}
static void opt_log_base_inf(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->log_base = INFINITY;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->log_base = inf", NULL);
}
static void opt_smoothing_high(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->label_smoothing = 1.5;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->label_smoothing = 1.5", NULL);
}
static void opt_smoothing_negative(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->label_smoothing = -0.25;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->label_smoothing = -0.25", NULL);
}
static void opt_smoothing_nan(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->label_smoothing = NAN;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->label_smoothing = NaN", NULL);
}
static void opt_hessian(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->hessian = 5;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->hessian = 5", NULL);
}
static void opt_hessian_floor_zero(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->hessian = FLOSS_HESSIAN_FLOOR;
    p->opts->hessian_floor = 0.0;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->hessian_floor = 0", NULL);
}
static void opt_hessian_floor_inf(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->hessian = FLOSS_HESSIAN_FLOOR;
    p->opts->hessian_floor = INFINITY;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->hessian_floor = inf", NULL);
}
static void opt_hessian_floor_nan(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->hessian = FLOSS_HESSIAN_FLOOR;
    p->opts->hessian_floor = NAN;
    expect_status(e, FLOSS_ERR_ARGUMENT, "opts->hessian_floor = NaN", NULL);
}

/* --- scalar parameters */

static void param_pos_weight_zero(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->p1 = 0.0;
    expect_status(e, FLOSS_ERR_ARGUMENT, "pos_weight = 0", NULL);
}
static void param_pos_weight_nan(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->p1 = NAN;
    expect_status(e, FLOSS_ERR_ARGUMENT, "pos_weight = NaN", NULL);
}
static void param_pos_weight_inf(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->p1 = INFINITY;
    expect_status(e, FLOSS_ERR_ARGUMENT, "pos_weight = inf", NULL);
}
static void param_alpha_high(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->p1 = 1.5;
    expect_status(e, FLOSS_ERR_ARGUMENT, "alpha = 1.5", NULL);
}
static void param_alpha_nan(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->p1 = NAN;
    expect_status(e, FLOSS_ERR_ARGUMENT, "alpha = NaN", NULL);
}
static void param_gamma_negative(struct problem *p, struct args *a, struct expect *e) {
    if (p->kind == FOCAL) a->p1 = -1.0; else a->p2 = -1.0;
    expect_status(e, FLOSS_ERR_ARGUMENT, "gamma = -1", NULL);
}
static void param_gamma_nan(struct problem *p, struct args *a, struct expect *e) {
    if (p->kind == FOCAL) a->p1 = NAN; else a->p2 = NAN;
    expect_status(e, FLOSS_ERR_ARGUMENT, "gamma = NaN", NULL);
}
static void param_gamma_inf(struct problem *p, struct args *a, struct expect *e) {
    if (p->kind == FOCAL) a->p1 = INFINITY; else a->p2 = INFINITY;
    expect_status(e, FLOSS_ERR_ARGUMENT, "gamma = inf", NULL);
}
static void vector_negative(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    put(p->weight, p->dt, 1, -1.0);
    expect_status(e, FLOSS_ERR_ARGUMENT, vector_name(p->kind), "[1] = -1");
}
static void vector_nan(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    put(p->weight, p->dt, 2, NAN);
    expect_status(e, FLOSS_ERR_ARGUMENT, vector_name(p->kind), "[2] = NaN");
}
static void vector_inf(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    put(p->weight, p->dt, 0, INFINITY);
    expect_status(e, FLOSS_ERR_ARGUMENT, vector_name(p->kind), "[0] = inf");
}
static void scheme_unknown(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->code = 9;
    expect_status(e, FLOSS_ERR_ARGUMENT, "scheme = 9", NULL);
}
static void beta_one(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->p1 = 1.0;
    expect_status(e, FLOSS_ERR_ARGUMENT, "beta = 1", NULL);
}
static void beta_nan(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->p1 = NAN;
    expect_status(e, FLOSS_ERR_ARGUMENT, "beta = NaN", NULL);
}
static void beta_negative(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->p1 = -0.5;
    expect_status(e, FLOSS_ERR_ARGUMENT, "beta = -0.5", NULL);
}
static void method_unknown(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->code = 9;
    expect_status(e, FLOSS_ERR_ARGUMENT, "method = 9", NULL);
}
static void dx_zero(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->p1 = 0.0;
    expect_status(e, FLOSS_ERR_ARGUMENT, "dx = 0", NULL);
}
static void dx_negative(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->p1 = -0.5;
    expect_status(e, FLOSS_ERR_ARGUMENT, "dx = -0.5", NULL);
}
static void dx_nan(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->p1 = NAN;
    expect_status(e, FLOSS_ERR_ARGUMENT, "dx = NaN", NULL);
}
static void dx_inf(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->p1 = INFINITY;
    expect_status(e, FLOSS_ERR_ARGUMENT, "dx = inf", NULL);
}

/* --- labels */

static void label_equal_c(struct problem *p, struct args *a, struct expect *e) {
    size_t i = p->kind == CLASS_WEIGHTS ? CW_N - 1 : MC_N - 1;
    p->labels[i] = (int64_t)a->c;
    expect_at(e, FLOSS_ERR_LABEL, "labels", i);
}
static void label_negative(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->labels[1] = -1;
    expect_at(e, FLOSS_ERR_LABEL, "labels", 1);
}
static void label_huge(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->labels[0] = INT64_MAX;
    expect_at(e, FLOSS_ERR_LABEL, "labels", 0);
}
static void label_min(struct problem *p, struct args *a, struct expect *e) {
    /* INT64_MIN is FLOSS_NO_IGNORE's value; ignore_index is set to another
     * label, so INT64_MIN is just a label out of range. */
    p->labels[1] = INT64_MIN;
    if (p->kind == CLASS_WEIGHTS)
        a->ignore = 5;
    else
        p->opts->ignore_index = 5;
    expect_at(e, FLOSS_ERR_LABEL, "labels", 1);
}

/* --- data */

static size_t last_index(const struct args *a) { return pred_len(a) - 1; }

static void data_in(struct problem *p, struct args *a, struct expect *e, int logits, double v,
                    floss_status s) {
    size_t i = last_index(a);
    if (logits) p->opts->input = FLOSS_INPUT_LOGITS;
    put(p->pred, p->dt, i, v);
    expect_at(e, s, in_name(p->kind), i);
}
static void prob_above_one(struct problem *p, struct args *a, struct expect *e) {
    data_in(p, a, e, 0, 1.5, FLOSS_ERR_PROBABILITY);
}
static void prob_negative(struct problem *p, struct args *a, struct expect *e) {
    data_in(p, a, e, 0, -0.25, FLOSS_ERR_PROBABILITY);
}
static void prob_negative_zero_ok(struct problem *p, struct args *a, struct expect *e) {
    /* -0.0 is a probability (it equals 0). */
    data_in(p, a, e, 0, -0.0, FLOSS_OK);
}
static void prob_nan(struct problem *p, struct args *a, struct expect *e) {
    data_in(p, a, e, 0, NAN, FLOSS_ERR_NON_FINITE);
}
static void prob_inf(struct problem *p, struct args *a, struct expect *e) {
    data_in(p, a, e, 0, INFINITY, FLOSS_ERR_NON_FINITE);
}
static void prob_minus_inf(struct problem *p, struct args *a, struct expect *e) {
    data_in(p, a, e, 0, -INFINITY, FLOSS_ERR_NON_FINITE);
}
static void logit_nan(struct problem *p, struct args *a, struct expect *e) {
    data_in(p, a, e, 1, NAN, FLOSS_ERR_NON_FINITE);
}
static void logit_inf(struct problem *p, struct args *a, struct expect *e) {
    data_in(p, a, e, 1, INFINITY, FLOSS_ERR_NON_FINITE);
}
static void logits_all_minus_inf(struct problem *p, struct args *a, struct expect *e) {
    /* A row whose every logit is -Inf is no distribution. */
    (void)a;
    p->opts->input = FLOSS_INPUT_LOGITS;
    for (size_t j = 0; j < MC_C; j++) put(p->pred, p->dt, MC_C + j, -INFINITY);
    expect_status(e, FLOSS_ERR_NON_FINITE, "pred", "-inf");
}
static void target_above_one(struct problem *p, struct args *a, struct expect *e) {
    size_t i = last_index(a);
    put(p->target, p->dt, i, 1.5);
    expect_at(e, FLOSS_ERR_PROBABILITY, "target", i);
}
static void target_negative(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    put(p->target, p->dt, 1, -0.5);
    expect_at(e, FLOSS_ERR_PROBABILITY, "target", 1);
}
static void target_nan(struct problem *p, struct args *a, struct expect *e) {
    size_t i = last_index(a);
    put(p->target, p->dt, i, NAN);
    expect_at(e, FLOSS_ERR_NON_FINITE, "target", i);
}
static void target_inf_with_logits(struct problem *p, struct args *a, struct expect *e) {
    (void)a;
    p->opts->input = FLOSS_INPUT_LOGITS;
    put(p->target, p->dt, 2, INFINITY);
    expect_at(e, FLOSS_ERR_NON_FINITE, "target", 2);
}
static void sample_nan(struct problem *p, struct args *a, struct expect *e) {
    data_in(p, a, e, 0, NAN, FLOSS_ERR_NON_FINITE);
}
static void sample_inf(struct problem *p, struct args *a, struct expect *e) {
    data_in(p, a, e, 0, -INFINITY, FLOSS_ERR_NON_FINITE);
}
static void density_negative(struct problem *p, struct args *a, struct expect *e) {
    data_in(p, a, e, 0, -1e-3, FLOSS_ERR_PROBABILITY);
}

/* --- overlaps */

static void overlap_out_first(struct problem *p, struct args *a, struct expect *e) {
    a->out = first_input(p->kind, a);
    expect_status(e, FLOSS_ERR_OVERLAP, out_name(p->kind), in_name(p->kind));
}
static void overlap_out_tail(struct problem *p, struct args *a, struct expect *e) {
    /* Partial: out starts at the first input's last element. */
    a->out = p->pred + last_index(a) * p->esize;
    expect_status(e, FLOSS_ERR_OVERLAP, "out", in_name(p->kind));
}
static void overlap_grad_target(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->grad = (unsigned char *)a->target + p->esize;
    expect_status(e, FLOSS_ERR_OVERLAP, "grad", "target");
}
static void overlap_hess_labels(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->hess = a->labels;
    expect_status(e, FLOSS_ERR_OVERLAP, "hess", "labels");
}
static void overlap_out_vector(struct problem *p, struct args *a, struct expect *e) {
    a->out = a->weight;
    expect_status(e, FLOSS_ERR_OVERLAP, "out", vector_name(p->kind));
}
static void overlap_grad_hess(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->hess = (unsigned char *)a->grad + 2 * p->esize;
    expect_status(e, FLOSS_ERR_OVERLAP, "grad", "hess");
}
static void overlap_out_grad(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->grad = a->out;
    expect_status(e, FLOSS_ERR_OVERLAP, "out", "grad");
}

/* --- alignment */

static void *plus_one(void *ptr) { return (unsigned char *)ptr + 1; }

static void misaligned_first(struct problem *p, struct args *a, struct expect *e) {
    if (p->kind == CLASS_WEIGHTS)
        a->labels = plus_one(a->labels);
    else
        a->pred = plus_one(a->pred);
    expect_status(e, FLOSS_ERR_ALIGNMENT, in_name(p->kind), "aligned");
}
static void misaligned_target(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->target = plus_one(a->target);
    expect_status(e, FLOSS_ERR_ALIGNMENT, "target", "aligned");
}
static void misaligned_labels(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->labels = (int64_t *)(void *)((unsigned char *)a->labels + 4);
    expect_status(e, FLOSS_ERR_ALIGNMENT, "labels", "aligned");
}
static void misaligned_vector(struct problem *p, struct args *a, struct expect *e) {
    a->weight = plus_one(a->weight);
    expect_status(e, FLOSS_ERR_ALIGNMENT, vector_name(p->kind), "aligned");
}
static void misaligned_out(struct problem *p, struct args *a, struct expect *e) {
    a->out = plus_one(a->out);
    expect_status(e, FLOSS_ERR_ALIGNMENT, out_name(p->kind), "aligned");
}
static void misaligned_grad(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->grad = plus_one(a->grad);
    expect_status(e, FLOSS_ERR_ALIGNMENT, "grad", "aligned");
}
static void misaligned_hess(struct problem *p, struct args *a, struct expect *e) {
    (void)p;
    a->hess = (unsigned char *)a->hess + 2;
    expect_status(e, FLOSS_ERR_ALIGNMENT, "hess", "aligned");
}
static void misaligned_opts(struct problem *p, struct args *a, struct expect *e) {
    /* A copy of valid options at an odd address. */
    unsigned char *raw = (unsigned char *)p->storage[4];
    memmove(raw + 1, raw, sizeof(floss_options));
    a->opts = (floss_options *)(void *)(raw + 1);
    expect_status(e, FLOSS_ERR_ALIGNMENT, "opts", "aligned");
}

static const struct kase cases[] = {
    /* valid calls */
    {"valid", ALL, ok},
    {"valid logits with -Inf", LOSSES, ok_logits},
    {"valid without grad and hess", LOSSES, ok_no_grad_hess},
    {"valid, opts NULL", WITH_OPTS, ok_null_opts},
    {"valid, 0.1 options layout", WITH_OPTS, ok_opts_v0_1},
    {"valid, n = 0 with NULL arrays", LOSSES | K(CLASS_WEIGHTS), ok_empty},
    {"valid, weighted mean, base 2, Hessian floor", LOSSES, ok_reductions},
    {"valid, smoothing and ignore index", SMOOTHING, ok_smoothing_ignore},
    {"valid, no class vector", CLASS_VECTOR, ok_no_vector},
    {"valid, ignored label", K(CLASS_WEIGHTS), ok_ignored_label},
    {"valid, Correa window 2", K(DIFF_ENTROPY), ok_methods},
    {"valid, -0.0 probability", LOSSES | K(DENSITY), prob_negative_zero_ok},
    /* NULL */
    {"NULL first input", ALL, null_first},
    {"NULL target", DENSE_TARGET, null_target},
    {"NULL labels", LABELLED, null_labels},
    {"NULL out", ALL, null_out},
    {"NULL out, mean", LOSSES, null_out_mean},
    {"NULL out, n = 0, sum", LOSSES, null_out_empty},
    /* shapes */
    {"c = 0", MULTI | K(CLASS_WEIGHTS), c_zero},
    {"n * c overflows", MULTI, nc_overflow},
    {"more than isize::MAX bytes", ALL, too_many_bytes},
    {"window too wide", K(DIFF_ENTROPY), window_too_wide},
    {"too few samples", K(DIFF_ENTROPY), too_few_samples},
    {"one density value", K(DENSITY), density_one_value},
    /* options */
    {"opts->size = 12", WITH_OPTS, opt_size},
    {"opts all zero", WITH_OPTS, opt_size_zero},
    {"opts->input = 7", LOSSES, opt_input},
    {"opts->reduction = 9", LOSSES, opt_reduction},
    {"opts->log_base = 1", WITH_OPTS, opt_log_base_one},
    {"opts->log_base = -2", WITH_OPTS, opt_log_base_negative},
    {"opts->log_base = NaN", WITH_OPTS, opt_log_base_nan},
    {"opts->log_base = Inf", WITH_OPTS, opt_log_base_inf},
    {"opts->label_smoothing = 1.5", SMOOTHING, opt_smoothing_high},
    {"opts->label_smoothing = -0.25", SMOOTHING, opt_smoothing_negative},
    {"opts->label_smoothing = NaN", SMOOTHING, opt_smoothing_nan},
    {"opts->hessian = 5", LOSSES, opt_hessian},
    {"opts->hessian_floor = 0", LOSSES, opt_hessian_floor_zero},
    {"opts->hessian_floor = Inf", LOSSES, opt_hessian_floor_inf},
    {"opts->hessian_floor = NaN", LOSSES, opt_hessian_floor_nan},
    /* parameters */
    {"pos_weight = 0", K(BINARY_CE), param_pos_weight_zero},
    {"pos_weight = NaN", K(BINARY_CE), param_pos_weight_nan},
    {"pos_weight = Inf", K(BINARY_CE), param_pos_weight_inf},
    {"alpha = 1.5", K(BINARY_FOCAL), param_alpha_high},
    {"alpha = NaN", K(BINARY_FOCAL), param_alpha_nan},
    {"gamma = -1", K(FOCAL) | K(BINARY_FOCAL), param_gamma_negative},
    {"gamma = NaN", K(FOCAL) | K(BINARY_FOCAL), param_gamma_nan},
    {"gamma = Inf", K(FOCAL) | K(BINARY_FOCAL), param_gamma_inf},
    {"class vector entry -1", CLASS_VECTOR, vector_negative},
    {"class vector entry NaN", CLASS_VECTOR, vector_nan},
    {"class vector entry Inf", CLASS_VECTOR, vector_inf},
    {"scheme = 9", K(CLASS_WEIGHTS), scheme_unknown},
    {"beta = 1", K(CLASS_WEIGHTS), beta_one},
    {"beta = NaN", K(CLASS_WEIGHTS), beta_nan},
    {"beta = -0.5", K(CLASS_WEIGHTS), beta_negative},
    {"method = 9", K(DIFF_ENTROPY), method_unknown},
    {"dx = 0", K(DENSITY), dx_zero},
    {"dx = -0.5", K(DENSITY), dx_negative},
    {"dx = NaN", K(DENSITY), dx_nan},
    {"dx = Inf", K(DENSITY), dx_inf},
    /* labels */
    {"label = c", LABELLED | K(CLASS_WEIGHTS), label_equal_c},
    {"label = -1", LABELLED | K(CLASS_WEIGHTS), label_negative},
    {"label = INT64_MAX", LABELLED | K(CLASS_WEIGHTS), label_huge},
    {"label = INT64_MIN", LABELLED | K(CLASS_WEIGHTS), label_min},
    /* data */
    {"probability 1.5", LOSSES, prob_above_one},
    {"probability -0.25", LOSSES, prob_negative},
    {"probability NaN", LOSSES, prob_nan},
    {"probability +Inf", LOSSES, prob_inf},
    {"probability -Inf", LOSSES, prob_minus_inf},
    {"logit NaN", LOSSES, logit_nan},
    {"logit +Inf", LOSSES, logit_inf},
    {"a row of -Inf logits", K(ENTROPY) | K(CROSS_ENTROPY) | K(KL) | LABELLED, logits_all_minus_inf},
    {"target 1.5", DENSE_TARGET, target_above_one},
    {"target -0.5", DENSE_TARGET, target_negative},
    {"target NaN", DENSE_TARGET, target_nan},
    {"target +Inf (logits)", DENSE_TARGET, target_inf_with_logits},
    {"sample NaN", K(DIFF_ENTROPY), sample_nan},
    {"sample -Inf", K(DIFF_ENTROPY), sample_inf},
    {"density NaN", K(DENSITY), prob_nan},
    {"density +Inf", K(DENSITY), prob_inf},
    {"density negative", K(DENSITY), density_negative},
    /* overlaps */
    {"out on the first input", ALL, overlap_out_first},
    {"out inside the first input", LOSSES | K(DIFF_ENTROPY) | K(DENSITY), overlap_out_tail},
    {"grad inside target", DENSE_TARGET, overlap_grad_target},
    {"hess on labels", LABELLED, overlap_hess_labels},
    {"out on the class vector", CLASS_VECTOR, overlap_out_vector},
    {"grad and hess overlap", LOSSES, overlap_grad_hess},
    {"out and grad coincide", LOSSES, overlap_out_grad},
    /* alignment */
    {"misaligned first input", ALL, misaligned_first},
    {"misaligned target", DENSE_TARGET, misaligned_target},
    {"misaligned labels", LABELLED, misaligned_labels},
    {"misaligned class vector", CLASS_VECTOR, misaligned_vector},
    {"misaligned out", ALL, misaligned_out},
    {"misaligned grad", LOSSES, misaligned_grad},
    {"misaligned hess", LOSSES, misaligned_hess},
    {"misaligned opts", WITH_OPTS, misaligned_opts},
};

/* Statuses each function can return from bad input (besides PANIC and
 * MEMORY, which no argument provokes). */
static unsigned reachable(enum kind k) {
    unsigned s = 1u << FLOSS_OK | 1u << FLOSS_ERR_NULL_POINTER | 1u << FLOSS_ERR_SHAPE |
                 1u << FLOSS_ERR_ARGUMENT | 1u << FLOSS_ERR_OVERLAP | 1u << FLOSS_ERR_ALIGNMENT;
    if (K(k) & (LABELLED | K(CLASS_WEIGHTS))) s |= 1u << FLOSS_ERR_LABEL;
    if (K(k) & (LOSSES | K(DENSITY))) s |= 1u << FLOSS_ERR_PROBABILITY;
    if (K(k) & FLOAT_INPUT) s |= 1u << FLOSS_ERR_NON_FINITE;
    return s;
}

/* ------------------------------------------------------------- driver */

static int failures = 0;
static unsigned long calls = 0;
static unsigned long error_calls = 0;
static unsigned seen[N_KINDS][2];

static void fail(const char *fn, const char *what, const char *fmt, const char *detail) {
    fprintf(stderr, "FAIL %s, %s: ", fn, what);
    fprintf(stderr, fmt, detail);
    fprintf(stderr, "\n");
    failures++;
}

static void last_error(char *buf, size_t len) { floss_last_error(buf, len); }

/* Sets a known message from a call of another function than `k`. */
static void set_marker(enum kind k, char *marker, size_t len) {
    double w[1];
    if (k != CLASS_WEIGHTS)
        floss_class_weights_f64(NULL, 1, 1, 0, 0.0, FLOSS_NO_IGNORE, w);
    else
        floss_differential_entropy_density_f64(NULL, 4, 1.0, NULL, w);
    last_error(marker, len);
}

static void run_case(const struct kase *c, enum kind k, enum dtype dt) {
    struct problem p;
    struct args a;
    struct expect e;
    char fn[96], marker[256], msg[512];
    problem_init(&p, k, dt, &a);
    memset(&e, 0, sizeof e);
    c->edit(&p, &a, &e);
    snprintf(fn, sizeof fn, "%s_%s", kind_name[k], dt == F32 ? "f32" : "f64");

    snapshot(&p);
    set_marker(k, marker, sizeof marker);
    floss_status got = invoke(k, dt, &a);
    calls++;
    last_error(msg, sizeof msg);
    if (got < 32) seen[k][dt] |= 1u << got;

    if (got != e.status) {
        char detail[900];
        snprintf(detail, sizeof detail, "status %u (%s), expected %u; message: %s", got,
                 floss_status_str(got), e.status, msg);
        fail(fn, c->what, "%s", detail);
    }
    /* Inputs (pred, target, labels, class vector, options) never change. */
    for (int i = 0; i < 5; i++)
        if (memcmp(p.before[i], p.storage[i], BYTES) != 0)
            fail(fn, c->what, "%s", i == 0 ? "pred modified" : i == 1 ? "target modified" :
                 i == 2 ? "labels modified" : i == 3 ? "class vector modified" : "opts modified");
    if (got != FLOSS_OK) {
        error_calls++;
        for (int i = 5; i < N_STORAGE; i++)
            if (memcmp(p.before[i], p.storage[i], BYTES) != 0)
                fail(fn, c->what, "%s", i == 5 ? "out written by a failing call" :
                     i == 6 ? "grad written by a failing call" : "hess written by a failing call");
        char want[128];
        snprintf(want, sizeof want, "%s: ", fn);
        if (strncmp(msg, want, strlen(want)) != 0)
            fail(fn, c->what, "message does not start with the function's name: %s", msg);
        if (e.word[0] && !strstr(msg, e.word)) {
            char detail[700];
            snprintf(detail, sizeof detail, "message lacks \"%s\": %s", e.word, msg);
            fail(fn, c->what, "%s", detail);
        }
        if (e.word2[0] && !strstr(msg, e.word2)) {
            char detail[700];
            snprintf(detail, sizeof detail, "message lacks \"%s\": %s", e.word2, msg);
            fail(fn, c->what, "%s", detail);
        }
    } else {
        if (strcmp(msg, marker) != 0)
            fail(fn, c->what, "a successful call changed the last error: %s", msg);
        /* A success wrote its first output (out, or the class weights). */
        if (a.out == p.out && memcmp(p.before[5], p.storage[5], p.esize) == 0)
            fail(fn, c->what, "%s", "succeeded without writing out[0]");
    }
    problem_free(&p);
}

/* The contract of the utility functions. */
static void utilities(void) {
    char buf[512];
    const char *names[] = {"FLOSS_OK", "FLOSS_ERR_NULL_POINTER", "FLOSS_ERR_SHAPE",
                           "FLOSS_ERR_ARGUMENT", "FLOSS_ERR_LABEL", "FLOSS_ERR_PROBABILITY",
                           "FLOSS_ERR_NON_FINITE", "FLOSS_ERR_OVERLAP", "FLOSS_ERR_ALIGNMENT",
                           "FLOSS_ERR_PANIC", "FLOSS_ERR_MEMORY"};
    for (unsigned s = 0; s <= FLOSS_ERR_MEMORY; s++) {
        calls++;
        if (strncmp(floss_status_str(s), names[s], strlen(names[s])) != 0)
            fail("floss_status_str", names[s], "%s", floss_status_str(s));
    }
    calls += 2;
    if (strcmp(floss_status_str(11), "unknown status") != 0 ||
        strcmp(floss_status_str(UINT32_MAX), "unknown status") != 0)
        fail("floss_status_str", "unknown", "%s", floss_status_str(11));

    /* floss_last_error: snprintf semantics. */
    double out[1];
    floss_entropy_f64(NULL, 1, 1, NULL, out, NULL, NULL); /* "...: pred is NULL" */
    calls++;
    const char *full = "floss_entropy_f64: pred is NULL";
    size_t len = strlen(full);
    calls++;
    if (floss_last_error(NULL, 0) != len) fail("floss_last_error", "NULL, 0", "%s", "wrong length");
    memset(buf, 'x', sizeof buf);
    calls++;
    if (floss_last_error(buf, 6) != len || strcmp(buf, "floss") != 0 || buf[6] != 'x')
        fail("floss_last_error", "truncation to 6 bytes", "%s", buf);
    calls++;
    if (floss_last_error(buf, len) != len || strlen(buf) != len - 1)
        fail("floss_last_error", "len = message length", "%s", buf);
    calls++;
    if (floss_last_error(buf, sizeof buf) != len || strcmp(buf, full) != 0)
        fail("floss_last_error", "whole message", "%s", buf);
    memset(buf, 'x', sizeof buf);
    calls++;
    if (floss_last_error(buf, 1) != len || buf[0] != 0 || buf[1] != 'x')
        fail("floss_last_error", "len 1", "%s", "not just a NUL");

    /* floss_options_init (the header's macro for floss_options_init_sized
     * with this header's size): the documented defaults. */
    floss_options o;
    memset(&o, 0xFF, sizeof o);
    floss_options_init(&o);
    calls++;
    if (o.size != sizeof o || o.input != FLOSS_INPUT_PROBS || o.reduction != FLOSS_REDUCTION_MEAN ||
        o.log_base != 0.0 || o.ignore_index != FLOSS_NO_IGNORE || o.label_smoothing != 0.0 ||
        o.hessian != FLOSS_HESSIAN_EXACT || o.hessian_floor != 1e-6 || o.positions != 0)
        fail("floss_options_init", "defaults", "%s", "a field differs from the header");
    /* floss_options_init_sized: NULL, and sizes of no released layout, are
     * refused without writing; the 0.1 size writes exactly 40 bytes. */
    unsigned char raw[sizeof(floss_options) + 16], copy[sizeof raw];
    const size_t bad_sizes[] = {0, 12, 39, 41, 63, 65, sizeof raw};
    calls++;
    if (floss_options_init_sized(NULL, sizeof(floss_options)) != FLOSS_ERR_NULL_POINTER)
        fail("floss_options_init_sized", "NULL", "%s", "not FLOSS_ERR_NULL_POINTER");
    last_error(buf, sizeof buf);
    if (!strstr(buf, "floss_options_init_sized") || !strstr(buf, "opts"))
        fail("floss_options_init_sized", "NULL message", "%s", buf);
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        memset(raw, 0x5A, sizeof raw);
        memcpy(copy, raw, sizeof raw);
        calls++;
        if (floss_options_init_sized((floss_options *)(void *)raw, bad_sizes[i]) != FLOSS_ERR_ARGUMENT ||
            memcmp(raw, copy, sizeof raw) != 0)
            fail("floss_options_init_sized", "a size of no released layout", "%s",
                 "not refused, or bytes written");
        last_error(buf, sizeof buf);
        if (!strstr(buf, "floss_options_init_sized") || !strstr(buf, "size"))
            fail("floss_options_init_sized", "bad size message", "%s", buf);
    }
    memset(raw, 0x5A, sizeof raw);
    calls++;
    if (floss_options_init_sized((floss_options *)(void *)raw, FLOSS_OPTIONS_SIZE_V0_1) != FLOSS_OK ||
        ((floss_options *)(void *)raw)->size != FLOSS_OPTIONS_SIZE_V0_1 || raw[FLOSS_OPTIONS_SIZE_V0_1] != 0x5A)
        fail("floss_options_init_sized", "0.1 size", "%s", "not exactly 40 bytes written");
    /* The exported 0.1 entry point (the function, not the macro): 40 bytes;
     * NULL does nothing. */
    memset(raw, 0x5A, sizeof raw);
    (floss_options_init)((floss_options *)(void *)raw);
    (floss_options_init)(NULL);
    calls += 2;
    if (((floss_options *)(void *)raw)->size != FLOSS_OPTIONS_SIZE_V0_1 || raw[FLOSS_OPTIONS_SIZE_V0_1] != 0x5A)
        fail("floss_options_init", "0.1 entry point", "%s", "not exactly 40 bytes written");

    calls++;
    const char *level = floss_simd_level();
    if (!level || (strcmp(level, "avx512") != 0 && strcmp(level, "avx2") != 0 &&
                   strcmp(level, "baseline") != 0))
        fail("floss_simd_level", "a known level", "%s", level ? level : "NULL");

    char version[64];
    snprintf(version, sizeof version, "%d.%d.%d", FLOSS_VERSION_MAJOR, FLOSS_VERSION_MINOR,
             FLOSS_VERSION_PATCH);
    calls++;
    if (strcmp(floss_version(), version) != 0)
        fail("floss_version", "matches the header", "%s", floss_version());

    size_t threads = floss_get_num_threads();
    floss_set_num_threads(0);
    calls += 2;
    if (floss_get_num_threads() != 1) fail("floss_set_num_threads", "0 means 1", "%s", "");
    floss_set_num_threads(3);
    calls += 2;
    if (floss_get_num_threads() != 3) fail("floss_set_num_threads", "3", "%s", "");
    floss_set_num_threads(threads);
    calls++;
}

int main(void) {
    const size_t n_cases = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n_cases; i++)
        for (int k = 0; k < N_KINDS; k++)
            if (cases[i].kinds & K(k))
                for (int dt = F32; dt <= F64; dt++) run_case(&cases[i], (enum kind)k, (enum dtype)dt);

    /* Every function returned each status it can reach, in both dtypes. */
    for (int k = 0; k < N_KINDS; k++)
        for (int dt = F32; dt <= F64; dt++) {
            unsigned missing = reachable((enum kind)k) & ~seen[k][dt];
            for (unsigned s = 0; s < 32; s++)
                if (missing & (1u << s)) {
                    char fn[96];
                    snprintf(fn, sizeof fn, "%s_%s", kind_name[k], dt == F32 ? "f32" : "f64");
                    fail(fn, "coverage", "status %s never returned", floss_status_str(s));
                }
        }
    unsigned long table_calls = calls;
    utilities();

    if (failures) {
        fprintf(stderr, "hostile: %d check(s) failed\n", failures);
        return 1;
    }
    printf("hostile: %lu calls (%lu table calls: %lu failing as expected, %lu succeeding; "
           "%zu cases x %d functions x 2 dtypes; %lu utility calls), every check passed\n",
           calls, table_calls, error_calls, table_calls - error_calls, n_cases, N_KINDS,
           calls - table_calls);
    return 0;
}
