// The mnist example's training run for float with a ReLU hidden layer.
#include "train.hpp"

template int example::train<float, mininn::ReLU, false>(const example::Options&, mininn::MnistData<float>&);
