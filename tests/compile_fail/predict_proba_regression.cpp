// expect: predict_proba: a network's outputs are probabilities only when it ends in Softmax\{\} or Sigmoid\{\}
#include <mininn/mininn.hpp>
using namespace mininn;
int main()
{
    Rng rng(1);
#ifdef MININN_COMPILE_FAIL
    Network net{Dense<float>(4, 2, init::xavier, rng), Tanh{}};
#else
    Network net{Dense<float>(4, 2, init::xavier, rng), Sigmoid{}};
#endif
    const matrix<float> X = xt::zeros<float>({4, 2});
    return net.predict_proba(X).shape()[0] == 2 ? 0 : 1;
}
