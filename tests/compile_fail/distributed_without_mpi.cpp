// expect: mininn/distributed/all.hpp needs MPI's <mpi.h>
// mininn_dev's flags carry no MPI include path, as a consumer that links mininn::mininn
// instead of mininn::distributed: the header must stop with one line that names the fix.
#ifdef MININN_COMPILE_FAIL
#include <mininn/distributed/all.hpp>
#else
#include <mininn/mininn.hpp>
#endif
int main()
{
    return 0;
}
