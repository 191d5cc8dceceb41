// expect: a sparse input \(sparse_matrix, sparse_batch\) needs a Dense first layer
#include <mininn/mininn.hpp>
using namespace mininn;
int main()
{
    Rng rng(1);
#ifdef MININN_COMPILE_FAIL
    Network net{Sigmoid<double>{}, Dense<double>(4, 2, init::xavier, rng), Softmax{}};
#else
    Network net{Dense<double>(4, 2, init::xavier, rng), Sigmoid{}, Softmax{}};
#endif
    const sparse_matrix<double> X(matrix<double>{{1, 0}, {0, 0}, {0, 2}, {3, 0}});
    return net.forward(X).shape()[1] == 2 ? 0 : 1;
}
