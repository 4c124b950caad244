# `cmake --install build --prefix P` and `cpack -G DEB`: a tree that runs with the source and build
# folders gone.
#   P/bin/karyon-cli, P/bin/karyon              RUNPATH $ORIGIN/../lib/karyon
#   P/lib/karyon/                               LibTorch and the CUDA runtime it was built against
#   P/share/karyon/models/<name>/               the shipped models (found by core/resources.hpp)
#   P/share/doc/karyon/                         model cards (the default model's licence: non-commercial)
# Libraries the system provides (Qt, OpenSlide, OpenCV, SQLite, ...) are not bundled; the .deb
# depends on their Debian packages (dpkg-shlibdeps).

set(_karyon_programs karyon-cli)
if(TARGET karyon)
  list(APPEND _karyon_programs karyon)
endif()

# The binaries find the bundled libraries relative to themselves, wherever the tree is installed.
file(RELATIVE_PATH _karyon_bin_to_lib "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_PREFIX}/${KARYON_INSTALL_PRIVATE_LIBDIR}")
set_target_properties(${_karyon_programs} PROPERTIES INSTALL_RPATH "$ORIGIN/${_karyon_bin_to_lib}")

install(TARGETS ${_karyon_programs}
        RUNTIME_DEPENDENCY_SET karyon_bundled_libraries
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Only the shipped models: nuclei-default (real H&E) and synthetic-test (demo, tests);
# resources/models/nuclei-candidate is a training checkpoint under evaluation, not shipped.
install(DIRECTORY resources/models/nuclei-default resources/models/synthetic-test
        DESTINATION ${KARYON_INSTALL_RESOURCE_DIR}/models)
# share/doc/karyon (the package name; GNUInstallDirs would say share/doc/Karyon, the project name)
install(FILES docs/MODEL_CARD.md docs/MODEL_CARD_SYNTHETIC.md DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/karyon)

set(_karyon_library_dirs "")
if(KARYON_BUILD_INFERENCE)
  # Torch_DIR is <torch>/share/cmake/Torch for the pip wheel and for a LibTorch archive alike.
  cmake_path(ABSOLUTE_PATH Torch_DIR NORMALIZE OUTPUT_VARIABLE _torch_cmake_dir)
  cmake_path(APPEND _torch_cmake_dir "../../../lib" OUTPUT_VARIABLE _torch_lib_dir)
  cmake_path(NORMAL_PATH _torch_lib_dir)

  # LibTorch's headers put __FILE__ into their assertion messages; with the pip wheel inside the source
  # tree (.venv) that would write the source path into the binaries. Name them from torch's folder instead
  # ("torch/include/c10/...").
  cmake_path(GET _torch_lib_dir PARENT_PATH _torch_root)
  cmake_path(GET _torch_root PARENT_PATH _torch_root_parent)
  target_compile_options(karyon_inference PRIVATE "-fmacro-prefix-map=${_torch_root_parent}/=")

  # The pip wheel keeps the CUDA runtime in sibling packages (site-packages/nvidia/*/lib); its
  # libraries find them through RPATHs with $ORIGIN/../../nvidia/..., and every one of them also
  # searches $ORIGIN, so one flat folder works once installed.
  file(GLOB _nvidia_lib_dirs LIST_DIRECTORIES true "${_torch_lib_dir}/../../nvidia/*/lib")
  set(_karyon_library_dirs ${_torch_lib_dir} ${_nvidia_lib_dirs})

  # What a GPU run loads later with dlopen, which no ELF dependency names: cuDNN's kernels
  # (convolutions), NVRTC for LibTorch's runtime-compiled kernels. Without them --device cuda fails at
  # the first convolution. Absent (and so skipped) with a CPU-only LibTorch. (Not bundled:
  # libtorch_cuda_linalg + cuSOLVER, for torch.linalg on CUDA, which Karyon never calls.)
  file(GLOB _karyon_gpu_plugins
       "${_torch_lib_dir}/libcaffe2_nvrtc.so"
       "${_torch_lib_dir}/../../nvidia/cudnn/lib/libcudnn_*.so.*"
       "${_torch_lib_dir}/../../nvidia/*/lib/libnvrtc.so.*"
       "${_torch_lib_dir}/../../nvidia/*/lib/libnvrtc-builtins.so.*")
  list(FILTER _karyon_gpu_plugins EXCLUDE REGEX "\\.alt\\.")  # NVRTC's alternative build: unused
  # libcaffe2_nvrtc.so links the NVIDIA driver's libcuda.so.1: the machine's driver, not a package the
  # .deb can depend on (CPU runs never load it). dpkg-shlibdeps (CPack) refuses a library it cannot
  # find, so it is shown the CUDA toolkit's link stub under that name; owned by no package, it adds
  # no Depends. Without the toolkit's stub, that one plugin is left out (GPU runs that need NVRTC fail).
  find_file(KARYON_LIBCUDA_STUB libcuda.so PATHS /usr/local/cuda/lib64/stubs ENV CUDA_HOME NO_DEFAULT_PATH
            PATH_SUFFIXES "" lib64/stubs)
  if(KARYON_LIBCUDA_STUB)
    set(_karyon_shlibdeps_dir "${CMAKE_BINARY_DIR}/cpack-shlibdeps")
    file(MAKE_DIRECTORY "${_karyon_shlibdeps_dir}")
    file(CREATE_LINK "${KARYON_LIBCUDA_STUB}" "${_karyon_shlibdeps_dir}/libcuda.so.1" SYMBOLIC)
  else()
    list(FILTER _karyon_gpu_plugins EXCLUDE REGEX "libcaffe2_nvrtc")
  endif()
  install(FILES ${_karyon_gpu_plugins} DESTINATION ${KARYON_INSTALL_PRIVATE_LIBDIR})
endif()

# What the executables load at start (LibTorch and, for the CUDA wheel, libtorch_cuda and the CUDA
# runtime: the binaries need them even on CPU), resolved by CMake from the real ELF dependencies.
install(RUNTIME_DEPENDENCY_SET karyon_bundled_libraries
        DIRECTORIES ${_karyon_library_dirs}
        # The C/C++ runtime and everything under /lib, /usr/lib comes from the system.
        PRE_EXCLUDE_REGEXES "^ld-linux" "^linux-vdso"
        POST_EXCLUDE_REGEXES "^/lib/" "^/lib64/" "^/usr/lib/" "^/usr/lib64/"
        DESTINATION ${KARYON_INSTALL_PRIVATE_LIBDIR})

# CPack: `cpack -G DEB` in the build folder writes karyon_<version>_<arch>.deb.
set(CPACK_PACKAGE_NAME karyon)
set(CPACK_PACKAGE_VENDOR "Karyon")
set(CPACK_PACKAGE_CONTACT "Karyon maintainers <karyon@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Nucleus detection and review for H&E whole-slide images")
set(CPACK_PACKAGE_DESCRIPTION
    "karyon-cli (headless, batch, Slurm) and karyon (Qt 6 review app) find every cell nucleus in\
 whole-slide images with a Mask R-CNN on LibTorch (bundled, with its CUDA runtime). The default\
 model is for non-commercial research use only (see /usr/share/doc/karyon/MODEL_CARD.md).")
set(CPACK_PACKAGE_INSTALL_DIRECTORY karyon)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # our binaries only carry debug info; CPack strips what it installs
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/karyon")
# Debian packages of what the binaries link from the system (Qt 6, OpenSlide, OpenCV, ...),
# computed by dpkg-shlibdeps; the bundled libraries are private and satisfy themselves.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
if(_karyon_shlibdeps_dir)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${_karyon_shlibdeps_dir}")
endif()
# zstd: xz on ~3 GB of LibTorch + CUDA takes most of an hour on two cores; dpkg >= 1.21.18 (Debian 12)
# reads zstd.
set(CPACK_DEBIAN_COMPRESSION_TYPE zstd)
set(CPACK_THREADS 0)
include(CPack)
