// expect: this loss has no `void gradient\(const matrix<T>& out, const Targets& y, matrix<T>& G\) const`
#include <mininn/mininn.hpp>
using namespace mininn;
// A loss of one's own (the concept in mininn/losses/loss.hpp): the absolute error, missing its gradient.
struct AbsoluteError {
    template <class T>
    T value(const matrix<T>& out, const matrix<T>& y) const
    {
        return xt::sum(xt::abs(out - y))() / static_cast<T>(out.shape()[1]);
    }
#ifndef MININN_COMPILE_FAIL
    template <class T>
    void gradient(const matrix<T>& out, const matrix<T>& y, matrix<T>& G) const
    {
        G = xt::sign(out - y) / static_cast<T>(out.shape()[1]);
    }
#endif
};
int main()
{
    Rng rng(1);
    Network net{Dense<float>(4, 1, init::xavier, rng)};
    const matrix<float> X = xt::ones<float>({4, 2});
    const matrix<float> y{{0.5f, 1.5f}};
    return net.compute_gradients(AbsoluteError{}, X, y) > 0 ? 0 : 1;
}
