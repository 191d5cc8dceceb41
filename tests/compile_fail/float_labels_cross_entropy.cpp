// expect: CrossEntropy: class labels are integers \(label_vector, \[n\]\)
#include <mininn/mininn.hpp>
using namespace mininn;
int main()
{
    Rng rng(1);
    Network net{Dense<double>(4, 3, init::xavier, rng), Softmax{}};
    const matrix<double> X = xt::zeros<double>({4, 2});
#ifdef MININN_COMPILE_FAIL
    const xt::xtensor<double, 1> y{0.0, 2.0};
#else
    const xt::xtensor<int, 1> y{0, 2};
#endif
    return net.compute_gradients(CrossEntropy{}, X, y) > 0 ? 0 : 1;
}
