# A Debian package of the installed files, built with `cpack -G DEB` in a build directory:
# header-only, so architecture "all", installed under /usr, and depending on the Debian
# packages of mininn's dependencies, so `dpkg -i` followed by `apt-get -f install` (or apt
# installing the .deb directly) brings everything a consumer needs.
set(CPACK_PACKAGE_NAME "libmininn-dev")
set(CPACK_PACKAGE_VENDOR "mininn")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "header-only C++17 neural-network library on xtensor and OpenBLAS")
set(CPACK_PACKAGE_DESCRIPTION
    "Dense layers, activations, softmax and cross-entropy compose at compile time into a network, trained with gradient descent, momentum or Adam; with MNIST and npz loaders. Use it with find_package(mininn), pkg-config --cflags --libs mininn, or #include <mininn/mininn.hpp>.")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE "all")
set(CPACK_DEBIAN_PACKAGE_SECTION "libdevel")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "mininn developers")
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libxtensor-dev (>= 0.24), libxtensor-blas-dev (>= 0.20), libxsimd-dev (>= 8), libopenblas-dev, libzip-dev, zlib1g-dev")
include(CPack)
