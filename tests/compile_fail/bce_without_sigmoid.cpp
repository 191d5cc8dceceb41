// expect: BinaryCrossEntropy takes probabilities: end the network with Sigmoid
#include <mininn/mininn.hpp>
using namespace mininn;
int main()
{
    Rng rng(1);
#ifdef MININN_COMPILE_FAIL
    Network net{Dense<double>(4, 1, init::xavier, rng)};
#else
    Network net{Dense<double>(4, 1, init::xavier, rng), Sigmoid{}};
#endif
    const matrix<double> X = xt::zeros<double>({4, 2});
    return net.loss_value(BinaryCrossEntropy{}, X, label_vector{0, 1}) > 0 ? 0 : 1;
}
