// Shared test helpers: random matrices, clustered data, message checks, stdout captured, and the
// cores this process may use.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include <cstdio>

#include <sched.h>
#include <unistd.h>

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

/// Labelled samples in 2-D, samples as columns.
template <class T>
struct Blobs {
    mininn::matrix<T> X;
    mininn::label_vector y;
};

/// n samples around the given centres: sample j is of class j % centres.size(), each coordinate
/// its centre plus spread times a standard normal draw from rng (first coordinate first).
template <class T>
Blobs<T> blobs(std::size_t n, mininn::Rng& rng, const std::vector<std::array<double, 2>>& centres, double spread)
{
    Blobs<T> b{mininn::matrix<T>({2, n}), mininn::label_vector(xt::zeros<std::size_t>({n}))};
    for (std::size_t j = 0; j < n; ++j) {
        const std::size_t c = j % centres.size();
        b.y(j) = c;
        for (std::size_t i = 0; i < 2; ++i)
            b.X(i, j) = static_cast<T>(centres[c][i]) + static_cast<T>(spread * rng.normal());
    }
    return b;
}

/// Three well-separated blobs (around (-3, -2), (3, -2) and (0, 3), spread 0.5).
inline Blobs<double> three_blobs(std::size_t n, mininn::Rng& rng)
{
    return blobs<double>(n, rng, {{-3, -2}, {3, -2}, {0, 3}}, 0.5);
}
inline Blobs<double> three_blobs(std::size_t n, std::uint64_t seed)
{
    mininn::Rng rng(seed);
    return three_blobs(n, rng);
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

/// Sends stdout to fd for its lifetime, flushed at both ends, and gives it back when the scope
/// ends, also when an assertion throws out of it.
class stdout_redirect {
public:
    explicit stdout_redirect(int fd)
    {
        std::fflush(stdout);
        saved_ = ::dup(STDOUT_FILENO);
        ::dup2(fd, STDOUT_FILENO);
    }
    stdout_redirect(const stdout_redirect&) = delete;
    stdout_redirect& operator=(const stdout_redirect&) = delete;
    ~stdout_redirect()
    {
        std::fflush(stdout);
        ::dup2(saved_, STDOUT_FILENO);
        ::close(saved_);
    }

private:
    int saved_;
};

/// Everything read_fd gives until its end, or until it would block.
inline std::string read_all(int read_fd)
{
    std::string out;
    char buf[4096];
    for (ssize_t got; (got = ::read(read_fd, buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<std::size_t>(got));
    return out;
}

/// Runs f with stdout sent to fd, and returns what read_fd has then (with fd a pseudo-terminal's
/// slave side and read_fd its non-blocking master side: what f wrote to the terminal).
template <class F>
std::string stdout_of(int fd, int read_fd, F&& f)
{
    {
        const stdout_redirect to(fd);
        f();
    }
    return read_all(read_fd);
}

/// Runs f with stdout sent to a temporary file, and returns what f wrote.
template <class F>
std::string stdout_of(F&& f)
{
    char path[] = "/tmp/mininn-stdout-XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::unlink(path);
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } const close_at_exit{fd};
    {
        const stdout_redirect to(fd);
        f();
    }
    ::lseek(fd, 0, SEEK_SET);
    return read_all(fd);
}

// A layer's infer() of Z into another buffer, in place over Z, and from an expression of Z
// each equal to want (its forward); returns the last output.
template <class L, class T>
mininn::matrix<T> check_infer_forms(const L& layer, const mininn::matrix<T>& Z, const mininn::matrix<T>& want)
{
    mininn::matrix<T> out, in_place = Z;
    mininn::scratch<T> work;
    layer.infer(Z, out, work, mininn::standalone);
    CHECK(out == want);
    layer.infer(in_place, in_place, work, mininn::standalone);
    CHECK(in_place == want);
    layer.infer(Z + T(0), out, work, mininn::standalone);
    CHECK(out == want);
    return out;
}

// y = x - m, with m a running mean of the inputs seen in training: state that no optimizer
// updates, as BatchNorm's statistics will be, beside a learnable shift s that does not decay.
struct Centre {
    using value_type = double;
    explicit Centre(std::size_t k) : m(xt::zeros<double>({k})), s(xt::zeros<double>({k})), ds(xt::zeros<double>({k})) {}
    std::string name() const { return "Centre"; }
    mininn::LayerSpec spec() const
    {
        return {"Centre", {{"momentum", momentum}}, {{"s", true, false}, {"mean", false, false}}};
    }
    std::size_t input_rows() const { return m.size(); }
    std::size_t output_rows(std::size_t) const { return m.size(); }
    template <class E>
    const mininn::matrix<double>& forward(E&& x, std::size_t index = mininn::standalone)
    {
        mininn::detail::check_input(x, input_rows(), index, *this);
        if (training) // m <- (1 - momentum) m + momentum mean_j x
            m = (1 - momentum) * m + momentum * xt::mean(x, {1});
        y = x - xt::view(m - s, xt::all(), xt::newaxis());
        return y;
    }
    mininn::matrix<double>& backward(const mininn::matrix<double>& dy, bool = true, std::size_t = mininn::standalone)
    {
        ds = xt::sum(dy, {1}); // dL/ds = sum_j dy
        dx = dy;               // dL/dx = dy (m is not a function of this batch's loss)
        return dx;
    }
    std::size_t parameter_count() const { return s.size(); }
    template <class F>
    void visit_parameters(F&& f)
    {
        f("s", s, ds);
    }
    template <class F>
    void visit_state(F&& f)
    {
        f("mean", m);
    }
    void set_training(bool on) { training = on; }
    double momentum = 0.5;
    bool training = true;
    mininn::vector<double> m, s, ds;
    mininn::matrix<double> y, dx;
};

} // namespace test

/// Checks that msg contains part, and prints msg when it does not. msg is evaluated once, before
/// the check: evaluated again while doctest reports the failure, an assertion inside it (a
/// message_of that finds no exception) would wait forever for the lock its reporter holds then.
#define CHECK_MESSAGE_CONTAINS(msg, part)                                                                              \
    do {                                                                                                               \
        const std::string mininn_test_message_{msg};                                                                   \
        CHECK_MESSAGE(mininn_test_message_.find(part) != std::string::npos, "message: " << mininn_test_message_);      \
    } while (false)
