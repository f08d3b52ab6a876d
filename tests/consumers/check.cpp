// check.cpp: the C++ program of the install tests (tests/consumers/run.sh),
// built against an installed floss through CMake's find_package. It uses
// floss.hpp: a focal loss with its gradient from std::vector, checked against
// the formula and against the gradient's defining property (each row of the
// softmax-input gradient sums to zero), and a bad label caught as
// floss::error. Exit status 0 only if all hold.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include <floss.hpp>

int main() {
    int failures = 0;
    auto expect = [&](const char* what, double got, double want, double tol) {
        const bool ok = std::fabs(got - want) <= tol;
        std::printf("  %-28s %.15g (expected %.15g) %s\n", what, got, want, ok ? "ok" : "FAILED");
        if (!ok) ++failures;
    };

    const std::vector<double> z = {2.0, 0.5, -1.0, 0.1, 0.2, 3.0};
    const std::vector<std::int64_t> y = {0, 1};
    const double gamma = 0.5;
    floss::options opts;
    opts.logits().reduction(floss::reduction::sum);
    auto r = floss::focal_loss(z, y, 3, {}, gamma, opts, floss::derivatives::grad);

    double want = 0.0;
    for (std::size_t i = 0; i < 2; ++i) {
        double sum = 0.0;
        for (std::size_t j = 0; j < 3; ++j) sum += std::exp(z[i * 3 + j]);
        const double p = std::exp(z[i * 3 + static_cast<std::size_t>(y[i])]) / sum;
        want += -std::pow(1.0 - p, gamma) * std::log(p);
        const double row = r.grad[i * 3] + r.grad[i * 3 + 1] + r.grad[i * 3 + 2];
        expect(i == 0 ? "grad row 0 sums to 0" : "grad row 1 sums to 0", row, 0.0, 1e-14);
    }
    expect("focal loss (gamma 0.5, sum)", r.out[0], want, 1e-13);

    try {
        floss::focal_loss(z, std::vector<std::int64_t>{0, -2}, 3, {}, gamma, opts,
                          floss::derivatives::grad);
        std::printf("  bad label accepted: FAILED\n");
        ++failures;
    } catch (const floss::error& e) {
        std::printf("  bad label: %s\n", e.what());
        if (e.status() != FLOSS_ERR_LABEL || std::strstr(e.what(), "labels[1] = -2") == nullptr) {
            std::printf("  expected FLOSS_ERR_LABEL naming labels[1] = -2: FAILED\n");
            ++failures;
        }
    }
    std::printf(failures ? "check.cpp: %d FAILED\n" : "check.cpp: all ok\n", failures);
    return failures ? 1 : 0;
}
