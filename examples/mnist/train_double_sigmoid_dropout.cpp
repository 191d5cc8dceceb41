// The mnist example's training run for double with a Sigmoid hidden layer followed by Dropout.
#include "train.hpp"

template int example::train<double, mininn::Sigmoid, true>(const example::Options&, mininn::MnistData<double>&);
