// mininn: data-parallel training over MPI, an optional part of the package. Not included by
// mininn.hpp; include it and link mininn::distributed, which finds MPI:
//   find_package(mininn CONFIG REQUIRED COMPONENTS distributed)
//   target_link_libraries(app PRIVATE mininn::distributed)
//
//   mininn::distributed::Communicator comm;                // MPI_COMM_WORLD
//   const auto s = mininn::distributed::shard(comm, 60000); // this rank's samples
//   auto data = mininn::load_mnist<float>(dir, s.range());  // ... read alone
//   mininn::distributed::DataParallel dp(comm, net);       // rank 0's weights everywhere
//   for (int i = 0; i < 4000; ++i)
//       dp.step(loss, gd, data.train_images, data.train_labels); // one allreduce each
//
// Launch: mpirun -np 4 --bind-to none ./app (see the README for several machines).
#pragma once

#if !__has_include(<mpi.h>)
#error "mininn/distributed/all.hpp needs MPI's <mpi.h>: install Open MPI (Debian: apt-get install libopenmpi-dev openmpi-bin) and link mininn::distributed (find_package(mininn CONFIG REQUIRED COMPONENTS distributed))"
#else
#include "../mininn.hpp"

#include "communicator.hpp"
#include "data_parallel.hpp"
#include "fit.hpp"
#endif
