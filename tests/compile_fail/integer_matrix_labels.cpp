// expect: CrossEntropy: an integer matrix is neither class indices nor one-hot targets
#include <mininn/mininn.hpp>
using namespace mininn;
int main()
{
    Rng rng(1);
    Network net{Dense<double>(4, 3, init::xavier, rng), Softmax{}};
    const matrix<double> X = xt::zeros<double>({4, 2});
#ifdef MININN_COMPILE_FAIL
    const xt::xtensor<std::size_t, 2> y{{0, 2}}; // [1, n] of class indices
#else
    const label_vector y{0, 2};
#endif
    return net.compute_gradients(CrossEntropy{}, X, y) > 0 ? 0 : 1;
}
