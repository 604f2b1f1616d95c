# `cmake --install build --prefix P`: the kdpipe binary, the default study, the headers, the
# static libraries and a CMake package, so that a C++ program can
#
#   find_package(kdpipe REQUIRED)
#   target_link_libraries(app PRIVATE kdpipe::kdpipe)
#
# kdpipe::kdpipe brings every library (kdpipe::lib, ::storage, ::teachers, ::students,
# ::pipelines); their dependencies are found again by kdpipeConfig.cmake.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

add_library(kd_all INTERFACE)
target_link_libraries(kd_all INTERFACE kd_pipelines kd_students kd_teachers kd_storage kd_lib)
set_target_properties(kd_all PROPERTIES EXPORT_NAME kdpipe)
foreach(target lib storage teachers students pipelines warnings opencv xxhash)
  set_target_properties(kd_${target} PROPERTIES EXPORT_NAME ${target})
endforeach()

install(TARGETS kdpipe RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS kd_lib kd_storage kd_teachers kd_students kd_pipelines kd_warnings kd_opencv kd_xxhash kd_all
        EXPORT kdpipeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY lib storage teachers students pipelines
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kdpipe
        FILES_MATCHING PATTERN "*.h")
install(DIRECTORY ${PROJECT_BINARY_DIR}/generated/lib DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kdpipe)
install(FILES pipelines/configs/label-smoothing.ini
        DESTINATION ${CMAKE_INSTALL_DATADIR}/kdpipe/configs)

set(kd_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/kdpipe)
install(EXPORT kdpipeTargets NAMESPACE kdpipe:: DESTINATION ${kd_cmake_dir})
configure_package_config_file(cmake/kdpipeConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/kdpipeConfig.cmake
                              INSTALL_DESTINATION ${kd_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/kdpipeConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/kdpipeConfig.cmake ${PROJECT_BINARY_DIR}/kdpipeConfigVersion.cmake
        DESTINATION ${kd_cmake_dir})
