// expect: MeanSquaredError targets are a matrix<T> \[k, n\] of the network's scalar type
#include <mininn/mininn.hpp>
using namespace mininn;
int main()
{
    Rng rng(1);
    Network net{Dense<float>(4, 1, init::xavier, rng)};
    const matrix<float> X = xt::zeros<float>({4, 2});
#ifdef MININN_COMPILE_FAIL
    const label_vector y{0, 1};
#else
    const matrix<float> y{{0.5f, 1.5f}};
#endif
    return net.compute_gradients(MeanSquaredError{}, X, y) > 0 ? 0 : 1;
}
