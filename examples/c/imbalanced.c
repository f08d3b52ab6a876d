/*
 * imbalanced.c: training on imbalanced data with floss.
 *
 * A multinomial logistic regression (3 classes, 2 features) is trained by
 * plain full-batch gradient descent on a synthetic, reproducible data set
 * whose classes appear in proportions 90% / 9% / 1% with overlapping
 * clusters. floss supplies the loss and its gradient with respect to the
 * logits; the program only does the chain rule to the weights.
 *
 * It trains four times, with
 *   - cross-entropy                    floss_sparse_cross_entropy_f64
 *   - balanced cross-entropy           floss_balanced_cross_entropy_f64,
 *                                      alpha = floss_class_weights_f64 (inverse frequency)
 *   - focal loss, gamma = 2            floss_focal_loss_f64, alpha = NULL
 *   - alpha-balanced focal, gamma = 2  floss_focal_loss_f64, alpha as above
 * and prints per-class recall and precision, macro-F1 on a held-out test set,
 * the final training loss (each under its own objective) and the test
 * cross-entropy of every model.
 *
 * Build and run: make demo
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floss.h"

#define CLASSES 3
#define FEATURES 2
#define TRAIN 30000
#define TEST 30000
#define STEPS 400
#define LEARNING_RATE 0.5

static const double class_share[CLASSES] = {0.90, 0.09, 0.01};
static const double class_mean[CLASSES][FEATURES] = {{0.0, 0.0}, {1.6, 0.6}, {0.6, 1.8}};

/* splitmix64: a small, fixed, portable generator. */
static unsigned long long rng_state = 20261126ULL;
static double uniform01(void) {
    unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0; /* in (0, 1) */
}
static double normal01(void) { /* Box-Muller */
    return sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01());
}

static void make_data(size_t n, double *x, int64_t *y) {
    for (size_t i = 0; i < n; i++) {
        double u = uniform01();
        int64_t k = u < class_share[0] ? 0 : (u < class_share[0] + class_share[1] ? 1 : 2);
        y[i] = k;
        for (int f = 0; f < FEATURES; f++) x[i * FEATURES + f] = class_mean[k][f] + normal01();
    }
}

typedef struct {
    double w[CLASSES][FEATURES];
    double b[CLASSES];
} model;

static void logits(const model *m, const double *x, size_t n, double *z) {
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < CLASSES; k++) {
            double s = m->b[k];
            for (int f = 0; f < FEATURES; f++) s += m->w[k][f] * x[i * FEATURES + f];
            z[i * CLASSES + k] = s;
        }
}

typedef enum { CROSS_ENTROPY, BALANCED, FOCAL, FOCAL_BALANCED, OBJECTIVES } objective;
static const char *objective_name[OBJECTIVES] = {"cross-entropy", "balanced CE", "focal g=2",
                                                 "focal g=2 +alpha"};

static void check(floss_status status, const char *what) {
    if (status != FLOSS_OK) {
        char message[256];
        floss_last_error(message, sizeof message);
        fprintf(stderr, "%s failed: %s\n  %s\n", what, floss_status_str(status), message);
        exit(1);
    }
}

/* Mean loss of `objective` at logits z, and its gradient with respect to z. */
static double loss_and_grad(objective obj, const double *z, const int64_t *y, size_t n,
                            const double *alpha, double *grad) {
    floss_options opts;
    floss_options_init(&opts);
    opts.input = FLOSS_INPUT_LOGITS;
    opts.reduction = FLOSS_REDUCTION_MEAN;
    double loss = 0.0;
    switch (obj) {
    case CROSS_ENTROPY:
        check(floss_sparse_cross_entropy_f64(z, y, n, CLASSES, NULL, &opts, &loss, grad, NULL),
              "cross-entropy");
        break;
    case BALANCED:
        check(floss_balanced_cross_entropy_f64(z, y, n, CLASSES, alpha, &opts, &loss, grad, NULL),
              "balanced cross-entropy");
        break;
    case FOCAL:
        check(floss_focal_loss_f64(z, y, n, CLASSES, NULL, 2.0, &opts, &loss, grad, NULL), "focal");
        break;
    default:
        check(floss_focal_loss_f64(z, y, n, CLASSES, alpha, 2.0, &opts, &loss, grad, NULL),
              "focal");
        break;
    }
    return loss;
}

/* Gradient descent; returns the final training loss. */
static double train(objective obj, const double *x, const int64_t *y, size_t n,
                    const double *alpha, model *m, double *z, double *grad) {
    memset(m, 0, sizeof *m);
    double first = 0.0, loss = 0.0;
    for (int step = 0; step <= STEPS; step++) {
        logits(m, x, n, z);
        loss = loss_and_grad(obj, z, y, n, alpha, grad);
        if (step == 0) first = loss;
        if (step == STEPS) break;
        /* Chain rule: dL/dW[k][f] = sum_i dL/dz[i][k] x[i][f] (grad is already divided by n). */
        for (int k = 0; k < CLASSES; k++) {
            double gb = 0.0, gw[FEATURES] = {0.0};
            for (size_t i = 0; i < n; i++) {
                double g = grad[i * CLASSES + k];
                gb += g;
                for (int f = 0; f < FEATURES; f++) gw[f] += g * x[i * FEATURES + f];
            }
            m->b[k] -= LEARNING_RATE * gb;
            for (int f = 0; f < FEATURES; f++) m->w[k][f] -= LEARNING_RATE * gw[f];
        }
    }
    if (!(loss < first)) {
        fprintf(stderr, "%s: training did not reduce the loss (%g -> %g)\n", objective_name[obj],
                first, loss);
        exit(1);
    }
    return loss;
}

