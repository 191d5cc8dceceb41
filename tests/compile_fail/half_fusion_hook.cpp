// expect: a layer's fused bias hook is a pair
#include <mininn/mininn.hpp>
using namespace mininn;
// A layer of one's own that offers the buffer half of the fused bias hook and misspells the
// other half: without the check, Network would quietly take the plain path.
struct Doubler {
    using value_type = double;
    std::string name() const { return "Doubler"; }
    std::size_t input_rows() const { return 0; }
    std::size_t output_rows(std::size_t rows) const { return rows; }
    template <class E>
    const matrix<double>& forward(E&& x, std::size_t = standalone)
    {
        y_ = 2.0 * x;
        return y_;
    }
    matrix<double>& backward(const matrix<double>& dy, bool = true, std::size_t = standalone)
    {
        dx_ = 2.0 * dy; // d(2x)/dx = 2
        return dx_;
    }
    std::size_t parameter_count() const { return 0; }
    template <class F>
    void visit_parameters(F&&)
    {
    }
    matrix<double>& output_for(std::size_t rows, std::size_t n)
    {
        y_.resize({rows, n});
        return y_;
    }
#ifdef MININN_COMPILE_FAIL
    const matrix<double>& activate_inplace(const double* bias)
#else
    const matrix<double>& activate_in_place(const double* bias)
#endif
    {
        for (std::size_t i = 0; i < y_.shape()[0]; ++i)
            for (std::size_t j = 0; j < y_.shape()[1]; ++j)
                y_(i, j) = 2.0 * (y_(i, j) + bias[i]);
        return y_;
    }
    matrix<double> y_, dx_;
};
int main()
{
    Rng rng(1);
    Network net{Dense<double>(2, 2, init::xavier, rng), Doubler{}};
    return net.forward(matrix<double>{{1}, {2}}).shape()[0] == 2 ? 0 : 1;
}
