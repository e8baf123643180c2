// Command nightshift moves teacher-training records from the services'
// PostgreSQL databases to the reporting warehouse, safely and on schedule.
// Run `nightshift --help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
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
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}
