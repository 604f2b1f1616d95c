# kd::opencv: OpenCV's core, imgproc and imgcodecs, the one library lib/data/image_codec.cpp wraps.
# Debian's split packages (libopencv-imgcodecs-dev, ...) ship headers and libraries but no CMake
# package, so the libraries are looked for directly when OpenCVConfig.cmake is absent.
add_library(kd_opencv INTERFACE)
add_library(kd::opencv ALIAS kd_opencv)
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
if(OpenCV_FOUND)
  target_link_libraries(kd_opencv INTERFACE opencv_core opencv_imgproc opencv_imgcodecs)
  target_include_directories(kd_opencv INTERFACE ${OpenCV_INCLUDE_DIRS})
else()
  find_path(KD_OPENCV_INCLUDE_DIR opencv2/imgcodecs.hpp PATH_SUFFIXES opencv4)
  foreach(module imgcodecs imgproc core)
    find_library(KD_OPENCV_${module} opencv_${module})
    if(NOT KD_OPENCV_${module} OR NOT KD_OPENCV_INCLUDE_DIR)
      message(FATAL_ERROR "OpenCV ${module} not found: install libopencv-imgcodecs-dev "
                          "libopencv-imgproc-dev (bash .ci/setup does)")
    endif()
    target_link_libraries(kd_opencv INTERFACE ${KD_OPENCV_${module}})
  endforeach()
  target_include_directories(kd_opencv INTERFACE $<BUILD_INTERFACE:${KD_OPENCV_INCLUDE_DIR}>)
endif()
