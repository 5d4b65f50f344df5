# SPDX-License-Identifier: Apache-2.0
# One helper per kind of target, so a new module, plugin or test is one line (or none: tests
# and plugins are picked up by folder).

# ftrack_add_plugin(name SOURCES ...) and ftrack_add_plugin_test(...): the same functions
# libftrack-dev installs for plugins built outside this tree (cmake/ftrackPlugin.cmake). Here
# plugins land in the build's plugin dir unless given OUTPUT_DIR, and tests run this build's
# ftrack-host.
set(FTRACK_PLUGIN_OUTPUT_DIR "${FTRACK_SHIPPED_PLUGIN_DIR}")
set(FTRACK_HOST_EXECUTABLE "$<TARGET_FILE:ftrack-host>")
include(${CMAKE_CURRENT_LIST_DIR}/ftrackPlugin.cmake)

# ftrack_add_unit_test(name [HOST] SOURCES ...): a cmocka executable registered with CTest.
# SDK tests link the SDK statically (to reach private functions); HOST tests link the host's
# modules, which use the shared libftrack.
function(ftrack_add_unit_test name)
  cmake_parse_arguments(T "HOST" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  if(T_HOST)
    target_link_libraries(${name} PRIVATE ftrack_host_core PkgConfig::CMOCKA ${T_LIBS})
  else()
    target_link_libraries(${name} PRIVATE ftrack_static PkgConfig::CMOCKA ${T_LIBS})
  endif()
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/sdk/src ${PROJECT_SOURCE_DIR}/host
    ${PROJECT_SOURCE_DIR}/tests/support)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120 LABELS unit)
endfunction()
