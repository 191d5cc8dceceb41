# Finds mininn's dependencies. Used by mininn's own build and by the installed
# mininnConfig.cmake, so a consumer gets exactly the same set.
#
# BLAS is OpenBLAS, chosen explicitly: a generic libblas can resolve to the netlib reference
# implementation, 20-30x slower with no other symptom. BLA_VENDOR is restored afterwards so
# the caller's own setting is left alone.
include(CMakeFindDependencyMacro)

# Inside an installed config, find_dependency reports failure the CMake way; in mininn's own
# build, a missing package is a hard error.
macro(_mininn_find name)
  if(CMAKE_FIND_PACKAGE_NAME)
    find_dependency(${name})
  else()
    find_package(${name} REQUIRED)
  endif()
endmacro()

_mininn_find(xtensor)
_mininn_find(xsimd)
_mininn_find(ZLIB)
# The fused head's helper thread (std::thread).
_mininn_find(Threads)
# libzip, found directly: Debian 12's libzip CMake config refers to tool binaries that
# libzip-dev does not install, and fails when they are absent.
if(NOT TARGET mininn::libzip)
  find_path(MININN_LIBZIP_INCLUDE_DIR zip.h)
  find_library(MININN_LIBZIP_LIBRARY zip)
  if(NOT MININN_LIBZIP_INCLUDE_DIR OR NOT MININN_LIBZIP_LIBRARY)
    message(FATAL_ERROR "mininn: libzip was not found (Debian/Ubuntu: apt-get install libzip-dev)")
  endif()
  add_library(mininn::libzip INTERFACE IMPORTED)
  set_target_properties(mininn::libzip PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${MININN_LIBZIP_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${MININN_LIBZIP_LIBRARY}")
endif()

set(_mininn_saved_bla_vendor "${BLA_VENDOR}")
set(BLA_VENDOR OpenBLAS)
find_package(BLAS QUIET)
if(NOT BLAS_FOUND)
  set(BLA_VENDOR "${_mininn_saved_bla_vendor}")
  message(FATAL_ERROR
    "mininn: OpenBLAS was not found. mininn links OpenBLAS explicitly and will not fall back "
    "to a reference BLAS. On Debian/Ubuntu: apt-get install libopenblas-dev")
endif()
_mininn_find(xtensor-blas)
set(BLA_VENDOR "${_mininn_saved_bla_vendor}")
unset(_mininn_saved_bla_vendor)

if(NOT TARGET xtensor::use_xsimd)
  message(FATAL_ERROR "mininn: xtensor was found without xsimd support (xtensor::use_xsimd); "
                      "install xsimd (Debian: libxsimd-dev)")
endif()