typedef struct {
    double recall[CLASSES], precision[CLASSES], macro_f1, test_ce, train_loss;
} scores;

static scores evaluate(const model *m, const double *x, const int64_t *y, size_t n, double *z) {
    scores s;
    long confusion[CLASSES][CLASSES] = {{0}};
    logits(m, x, n, z);
    for (size_t i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < CLASSES; k++)
            if (z[i * CLASSES + k] > z[i * CLASSES + best]) best = k;
        confusion[y[i]][best]++;
    }
    s.macro_f1 = 0.0;
    for (int k = 0; k < CLASSES; k++) {
        long actual = 0, predicted = 0;
        for (int j = 0; j < CLASSES; j++) {
            actual += confusion[k][j];
            predicted += confusion[j][k];
        }
        s.recall[k] = actual ? (double)confusion[k][k] / (double)actual : 0.0;
        s.precision[k] = predicted ? (double)confusion[k][k] / (double)predicted : 0.0;
        double pr = s.precision[k] + s.recall[k];
        s.macro_f1 += (pr > 0.0 ? 2.0 * s.precision[k] * s.recall[k] / pr : 0.0) / CLASSES;
    }
    floss_options opts;
    floss_options_init(&opts);
    opts.input = FLOSS_INPUT_LOGITS;
    check(floss_sparse_cross_entropy_f64(z, y, n, CLASSES, NULL, &opts, &s.test_ce, NULL, NULL),
          "test cross-entropy");
    return s;
}

int main(void) {
    double *x_train = malloc(sizeof(double) * TRAIN * FEATURES);
    double *x_test = malloc(sizeof(double) * TEST * FEATURES);
    int64_t *y_train = malloc(sizeof(int64_t) * TRAIN);
    int64_t *y_test = malloc(sizeof(int64_t) * TEST);
    double *z = malloc(sizeof(double) * TRAIN * CLASSES);
    double *grad = malloc(sizeof(double) * TRAIN * CLASSES);
    if (!x_train || !x_test || !y_train || !y_test || !z || !grad) return 1;
    make_data(TRAIN, x_train, y_train);
    make_data(TEST, x_test, y_test);

    long count[CLASSES] = {0};
    for (size_t i = 0; i < TRAIN; i++) count[y_train[i]]++;
    double alpha[CLASSES];
    check(floss_class_weights_f64(y_train, TRAIN, CLASSES, FLOSS_WEIGHTS_INVERSE_FREQUENCY, 0.0,
                                  FLOSS_NO_IGNORE, alpha),
          "class weights");

    printf("floss %s: imbalanced 3-class logistic regression, %d gradient steps\n",
           floss_version(), STEPS);
    printf("training set: %d samples; class counts %ld / %ld / %ld; "
           "alpha (inverse frequency) = %.3f / %.3f / %.3f\n",
           TRAIN, count[0], count[1], count[2], alpha[0], alpha[1], alpha[2]);
    printf("test set: %d samples from the same distribution\n\n", TEST);

    scores result[OBJECTIVES];
    for (int obj = 0; obj < OBJECTIVES; obj++) {
        model m;
        double loss = train((objective)obj, x_train, y_train, TRAIN, alpha, &m, z, grad);
        result[obj] = evaluate(&m, x_test, y_test, TEST, z);
        result[obj].train_loss = loss;
    }

    printf("%-22s", "");
    for (int obj = 0; obj < OBJECTIVES; obj++) printf("%18s", objective_name[obj]);
    printf("\n");
    for (int k = 0; k < CLASSES; k++) {
        printf("recall    class %d %3.0f%%", k, 100.0 * class_share[k]);
        for (int obj = 0; obj < OBJECTIVES; obj++) printf("%18.3f", result[obj].recall[k]);
        printf("\n");
    }
    for (int k = 0; k < CLASSES; k++) {
        printf("precision class %d %3.0f%%", k, 100.0 * class_share[k]);
        for (int obj = 0; obj < OBJECTIVES; obj++) printf("%18.3f", result[obj].precision[k]);
        printf("\n");
    }
    printf("%-22s", "macro-F1");
    for (int obj = 0; obj < OBJECTIVES; obj++) printf("%18.3f", result[obj].macro_f1);
    printf("\n%-22s", "final training loss");
    for (int obj = 0; obj < OBJECTIVES; obj++) printf("%18.4f", result[obj].train_loss);
    printf("\n%-22s", "test cross-entropy");
    for (int obj = 0; obj < OBJECTIVES; obj++) printf("%18.4f", result[obj].test_ce);
    printf("\n");

    free(x_train);
    free(x_test);
    free(y_train);
    free(y_test);
    free(z);
    free(grad);
    return 0;
}
