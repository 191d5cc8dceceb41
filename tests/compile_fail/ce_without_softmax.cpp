// expect: CrossEntropy takes class probabilities: end the network with Softmax
#include <mininn/mininn.hpp>
using namespace mininn;
int main()
{
    Rng rng(1);
#ifdef MININN_COMPILE_FAIL
    Network net{Dense<float>(4, 3, init::xavier, rng), Sigmoid{}};
#else
    Network net{Dense<float>(4, 3, init::xavier, rng), Softmax{}};
#endif
    const matrix<float> X = xt::zeros<float>({4, 2});
    return net.compute_gradients(CrossEntropy{}, X, label_vector{0, 2}) > 0 ? 0 : 1;
}
