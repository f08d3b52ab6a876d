/*
 * continuous_entropy.c: the differential entropy of a normal distribution,
 * estimated with floss from samples and from its sampled density.
 *
 * X ~ N(mu, sigma^2) has H(X) = -integral f ln f dx = 0.5 ln(2 pi e sigma^2)
 * nats (divide by ln 2 for bits). The program
 *   1. draws N samples of X with a small fixed generator (splitmix64 and
 *      Box-Muller, so every run prints the same numbers),
 *   2. estimates H from them with each of SciPy's spacing estimators
 *      (floss_differential_entropy_f64, in nats and in bits),
 *   3. integrates -f ln f over the density sampled on a grid
 *      (floss_differential_entropy_density_f64),
 *   4. shows what a bad argument returns,
 * and exits with status 1 if a result is further from the closed form than
 * the tolerance stated below, so running it checks it.
 *
 * Build (after cargo build --release):
 *   gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude examples/c/continuous_entropy.c \
 *       -Ltarget/release -lfloss -lm -Wl,-rpath,$PWD/target/release
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "floss.h"

#define N 10000 /* samples; the default window is floor(sqrt(N) + 0.5) = 100 */
#define GRID 1001 /* density grid points over mu +- 12 sigma */
#define PI 3.14159265358979323846

static const double mu = 1.0;
static const double sigma = 2.0;

/*
 * Tolerances, in nats. An estimate from N samples has a standard deviation
 * of about sqrt(Var ln f(X) / N) = sqrt(0.5 / N) = 0.007, plus its bias:
 * about +0.001 (Vasicek), +0.007 (Ebrahimi, Correa) and -0.036 (van Es,
 * whose spacings miss the outer tails; SciPy's AUTO uses it for n <= 10
 * only). The density integral is exact to rounding error.
 */
static const double sample_tolerance = 0.03;
static const double van_es_tolerance = 0.06;
static const double density_tolerance = 1e-9;

/* splitmix64: a small, fixed, portable generator. */
static unsigned long long rng_state = 20240611ULL;
static double uniform01(void) {
    unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0; /* in (0, 1) */
}
static double normal(double mean, double sd) { /* Box-Muller */
    return mean + sd * sqrt(-2.0 * log(uniform01())) * cos(2.0 * PI * uniform01());
}

static int failures = 0;

/* Stops on an unexpected status, printing floss's explanation. */
static void check_status(floss_status status, const char *call) {
    if (status != FLOSS_OK) {
        char message[256];
        floss_last_error(message, sizeof message);
        fprintf(stderr, "%s failed: %s\n  %s\n", call, floss_status_str(status), message);
        exit(1);
    }
}

/* Prints one result next to the closed form and counts it if it is off. */
static void report(const char *what, double nats, double bits, double exact, double tolerance) {
    double error = nats - exact;
    int ok = fabs(error) <= tolerance;
    printf("  %-22s %9.5f nats  %9.5f bits  error %+.1e  %s\n", what, nats, bits, error,
           ok ? "ok" : "OFF");
    if (!ok) failures++;
}

