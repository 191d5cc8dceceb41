// Shared test helpers: random matrices and message checks.
#pragma once

#include <string>

#include <doctest/doctest.h>
#include <mininn/mininn.hpp>

namespace test {

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

/// Same loss, different type: a Network runs every layer on its own for it, with neither the
/// fused softmax gradient nor the fused head.
struct UnfusedCrossEntropy : mininn::CrossEntropy {};

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

#define CHECK_MESSAGE_CONTAINS(msg, part) CHECK_MESSAGE((msg).find(part) != std::string::npos, "message: " << (msg))
