// The mnist example's training run for double with a Sigmoid hidden layer.
#include "train.hpp"

template int example::train<double, mininn::Sigmoid, false>(const example::Options&, mininn::MnistData<double>&);
