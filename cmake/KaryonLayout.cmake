# Where an installed Karyon keeps its files (GNUInstallDirs), and the same layout mirrored in the
# build tree, so that binaries find their resources relative to themselves in both
# (core/include/karyon/core/resources.hpp) and carry no source or build path.
include(GNUInstallDirs)

set(KARYON_INSTALL_RESOURCE_DIR "${CMAKE_INSTALL_DATADIR}/karyon")   # models/<name>/...
set(KARYON_INSTALL_PRIVATE_LIBDIR "${CMAKE_INSTALL_LIBDIR}/karyon")  # bundled LibTorch (+ CUDA)

# "../share/karyon" with the default dirs: read by resources.hpp (generated into core's headers).
file(RELATIVE_PATH KARYON_RESOURCE_DIR_FROM_BIN_DIR
     "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_DATADIR}/karyon")

# Build tree: <build>/share/karyon -> <source>/resources. Build-tree executables live one to three
# folders below <build> (app/, app/gui/, tests/<module>/) and resources.hpp looks that far up.
cmake_path(ABSOLUTE_PATH KARYON_RESOURCE_DIR_FROM_BIN_DIR BASE_DIRECTORY "${CMAKE_BINARY_DIR}/app"
           NORMALIZE OUTPUT_VARIABLE _karyon_build_resources)
cmake_path(GET _karyon_build_resources PARENT_PATH _karyon_build_resources_parent)
file(MAKE_DIRECTORY "${_karyon_build_resources_parent}")
file(CREATE_LINK "${CMAKE_SOURCE_DIR}/resources" "${_karyon_build_resources}" SYMBOLIC)  # replaces a stale one
