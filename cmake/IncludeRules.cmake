# SPDX-License-Identifier: Apache-2.0
# Who may include whom (docs/internals/architecture.md), checked over the source tree at
# configure time so a crossing include fails the build before anything compiles. The include
# paths each target gets already make most crossings impossible; this also catches the ones a
# path allows, such as a lower host folder reaching up into cli/.
#
# Run as a script for a test: cmake -DROOT=<tree> -P cmake/IncludeRules.cmake
#
# Each rule: a folder (relative to the root), a regular expression of forbidden quoted
# includes, and why.
set(FTRACK_SDK_PRIVATE "(hub|session|cache|event|plugin)/")
set(FTRACK_HOST_FOLDERS "(cli|config|runtime|delivery|isolation|scale|ops)/")
set(FTRACK_INCLUDE_RULES
  "host/config|cli/|lower host folders never include the command line (cli/)"
  "host/runtime|cli/|lower host folders never include the command line (cli/)"
  "host/delivery|cli/|lower host folders never include the command line (cli/)"
  "host/isolation|cli/|lower host folders never include the command line (cli/)"
  "host/scale|cli/|lower host folders never include the command line (cli/)"
  "host/ops|cli/|lower host folders never include the command line (cli/)"
  "host/cli|${FTRACK_SDK_PRIVATE}|the host uses the SDK's private code only through common/ and wire/"
  "host/config|${FTRACK_SDK_PRIVATE}|the host uses the SDK's private code only through common/ and wire/"
  "host/runtime|${FTRACK_SDK_PRIVATE}|the host uses the SDK's private code only through common/ and wire/"
  "host/delivery|${FTRACK_SDK_PRIVATE}|the host uses the SDK's private code only through common/ and wire/"
  "host/isolation|${FTRACK_SDK_PRIVATE}|the host uses the SDK's private code only through common/ and wire/"
  "host/scale|${FTRACK_SDK_PRIVATE}|the host uses the SDK's private code only through common/ and wire/"
  "host/ops|${FTRACK_SDK_PRIVATE}|the host uses the SDK's private code only through common/ and wire/"
  "host/hub|${FTRACK_HOST_FOLDERS}|the hub server is a library of its own and never includes the host"
  "host/hub|${FTRACK_SDK_PRIVATE}|the hub server uses the SDK's private code only through common/ and wire/"
  "sdk/src/common|${FTRACK_SDK_PRIVATE}|common/ is the bottom of the SDK"
  "sdk/src/wire|${FTRACK_SDK_PRIVATE}|wire/ is shared by client and server and knows neither"
  "plugins|${FTRACK_SDK_PRIVATE}|plugins see only the public API (<ftrack/...>)"
  "plugins|(common|wire)/|plugins see only the public API (<ftrack/...>)"
  "plugins|${FTRACK_HOST_FOLDERS}|plugins see only the public API (<ftrack/...>)"
  "examples|${FTRACK_SDK_PRIVATE}|examples see only the public API (<ftrack/...>)"
  "examples|(common|wire)/|examples see only the public API (<ftrack/...>)"
  "examples|${FTRACK_HOST_FOLDERS}|examples see only the public API (<ftrack/...>)"
)

# ftrack_check_include_rules(ROOT): FATAL_ERROR naming every crossing include.
function(ftrack_check_include_rules root)
  set(problems "")
  foreach(rule IN LISTS FTRACK_INCLUDE_RULES)
    string(REPLACE "|" ";" parts "${rule}")
    list(GET parts 0 folder)
    list(GET parts -1 why)
    # The forbidden pattern may itself contain '|': everything between the first and last field.
    list(REMOVE_AT parts 0 -1)
    string(REPLACE ";" "|" forbidden "${parts}")
    file(GLOB_RECURSE sources "${root}/${folder}/*.c" "${root}/${folder}/*.h")
    foreach(src IN LISTS sources)
      file(STRINGS "${src}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
      foreach(line IN LISTS lines)
        string(REGEX REPLACE "^[^\"]*\"([^\"]*)\".*" "\\1" included "${line}")
        if(included MATCHES "^${forbidden}")
          file(RELATIVE_PATH rel "${root}" "${src}")
          string(APPEND problems "\n  ${rel} includes \"${included}\": ${why}")
        endif()
      endforeach()
    endforeach()
  endforeach()
  if(problems)
    message(FATAL_ERROR "include rules broken (cmake/IncludeRules.cmake):${problems}")
  endif()
endfunction()

if(CMAKE_SCRIPT_MODE_FILE AND DEFINED ROOT)
  ftrack_check_include_rules("${ROOT}")
endif()
