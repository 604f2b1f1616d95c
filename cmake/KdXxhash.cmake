# kd::xxhash: xxHash (XXH3-128), the hash of kdpipe's fingerprints, called from lib/core/hash.cpp
# only. Debian's libxxhash-dev ships no CMake package: the header and library are looked for.
add_library(kd_xxhash INTERFACE)
add_library(kd::xxhash ALIAS kd_xxhash)
find_path(KD_XXHASH_INCLUDE_DIR xxhash.h)
find_library(KD_XXHASH_LIBRARY xxhash)
if(NOT KD_XXHASH_INCLUDE_DIR OR NOT KD_XXHASH_LIBRARY)
  message(FATAL_ERROR "xxHash not found: install libxxhash-dev (bash .ci/setup does)")
endif()
target_link_libraries(kd_xxhash INTERFACE ${KD_XXHASH_LIBRARY})
target_include_directories(kd_xxhash INTERFACE $<BUILD_INTERFACE:${KD_XXHASH_INCLUDE_DIR}>)
