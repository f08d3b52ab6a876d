/* check.c: the C program of the install tests (tests/consumers/run.sh), built
 * out of the tree against an installed floss (pkg-config, CMake
 * find_package, FetchContent). It computes a multi-class focal loss with its
 * gradient and checks them against values computed here independently (the
 * formula, and central finite differences of floss's own loss), checks that
 * the library is the version of the header, and that a bad label gives
 * FLOSS_ERR_LABEL with a message naming it. Exit status 0 only if all hold. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <floss.h>

#define N 2
#define C 3

static int failures = 0;

static void expect(const char *what, double got, double want, double tol) {
    int ok = fabs(got - want) <= tol;
    printf("  %-28s %.15g (expected %.15g) %s\n", what, got, want, ok ? "ok" : "FAILED");
    if (!ok) failures++;
}

/* Mean focal loss over the rows, by the formula -(1 - p_y)^g ln p_y. */
static double focal_by_hand(const double *z, const int64_t *y, double gamma) {
    double total = 0.0;
    for (int i = 0; i < N; i++) {
        double max = z[i * C], sum = 0.0;
        for (int j = 1; j < C; j++) max = fmax(max, z[i * C + j]);
        for (int j = 0; j < C; j++) sum += exp(z[i * C + j] - max);
        double p = exp(z[i * C + y[i]] - max) / sum;
        total += -pow(1.0 - p, gamma) * log(p);
    }
    return total / N;
}

static double focal(const double *z, const int64_t *y, double gamma, double *grad) {
    floss_options opts;
    floss_options_init(&opts);
    opts.input = FLOSS_INPUT_LOGITS;
    double loss = NAN;
    floss_status s = floss_focal_loss_f64(z, y, N, C, NULL, gamma, &opts, &loss, grad, NULL);
    if (s != FLOSS_OK) {
        printf("  unexpected status %s\n", floss_status_str(s));
        failures++;
    }
    return loss;
}

int main(void) {
    const double z[N * C] = {2.0, 0.5, -1.0, 0.1, 0.2, 3.0};
    const int64_t y[N] = {0, 1};
    const double gamma = 2.0;
    double grad[N * C];

    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", FLOSS_VERSION_MAJOR, FLOSS_VERSION_MINOR,
             FLOSS_VERSION_PATCH);
    printf("floss %s (header %s)\n", floss_version(), version);
    if (strcmp(version, floss_version()) != 0) {
        printf("  library and header versions differ: FAILED\n");
        failures++;
    }

    double loss = focal(z, y, gamma, grad);
    expect("focal loss (gamma 2)", loss, focal_by_hand(z, y, gamma), 1e-13);
    for (int k = 0; k < N * C; k++) {
        double zp[N * C], zm[N * C], h = 1e-6;
        memcpy(zp, z, sizeof z);
        memcpy(zm, z, sizeof z);
        zp[k] += h;
        zm[k] -= h;
        double fd = (focal(zp, y, gamma, NULL) - focal(zm, y, gamma, NULL)) / (2 * h);
        char what[32];
        snprintf(what, sizeof what, "grad[%d] vs finite diff", k);
        expect(what, grad[k], fd, 1e-8);
    }

    const int64_t bad[N] = {0, 3};
    double out;
    floss_status s = floss_focal_loss_f64(z, bad, N, C, NULL, gamma, NULL, &out, NULL, NULL);
    char msg[256];
    floss_last_error(msg, sizeof msg);
    printf("  bad label: %s: %s\n", floss_status_str(s), msg);
    if (s != FLOSS_ERR_LABEL || strstr(msg, "labels[1] = 3") == NULL) {
        printf("  expected FLOSS_ERR_LABEL naming labels[1] = 3: FAILED\n");
        failures++;
    }

    printf(failures ? "check.c: %d FAILED\n" : "check.c: all ok\n", failures);
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