int main(void) {
    const double exact = 0.5 * log(2.0 * PI * exp(1.0) * sigma * sigma);
    const double ln2 = log(2.0);

    /* floss_options: initialise, then set what differs from the defaults. */
    floss_options bits;
    floss_options_init(&bits);
    bits.log_base = 2.0;

    printf("X ~ N(%g, %g^2): H = 0.5 ln(2 pi e sigma^2) = %.5f nats = %.5f bits\n\n", mu, sigma,
           exact, exact / ln2);

    /* 1. Samples. They can be in any order; floss sorts a copy. */
    static double samples[N];
    for (size_t i = 0; i < N; i++) samples[i] = normal(mu, sigma);

    /* 2. One estimate per method; window 0 is SciPy's default. */
    static const struct {
        uint32_t method;
        const char *name;
    } methods[] = {
        {FLOSS_DIFFERENTIAL_ENTROPY_AUTO, "auto (Vasicek, n>1000)"},
        {FLOSS_DIFFERENTIAL_ENTROPY_VASICEK, "Vasicek"},
        {FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES, "van Es"},
        {FLOSS_DIFFERENTIAL_ENTROPY_EBRAHIMI, "Ebrahimi"},
        {FLOSS_DIFFERENTIAL_ENTROPY_CORREA, "Correa"},
    };
    printf("From %d samples (tolerance %.2f nats, %.2f for van Es):\n", N, sample_tolerance,
           van_es_tolerance);
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
        double nats, in_bits;
        /* opts = NULL: the defaults, natural logarithm. */
        check_status(floss_differential_entropy_f64(samples, N, methods[k].method, 0, NULL, &nats),
                     "floss_differential_entropy_f64");
        check_status(
            floss_differential_entropy_f64(samples, N, methods[k].method, 0, &bits, &in_bits),
            "floss_differential_entropy_f64 (bits)");
        if (fabs(in_bits - nats / ln2) > 1e-12) { /* log_base = 2 divides by ln 2 */
            printf("  bits %.17g != nats / ln 2 = %.17g\n", in_bits, nats / ln2);
            failures++;
        }
        double tolerance = methods[k].method == FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES
                               ? van_es_tolerance
                               : sample_tolerance;
        report(methods[k].name, nats, in_bits, exact, tolerance);
    }

    /* 3. The density f(x) = exp(-(x - mu)^2 / (2 sigma^2)) / (sigma sqrt(2 pi))
     *    on GRID points x_k = mu - 12 sigma + k dx, integrated by Simpson's rule. */
    static double density[GRID];
    const double dx = 24.0 * sigma / (GRID - 1);
    for (size_t k = 0; k < GRID; k++) {
        double z = (-12.0 * sigma + (double)k * dx) / sigma;
        density[k] = exp(-0.5 * z * z) / (sigma * sqrt(2.0 * PI));
    }
    double nats, in_bits;
    check_status(floss_differential_entropy_density_f64(density, GRID, dx, NULL, &nats),
                 "floss_differential_entropy_density_f64");
    check_status(floss_differential_entropy_density_f64(density, GRID, dx, &bits, &in_bits),
                 "floss_differential_entropy_density_f64 (bits)");
    printf("\nFrom the density on %d points, dx = %.4f (tolerance %.0e nats):\n", GRID, dx,
           density_tolerance);
    report("Simpson's rule", nats, in_bits, exact, density_tolerance);

    /* The same in single precision: the samples rounded to float. */
    static float samples_f32[N];
    for (size_t i = 0; i < N; i++) samples_f32[i] = (float)samples[i];
    float nats_f32;
    check_status(floss_differential_entropy_f32(samples_f32, N, FLOSS_DIFFERENTIAL_ENTROPY_AUTO, 0,
                                                NULL, &nats_f32),
                 "floss_differential_entropy_f32");
    printf("\nThe samples as float:\n");
    report("auto, float", nats_f32, nats_f32 / ln2, exact, sample_tolerance);

    /* 4. Errors are status codes with a message, never a crash: a window of
     *    N/2 needs more than N samples (SciPy requires 2 window < n). */
    double unused;
    floss_status status = floss_differential_entropy_f64(
        samples, N, FLOSS_DIFFERENTIAL_ENTROPY_VASICEK, N / 2, NULL, &unused);
    char message[256];
    floss_last_error(message, sizeof message);
    printf("\nwindow = %d: %s\n  %s\n", N / 2, floss_status_str(status), message);
    if (status != FLOSS_ERR_SHAPE) failures++;

    if (failures > 0) {
        printf("\n%d result(s) outside their tolerance\n", failures);
        return 1;
    }
    printf("\nall results within their tolerances\n");
    return 0;
}
