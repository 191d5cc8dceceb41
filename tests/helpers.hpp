// Shared test helpers: random matrices, message checks and the cores this process may use.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include <sched.h>

#include <doctest/doctest.h>
#include <mininn/mininn.hpp>

namespace test {

/// The cores this process may run on (its affinity mask, as taskset or a container limit
/// sets it): the helper thread runs only when there are two or more.
inline int usable_cores()
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
}

template <class T>
mininn::matrix<T> random_matrix(std::size_t rows, std::size_t cols, mininn::Rng& rng, double scale = 1.0)
{
    mininn::matrix<T> m({rows, cols});
    for (auto& v : m)
        v = static_cast<T>(scale * rng.normal());
    return m;
}

/// n class indices drawn uniformly from [0, K).
inline mininn::label_vector random_labels(std::size_t n, std::size_t K, mininn::Rng& rng)
{
    mininn::label_vector y = xt::zeros<std::size_t>({n});
    for (auto& v : y)
        v = rng.below(K);
    return y;
}

/// Cross-entropy written as a user would write a loss of their own (the concept in loss.hpp),
/// not derived from CrossEntropy: a Network runs every layer on its own for it, with neither
/// the fused softmax gradient nor the fused head.
struct UnfusedCrossEntropy {
    std::string name() const { return "UnfusedCrossEntropy"; }
    template <class T, class Y>
    T value(const mininn::matrix<T>& P, const Y& y) const
    {
        return mininn::CrossEntropy{}.value(P, y);
    }
    template <class T, class Y>
    void gradient(const mininn::matrix<T>& P, const Y& y, mininn::matrix<T>& G) const
    {
        mininn::CrossEntropy{}.gradient(P, y, G);
    }
};

/// The largest relative difference between loss.gradient(P, Y) and central differences of
/// loss.value over every entry of P (double), so a wrong formula cannot pass.
template <class Loss, class Y>
double loss_gradient_error(const Loss& loss, mininn::matrix<double> P, const Y& y, double h = 1e-6)
{
    mininn::matrix<double> G;
    loss.gradient(P, y, G);
    double worst = 0;
    for (std::size_t e = 0; e < P.size(); ++e) {
        const double keep = P.data()[e];
        P.data()[e] = keep + h;
        const double up = loss.value(P, y);
        P.data()[e] = keep - h;
        const double down = loss.value(P, y);
        P.data()[e] = keep;
        const double numeric = (up - down) / (2 * h);
        const double scale = std::max(1e-8, std::abs(numeric) + std::abs(G.data()[e]));
        worst = std::max(worst, std::abs(numeric - G.data()[e]) / scale);
    }
    return worst;
}

/// Runs f, expects it to throw E, and returns the message.
template <class E, class F>
std::string message_of(F&& f)
{
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        FAIL("threw the wrong exception type: " << e.what());
        return {};
    }
    FAIL("did not throw");
    return {};
}

} // namespace test

/// Checks that msg contains part, and prints msg when it does not. msg is evaluated once, before
/// the check: evaluated again while doctest reports the failure, an assertion inside it (a
/// message_of that finds no exception) would wait forever for the lock its reporter holds then.
#define CHECK_MESSAGE_CONTAINS(msg, part)                                                                              \
    do {                                                                                                               \
        const std::string mininn_test_message_{msg};                                                                   \
        CHECK_MESSAGE(mininn_test_message_.find(part) != std::string::npos, "message: " << mininn_test_message_);      \
    } while (false)
