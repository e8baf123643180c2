// Command nightshift moves teacher-training records from the services'
// PostgreSQL databases to the reporting warehouse, safely and on schedule.
// Run `nightshift --help` for the commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// ownProcess is true when the CLI runs as its own process, not inside a
// test that runs many commands in one: process-wide settings, such as the
// runtime's memory limit, apply only then.
var ownProcess bool

func main() {
	ownProcess = true
	// The first SIGINT or SIGTERM cancels ctx, which aborts a run cleanly; a
	// second one, after stop() has restored the default, kills the process.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile(os.Getenv("NIGHTSHIFT_CPUPROFILE"))
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ())
	stopProfile()
	stop()
	os.Exit(code)
}

// startCPUProfile writes a CPU profile of the whole command to path (when
// set), for `go tool pprof`: a slow run in a real environment can be
// profiled without a special build.
func startCPUProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path) //nolint:gosec // the operator names where the profile goes
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "NIGHTSHIFT_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
