// expect: targets \[n\] of floating-point type: class labels go in a label_vector
#include <mininn/mininn.hpp>
using namespace mininn;
int main()
{
    Rng rng(1);
    Network net{Dense<float>(4, 3, init::xavier, rng), Softmax{}};
    const matrix<float> X = xt::zeros<float>({4, 2});
#ifdef MININN_COMPILE_FAIL
    const xt::xtensor<float, 1> y{0.0f, 2.0f}; // would be truncated to class indices
#else
    const label_vector y{0, 2};
#endif
    GD<float> opt(0.1f);
    FitOptions o;
    o.verbose = Verbosity::silent;
    return fit(net, CrossEntropy{}, opt, X, y, o).epochs.size() == 1 ? 0 : 1;
}
