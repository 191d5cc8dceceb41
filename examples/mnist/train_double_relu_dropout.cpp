// The mnist example's training run for double with a ReLU hidden layer followed by Dropout.
#include "train.hpp"

template int example::train<double, mininn::ReLU, true>(const example::Options&, mininn::MnistData<double>&);
