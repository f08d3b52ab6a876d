// basics.cpp: a first tour of floss from C++ with the header-only wrapper
// floss.hpp (the same story as examples/c/basics.c).
//
//   1. entropy of a distribution, in bits
//   2. cross-entropy and KL divergence from probabilities
//   3. the same from logits
//   4. focal loss with its gradient, checked by finite differences
//   5. errors as exceptions: floss::error with status() and what()
//
// floss::options starts from the library defaults (probabilities, mean over
// rows, natural log) and has chainable setters. Functions taking
// std::vector return the reduced value, or a floss::result {out, grad, hess}
// when given a floss::derivatives; float and double both work. Failures
// throw floss::error. The program checks every result against an
// independent value and exits non-zero if one is off.
//
// Build:  c++ -std=c++17 -Iinclude examples/cpp/basics.cpp -Ltarget/release -lfloss

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "floss.hpp"

namespace {

int failures = 0;

void expect(const char* what, double got, double want, double tol) {
    const bool ok = std::fabs(got - want) <= tol;
    std::printf("  %-44s %.15g (expected %.15g +- %g) %s\n", what, got, want, tol,
                ok ? "ok" : "FAILED");
    if (!ok) ++failures;
}

// softmax of one row, computed here independently of floss.
std::vector<double> softmax(const std::vector<double>& z) {
    double max = z[0], sum = 0.0;
    for (double v : z) max = std::fmax(max, v);
    std::vector<double> p;
    for (double v : z) p.push_back(std::exp(v - max));
    for (double v : p) sum += v;
    for (double& v : p) v /= sum;
    return p;
}

}  // namespace

