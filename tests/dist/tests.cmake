# Included from tests/CMakeLists.txt when MPI is found: one cmocka program per
# tests/dist/test_dist_*.c, each launched by mpirun on the rank counts listed.
set(DSC_MPI_ENV OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1)
if(DSC_SANITIZE)
  # Open MPI keeps memory past MPI_Finalize: suppress stacks through its libraries
  # (full stacks, so they are recognised), and report every leak of ours.
  list(APPEND DSC_MPI_ENV ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0
       LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/dist/lsan.supp)
endif()
set(DSC_DIST_RANKS_test_dist_collectives 2 3)
set(DSC_DIST_RANKS_test_dist_train 1 2 3 4)
set(DSC_DIST_RANKS_test_dist_state 2 3)

add_library(dsc_test_regression STATIC ${CMAKE_CURRENT_SOURCE_DIR}/dist/regression.c)
target_link_libraries(dsc_test_regression PUBLIC descent_dist)
target_include_directories(dsc_test_regression PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/dist)

file(GLOB DSC_DIST_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/dist/test_dist_*.c)
foreach(src ${DSC_DIST_TEST_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE dsc_test_regression PkgConfig::CMOCKA)
  target_compile_definitions(${name} PRIVATE DSC_TEST_TMP="${CMAKE_CURRENT_BINARY_DIR}")
  foreach(np ${DSC_DIST_RANKS_${name}})
    add_test(NAME ${name}_np${np}
      COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} --oversubscribe ${MPIEXEC_PREFLAGS}
              $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS})
    set_tests_properties(${name}_np${np} PROPERTIES ENVIRONMENT "${DSC_MPI_ENV}" TIMEOUT 120
      PROCESSORS ${np})
  endforeach()
endforeach()

# descent train under mpirun against one process.
add_test(NAME cli_train_mpi COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/dist/cli_train_mpi.sh $<TARGET_FILE:descent_cli>
  ${MPIEXEC_EXECUTABLE} ${CMAKE_SOURCE_DIR}/data)
set_tests_properties(cli_train_mpi PROPERTIES ENVIRONMENT "${DSC_MPI_ENV}" TIMEOUT 300 PROCESSORS 3)

# descent train under mpirun with one rank given other arguments: ends at once, not hangs.
add_test(NAME cli_train_mpi_fail COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/dist/cli_train_mpi_fail.sh
  $<TARGET_FILE:descent_cli> ${MPIEXEC_EXECUTABLE} ${CMAKE_SOURCE_DIR}/data)
set_tests_properties(cli_train_mpi_fail PROPERTIES ENVIRONMENT "${DSC_MPI_ENV}" TIMEOUT 300 PROCESSORS 3)

# descent train --shard-checkpoints: sharded sets resumed anywhere, bit for bit with one
# file; predict, evaluate, inspect of the index; a full disk on one rank, damaged sets.
add_test(NAME cli_train_mpi_shard COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/dist/cli_train_mpi_shard.sh
  $<TARGET_FILE:descent_cli> ${MPIEXEC_EXECUTABLE} ${CMAKE_SOURCE_DIR}/data)
set_tests_properties(cli_train_mpi_shard PROPERTIES ENVIRONMENT "${DSC_MPI_ENV}" TIMEOUT 300 PROCESSORS 3)

# bytes on the wire per rank and step, counted by Open MPI's pml monitoring: the ring.
add_test(NAME cli_train_mpi_volume COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/dist/cli_train_mpi_volume.sh
  $<TARGET_FILE:descent_cli> ${MPIEXEC_EXECUTABLE} ${CMAKE_SOURCE_DIR}/data)
set_tests_properties(cli_train_mpi_volume PROPERTIES ENVIRONMENT "${DSC_MPI_ENV}" TIMEOUT 300 PROCESSORS 2
  SKIP_RETURN_CODE 77)
