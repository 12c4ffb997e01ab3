# Include paths per target, so that a layering violation fails to build.
#
# Sources include headers by their path from the repository root ("core/log.h"), but the root
# is on no target's include path. Instead each library publishes its own folder's headers:
#
#   tern_layer_headers(tern_core core)
#
# links every header of core/ (not of its subfolders) as build/layers/tern_core/core/NAME.h
# (symlinks, no copies) and makes build/layers/tern_core that target's include directory:
# PUBLIC for a library, INTERFACE for an interface library, PRIVATE for an executable. A target
# therefore sees the headers of its own folder and of the libraries it links (transitively
# through PUBLIC links), nothing else: core/ including "delivery/lane.h" does not compile
# (tests/layering/ proves it).
#
#   tern_layer_headers(tern_transport net HEADERS transport.h)
#
# publishes only the named headers of a folder (a folder shared by several targets).
# tern_layer_headers(TARGET FOLDER [HEADERS NAME...] [EXCLUDE NAME...])
function(tern_layer_headers target folder)
  cmake_parse_arguments(PARSE_ARGV 2 ARG "" "" "HEADERS;EXCLUDE")
  set(source_dir ${CMAKE_SOURCE_DIR}/${folder})
  set(stage_dir ${CMAKE_BINARY_DIR}/layers/${target}/${folder})
  if(ARG_HEADERS)
    set(names ${ARG_HEADERS})
  else()
    # The headers only (sources are listed explicitly): a new header is linked at the next
    # build, which re-runs CMake when this glob's result changes.
    file(GLOB paths CONFIGURE_DEPENDS LIST_DIRECTORIES false RELATIVE ${source_dir}
      ${source_dir}/*.h)
    set(names ${paths})
  endif()
  if(ARG_EXCLUDE)
    list(REMOVE_ITEM names ${ARG_EXCLUDE})
  endif()
  file(MAKE_DIRECTORY ${stage_dir})
  # Links of headers that are gone (renamed, removed) go too.
  file(GLOB staged LIST_DIRECTORIES false RELATIVE ${stage_dir} ${stage_dir}/*)
  foreach(name ${staged})
    if(NOT name IN_LIST names)
      file(REMOVE ${stage_dir}/${name})
    endif()
  endforeach()
  foreach(name ${names})
    if(NOT EXISTS ${source_dir}/${name})
      message(FATAL_ERROR "tern_layer_headers(${target}): no ${folder}/${name}")
    endif()
    if(NOT IS_SYMLINK ${stage_dir}/${name})
      file(CREATE_LINK ${source_dir}/${name} ${stage_dir}/${name} SYMBOLIC)
    endif()
  endforeach()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    set(scope INTERFACE)
  elseif(type STREQUAL "EXECUTABLE")
    set(scope PRIVATE)
  else()
    set(scope PUBLIC)
  endif()
  target_include_directories(${target} ${scope} ${CMAKE_BINARY_DIR}/layers/${target})
endfunction()
