# Small helpers shared by every CMakeLists.txt of QBench.

# Warnings (and sanitizers when QB_SANITIZE is on) in one interface target that every
# QBench target links.
add_library(qb_warnings INTERFACE)
target_compile_options(qb_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare)
if(QB_SANITIZE)
  target_compile_options(qb_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                               -fno-sanitize-recover=undefined)
  target_link_options(qb_warnings INTERFACE -fsanitize=address,undefined)
endif()

# qb_library(name SOURCES a.cc b.cc DEPS lib1 lib2)
# A static library rooted at the repository top (includes are "engine/...").
function(qb_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE qb_warnings)
endfunction()

# qb_test(name SOURCES a_test.cc DEPS lib1 [LABELS l1 l2])
# A GoogleTest binary whose cases are registered one by one with ctest.
function(qb_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main qb_warnings)
  # The test's own sources at -O1 in optimized builds: the code under test is in the
  # libraries, built at the build type's level; a test file is mostly gtest and header
  # templates, and -O1 compiles it about a quarter faster (service_test.cc 16.6 s vs
  # 22.4 s at -O3), which is CI time.
  target_compile_options(${name} PRIVATE $<$<CONFIG:Release>:-O1>)
  # Sanitizer builds: the test's own sources at -O0 (the libraries stay at -O1). ASan's
  # instrumentation makes gtest's templates slower still to optimize; -O0 compiles
  # service_test.cc in 22 s instead of 38 s.
  if(QB_SANITIZE)
    target_compile_options(${name} PRIVATE -O0)
  endif()
  # One value per property: a ';' inside a value does not survive gtest_discover_tests,
  # so the second variable goes through ENVIRONMENT_MODIFICATION (CMake >= 3.22).
  set(props ENVIRONMENT "QB_SOURCE_DIR=${PROJECT_SOURCE_DIR}" ENVIRONMENT_MODIFICATION "OMP_NUM_THREADS=set:1")
  if(ARG_LABELS)
    list(APPEND props LABELS "${ARG_LABELS}")
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ${props})
endfunction()

include(GoogleTest)

# Fuzzing (fuzz/, tools/fuzz.sh): QB_FUZZ=ON with clang instruments every library for
# libFuzzer, ASan and UBSan; the fuzz targets then link -fsanitize=fuzzer. Without it,
# fuzz/ builds corpus-replay tests. tests/CMakeLists.txt adds fuzz/ (after every library).
option(QB_FUZZ "Build the libFuzzer targets (clang only)" OFF)
if(QB_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "QB_FUZZ needs clang (CMAKE_CXX_COMPILER=clang++)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
