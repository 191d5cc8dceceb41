// The mnist example's training run for double with a ReLU hidden layer.
#include "train.hpp"

template int example::train<double, mininn::ReLU>(const example::Options&, mininn::MnistData<double>&);
