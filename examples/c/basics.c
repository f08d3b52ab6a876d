/*
 * basics.c: a first tour of floss from C.
 *
 *   1. entropy of a distribution, in bits
 *   2. cross-entropy and KL divergence from probabilities
 *   3. the same from logits
 *   4. focal loss with its gradient, checked by finite differences
 *   5. an error: its status and message
 *
 * Every floss function returns a floss_status (FLOSS_OK = 0) and takes
 * options through a floss_options initialised by floss_options_init (NULL
 * means the defaults: probabilities, mean over rows, natural log). Each
 * exists for float (_f32) and double (_f64); this program uses double.
 * It checks every result against an independent value and exits non-zero
 * if one is off.
 *
 * Build:  cc -std=c99 -Iinclude examples/c/basics.c -Ltarget/release -lfloss -lm
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "floss.h"

static int failures = 0;

/* Prints a computed value next to the expected one and counts a failure if
 * they differ by more than tol. */
static void expect(const char *what, double got, double want, double tol) {
    int ok = fabs(got - want) <= tol;
    printf("  %-44s %.15g (expected %.15g +- %g) %s\n", what, got, want, tol,
           ok ? "ok" : "FAILED");
    if (!ok) failures++;
}

/* Stops on an unexpected error, printing the library's message. */
static void must(floss_status status, const char *call) {
    if (status != FLOSS_OK) {
        char message[512];
        floss_last_error(message, sizeof message);
        printf("%s failed: %s\n  %s\n", call, floss_status_str(status), message);
        exit(1);
    }
}

/* softmax of a row of c logits, computed here independently of floss. */
static void softmax(const double *z, size_t c, double *p) {
    double max = z[0], sum = 0.0;
    size_t j;
    for (j = 1; j < c; j++) if (z[j] > max) max = z[j];
    for (j = 0; j < c; j++) sum += (p[j] = exp(z[j] - max));
    for (j = 0; j < c; j++) p[j] /= sum;
}

