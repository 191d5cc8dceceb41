// expect: all layers of a Network must use the same scalar type
#include <mininn/mininn.hpp>
using namespace mininn;
// A layer template with a parameter (a per-row offset): a Network must not rebind it to another
// scalar type as it rebinds parameter-free layers such as Sigmoid{}.
template <class T>
struct Offset {
    using value_type = T;
    vector<T> c = xt::zeros<T>({2}), dc = xt::zeros<T>({2});
    matrix<T> y, dx;
    std::string name() const { return "Offset"; }
    std::size_t input_rows() const { return 2; }
    std::size_t output_rows(std::size_t) const { return 2; }
    template <class E>
    const matrix<T>& forward(E&& x, std::size_t = standalone)
    {
        y = x + xt::view(c, xt::all(), xt::newaxis());
        return y;
    }
    matrix<T>& backward(const matrix<T>& dy, bool = true, std::size_t = standalone)
    {
        dc = xt::sum(dy, {1}); // dL/dc = row sums of dy
        dx = dy;
        return dx;
    }
    std::size_t parameter_count() const { return 2; }
    template <class F>
    void visit_parameters(F&& f)
    {
        f("c", c, dc);
    }
};
int main()
{
    Rng rng(1);
#ifdef MININN_COMPILE_FAIL
    Network net{Offset<float>{}, Dense<double>(2, 2, init::xavier, rng), Sigmoid{}};
#else
    Network net{Offset<double>{}, Dense<double>(2, 2, init::xavier, rng), Sigmoid{}};
#endif
    static_assert(std::is_same_v<decltype(net)::value_type, double>);
    return net.forward(matrix<double>{{1}, {2}}).shape()[0] == 2 ? 0 : 1;
}
