# Debian ships OpenCV's CMake package config only in libopencv-dev, which drags in every module
# (VTK, GTK, video, ...). Karyon needs core/imgproc/imgcodecs, so it finds those three directly.
find_path(KARYON_OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
foreach(module core imgproc imgcodecs)
  find_library(KARYON_OPENCV_${module}_LIBRARY opencv_${module} REQUIRED)
  if(NOT TARGET opencv_${module})
    add_library(opencv_${module} UNKNOWN IMPORTED)
    set_target_properties(opencv_${module} PROPERTIES
      IMPORTED_LOCATION ${KARYON_OPENCV_${module}_LIBRARY}
      INTERFACE_INCLUDE_DIRECTORIES ${KARYON_OPENCV_INCLUDE_DIR})
  endif()
endforeach()
