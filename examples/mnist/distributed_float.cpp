// mnist --distributed: the runs in float, one for each hidden activation.
#include "distributed.hpp"

template int example::train_distributed<float, mininn::Sigmoid>(const example::Options&);
template int example::train_distributed<float, mininn::ReLU>(const example::Options&);
template int example::train_distributed<float, mininn::Tanh>(const example::Options&);