int main(void) {
    floss_options opts;
    size_t i, j;

    printf("floss %s (header %d.%d.%d)\n\n", floss_version(), FLOSS_VERSION_MAJOR,
           FLOSS_VERSION_MINOR, FLOSS_VERSION_PATCH);

    /* 1. Entropy in bits: log_base = 2. A fair 4-sided die has 2 bits. */
    printf("1. Entropy\n");
    {
        const double die[4] = {0.25, 0.25, 0.25, 0.25};
        double h;
        floss_options_init(&opts);
        opts.log_base = 2.0;
        must(floss_entropy_f64(die, 1, 4, &opts, &h, NULL, NULL), "floss_entropy_f64");
        expect("H(fair 4-sided die) in bits", h, 2.0, 1e-12);

        /* Several rows at once: reduction NONE gives one entropy per row.
         * A zero probability contributes 0 (0 log 0 = 0). */
        {
            const double rows[2 * 4] = {0.5, 0.5, 0.0, 0.0,   /* a fair coin: 1 bit */
                                        1.0, 0.0, 0.0, 0.0};  /* certain: 0 bits */
            double per_row[2];
            opts.reduction = FLOSS_REDUCTION_NONE;
            must(floss_entropy_f64(rows, 2, 4, &opts, per_row, NULL, NULL), "floss_entropy_f64");
            expect("H(fair coin) in bits", per_row[0], 1.0, 1e-12);
            expect("H(certain outcome) in bits", per_row[1], 0.0, 0.0);
        }
    }

    /* 2. Cross-entropy H(t, p) = -sum t log p and KL(t || p) = sum t log(t / p),
     * natural log, from probabilities. pred = p (the model), target = t. */
    printf("\n2. Cross-entropy and KL divergence from probabilities (nats)\n");
    {
        const double t[3] = {0.7, 0.2, 0.1};
        const double p[3] = {0.5, 0.3, 0.2};
        double ce, kl, kl_self, h_t, by_hand = 0.0;
        for (j = 0; j < 3; j++) by_hand -= t[j] * log(p[j]);

        must(floss_cross_entropy_f64(p, t, 1, 3, NULL, &ce, NULL, NULL), "floss_cross_entropy_f64");
        must(floss_kl_divergence_f64(p, t, 1, 3, NULL, &kl, NULL, NULL), "floss_kl_divergence_f64");
        must(floss_kl_divergence_f64(p, p, 1, 3, NULL, &kl_self, NULL, NULL),
             "floss_kl_divergence_f64");
        must(floss_entropy_f64(t, 1, 3, NULL, &h_t, NULL, NULL), "floss_entropy_f64");

        expect("H(t, p) vs -sum t log p by hand", ce, by_hand, 1e-12);
        expect("KL(p || p) is exactly 0", kl_self, 0.0, 0.0);
        expect("H(t, p) = H(t) + KL(t || p)", ce, h_t + kl, 1e-12);
    }

    /* 3. From logits: FLOSS_INPUT_LOGITS applies the softmax inside, in log
     * space (no overflow for large logits). The result must match the
     * probabilities softmax(z) passed as FLOSS_INPUT_PROBS. */
    printf("\n3. The same from logits\n");
    {
        const double z[3] = {2.0, 1.0, 0.1};
        const double t[3] = {0.7, 0.2, 0.1};
        double p[3], ce_logits, ce_probs, kl_logits, kl_probs;
        softmax(z, 3, p);

        floss_options_init(&opts);
        opts.input = FLOSS_INPUT_LOGITS;
        must(floss_cross_entropy_f64(z, t, 1, 3, &opts, &ce_logits, NULL, NULL),
             "floss_cross_entropy_f64");
        must(floss_kl_divergence_f64(z, t, 1, 3, &opts, &kl_logits, NULL, NULL),
             "floss_kl_divergence_f64");
        must(floss_cross_entropy_f64(p, t, 1, 3, NULL, &ce_probs, NULL, NULL),
             "floss_cross_entropy_f64");
        must(floss_kl_divergence_f64(p, t, 1, 3, NULL, &kl_probs, NULL, NULL),
             "floss_kl_divergence_f64");

        expect("H(t, softmax z): logits vs probabilities", ce_logits, ce_probs, 1e-12);
        expect("KL(t || softmax z): logits vs probabilities", kl_logits, kl_probs, 1e-12);
    }

    /* 4. Focal loss, L = -(1 - p_y)^gamma log p_y, for 2 samples of 3
     * classes given as logits, averaged (the default reduction), with its
     * gradient w.r.t. the logits. The gradient is checked against central
     * finite differences (L(z + h e_k) - L(z - h e_k)) / 2h. */
    printf("\n4. Focal loss (gamma = 2) with its gradient\n");
    {
        enum { N = 2, C = 3 };
        double z[N * C] = {2.0, 1.0, 0.1,
                           0.5, 2.5, -1.0};
        const int64_t labels[N] = {0, 2};
        const double gamma = 2.0, h = 1e-5;
        double loss, grad[N * C], by_hand = 0.0, worst = 0.0;

        floss_options_init(&opts);
        opts.input = FLOSS_INPUT_LOGITS;
        must(floss_focal_loss_f64(z, labels, N, C, NULL, gamma, &opts, &loss, grad, NULL),
             "floss_focal_loss_f64");

        for (i = 0; i < N; i++) {
            double p[C], py;
            softmax(z + i * C, C, p);
            py = p[labels[i]];
            by_hand += -pow(1.0 - py, gamma) * log(py) / N;
        }
        expect("focal loss vs the formula by hand", loss, by_hand, 1e-12);

        for (i = 0; i < N * C; i++) {
            double up, down, numeric, saved = z[i];
            z[i] = saved + h;
            must(floss_focal_loss_f64(z, labels, N, C, NULL, gamma, &opts, &up, NULL, NULL),
                 "floss_focal_loss_f64");
            z[i] = saved - h;
            must(floss_focal_loss_f64(z, labels, N, C, NULL, gamma, &opts, &down, NULL, NULL),
                 "floss_focal_loss_f64");
            z[i] = saved;
            numeric = (up - down) / (2.0 * h);
            printf("    dL/dz[%lu][%lu] = % .10f   finite difference % .10f\n",
                   (unsigned long)(i / C), (unsigned long)(i % C), grad[i], numeric);
            if (fabs(grad[i] - numeric) > worst) worst = fabs(grad[i] - numeric);
        }
        expect("largest |gradient - finite difference|", worst, 0.0, 1e-8);
    }

    /* 5. Errors: a label outside [0, c) gives FLOSS_ERR_LABEL, and
     * floss_last_error says which one. floss_last_error has snprintf
     * semantics: called with (NULL, 0) it returns the message length. */
    printf("\n5. An error and its message\n");
    {
        const double p[2 * 3] = {0.2, 0.3, 0.5,
                                 0.6, 0.3, 0.1};
        const int64_t labels[2] = {1, 3}; /* 3 is not a class of c = 3 */
        double loss;
        floss_status status =
            floss_sparse_cross_entropy_f64(p, labels, 2, 3, NULL, NULL, &loss, NULL, NULL);
        size_t len = floss_last_error(NULL, 0);
        char *message = malloc(len + 1);
        if (message == NULL) return 1;
        floss_last_error(message, len + 1);

        printf("  status %u: %s\n", (unsigned)status, floss_status_str(status));
        printf("  message:  %s\n", message);
        expect("status is FLOSS_ERR_LABEL", (double)status, (double)FLOSS_ERR_LABEL, 0.0);
        if (len == 0) {
            printf("  FAILED: empty error message\n");
            failures++;
        }
        free(message);
    }

    if (failures) {
        printf("\n%d check(s) FAILED\n", failures);
        return 1;
    }
    printf("\nall checks passed\n");
    return 0;
}
