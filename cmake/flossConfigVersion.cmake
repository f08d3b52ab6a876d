# Version check of find_package(floss <version> CONFIG). The version is read
# from the installed header (FLOSS_VERSION_MAJOR/MINOR/PATCH, which a test
# keeps equal to Cargo.toml's). Compatible: the same major version, at least
# the requested one. 0.x counts as a major version of its own because 0.x
# releases only add functions, fields and statuses (CHANGELOG.md).

get_filename_component(_floss_header "${CMAKE_CURRENT_LIST_DIR}/../../../include/floss.h" ABSOLUTE)
set(PACKAGE_VERSION "")
if(EXISTS "${_floss_header}")
  file(STRINGS "${_floss_header}" _floss_defines REGEX "^#define FLOSS_VERSION_(MAJOR|MINOR|PATCH) ")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX MATCH "FLOSS_VERSION_${_part} ([0-9]+)" _m "${_floss_defines}")
    set(_floss_${_part} "${CMAKE_MATCH_1}")
  endforeach()
  set(PACKAGE_VERSION "${_floss_MAJOR}.${_floss_MINOR}.${_floss_PATCH}")
endif()

if(NOT PACKAGE_VERSION MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+$")
  set(PACKAGE_VERSION "unknown")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
elseif(PACKAGE_FIND_VERSION)
  if(PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION
     OR NOT "${_floss_MAJOR}" STREQUAL "${PACKAGE_FIND_VERSION_MAJOR}")
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  else()
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
    if(PACKAGE_VERSION VERSION_EQUAL PACKAGE_FIND_VERSION)
      set(PACKAGE_VERSION_EXACT TRUE)
    endif()
  endif()
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()
unset(_floss_header)
unset(_floss_defines)