int main() {
    try {
        std::printf("floss %s (header %d.%d.%d)\n\n", floss::version(), FLOSS_VERSION_MAJOR,
                    FLOSS_VERSION_MINOR, FLOSS_VERSION_PATCH);

        // 1. Entropy in bits. A fair 4-sided die has 2 bits.
        std::printf("1. Entropy\n");
        const auto bits = floss::options().log_base(2);
        expect("H(fair 4-sided die) in bits",
               floss::entropy(std::vector<double>{0.25, 0.25, 0.25, 0.25}, 4, bits), 2.0, 1e-12);

        // Several rows: reduction::none and the overload taking floss::derivatives
        // give one value per row (here in float). 0 log 0 = 0.
        const std::vector<float> rows{0.5f, 0.5f, 0.0f, 0.0f,   // a fair coin: 1 bit
                                      1.0f, 0.0f, 0.0f, 0.0f};  // certain: 0 bits
        const auto per_row = floss::entropy(
            rows, 4, floss::options(bits).reduction(floss::reduction::none),
            floss::derivatives::none);
        expect("H(fair coin) in bits (float)", per_row.out[0], 1.0, 1e-6);
        expect("H(certain outcome) in bits (float)", per_row.out[1], 0.0, 0.0);

        // 2. Cross-entropy and KL (nats) from probabilities: pred p, target t.
        std::printf("\n2. Cross-entropy and KL divergence from probabilities (nats)\n");
        const std::vector<double> t{0.7, 0.2, 0.1};
        const std::vector<double> p{0.5, 0.3, 0.2};
        double by_hand = 0.0;
        for (std::size_t j = 0; j < 3; ++j) by_hand -= t[j] * std::log(p[j]);
        const double ce = floss::cross_entropy(p, t, 3);
        const double kl = floss::kl_divergence(p, t, 3);
        expect("H(t, p) vs -sum t log p by hand", ce, by_hand, 1e-12);
        expect("KL(p || p) is exactly 0", floss::kl_divergence(p, p, 3), 0.0, 0.0);
        expect("H(t, p) = H(t) + KL(t || p)", ce, floss::entropy(t, 3) + kl, 1e-12);

        // 3. From logits: the softmax is applied inside, in log space.
        std::printf("\n3. The same from logits\n");
        const std::vector<double> z{2.0, 1.0, 0.1};
        const auto logits = floss::options().logits();
        expect("H(t, softmax z): logits vs probabilities", floss::cross_entropy(z, t, 3, logits),
               floss::cross_entropy(softmax(z), t, 3), 1e-12);
        expect("KL(t || softmax z): logits vs probabilities",
               floss::kl_divergence(z, t, 3, logits), floss::kl_divergence(softmax(z), t, 3),
               1e-12);

        // 4. Focal loss -(1 - p_y)^gamma log p_y, 2 samples x 3 classes of
        // logits, mean over samples, with the gradient w.r.t. the logits.
        std::printf("\n4. Focal loss (gamma = 2) with its gradient\n");
        const std::size_t n = 2, c = 3;
        std::vector<double> scores{2.0, 1.0, 0.1,
                                   0.5, 2.5, -1.0};
        const std::vector<std::int64_t> labels{0, 2};
        const double gamma = 2.0;
        // {} for alpha: no class weights (all 1).
        const auto focal = floss::focal_loss(scores, labels, c, {}, gamma, logits,
                                             floss::derivatives::grad);
        double formula = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const auto row = softmax({scores.begin() + i * c, scores.begin() + (i + 1) * c});
            const double py = row[labels[i]];
            formula += -std::pow(1.0 - py, gamma) * std::log(py) / n;
        }
        expect("focal loss vs the formula by hand", focal.out[0], formula, 1e-12);

        const double h = 1e-5;
        double worst = 0.0;
        for (std::size_t k = 0; k < n * c; ++k) {
            const double saved = scores[k];
            scores[k] = saved + h;
            const double up = floss::focal_loss(scores, labels, c, {}, gamma, logits);
            scores[k] = saved - h;
            const double down = floss::focal_loss(scores, labels, c, {}, gamma, logits);
            scores[k] = saved;
            const double numeric = (up - down) / (2 * h);
            std::printf("    dL/dz[%zu][%zu] = % .10f   finite difference % .10f\n", k / c, k % c,
                        focal.grad[k], numeric);
            worst = std::fmax(worst, std::fabs(focal.grad[k] - numeric));
        }
        expect("largest |gradient - finite difference|", worst, 0.0, 1e-8);

        // The pointer functions take the C arguments (T deduced from pred) and
        // throw on failure too; grad and hess default to nullptr.
        double same = 0.0;
        floss::focal_loss(scores.data(), labels.data(), n, c, nullptr, gamma, logits, &same);
        expect("pointer overload gives the same loss", same, focal.out[0], 0.0);

        // Channels-first (N, C, H, W) = (1, 3, 1, 2), as PyTorch's
        // F.cross_entropy takes it: one loss per pixel, the same as the rows
        // of the transposed scores.
        const std::vector<double> image = {2.0, -1.0, 0.5, 0.0, -3.0, 1.5};  // class stride 2
        const std::vector<double> pixel_rows = {2.0, 0.5, -3.0, -1.0, 0.0, 1.5};
        const std::vector<std::int64_t> pixel_labels = {0, 2};
        auto per_pixel = floss::options().logits().reduction(floss::reduction::none);
        auto by_pixel = floss::sparse_cross_entropy(image, pixel_labels, 3, {},
                                                    floss::options(per_pixel).positions(2),
                                                    floss::derivatives::none);
        auto by_row = floss::sparse_cross_entropy(pixel_rows, pixel_labels, 3, {}, per_pixel,
                                                  floss::derivatives::none);
        std::printf("  channels-first, 2 pixels: %.6f %.6f\n", by_pixel.out[0], by_pixel.out[1]);
        // (To rounding: the row call of one-hot logits takes the row-major
        // engine, channels-first the class-major one.)
        expect("channels-first pixel 0 = row 0", by_pixel.out[0], by_row.out[0], 1e-14);
        expect("channels-first pixel 1 = row 1", by_pixel.out[1], by_row.out[1], 1e-14);

        // 5. Errors become floss::error: status() is the floss_status and
        // what() the library's message naming the offending argument.
        std::printf("\n5. Errors as exceptions\n");
        try {
            floss::sparse_cross_entropy(scores, std::vector<std::int64_t>{1, 3}, c, {}, logits);
            std::printf("  FAILED: no exception for label 3 with c = 3\n");
            ++failures;
        } catch (const floss::error& e) {
            std::printf("  status %u: %s\n  what():   %s\n", static_cast<unsigned>(e.status()),
                        floss::status_str(e.status()), e.what());
            expect("status is FLOSS_ERR_LABEL", e.status(), FLOSS_ERR_LABEL, 0.0);
        }
        try {
            floss::entropy(p, 3, floss::options().log_base(1.0));  // log base 1: undefined
            std::printf("  FAILED: no exception for log_base 1\n");
            ++failures;
        } catch (const floss::error& e) {
            std::printf("  status %u: %s\n  what():   %s\n", static_cast<unsigned>(e.status()),
                        floss::status_str(e.status()), e.what());
            expect("status is FLOSS_ERR_ARGUMENT", e.status(), FLOSS_ERR_ARGUMENT, 0.0);
        }
    } catch (const floss::error& e) {
        std::printf("unexpected floss::error %u: %s\n", static_cast<unsigned>(e.status()), e.what());
        return 1;
    }

    if (failures != 0) {
        std::printf("\n%d check(s) FAILED\n", failures);
        return 1;
    }
    std::printf("\nall checks passed\n");
    return 0;
}
