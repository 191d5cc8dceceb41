// mnist --distributed: the runs in double, one for each hidden activation.
#include "distributed.hpp"

template int example::train_distributed<double, mininn::Sigmoid>(const example::Options&);
template int example::train_distributed<double, mininn::ReLU>(const example::Options&);
template int example::train_distributed<double, mininn::Tanh>(const example::Options&);
