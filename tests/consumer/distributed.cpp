// Trains the consumer's XOR-like problem data-parallel across the ranks of an MPI job,
// through the installed package's distributed component, and checks every rank agrees.
#include <cstdio>

#include <mininn/distributed/all.hpp>

#include "xor_data.hpp"

int main()
{
    using namespace mininn;
    namespace dist = mininn::distributed;
    const dist::Communicator comm;
    Rng rng(1);
    const std::size_t n = 400;
    const auto [X, y] = xor_data(n, rng);
    const dist::Shard s = dist::shard(comm, n);
    const matrix<float> Xs = xt::view(X, xt::all(), xt::range(s.first, s.first + s.count));
    const label_vector ys = xt::view(y, xt::range(s.first, s.first + s.count));
    Network net{Dense<float>(2, 16, init::xavier, rng), Tanh{}, Dense<float>(16, 2, init::xavier, rng), Softmax{}};
    dist::DataParallel dp(comm, net);
    GD<float> opt(0.5f);
    float last = 0;
    for (int it = 0; it < 2000; ++it)
        last = dp.step(CrossEntropy{}, opt, Xs, ys);
    const Scores sc = dist::evaluate(dp, CrossEntropy{}, Xs, ys);
    if (comm.root())
        std::printf("distributed consumer: %d ranks, loss %.4f, accuracy %.3f\n", comm.size(), static_cast<double>(last),
                    sc.accuracy);
    return sc.accuracy > 0.9 ? 0 : 1;
}
