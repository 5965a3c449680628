package integration_test

import "syscall"

var sighup = syscall.SIGHUP
