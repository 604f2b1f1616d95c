# The LibTorch headers are the slow part of every translation unit: kd_lib precompiles them once
# and every other target reuses that precompiled header (all share the same flags).
function(kd_precompile target)
  if(NOT KD_USE_PCH)
    return()
  endif()
  if(target STREQUAL "kd_lib")
    target_precompile_headers(kd_lib PRIVATE ${PROJECT_SOURCE_DIR}/lib/core/pch.h)
  else()
    target_precompile_headers(${target} REUSE_FROM kd_lib)
  endif()
endfunction()
