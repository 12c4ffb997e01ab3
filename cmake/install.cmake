# `cmake --install build [--prefix /usr]`: the programs, their man pages and bash
# completions, the systemd unit and the deploy files. Tests, benchmarks and fuzzers are not
# installed. Under --prefix /usr the packaging script (tools/package.sh) moves PREFIX/etc to
# /etc and PREFIX/lib/systemd to /lib/systemd, where Debian keeps them.
include(GNUInstallDirs)

install(TARGETS ternd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS ternctl tern-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(FILES deploy/man/ternd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES deploy/man/ternctl.1 deploy/man/tern-bench.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES deploy/bash-completion/ternctl deploy/bash-completion/ternd
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# The flagfile the unit starts ternd with, and the host tuning.
install(FILES deploy/ternd.flags.example DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/tern
  RENAME ternd.flags)
install(FILES deploy/logrotate.d/tern DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/logrotate.d)
install(FILES deploy/limits.d/tern.conf DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/security/limits.d)
install(FILES deploy/sysctl.d/60-tern.conf DESTINATION lib/sysctl.d)
install(FILES deploy/README.md deploy/SIZING.md deploy/grafana-dashboard.json
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The unit, its ExecStart pointing at the ternd and the flagfile this install puts in place
# (the file in deploy/ names /usr/local/bin/ternd and /etc/tern/ternd.flags, where
# deploy/README.md's manual install copies them). Under /usr the flagfile is /etc's.
install(CODE "
  set(unit_dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(etc_dir \"/etc\")
  else()
    set(etc_dir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SYSCONFDIR}\")
  endif()
  file(READ \"${CMAKE_SOURCE_DIR}/deploy/ternd.service\" unit)
  string(FIND \"\${unit}\" \"ExecStart=/usr/local/bin/ternd --flagfile=/etc/tern/ternd.flags\" at)
  if(at EQUAL -1)
    message(FATAL_ERROR \"deploy/ternd.service: the ExecStart line install.cmake rewrites changed\")
  endif()
  string(REPLACE \"ExecStart=/usr/local/bin/ternd --flagfile=/etc/tern/ternd.flags\"
    \"ExecStart=\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}/ternd --flagfile=\${etc_dir}/tern/ternd.flags\"
    unit \"\${unit}\")
  file(MAKE_DIRECTORY \"\${unit_dir}\")
  message(STATUS \"Installing: \${unit_dir}/ternd.service\")
  file(WRITE \"\${unit_dir}/ternd.service\" \"\${unit}\")
")
