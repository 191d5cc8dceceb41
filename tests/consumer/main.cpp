// Trains a small network through the installed package and checks that it learned.
#include <cstdio>

#include <mininn/mininn.hpp>

#include "xor_data.hpp"

int main()
{
    using namespace mininn;
    Rng rng(1);
    const std::size_t n = 400;
    const auto [X, y] = xor_data(n, rng);
    Network net{Dense<float>(2, 16, init::xavier, rng), Tanh{}, Dense<float>(16, 2, init::xavier, rng), Softmax{}};
    GD<float> opt(0.5f);
    float first = 0, last = 0;
    for (int it = 0; it < 2000; ++it) {
        last = net.compute_gradients(CrossEntropy{}, X, y);
        if (it == 0)
            first = last;
        opt.step(net);
    }
    const label_vector pred = net.predict(X);
    std::size_t correct = 0;
    for (std::size_t j = 0; j < n; ++j)
        correct += pred(j) == y(j);
    const double accuracy = static_cast<double>(correct) / n;
    std::printf("consumer: loss %.4f -> %.4f, training accuracy %.3f\n", first, last, accuracy);
    if (!(last < 0.5f * first) || accuracy < 0.95) {
        std::printf("consumer: FAILED to learn\n");
        return 1;
    }
    std::printf("consumer: ok\n");
    return 0;
}
