# CMake package of an installed floss: find_package(floss CONFIG REQUIRED),
# then link floss::floss (the shared library) or floss::floss_static.
#
# Relocatable: the prefix is found from this file's place, three levels up
# (<prefix>/lib/cmake/floss from `make install`, <prefix>/share/floss/cmake
# from `cargo cinstall`). The static library's system libraries are read from
# the installed floss.pc (Libs.private, from `rustc --print native-static-libs`).

get_filename_component(_floss_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

set(_floss_libdirs "${_floss_prefix}/lib")
if(CMAKE_LIBRARY_ARCHITECTURE)
  list(APPEND _floss_libdirs "${_floss_prefix}/lib/${CMAKE_LIBRARY_ARCHITECTURE}")
endif()
list(APPEND _floss_libdirs "${_floss_prefix}/lib64")

set(_floss_shared "")
set(_floss_static "")
foreach(_dir IN LISTS _floss_libdirs)
  if(NOT _floss_shared AND EXISTS "${_dir}/libfloss.so.0")
    set(_floss_shared "${_dir}/libfloss.so.0")
    set(_floss_libdir "${_dir}")
  endif()
  if(NOT _floss_static AND EXISTS "${_dir}/libfloss.a")
    set(_floss_static "${_dir}/libfloss.a")
    if(NOT _floss_libdir)
      set(_floss_libdir "${_dir}")
    endif()
  endif()
endforeach()

if(NOT EXISTS "${_floss_prefix}/include/floss.h" OR NOT (_floss_shared OR _floss_static))
  set(floss_FOUND FALSE)
  set(floss_NOT_FOUND_MESSAGE
      "floss: no include/floss.h or lib*/libfloss.{so.0,a} under ${_floss_prefix}")
  return()
endif()

set(floss_INCLUDE_DIRS "${_floss_prefix}/include")

if(_floss_shared AND NOT TARGET floss::floss)
  add_library(floss::floss SHARED IMPORTED)
  set_target_properties(floss::floss PROPERTIES
    IMPORTED_LOCATION "${_floss_shared}"
    IMPORTED_SONAME "libfloss.so.0"
    INTERFACE_INCLUDE_DIRECTORIES "${floss_INCLUDE_DIRS}")
endif()

if(_floss_static AND NOT TARGET floss::floss_static)
  # Libs.private of floss.pc, e.g. "-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc".
  set(_floss_private "")
  if(EXISTS "${_floss_libdir}/pkgconfig/floss.pc")
    file(STRINGS "${_floss_libdir}/pkgconfig/floss.pc" _floss_line REGEX "^Libs.private:")
    string(REGEX REPLACE "^Libs.private:[ \t]*" "" _floss_line "${_floss_line}")
    separate_arguments(_floss_flags UNIX_COMMAND "${_floss_line}")
    foreach(_flag IN LISTS _floss_flags)
      if(_flag MATCHES "^-l(.+)$")
        list(APPEND _floss_private "${CMAKE_MATCH_1}")
      elseif(_flag)
        list(APPEND _floss_private "${_flag}")
      endif()
    endforeach()
  endif()
  add_library(floss::floss_static STATIC IMPORTED)
  set_target_properties(floss::floss_static PROPERTIES
    IMPORTED_LOCATION "${_floss_static}"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "${floss_INCLUDE_DIRS}"
    INTERFACE_LINK_LIBRARIES "${_floss_private}")
endif()

if(NOT TARGET floss::floss AND TARGET floss::floss_static)
  # Only the static library is installed: floss::floss is that one.
  add_library(floss::floss INTERFACE IMPORTED)
  set_target_properties(floss::floss PROPERTIES INTERFACE_LINK_LIBRARIES floss::floss_static)
endif()

set(floss_LIBRARIES floss::floss)
unset(_floss_prefix)
unset(_floss_libdirs)
unset(_floss_shared)
unset(_floss_static)
unset(_floss_libdir)
