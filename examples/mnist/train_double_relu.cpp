// The mnist example's training run for double with a ReLU hidden layer.
#include "train.hpp"

template int example::train<double, mininn::ReLU, false>(const example::Options&, mininn::MnistData<double>&);
