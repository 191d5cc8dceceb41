// expect: CrossEntropy takes class probabilities: end the network with Softmax
#include <mininn/mininn.hpp>
using namespace mininn;
int main()
{
    Rng rng(1);
#ifdef MININN_COMPILE_FAIL
    Network net{Dense<float>(4, 8, init::xavier, rng), ReLU{}, Dense<float>(8, 3, init::xavier, rng)};
#else
    Network net{Dense<float>(4, 8, init::xavier, rng), ReLU{}, Dense<float>(8, 3, init::xavier, rng), Softmax{}};
#endif
    const matrix<float> X = xt::zeros<float>({4, 2});
    Adam<float> opt;
    FitOptions o;
    o.verbose = Verbosity::silent;
    return fit(net, CrossEntropy{}, opt, X, label_vector{0, 2}, o).epochs.size() == 1 ? 0 : 1;
}
