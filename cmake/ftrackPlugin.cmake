# SPDX-License-Identifier: Apache-2.0
# Building and testing ftrack-host plugins with CMake. Installed with libftrack-dev, where
# find_package(ftrack) includes it; the project's own build includes it too, so both build
# plugins the same way.
#
#   ftrack_add_plugin(NAME SOURCES file.c... [LIBS target...] [OUTPUT_DIR dir])
#     A plugin: a shared module NAME.so (no "lib" prefix) linked to ftrack::ftrack, exporting
#     only its entry point (FTRACK_PLUGIN marks it visible, everything else is hidden).
#
#   ftrack_add_plugin_test(NAME PLUGIN target EVENTS file EXPECT file
#                          [SEED file] [CONFIG file] [PLUGIN_ARGS key=value...])
#     A CTest test running `ftrack-host test-plugin` on the plugin target with the recorded
#     EVENTS (from `ftrack-host record`), passing when every event is handled and the output
#     matches EXPECT. Relative paths are taken from the calling CMakeLists.txt's folder.
#
# Variables read: FTRACK_HOST_EXECUTABLE (the ftrack-host to run; required by
# ftrack_add_plugin_test), FTRACK_PLUGIN_OUTPUT_DIR (default OUTPUT_DIR) and
# FTRACK_LIBRARY_DIR (put on the test's LD_LIBRARY_PATH, for an SDK installed off the
# system's library path).
include_guard(GLOBAL)

function(ftrack_add_plugin name)
  cmake_parse_arguments(P "" "OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  if(NOT P_SOURCES)
    message(FATAL_ERROR "ftrack_add_plugin(${name}): SOURCES is required")
  endif()
  if(NOT P_OUTPUT_DIR AND FTRACK_PLUGIN_OUTPUT_DIR)
    set(P_OUTPUT_DIR "${FTRACK_PLUGIN_OUTPUT_DIR}")
  endif()
  add_library(${name} MODULE ${P_SOURCES})
  target_link_libraries(${name} PRIVATE ftrack::ftrack ${P_LIBS})
  set_target_properties(${name} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden)
  if(P_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${P_OUTPUT_DIR}")
  endif()
endfunction()

function(ftrack_add_plugin_test name)
  cmake_parse_arguments(T "" "PLUGIN;EVENTS;EXPECT;SEED;CONFIG" "PLUGIN_ARGS" ${ARGN})
  foreach(required PLUGIN EVENTS EXPECT)
    if(NOT T_${required})
      message(FATAL_ERROR "ftrack_add_plugin_test(${name}): ${required} is required")
    endif()
  endforeach()
  if(NOT FTRACK_HOST_EXECUTABLE)
    message(FATAL_ERROR "ftrack_add_plugin_test(${name}): no ftrack-host found (install the "
                        "ftrack-host package, or set FTRACK_HOST_EXECUTABLE)")
  endif()
  get_filename_component(events "${T_EVENTS}" ABSOLUTE)
  get_filename_component(expect "${T_EXPECT}" ABSOLUTE)
  set(command "${FTRACK_HOST_EXECUTABLE}" test-plugin "$<TARGET_FILE:${T_PLUGIN}>"
    --events "${events}" --expect "${expect}")
  foreach(option SEED CONFIG)
    if(T_${option})
      get_filename_component(file "${T_${option}}" ABSOLUTE)
      string(TOLOWER "${option}" flag)
      list(APPEND command "--${flag}" "${file}")
    endif()
  endforeach()
  foreach(arg IN LISTS T_PLUGIN_ARGS)
    list(APPEND command --plugin-arg "${arg}")
  endforeach()
  add_test(NAME ${name} COMMAND ${command})
  if(FTRACK_LIBRARY_DIR)
    set_tests_properties(${name} PROPERTIES
      ENVIRONMENT_MODIFICATION "LD_LIBRARY_PATH=path_list_prepend:${FTRACK_LIBRARY_DIR}")
  endif()
endfunction()
